//! Wiring: cameras (stream-codec `client`, cam-stitch `rtsp`) -> newest frame per camera ->
//! compositor (cam-stitch `LiveStitcher` + `RenderSchedule`) -> `Fanout` of encoded parts ->
//! viewers; the same panorama, encoded once as H.264, to the WebRTC (WHEP) sessions.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cam_stitch::{CameraFrame, CameraStats, LivePanorama, LiveStitcher, RenderSchedule, SourceUrl};
use futures_util::StreamExt as _;
use stream_codec::client::{ClientConfig, ClientState};
use stream_codec::webrtc::{H264Track, Pushed};
use tokio::sync::{Notify, watch};

/// One encoded panorama: the multipart part (shared by every viewer) and its JPEG (a slice).
#[derive(Clone)]
pub struct Part {
    pub part: bytes::Bytes,
    pub jpeg: bytes::Bytes,
    /// Every camera's tile showed a live frame.
    pub all_live: bool,
}

/// What `/health`, `/metrics` and the compositor know of a camera.
#[derive(Default)]
pub struct Cam {
    pub state: &'static str,
    pub since: Option<Instant>,
    pub reason: Option<String>,
    /// The newest frame: number, arrival, frame.
    pub latest: Option<(u64, Instant, CameraFrame)>,
    pub fps: f64,
    /// The stitcher's counters (bad frames, last reason) and the camera's frame size.
    pub stitch: CameraStats,
    pub size: Option<(u32, u32)>,
    pub frames: u64,
    pub connects: u64,
    pub failures: u64,
    pub bytes: u64,
}

/// What `/health` and `/metrics` know of the output.
#[derive(Clone, Default)]
pub struct Out {
    pub fps: f64,
    pub last: Option<Instant>,
    pub render: Duration,
    pub encode: Duration,
    pub jpeg_bytes: usize,
    /// H.264 (WebRTC): pictures encoded, time spent, size of the last one.
    pub h264_frames: u64,
    pub h264_encode: Duration,
    pub h264_bytes: usize,
}

/// Shared state of a running relay.
pub struct State {
    pub urls: Vec<SourceUrl>,
    pub cams: Vec<Mutex<Cam>>,
    pub hub: stream_codec::fanout::Fanout<Part>,
    pub wake: Notify,
    pub started: Instant,
    pub panorama: (u32, u32),
    pub out: Mutex<Out>,
    /// Close a camera after this long without viewers.
    pub idle: Duration,
    pub client: ClientConfig,
    /// Encodes the parts of `/stream` (boundary `frame`, as the old relay).
    pub writer: stream_codec::Writer,
    /// Viewers of either output (MJPEG subscribers + WebRTC sessions): cameras and the
    /// compositor run while it is above 0.
    pub demand: watch::Sender<usize>,
    /// The WebRTC (WHEP) sessions.
    pub whep: stream_codec::webrtc::WhepServer,
}

/// Keeps `st.demand` = MJPEG viewers + WebRTC sessions.
pub async fn sum_demand(st: Arc<State>) {
    let (mut mjpeg, mut webrtc) = (st.hub.demand(), st.whep.watch_viewers());
    loop {
        let total = *mjpeg.borrow_and_update() + *webrtc.borrow_and_update();
        st.demand
            .send_if_modified(|d| std::mem::replace(d, total) != total);
        tokio::select! {
            r = mjpeg.changed() => if r.is_err() { return },
            r = webrtc.changed() => if r.is_err() { return },
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Moving average of a rate: `fps` updated with the interval since `previous`.
fn ewma(fps: f64, previous: Option<Instant>, now: Instant) -> f64 {
    previous.map_or(fps, |p| 0.8 * fps + 0.2 / (now - p).as_secs_f64().max(1e-3))
}

impl State {
    pub fn cam(&self, i: usize) -> MutexGuard<'_, Cam> {
        lock(&self.cams[i])
    }

    /// Moves camera `i` to `state`, logging the change (URL and reason are redacted).
    fn set_state(&self, i: usize, state: &'static str, reason: Option<String>) {
        let mut c = self.cam(i);
        if c.state == state && (reason.is_none() || c.reason == reason) {
            return;
        }
        let (url, why) = (&self.urls[i], reason.as_deref().unwrap_or(""));
        tracing::info!(camera = i, %url, from = c.state, to = state, reason = why, "camera state");
        if c.state != state {
            (c.state, c.since) = (state, Some(Instant::now()));
        }
        if reason.is_some() || state == "live" || state == "idle" {
            c.reason = reason;
        }
        drop(c);
        self.wake.notify_one();
    }

    /// Stores camera `i`'s newest frame.
    fn deliver(&self, i: usize, frame: CameraFrame) {
        let (now, mut c) = (Instant::now(), self.cam(i));
        (c.frames, c.fps) = (
            c.frames + 1,
            ewma(c.fps, c.latest.as_ref().map(|l| l.1), now),
        );
        c.latest = Some((c.frames, now, frame));
        drop(c);
        self.wake.notify_one();
    }
}

/// Camera `i`'s task: connect on the first viewer, read frames, close after `idle` without
/// viewers. Exactly one upstream connection whatever the number of viewers.
pub async fn run_camera(st: Arc<State>, i: usize) {
    let mut demand = st.demand.subscribe();
    loop {
        st.set_state(i, "idle", None);
        if demand.wait_for(|n| *n > 0).await.is_err() {
            return;
        }
        let session = async {
            match &st.urls[i] {
                SourceUrl::Http(url) => http_source(&st, i, url).await,
                #[cfg(feature = "opencv")]
                SourceUrl::Rtsp(url) => rtsp_source(&st, i, url).await,
                #[cfg(not(feature = "opencv"))]
                SourceUrl::Rtsp(_) => {
                    st.set_state(i, "down", Some("built without `opencv`".into()))
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            () = session => {}
            () = wait_idle(demand.clone(), st.idle) => tracing::info!(camera = i, "no viewers: closing"),
        }
    }
}

/// Returns once there has been no viewer for `idle` in a row.
async fn wait_idle(mut demand: watch::Receiver<usize>, idle: Duration) {
    while demand.wait_for(|n| *n == 0).await.is_ok() {
        if tokio::time::timeout(idle, demand.wait_for(|n| *n > 0))
            .await
            .is_err()
        {
            return;
        }
    }
    std::future::pending().await
}

async fn http_source(st: &State, i: usize, url: &str) {
    let mut camera = match stream_codec::client::connect(url, st.client.clone()) {
        Ok(c) => c,
        Err(e) => return st.set_state(i, "down", Some(e.to_string())),
    };
    let (status, base, mut seen) = (camera.status(), st.cam(i).bytes, 0);
    st.set_state(i, "connecting", None);
    st.cam(i).connects += 1;
    while let Some(item) = camera.next().await {
        if let Ok(frame) = item {
            st.deliver(i, CameraFrame::Jpeg(frame.data));
        }
        let s = status.borrow().clone();
        let mut c = st.cam(i);
        (c.bytes, c.connects) = (base + s.bytes, c.connects + s.reconnects - seen);
        (c.failures, seen) = (c.failures + s.reconnects - seen, s.reconnects);
        drop(c);
        let state = match s.state {
            ClientState::Live => "live",
            ClientState::Down => "down",
            _ => "connecting",
        };
        st.set_state(i, state, s.reason);
    }
}

/// RTSP through cam-stitch's OpenCV reader (on a thread of its own), reconnecting.
#[cfg(feature = "opencv")]
async fn rtsp_source(st: &State, i: usize, url: &str) {
    use tokio::sync::mpsc::error::TrySendError;
    let silence = st.client.silence_timeout;
    loop {
        st.set_state(i, "connecting", None);
        st.cam(i).connects += 1;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        // When the channel is full the relay is behind: the frame is dropped, the next is newer.
        let send = move |f| !matches!(tx.try_send(f), Err(TrySendError::Closed(_)));
        let _reader = cam_stitch::rtsp::RtspReader::spawn(url, silence, send);
        let mut deadline = cam_stitch::rtsp::OPEN_TIMEOUT.max(silence);
        let why = loop {
            match tokio::time::timeout(deadline, rx.recv()).await {
                Err(_) => break format!("no frame for {:.1} s", deadline.as_secs_f64()),
                Ok(None) => break "capture ended".into(),
                Ok(Some(Err(e))) => break e.to_string(),
                Ok(Some(Ok(img))) => st.deliver(i, CameraFrame::Rgb(Arc::new(img))),
            }
            st.set_state(i, "live", None);
            deadline = silence;
        };
        st.cam(i).failures += 1;
        st.set_state(i, "down", Some(format!("{}: {why}", st.urls[i])));
        tokio::time::sleep(st.client.backoff_max).await;
    }
}

/// The compositor: feeds each camera's newest frame to the stitcher and renders (on the blocking
/// pool) when the schedule says so; never without viewers.
pub async fn run_compositor(
    st: Arc<State>,
    mut live: LiveStitcher,
    mut schedule: RenderSchedule,
    mut track: H264Track,
) {
    let (mut demand, stale) = (st.demand.subscribe(), live.options().stale);
    let (writer, mut fed) = (st.writer.clone(), vec![0u64; st.cams.len()]);
    loop {
        let notified = st.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (now, mut stale_at) = (Instant::now(), None::<Instant>);
        for (i, seen) in fed.iter_mut().enumerate() {
            let c = st.cam(i);
            if let Some((seq, at, frame)) = c.latest.as_ref().filter(|l| l.0 > *seen) {
                *seen = *seq;
                let _ = live.push(i, frame.clone(), *at);
            }
            if let Some(at) = c
                .latest
                .as_ref()
                .map(|l| l.1 + stale)
                .filter(|at| now < *at)
            {
                stale_at = Some(stale_at.map_or(at, |s| s.min(at)));
            }
            let what = if c.state == "down" {
                "offline"
            } else {
                c.state
            };
            let _ = live.set_offline(i, (c.state != "live").then(|| format!("camera {i} {what}")));
        }
        let tiles = live.tiles(now);
        let next = if *demand.borrow_and_update() == 0 {
            schedule.reset();
            Some(now + Duration::from_secs(3600))
        } else {
            schedule.next(&tiles, stale_at, now)
        };
        if let Some(at) = next {
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(at.into()) => {}
                _ = demand.changed() => {}
            }
            continue;
        }
        let st2 = st.clone();
        let Ok((result, back, back_track)) = tokio::task::spawn_blocking(move || {
            let result = live.render(now);
            if result.is_ok() && track.wanted() {
                // The same panorama, H.264 once for every WebRTC session; the newest camera
                // frame's arrival is the capture time (the relay-added latency starts there).
                let capture = (0..live.camera_count())
                    .filter_map(|i| live.last_frame_at(i))
                    .max()
                    .unwrap_or(now);
                let pano = live.panorama();
                let (w, h) = pano.size();
                match track.push_rgb(pano.as_bytes(), w, h, capture) {
                    Ok(Pushed::Sent {
                        bytes, encode_time, ..
                    }) => {
                        let mut out = lock(&st2.out);
                        out.h264_frames += 1;
                        (out.h264_encode, out.h264_bytes) = (out.h264_encode + encode_time, bytes);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "H.264 encode failed"),
                }
            }
            (result, live, track)
        })
        .await
        else {
            return tracing::error!("compositor task panicked");
        };
        (live, track) = (back, back_track);
        match result {
            Ok(pano) => publish(&st, &live, &writer, pano, now),
            Err(e) => tracing::error!(error = %e, "panorama render failed"),
        }
        schedule.rendered(tiles, now);
    }
}

fn publish(
    st: &State,
    live: &LiveStitcher,
    writer: &stream_codec::Writer,
    pano: LivePanorama,
    now: Instant,
) {
    let part = writer.encode_part(&pano.jpeg, Some(st.started.elapsed()));
    // The JPEG is the part's body: it ends 2 bytes (CRLF) before the end of the part.
    let jpeg = part.slice(part.len() - 2 - pano.jpeg.len()..part.len() - 2);
    let sizes = live.plan().map(|p| p.input_sizes()).unwrap_or_default();
    for (i, size) in sizes.into_iter().enumerate().take(st.cams.len()) {
        let mut c = st.cam(i);
        c.stitch = live.stats(i).cloned().unwrap_or_default();
        c.size = live.last_frame_at(i).map(|_| size);
    }
    let mut out = lock(&st.out);
    (out.fps, out.last, out.jpeg_bytes) = (ewma(out.fps, out.last, now), Some(now), jpeg.len());
    (out.render, out.encode) = (
        out.render + pano.decode_time + pano.render_time,
        out.encode + pano.encode_time,
    );
    drop(out);
    let all_live = pano
        .tiles
        .iter()
        .all(|t| matches!(t, cam_stitch::Tile::Live { .. }));
    st.hub.publish(Part {
        part,
        jpeg,
        all_live,
    });
}
