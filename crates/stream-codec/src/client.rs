//! An MJPEG camera client (feature `tokio`): a camera URL in, a [`Stream`] of frames out, that
//! keeps reconnecting.
//!
//! * One `GET`. A `multipart/x-mixed-replace` answer (chunked or not) is read through
//!   [`HttpDecoder`](crate::HttpDecoder); an `image/jpeg` answer is polled again on the same
//!   keep-alive connection at most every [`ClientConfig::poll_interval`] (30/s by default).
//! * A deadline for each phase ([`Phase`]): connect, the whole response head, the first frame, the
//!   silence between frames (3 s each by default); limits on the head and part sizes.
//! * Errors are items: a corrupt part gives [`ClientError::Decode`] and the stream goes on; any
//!   other error closes the connection, and the client reconnects after a capped, jittered
//!   exponential backoff (100 ms doubling to 500 ms). The stream ends only when dropped, or after
//!   [`ClientConfig::max_reconnects`].
//! * Credentials from the URL's user-info: HTTP Basic, or Digest when the camera answers `401`
//!   with `WWW-Authenticate: Digest` (MD5 or SHA-256, `qop=auth`). Passwords are never shown:
//!   every URL in a message or status is [`redact_url`](crate::redact_url)ed.
//! * [`CameraStream::status`]: a `watch` of [`ClientStatus`] (state, since, reason, counters) for
//!   `/health` pages.
//! * [`OnDemandCamera`]: a camera connected only while someone wants its frames (a demand
//!   `watch`), closed after an idle delay, one status across closes and reopens, its newest frame
//!   in a `watch`.
//!
//! This replaces the posecam camera relay's hand-written upstream reader and the examples' MJPEG
//! client (`examples/camera_relay/upstream.rs`, `examples/common/mjpeg_client.rs`).
//!
//! ```no_run
//! use futures_util::StreamExt;
//! # async fn run() -> Result<(), stream_codec::client::ClientError> {
//! let mut camera = stream_codec::client::connect("http://admin:pw@192.168.1.20:81/stream", Default::default())?;
//! while let Some(item) = camera.next().await {
//!     match item {
//!         Ok(frame) => println!("{} bytes of JPEG", frame.data.len()),
//!         Err(e) => eprintln!("{e}"), // no password in it; the client reconnects by itself
//!     }
//! }
//! # Ok(()) }
//! ```

mod backoff;
mod config;
mod connection;
mod error;
mod on_demand;
mod status;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use tokio::sync::watch;

use crate::Frame;
use crate::camera_url::CameraUrl;
use backoff::Backoff;
use connection::{Auth, Connection, Event, HeadOutcome};

pub use config::{ClientConfig, DEFAULT_MAX_PART};
pub use error::{ClientError, Phase};
pub use on_demand::{LatestFrame, OnDemandCamera};
pub use status::{ClientState, ClientStatus};

/// Opens a camera (lazily: nothing happens until the stream is polled). Fails only on a URL that
/// cannot be used.
///
/// ```
/// let camera = stream_codec::client::connect("http://u:secret@127.0.0.1:9/x", Default::default())
///     .expect("a valid URL");
/// assert!(!format!("{camera:?}").contains("secret"));
/// assert!(stream_codec::client::connect("ftp://cam/", Default::default()).is_err());
/// ```
pub fn connect(url: &str, config: ClientConfig) -> Result<CameraStream, ClientError> {
    Ok(CameraStream::new(CameraUrl::parse(url)?, config))
}

/// The frames of one camera, as a [`Stream`] of `Result<Frame, ClientError>` that reconnects by
/// itself. `Frame::index` counts the frames of this stream (across reconnects).
pub struct CameraStream {
    inner: Pin<Box<dyn Stream<Item = Result<Frame, ClientError>> + Send>>,
    status: watch::Receiver<ClientStatus>,
    url: CameraUrl,
}

impl fmt::Debug for CameraStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.status.borrow();
        f.debug_struct("CameraStream")
            .field("url", &self.url.redacted())
            .field("state", &st.state)
            .field("reason", &st.reason)
            .finish_non_exhaustive()
    }
}

impl CameraStream {
    /// A stream of `url`'s frames.
    ///
    /// ```
    /// use stream_codec::{CameraUrl, client::{CameraStream, ClientState}};
    /// let url = CameraUrl::parse("http://127.0.0.1:9/stream").expect("valid");
    /// let camera = CameraStream::new(url, Default::default());
    /// assert_eq!(camera.status().borrow().state, ClientState::Connecting);
    /// ```
    pub fn new(url: CameraUrl, config: ClientConfig) -> Self {
        let (tx, _) = watch::channel(ClientStatus::new(&url));
        CameraStream::with_status(url, config, tx)
    }

    /// A stream that reports into an existing status channel: its counters go on from where
    /// they are (a relay that closes an idle camera and opens it again keeps one status per
    /// camera). The state becomes `Connecting` at once.
    ///
    /// ```
    /// use stream_codec::{CameraUrl, client::{CameraStream, ClientStatus}};
    /// let url = CameraUrl::parse("http://127.0.0.1:9/stream").expect("valid");
    /// let (status, health) = tokio::sync::watch::channel(ClientStatus::new(&url));
    /// let first = CameraStream::with_status(url.clone(), Default::default(), status.clone());
    /// drop(first); // idle: closed
    /// let again = CameraStream::with_status(url, Default::default(), status);
    /// assert_eq!(health.borrow().url, again.status().borrow().url);
    /// ```
    pub fn with_status(
        url: CameraUrl,
        config: ClientConfig,
        tx: watch::Sender<ClientStatus>,
    ) -> Self {
        tx.send_modify(|s| {
            if s.state != ClientState::Connecting {
                s.state = ClientState::Connecting;
                s.since = Instant::now();
            }
        });
        let rx = tx.subscribe();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let runner = Runner {
            auth: Auth::new(&url, seed),
            backoff: Backoff::new(config.backoff_min, config.backoff_max),
            url: url.clone(),
            config,
            status: tx,
            conn: None,
            wait: None,
            ended: false,
            session_frames: 0,
        };
        let inner = futures_util::stream::unfold(runner, |mut r| async move {
            let item = r.next_item().await?;
            Some((item, r))
        });
        CameraStream {
            inner: Box::pin(inner),
            status: rx,
            url,
        }
    }

    /// A receiver of the client's status (cheap to `borrow()` from another task; `changed()`
    /// wakes on state changes).
    pub fn status(&self) -> watch::Receiver<ClientStatus> {
        self.status.clone()
    }

    /// The camera URL (its `Display` / `Debug` are redacted).
    pub fn url(&self) -> &CameraUrl {
        &self.url
    }
}

impl Stream for CameraStream {
    type Item = Result<Frame, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The reconnect loop around [`Connection`].
struct Runner {
    url: CameraUrl,
    config: ClientConfig,
    auth: Auth,
    backoff: Backoff,
    status: watch::Sender<ClientStatus>,
    conn: Option<Connection>,
    /// Backoff to sleep before the next connection (set after a failure).
    wait: Option<std::time::Duration>,
    ended: bool,
    session_frames: u64,
}

impl Runner {
    fn set_state(&self, state: ClientState, reason: Option<String>) {
        self.status.send_if_modified(|s| {
            let changed = s.state != state || (reason.is_some() && s.reason != reason);
            if s.state != state {
                s.since = Instant::now();
            }
            s.state = state;
            if state == ClientState::Live {
                s.reason = None;
            } else if reason.is_some() {
                s.reason = reason;
            }
            changed
        });
    }

    /// Opens a connection and takes its first head (retrying once per new Digest challenge).
    async fn open(&mut self) -> Result<Connection, ClientError> {
        let mut conn;
        let mut tries = 0;
        loop {
            conn = Connection::open(&self.url, &self.config, &mut self.auth).await?;
            match conn
                .read_head(&self.config, &mut self.auth, &self.status)
                .await?
            {
                HeadOutcome::Ok => return Ok(conn),
                HeadOutcome::RetryAuth if tries < 2 => tries += 1,
                HeadOutcome::RetryAuth => {
                    return Err(ClientError::Unauthorized {
                        why: "the camera keeps asking for new credentials",
                        addr: self.url.address(),
                    });
                }
            }
        }
    }

    /// Counts a failure, schedules the reconnect (or ends the stream), and returns the error.
    fn failed(&mut self, e: ClientError) -> Result<Frame, ClientError> {
        self.conn = None;
        if self.session_frames > 0 {
            self.backoff.reset();
        }
        self.session_frames = 0;
        let reconnects = self.status.borrow().reconnects;
        if self
            .config
            .max_reconnects
            .is_some_and(|max| reconnects >= max)
        {
            self.ended = true;
        } else {
            self.wait = Some(self.backoff.next_delay());
        }
        self.status.send_if_modified(|s| {
            s.errors += 1;
            false
        });
        self.set_state(ClientState::Down, Some(e.to_string()));
        Err(e)
    }

    async fn next_item(&mut self) -> Option<Result<Frame, ClientError>> {
        loop {
            if self.ended {
                return None;
            }
            let Some(conn) = self.conn.as_mut() else {
                if let Some(wait) = self.wait.take() {
                    tokio::time::sleep(wait).await;
                    self.status.send_if_modified(|s| {
                        s.reconnects += 1;
                        false
                    });
                }
                if self.status.borrow().state == ClientState::Down {
                    self.set_state(ClientState::Connecting, None);
                }
                self.status.send_if_modified(|s| {
                    s.connects += 1;
                    false
                });
                match self.open().await {
                    Ok(c) => self.conn = Some(c),
                    Err(e) => return Some(self.failed(e)),
                }
                continue;
            };
            match conn
                .next(&self.url, &self.config, &mut self.auth, &self.status)
                .await
            {
                Event::Frame(mut f) => {
                    self.session_frames += 1;
                    let mut index = 0;
                    self.status.send_if_modified(|s| {
                        index = s.frames;
                        s.frames += 1;
                        s.last_frame = Some(Instant::now());
                        false
                    });
                    f.index = index;
                    self.set_state(ClientState::Live, None);
                    return Some(Ok(f));
                }
                Event::Skipped(e) => {
                    self.status.send_if_modified(|s| {
                        s.errors += 1;
                        false
                    });
                    return Some(Err(e));
                }
                Event::Reopen => self.conn = None,
                Event::Failed(e) => return Some(self.failed(e)),
            }
        }
    }
}
