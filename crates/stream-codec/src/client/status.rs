//! The client's observable state, for `/health` pages and metrics.

use std::time::Instant;

/// Where a camera connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientState {
    /// Opening a connection or waiting for its first frame.
    Connecting,
    /// Frames are arriving.
    Live,
    /// The last attempt failed; waiting for the backoff before reconnecting (or the stream ended
    /// after `max_reconnects`).
    Down,
    /// Closed on purpose: nobody wants its frames
    /// ([`OnDemandCamera`](crate::client::OnDemandCamera)).
    Idle,
}

impl ClientState {
    /// Lower-case name for JSON, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Connecting => "connecting",
            ClientState::Live => "live",
            ClientState::Down => "down",
            ClientState::Idle => "idle",
        }
    }
}

/// A snapshot of a client: state, why, and counters since it was made. Read it from any task
/// with [`CameraStream::status`](crate::client::CameraStream::status) (a `tokio::sync::watch`
/// receiver: `borrow()` is cheap, `changed()` wakes on state changes only, not on every frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStatus {
    /// The camera URL with its password redacted.
    pub url: String,
    /// Current state.
    pub state: ClientState,
    /// When the state was entered.
    pub since: Instant,
    /// The last error (redacted; kept while connecting again, cleared when live).
    pub reason: Option<String>,
    /// Connections attempted (the first one and every reconnect).
    pub connects: u64,
    /// Connections opened again after a failure.
    pub reconnects: u64,
    /// Frames returned.
    pub frames: u64,
    /// Bytes read from the camera.
    pub bytes: u64,
    /// Error items returned (failures and skipped corrupt parts).
    pub errors: u64,
    /// When the last frame arrived.
    pub last_frame: Option<Instant>,
}

impl ClientStatus {
    /// A fresh status for `url` (state `Connecting`, counters 0), e.g. to share one status
    /// across the streams a program opens for a camera over time
    /// ([`CameraStream::with_status`](crate::client::CameraStream::with_status)).
    ///
    /// ```
    /// use stream_codec::{CameraUrl, client::ClientStatus};
    /// let url = CameraUrl::parse("http://u:pw@cam/stream").expect("valid");
    /// assert_eq!(ClientStatus::new(&url).url, "http://u:***@cam/stream");
    /// ```
    pub fn new(url: &crate::CameraUrl) -> Self {
        ClientStatus {
            url: url.redacted().to_owned(),
            state: ClientState::Connecting,
            since: Instant::now(),
            reason: None,
            connects: 0,
            reconnects: 0,
            frames: 0,
            bytes: 0,
            errors: 0,
            last_frame: None,
        }
    }
}
