//! Wiring: cameras (stream-codec `client`, or cam-stitch's RTSP reader) -> newest frame per
//! camera -> compositor (cam-stitch `LiveStitcher`, scheduled here) -> `Fanout` of encoded parts
//! -> viewers. A second output (e.g. WebRTC) is one more `st.hub.subscribe(..)`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cam_stitch::{CameraFrame, CameraStats, LiveStitcher, RenderSchedule, SourceUrl};
use futures_util::StreamExt as _;
use stream_codec::Writer;
use stream_codec::client::{ClientConfig, ClientState};
use tokio::sync::{Notify, watch};

/// One encoded panorama: the multipart part (shared by every viewer) and its JPEG (a slice).
#[derive(Clone)]
pub struct Part {
    pub part: Bytes,
    pub jpeg: Bytes,
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
    /// The stitcher's decode counters (bad frames and the last reason) and input size.
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
}

/// Timings of sources and compositor.
#[derive(Clone)]
pub struct Timing {
    pub idle: Duration,
    pub client: ClientConfig,
    pub max_fps: f64,
    pub max_wait: Duration,
    pub heartbeat: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Exponential moving average of a rate, from the time since the previous event.
fn ewma(fps: f64, previous: Option<Instant>, now: Instant) -> f64 {
    let Some(dt) = previous.map(|p| (now - p).as_secs_f64().max(1e-3)) else {
        return fps;
    };
    if fps == 0.0 {
        1.0 / dt
    } else {
        0.8 * fps + 0.2 / dt
    }
}

impl State {
    pub fn cam(&self, i: usize) -> MutexGuard<'_, Cam> {
        lock(&self.cams[i])
    }

    /// Moves camera `i` to `state`, logging the change (URL and reason are redacted).
    pub fn set_state(&self, i: usize, state: &'static str, reason: Option<String>) {
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
    pub fn deliver(&self, i: usize, frame: CameraFrame) {
        let now = Instant::now();
        let mut c = self.cam(i);
        c.frames += 1;
        c.fps = ewma(c.fps, c.latest.as_ref().map(|l| l.1), now);
        c.latest = Some((c.frames, now, frame));
        drop(c);
        self.wake.notify_one();
    }
}

/// Waits until there has been no viewer for `idle` in a row.
async fn wait_idle(mut demand: watch::Receiver<usize>, idle: Duration) {
    loop {
        if demand.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await;
        }
        if tokio::time::timeout(idle, demand.wait_for(|n| *n > 0))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Camera `i`'s task: connect on the first viewer, read frames, close after `idle` without
/// viewers. Exactly one upstream connection whatever the number of viewers.
pub async fn run_camera(st: Arc<State>, i: usize, t: Timing) {
    let mut demand = st.hub.demand();
    loop {
        st.set_state(i, "idle", None);
        if demand.wait_for(|n| *n > 0).await.is_err() {
            return;
        }
        let session = async {
            match &st.urls[i] {
                SourceUrl::Http(url) => http_source(&st, i, url, &t).await,
                #[cfg(feature = "opencv")]
                SourceUrl::Rtsp(url) => rtsp_source(&st, i, url, &t).await,
                #[cfg(not(feature = "opencv"))]
                SourceUrl::Rtsp(_) => {
                    st.set_state(i, "down", Some("RTSP needs the `opencv` feature".into()));
                    std::future::pending().await
                }
            }
        };
        tokio::select! {
            () = session => {}
            () = wait_idle(demand.clone(), t.idle) => {
                tracing::info!(camera = i, "no viewers: closing the camera connection");
            }
        }
    }
}

async fn http_source(st: &State, i: usize, url: &str, t: &Timing) {
    let mut camera = match stream_codec::client::connect(url, t.client.clone()) {
        Ok(c) => c,
        Err(e) => return st.set_state(i, "down", Some(e.to_string())),
    };
    let (status, base, mut seen) = (camera.status(), st.cam(i).bytes, 0);
    st.set_state(i, "connecting", None);
    st.cam(i).connects += 1;
    while let Some(item) = camera.next().await {
        let s = status.borrow().clone();
        if let Ok(frame) = item {
            st.deliver(i, CameraFrame::Jpeg(frame.data));
        }
        let mut c = st.cam(i);
        (c.bytes, c.connects, c.failures) = (
            base + s.bytes,
            c.connects + s.reconnects - seen,
            c.failures + s.reconnects - seen,
        );
        seen = s.reconnects;
        drop(c);
        let state = match s.state {
            ClientState::Live => "live",
            ClientState::Down => "down",
            _ => "connecting",
        };
        st.set_state(i, state, s.reason);
    }
}

/// RTSP through OpenCV (cam-stitch feature `opencv`) on a thread of its own, reconnecting.
#[cfg(feature = "opencv")]
async fn rtsp_source(st: &State, i: usize, url: &str, t: &Timing) {
    loop {
        st.set_state(i, "connecting", None);
        st.cam(i).connects += 1;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let reader = cam_stitch::rtsp::RtspReader::spawn(url, t.client.silence_timeout, move |f| {
            // Full: the relay is behind, drop this frame (the next one is newer anyway).
            !matches!(
                tx.try_send(f),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
            )
        });
        let mut deadline = cam_stitch::rtsp::OPEN_TIMEOUT.max(t.client.silence_timeout);
        let why = loop {
            match tokio::time::timeout(deadline, rx.recv()).await {
                Err(_) => break format!("no frame for {:.1} s", deadline.as_secs_f64()),
                Ok(None) => break "capture ended".into(),
                Ok(Some(Err(e))) => break e.to_string(),
                Ok(Some(Ok(img))) => st.deliver(i, CameraFrame::Rgb(Arc::new(img))),
            }
            st.set_state(i, "live", None);
            deadline = t.client.silence_timeout;
        };
        drop(reader);
        st.cam(i).failures += 1;
        st.set_state(i, "down", Some(format!("{}: {why}", st.urls[i])));
        tokio::time::sleep(t.client.backoff_max).await;
    }
}

/// The compositor: feeds each camera's newest frame to the stitcher and renders when cam-stitch's
/// `RenderSchedule` says so (never without viewers), on the blocking pool.
pub async fn run_compositor(st: Arc<State>, mut live: LiveStitcher, w: Writer, t: Timing) {
    let mut demand = st.hub.demand();
    let mut schedule = RenderSchedule::new(t.max_fps, t.max_wait, t.heartbeat);
    let stale = live.options().stale;
    let mut fed = vec![0u64; st.cams.len()];
    loop {
        let notified = st.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if *demand.borrow_and_update() == 0 {
            schedule.reset();
            tokio::select! { _ = demand.changed() => {} () = &mut notified => {} }
            continue;
        }
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
        if let Some(at) = schedule.next(&tiles, stale_at, now) {
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(at.into()) => {}
                _ = demand.changed() => {}
            }
            continue;
        }
        let job = tokio::task::spawn_blocking(move || (live.render(Instant::now()), live));
        let Ok((result, back)) = job.await else {
            return tracing::error!("compositor task panicked");
        };
        live = back;
        match result {
            Ok(pano) => publish(&st, &live, &w, pano, now),
            Err(e) => tracing::error!(error = %e, "panorama render failed"),
        }
        schedule.rendered(tiles, now);
    }
}

fn publish(
    st: &State,
    live: &LiveStitcher,
    writer: &Writer,
    pano: cam_stitch::LivePanorama,
    now: Instant,
) {
    let part = writer.encode_part(&pano.jpeg, Some(st.started.elapsed()));
    // The JPEG is the part's body: it ends 2 bytes (CRLF) before the end of the part.
    let end = part.len() - 2;
    let jpeg = part.slice(end - pano.jpeg.len()..end);
    let sizes = live.plan().map(|p| p.input_sizes()).unwrap_or_default();
    for (i, size) in sizes.into_iter().enumerate().take(st.cams.len()) {
        let mut c = st.cam(i);
        c.stitch = live.stats(i).cloned().unwrap_or_default();
        c.size = live.last_frame_at(i).map(|_| size);
    }
    let mut out = lock(&st.out);
    (out.fps, out.last) = (ewma(out.fps, out.last, now), Some(now));
    (out.render, out.encode) = (
        out.render + pano.decode_time + pano.render_time,
        out.encode + pano.encode_time,
    );
    out.jpeg_bytes = jpeg.len();
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
