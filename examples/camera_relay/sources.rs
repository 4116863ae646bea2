//! One task per camera: the upstream connection's state machine and the camera's latest frame.
//!
//! ```text
//!            first viewer                 frames
//!   Idle ─────────────────▶ Connecting ───────────▶ Live
//!    ▲                        │   ▲                  │ error / EOF / silence
//!    │ --idle-s without       ▼   │ backoff          ▼
//!    └──── viewers ─────────  Down ◀─────────────────┘
//! ```
//!
//! Exactly one upstream connection per camera exists whatever the number of viewers: the task
//! opens it when the viewer count (the hub's `demand`) becomes non-zero and drops it after
//! `idle` without viewers. A failed or dropped connection is retried with exponential backoff
//! (100 ms doubling, capped at 500 ms: a camera that comes back is live again within about a
//! second).
//! Every state change is logged with `tracing` and wakes the compositor, which paints a
//! placeholder for any camera that is not live or whose newest frame is stale.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, watch};

use crate::config::SourceUrl;
use crate::frames::Rgb;

/// Upstream connection state of one camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CamState {
    /// No viewers: no connection.
    Idle,
    /// Opening the connection / waiting for the first frame.
    Connecting,
    /// Frames are arriving.
    Live,
    /// The last attempt failed; retrying after a backoff.
    Down,
}

impl CamState {
    /// Lower-case name for JSON, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Down => "down",
        }
    }
}

/// State plus why and since when.
#[derive(Clone, Debug)]
pub struct CamStatus {
    /// Current state.
    pub state: CamState,
    /// When the state was entered.
    pub since: Instant,
    /// The last error (kept while down, cleared when live).
    pub reason: Option<String>,
}

/// A decoded camera frame.
#[derive(Clone, Debug)]
pub struct CamFrame {
    /// Per-camera sequence number.
    pub seq: u64,
    /// When it was decoded.
    pub at: Instant,
    /// The pixels.
    pub image: Arc<Rgb>,
    /// The JPEG as received, when the source sent JPEG (for `/camera/N.jpg`).
    pub jpeg: Option<Bytes>,
}

/// Frames per second over the last two seconds.
#[derive(Debug, Default)]
pub struct FpsMeter {
    times: VecDeque<Instant>,
}

impl FpsMeter {
    /// Records one event now.
    pub fn tick(&mut self) {
        let now = Instant::now();
        self.times.push_back(now);
        while self.times.len() > 256
            || self
                .times
                .front()
                .is_some_and(|t| now - *t > Duration::from_secs(2))
        {
            self.times.pop_front();
        }
    }

    /// Events per second over the window (0 when fewer than two events or the last is old).
    pub fn fps(&self) -> f64 {
        let (Some(first), Some(last)) = (self.times.front(), self.times.back()) else {
            return 0.0;
        };
        if self.times.len() < 2 || last.elapsed() > Duration::from_secs(2) {
            return 0.0;
        }
        let span = (*last - *first).as_secs_f64();
        if span <= 0.0 {
            0.0
        } else {
            (self.times.len() - 1) as f64 / span
        }
    }
}

/// Timings of the source state machine.
#[derive(Clone, Copy, Debug)]
pub struct SourceTiming {
    /// Close the upstream connection after this long without viewers.
    pub idle: Duration,
    /// First reconnect delay (doubles per failure).
    pub backoff_min: Duration,
    /// Reconnect delay cap.
    pub backoff_max: Duration,
    /// A connection with no data for this long is dropped and retried.
    pub read_timeout: Duration,
    /// Minimum interval between two `/capture` polls.
    pub poll_interval: Duration,
}

impl Default for SourceTiming {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
            read_timeout: Duration::from_secs(3),
            poll_interval: Duration::from_millis(33),
        }
    }
}

/// One camera: its source, state, latest frame and counters.
pub struct Camera {
    /// Index in the config.
    pub index: usize,
    /// Where its frames come from.
    pub url: SourceUrl,
    status: Mutex<CamStatus>,
    latest: Mutex<Option<CamFrame>>,
    fps: Mutex<FpsMeter>,
    /// Wakes the compositor on new frames and state changes.
    pub wake: Arc<Notify>,
    /// Frames decoded.
    pub frames_total: AtomicU64,
    /// Frames that failed to decode.
    pub bad_frames_total: AtomicU64,
    /// Upstream connections opened.
    pub connects_total: AtomicU64,
    /// Failed or dropped connections.
    pub failures_total: AtomicU64,
    /// Bytes read from upstream.
    pub bytes_total: AtomicU64,
}

impl Camera {
    /// A camera in state `Idle`.
    pub fn new(index: usize, url: SourceUrl, wake: Arc<Notify>) -> Self {
        Self {
            index,
            url,
            status: Mutex::new(CamStatus {
                state: CamState::Idle,
                since: Instant::now(),
                reason: None,
            }),
            latest: Mutex::new(None),
            fps: Mutex::new(FpsMeter::default()),
            wake,
            frames_total: AtomicU64::new(0),
            bad_frames_total: AtomicU64::new(0),
            connects_total: AtomicU64::new(0),
            failures_total: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
        }
    }

    /// Current status.
    pub fn status(&self) -> CamStatus {
        self.status.lock().expect("status lock").clone()
    }

    /// The newest decoded frame.
    pub fn latest(&self) -> Option<CamFrame> {
        self.latest.lock().expect("frame lock").clone()
    }

    /// Decoded frames per second (last two seconds).
    pub fn fps(&self) -> f64 {
        self.fps.lock().expect("fps lock").fps()
    }

    /// Moves to `state`, logging the change; `reason` is kept for `Down`.
    pub fn set_state(&self, state: CamState, reason: Option<String>) {
        let mut st = self.status.lock().expect("status lock");
        if st.state == state && st.reason == reason {
            return;
        }
        let url = self.url.as_str();
        match state {
            CamState::Down => {
                tracing::warn!(camera = self.index, %url, from = st.state.as_str(), reason = reason.as_deref().unwrap_or(""), "camera down")
            }
            _ => {
                tracing::info!(camera = self.index, %url, from = st.state.as_str(), to = state.as_str(), "camera state")
            }
        }
        if st.state != state {
            st.since = Instant::now();
        }
        st.state = state;
        st.reason = reason;
        drop(st);
        self.wake.notify_one();
    }

    /// Stores a decoded frame and marks the camera live.
    pub fn deliver(&self, image: Rgb, jpeg: Option<Bytes>) {
        let seq = self.frames_total.fetch_add(1, Ordering::Relaxed) + 1;
        self.fps.lock().expect("fps lock").tick();
        *self.latest.lock().expect("frame lock") = Some(CamFrame {
            seq,
            at: Instant::now(),
            image: Arc::new(image),
            jpeg,
        });
        if self.status.lock().expect("status lock").state != CamState::Live {
            self.set_state(CamState::Live, None);
        }
        self.wake.notify_one();
    }

    /// Decodes a JPEG received from upstream (on the blocking pool) and delivers it; a frame that
    /// does not decode is counted and logged, and the camera keeps its previous frame (which goes
    /// stale, so the compositor shows a placeholder if bad frames continue).
    /// Returns whether the frame decoded.
    pub async fn deliver_jpeg(self: &Arc<Self>, jpeg: Bytes) -> bool {
        let data = jpeg.clone();
        let decoded = tokio::task::spawn_blocking(move || crate::frames::decode_jpeg(&data)).await;
        match decoded {
            Ok(Ok(image)) => {
                self.deliver(image, Some(jpeg));
                return true;
            }
            Ok(Err(e)) => self.bad_frame(&e),
            Err(e) => tracing::error!(camera = self.index, error = %e, "decoder task failed"),
        }
        false
    }

    /// Counts a frame that could not be used; logs the 1st, 2nd, 4th, 8th, ... one.
    pub fn bad_frame(&self, error: &dyn std::fmt::Display) {
        let n = self.bad_frames_total.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(camera = self.index, bad_frames = n, error = %error, "bad frame from camera");
        }
    }
}

/// Waits until there is at least one viewer.
async fn wait_for_viewers(demand: &mut watch::Receiver<usize>) -> bool {
    demand.wait_for(|n| *n > 0).await.is_ok()
}

/// Returns once there has been no viewer for `idle` in a row.
async fn wait_idle(mut demand: watch::Receiver<usize>, idle: Duration) {
    loop {
        if demand.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await;
        }
        let deadline = tokio::time::sleep(idle);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                changed = demand.changed() => {
                    if changed.is_err() {
                        return std::future::pending().await;
                    }
                    if *demand.borrow() > 0 {
                        break;
                    }
                }
            }
        }
    }
}

/// The camera's task: runs forever (abort it to stop).
pub async fn run(cam: Arc<Camera>, mut demand: watch::Receiver<usize>, timing: SourceTiming) {
    loop {
        cam.set_state(CamState::Idle, None);
        if !wait_for_viewers(&mut demand).await {
            return;
        }
        let mut backoff = timing.backoff_min;
        // One "awake" period: connect, stream, reconnect on failure, until idle.
        let awake = async {
            loop {
                cam.set_state(CamState::Connecting, None);
                cam.connects_total.fetch_add(1, Ordering::Relaxed);
                let before = cam.frames_total.load(Ordering::Relaxed);
                let result = crate::upstream::session(&cam, &timing).await;
                cam.failures_total.fetch_add(1, Ordering::Relaxed);
                if cam.frames_total.load(Ordering::Relaxed) > before {
                    backoff = timing.backoff_min;
                }
                let reason = match result {
                    Ok(()) => "connection closed by the camera".to_owned(),
                    Err(e) => e.to_string(),
                };
                cam.set_state(CamState::Down, Some(reason));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(timing.backoff_max);
            }
        };
        tokio::select! {
            _ = awake => {}
            _ = wait_idle(demand.clone(), timing.idle) => {
                tracing::info!(camera = cam.index, idle_s = timing.idle.as_secs_f64(), "no viewers: closing the camera connection");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_meter_counts() {
        let mut m = FpsMeter::default();
        assert_eq!(m.fps(), 0.0);
        m.tick();
        std::thread::sleep(Duration::from_millis(20));
        m.tick();
        assert!(m.fps() > 10.0 && m.fps() < 60.0, "{}", m.fps());
    }
}
