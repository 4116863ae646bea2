//! Wiring: cameras (stream-codec `client`, cam-stitch `rtsp`) -> newest frame per camera ->
//! compositor (cam-stitch `LiveStitcher` + `RenderSchedule`) -> `Fanout` of encoded parts ->
//! viewers; the same panorama, encoded once as H.264, to the WebRTC (WHEP) sessions.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cam_stitch::{CameraFrame, CameraStats, LivePanorama, LiveStitcher, RenderSchedule, SourceUrl};
use stream_codec::client::{ClientConfig, ClientState, ClientStatus, OnDemandCamera};
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

/// A camera: connected while anyone watches (stream-codec's `OnDemandCamera`: state, counters,
/// newest frame) and what the stitcher knows of it (bad frames, last reason, frame size).
pub struct Cam {
    pub feed: OnDemandCamera<CameraFrame>,
    pub stitch: Mutex<(CameraStats, Option<(u32, u32)>)>,
}

impl Cam {
    /// Camera `url`, closed after `idle` without viewers; its frames and state changes wake `wake`.
    pub fn new(url: &SourceUrl, idle: Duration, wake: Arc<Notify>) -> Cam {
        let feed = OnDemandCamera::new(url.to_string(), idle).with_wake(wake);
        Cam {
            feed,
            stitch: Default::default(),
        }
    }
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
    pub cams: Vec<Cam>,
    pub hub: stream_codec::fanout::Fanout<Part>,
    /// Woken by every camera frame and state change.
    pub wake: Arc<Notify>,
    pub started: Instant,
    pub panorama: (u32, u32),
    pub out: Mutex<Out>,
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

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Camera `i`'s task: connected on the first viewer, closed after `--idle-s` without viewers.
/// Exactly one upstream connection whatever the number of viewers.
pub async fn run_camera(st: Arc<State>, i: usize) {
    let (cam, demand) = (&st.cams[i].feed, st.demand.subscribe());
    tokio::spawn(log_states(cam.status(), i));
    let down = |why: String| async { cam.set_state(ClientState::Down, Some(why)) };
    match &st.urls[i] {
        SourceUrl::Http(url) => match stream_codec::CameraUrl::parse(url) {
            Ok(url) => cam.run_http(demand, &url, st.client.clone()).await,
            Err(e) => cam.run(demand, || down(e.to_string())).await,
        },
        #[cfg(feature = "opencv")]
        SourceUrl::Rtsp(url) => cam.run(demand, || rtsp_source(&st, i, url)).await,
        #[cfg(not(feature = "opencv"))]
        SourceUrl::Rtsp(_) => {
            cam.run(demand, || down("built without `opencv`".into()))
                .await
        }
    }
}

/// Logs camera `i`'s state changes (URL and reason are redacted).
async fn log_states(mut status: watch::Receiver<ClientStatus>, i: usize) {
    let mut from = status.borrow().state;
    while status.changed().await.is_ok() {
        let s = status.borrow_and_update().clone();
        let (url, why, to) = (&s.url, s.reason.as_deref().unwrap_or(""), s.state.as_str());
        tracing::info!(camera = i, %url, from = from.as_str(), to, reason = why, "camera state");
        from = s.state;
    }
}

/// RTSP through cam-stitch's OpenCV reader (on a thread of its own), reconnecting.
#[cfg(feature = "opencv")]
async fn rtsp_source(st: &State, i: usize, url: &str) {
    use tokio::sync::mpsc::error::TrySendError;
    let (cam, silence) = (&st.cams[i].feed, st.client.silence_timeout);
    loop {
        cam.connecting();
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
                Ok(Some(Ok(img))) => cam.deliver(CameraFrame::Rgb(Arc::new(img))),
            }
            cam.set_state(ClientState::Live, None);
            deadline = silence;
        };
        cam.failed(format!("{}: {why}", st.urls[i]));
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
    let mut demand = st.demand.subscribe();
    let (writer, mut fed) = (st.writer.clone(), vec![0u64; st.cams.len()]);
    loop {
        let notified = st.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = Instant::now();
        for (i, seen) in fed.iter_mut().enumerate() {
            let cam = &st.cams[i].feed;
            if let Some(l) = cam.latest().filter(|l| l.seq > *seen) {
                *seen = l.seq;
                let _ = live.push(i, l.frame, l.at);
            }
            let what = match cam.status().borrow().state {
                ClientState::Live => None,
                ClientState::Down => Some("offline"),
                state => Some(state.as_str()),
            };
            let _ = live.set_offline(i, what.map(|what| format!("camera {i} {what}")));
        }
        let tiles = live.tiles(now);
        let next = if *demand.borrow_and_update() == 0 {
            schedule.reset();
            Some(now + Duration::from_secs(3600))
        } else {
            schedule.next(&tiles, live.stale_at(now), now)
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
        let stats = live.stats(i).cloned().unwrap_or_default();
        *lock(&st.cams[i].stitch) = (stats, live.last_frame_at(i).map(|_| size));
    }
    let mut out = lock(&st.out);
    let fps = out.last.map_or(out.fps, |p| {
        0.8 * out.fps + 0.2 / (now - p).as_secs_f64().max(1e-3)
    });
    (out.fps, out.last, out.jpeg_bytes) = (fps, Some(now), jpeg.len());
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
