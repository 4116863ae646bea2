//! A camera connected only while someone wants its frames: [`OnDemandCamera`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{Notify, watch};

use super::{CameraStream, ClientConfig, ClientState, ClientStatus};
use crate::CameraUrl;

/// The newest frame of an [`OnDemandCamera`].
#[derive(Debug, Clone)]
pub struct LatestFrame<T> {
    /// Frames delivered so far, this one included (1, 2, ...; across closes and reopens).
    pub seq: u64,
    /// When it arrived.
    pub at: Instant,
    /// Moving average of the frame rate when it arrived (frames per second).
    pub fps: f64,
    /// The frame.
    pub frame: T,
}

/// A camera that is connected only while someone wants its frames (an ESP32-CAM serves one client
/// at a time: a relay should hold its connection only while it has viewers).
///
/// [`run_http`](OnDemandCamera::run_http) (or [`run`](OnDemandCamera::run) with any source, e.g.
/// RTSP) waits until the `demand` (a `watch` of a viewer count, such as
/// [`Fanout::demand`](crate::fanout::Fanout::demand)) is above 0, connects, and closes the
/// connection after `idle` in a row without demand. One [`ClientStatus`] lives across closes and
/// reopens (state [`ClientState::Idle`] while closed; `connects`, `reconnects`, `bytes` go on),
/// and the newest frame is kept in a `watch` ([`latest`](OnDemandCamera::latest)). An optional
/// [`Notify`] is woken on every frame and state change, so that one task can follow many cameras.
///
/// This is the posecam camera relay's per-camera task (`run_camera` in
/// `examples/camera_relay/relay.rs`) made reusable.
///
/// ```no_run
/// use std::time::Duration;
/// use stream_codec::{CameraUrl, client::OnDemandCamera};
/// # async fn run() -> Result<(), stream_codec::UrlError> {
/// let hub = stream_codec::fanout::Fanout::<bytes::Bytes>::default();
/// let url = CameraUrl::parse("http://admin:pw@192.168.1.20:81/stream")?;
/// let camera = OnDemandCamera::<bytes::Bytes>::new(url.redacted(), Duration::from_secs(30));
/// let mut latest = camera.watch_latest();
/// tokio::spawn(async move {
///     while latest.changed().await.is_ok() {
///         if let Some(f) = latest.borrow_and_update().clone() {
///             println!("frame {} at {:.1} fps", f.seq, f.fps);
///         }
///     }
/// });
/// // connected while the hub has subscribers, closed 30 s after the last one left
/// camera.run_http(hub.demand(), &url, Default::default()).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct OnDemandCamera<T = Bytes> {
    status: watch::Sender<ClientStatus>,
    latest: watch::Sender<Option<LatestFrame<T>>>,
    wake: Option<Arc<Notify>>,
    idle: Duration,
}

impl<T: Clone + Send + Sync + 'static> OnDemandCamera<T> {
    /// A camera shown as `name` (a URL already redacted, e.g. [`CameraUrl::redacted`]) in its
    /// status, closed after `idle` without demand. Its state is [`ClientState::Idle`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use stream_codec::client::{ClientState, OnDemandCamera};
    /// let camera = OnDemandCamera::<Vec<u8>>::new("rtsp://cam/live", Duration::from_secs(30));
    /// let status = camera.status().borrow().clone();
    /// assert_eq!((status.url.as_str(), status.state), ("rtsp://cam/live", ClientState::Idle));
    /// assert!(camera.latest().is_none());
    /// ```
    pub fn new(name: impl Into<String>, idle: Duration) -> Self {
        let status = ClientStatus {
            url: name.into(),
            state: ClientState::Idle,
            since: Instant::now(),
            reason: None,
            connects: 0,
            reconnects: 0,
            frames: 0,
            bytes: 0,
            errors: 0,
            last_frame: None,
        };
        OnDemandCamera {
            status: watch::channel(status).0,
            latest: watch::channel(None).0,
            wake: None,
            idle,
        }
    }

    /// Also wakes `wake` (`notify_one`) on every frame and state change.
    pub fn with_wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// A receiver of the status (`borrow()` is cheap; `changed()` wakes on state changes).
    pub fn status(&self) -> watch::Receiver<ClientStatus> {
        self.status.subscribe()
    }

    /// The newest frame, if any arrived yet (kept while the camera is idle).
    pub fn latest(&self) -> Option<LatestFrame<T>> {
        self.latest.borrow().clone()
    }

    /// A receiver of the newest frame (`changed()` wakes on every frame).
    pub fn watch_latest(&self) -> watch::Receiver<Option<LatestFrame<T>>> {
        self.latest.subscribe()
    }

    /// Stores a frame as the newest one (for sources driven by [`run`](OnDemandCamera::run)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let camera = stream_codec::client::OnDemandCamera::new("cam", Duration::ZERO);
    /// camera.deliver("first");
    /// camera.deliver("second");
    /// let newest = camera.latest().expect("delivered");
    /// assert_eq!((newest.seq, newest.frame), (2, "second"));
    /// ```
    pub fn deliver(&self, frame: T) {
        let now = Instant::now();
        self.latest.send_modify(|l| {
            let (seq, fps) = l.as_ref().map_or((1, 0.0), |p| {
                let dt = (now - p.at).as_secs_f64().max(1e-3);
                (p.seq + 1, 0.8 * p.fps + 0.2 / dt)
            });
            *l = Some(LatestFrame {
                seq,
                at: now,
                fps,
                frame,
            });
        });
        self.wake();
    }

    /// Moves to `state` (for sources driven by [`run`](OnDemandCamera::run)): `reason` replaces
    /// the last one when given; `Live` and `Idle` clear it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stream_codec::client::{ClientState, OnDemandCamera};
    /// let camera = OnDemandCamera::<()>::new("cam", Duration::ZERO);
    /// camera.set_state(ClientState::Down, Some("capture ended".into()));
    /// assert_eq!(camera.status().borrow().reason.as_deref(), Some("capture ended"));
    /// camera.set_state(ClientState::Live, None);
    /// assert_eq!(camera.status().borrow().reason, None);
    /// ```
    pub fn set_state(&self, state: ClientState, reason: Option<String>) {
        let changed = self.status.send_if_modified(|s| {
            let changed = s.state != state || (reason.is_some() && s.reason != reason);
            if s.state != state {
                (s.state, s.since) = (state, Instant::now());
            }
            if matches!(state, ClientState::Live | ClientState::Idle) {
                s.reason = None;
            } else if reason.is_some() {
                s.reason = reason;
            }
            changed
        });
        if changed {
            self.wake();
        }
    }

    /// Counts a connection attempt and moves to `Connecting` (for sources driven by
    /// [`run`](OnDemandCamera::run)).
    pub fn connecting(&self) {
        self.status.send_if_modified(|s| {
            s.connects += 1;
            false
        });
        self.set_state(ClientState::Connecting, None);
    }

    /// Counts a failed or dropped connection (in `errors` and, as the source will try again,
    /// `reconnects`) and moves to `Down` with `reason` (for sources driven by
    /// [`run`](OnDemandCamera::run)).
    pub fn failed(&self, reason: String) {
        self.status.send_if_modified(|s| {
            (s.errors, s.reconnects) = (s.errors + 1, s.reconnects + 1);
            false
        });
        self.set_state(ClientState::Down, Some(reason));
    }

    /// Runs the camera until the demand's sender is dropped: waits for demand, runs `session`
    /// (which connects, [`deliver`](OnDemandCamera::deliver)s frames and reports its state;
    /// it may return, e.g. when the source cannot be used), and drops it after `idle` in a row
    /// without demand; then again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stream_codec::client::{ClientState, OnDemandCamera};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let camera = OnDemandCamera::new("counter", Duration::from_millis(20));
    /// let (demand, rx) = tokio::sync::watch::channel(1usize);
    /// let mut status = camera.status();
    /// let run = camera.run(rx, || async {
    ///     camera.connecting();
    ///     camera.deliver(42u32);
    ///     camera.set_state(ClientState::Live, None);
    /// });
    /// let watch = async {
    ///     status.wait_for(|s| s.state == ClientState::Live).await.expect("running");
    ///     demand.send_replace(0); // nobody watches: idle after 20 ms
    ///     status.wait_for(|s| s.state == ClientState::Idle).await.expect("running");
    ///     drop(demand); // ends `run`
    /// };
    /// tokio::join!(run, watch);
    /// assert_eq!(camera.latest().expect("delivered").frame, 42);
    /// # }
    /// ```
    pub async fn run<F, Fut>(&self, mut demand: watch::Receiver<usize>, mut session: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        loop {
            self.set_state(ClientState::Idle, None);
            if demand.wait_for(|n| *n > 0).await.is_err() {
                return;
            }
            let connected = async {
                session().await;
                std::future::pending::<()>().await
            };
            tokio::select! {
                () = connected => {}
                () = wait_idle(demand.clone(), self.idle) => {}
            }
            if demand.has_changed().is_err() {
                return self.set_state(ClientState::Idle, None);
            }
        }
    }

    /// [`run`](OnDemandCamera::run) with an HTTP camera read by [`CameraStream`] (MJPEG or
    /// polled JPEG, deadlines, backoff, Basic / Digest) that reports into this camera's status.
    pub async fn run_http(
        &self,
        demand: watch::Receiver<usize>,
        url: &CameraUrl,
        config: ClientConfig,
    ) where
        T: From<Bytes>,
    {
        self.run(demand, || async {
            let mut camera =
                CameraStream::with_status(url.clone(), config.clone(), self.status.clone());
            self.wake();
            while let Some(item) = camera.next().await {
                match item {
                    Ok(frame) => self.deliver(T::from(frame.data)),
                    Err(_) => self.wake(),
                }
            }
        })
        .await;
    }

    fn wake(&self) {
        if let Some(w) = &self.wake {
            w.notify_one();
        }
    }
}

/// Returns once there has been no demand for `idle` in a row, or when the demand's sender is gone.
async fn wait_idle(mut demand: watch::Receiver<usize>, idle: Duration) {
    while demand.wait_for(|n| *n == 0).await.is_ok() {
        match tokio::time::timeout(idle, demand.wait_for(|n| *n > 0)).await {
            Ok(Ok(_)) => {}                // wanted again within `idle`
            Err(_) | Ok(Err(_)) => return, // idle for `idle`, or the sender is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn opens_on_demand_closes_after_idle_and_keeps_counting() {
        let camera = Arc::new(OnDemandCamera::<u32>::new("cam", Duration::from_secs(5)));
        let (demand, rx) = watch::channel(0usize);
        let sessions = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (c, n) = (camera.clone(), sessions.clone());
        let task = tokio::spawn(async move {
            c.run(rx, || {
                let (c, n) = (c.clone(), n.clone());
                async move {
                    let k = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    c.connecting();
                    c.deliver(k);
                    c.set_state(ClientState::Live, None);
                }
            })
            .await;
        });
        let ms = |n| tokio::time::sleep(Duration::from_millis(n));
        ms(1000).await;
        assert_eq!(camera.status().borrow().state, ClientState::Idle);
        assert_eq!(sessions.load(std::sync::atomic::Ordering::SeqCst), 0);
        demand.send_replace(2);
        ms(10).await;
        assert_eq!(camera.status().borrow().state, ClientState::Live);
        // A short gap in demand does not close it.
        demand.send_replace(0);
        ms(4000).await;
        demand.send_replace(1);
        ms(4000).await;
        assert_eq!(camera.status().borrow().state, ClientState::Live);
        demand.send_replace(0);
        ms(5100).await;
        assert_eq!(camera.status().borrow().state, ClientState::Idle);
        demand.send_replace(1);
        ms(10).await;
        let status = camera.status().borrow().clone();
        assert_eq!((status.state, status.connects), (ClientState::Live, 2));
        let latest = camera.latest().expect("delivered");
        assert_eq!((latest.seq, latest.frame), (2, 1));
        drop(demand);
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("run ends without a demand sender")
            .expect("no panic");
    }

    #[test]
    fn failed_counts_and_keeps_the_reason_until_live() {
        let camera = OnDemandCamera::<()>::new("cam", Duration::ZERO);
        camera.connecting();
        camera.failed("refused".into());
        camera.connecting();
        let s = camera.status().borrow().clone();
        assert_eq!((s.connects, s.reconnects, s.errors), (2, 1, 1));
        assert_eq!(
            (s.state, s.reason.as_deref()),
            (ClientState::Connecting, Some("refused"))
        );
    }
}
