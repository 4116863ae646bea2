//! What a [`CameraStream`](crate::client::CameraStream) can be told: deadlines, limits, backoff,
//! polling rate.

use std::time::Duration;

use crate::{HttpLimits, Limits};

/// Client settings; every field has a default that suits ESP32-CAM / mjpg-streamer / IP cameras
/// on a LAN.
///
/// ```
/// use std::time::Duration;
/// use stream_codec::client::ClientConfig;
/// let config = ClientConfig {
///     max_reconnects: Some(5),
///     first_frame_timeout: Duration::from_secs(5),
///     ..ClientConfig::default()
/// };
/// assert_eq!(config.connect_timeout, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Deadline for the TCP connection. Default 3 s.
    pub connect_timeout: Duration,
    /// Deadline for the whole response head, from the request being sent (not per read: a camera
    /// that drips one byte a second fails here). Default 3 s.
    pub head_timeout: Duration,
    /// Deadline for the first frame, from the end of the response head. Default 3 s.
    pub first_frame_timeout: Duration,
    /// Longest silence between two frames (corrupt parts do not count as frames). Default 3 s.
    pub silence_timeout: Duration,
    /// Shortest interval between two requests for `image/jpeg` answers (polling on one keep-alive
    /// connection). Default 1/30 s (at most 30 polls a second).
    pub poll_interval: Duration,
    /// First reconnect delay; doubles after each failure, up to `backoff_max`, and each delay is
    /// jittered to between half and all of it. Default 100 ms.
    pub backoff_min: Duration,
    /// Reconnect delay cap. Default 500 ms.
    pub backoff_max: Duration,
    /// Reconnects after which the stream ends (`None`: reconnect forever). Default `None`.
    pub max_reconnects: Option<u64>,
    /// Limits of the HTTP layer (response head size: default 16 KiB).
    pub http_limits: HttpLimits,
    /// Limits of the MJPEG decoder; `max_part_size` also bounds a polled JPEG. Default part size
    /// 4 MiB.
    pub limits: Limits,
    /// `User-Agent` header.
    pub user_agent: String,
}

/// Default part (and polled JPEG) size limit: 4 MiB.
pub const DEFAULT_MAX_PART: usize = 4 << 20;

impl ClientConfig {
    /// The same deadline for every phase: connect, response head, first frame, silence between
    /// frames.
    ///
    /// ```
    /// use std::time::Duration;
    /// use stream_codec::client::ClientConfig;
    /// let config = ClientConfig::default().with_phase_timeouts(Duration::from_secs(1));
    /// assert_eq!(config.head_timeout, Duration::from_secs(1));
    /// assert_eq!(config.silence_timeout, Duration::from_secs(1));
    /// ```
    pub fn with_phase_timeouts(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.head_timeout = timeout;
        self.first_frame_timeout = timeout;
        self.silence_timeout = timeout;
        self
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            head_timeout: Duration::from_secs(3),
            first_frame_timeout: Duration::from_secs(3),
            silence_timeout: Duration::from_secs(3),
            poll_interval: Duration::from_nanos(1_000_000_000 / 30),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
            max_reconnects: None,
            http_limits: HttpLimits::default(),
            limits: Limits {
                max_part_size: DEFAULT_MAX_PART,
                ..Limits::default()
            },
            user_agent: concat!("stream-codec/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}
