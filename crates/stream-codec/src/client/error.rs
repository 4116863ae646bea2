//! The client's error type: what failed, in which phase. No variant holds a URL with its password
//! or any credential.

use std::fmt;
use std::time::Duration;

use crate::camera_url::UrlError;

/// The phase of a connection a deadline or an I/O error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the TCP connection.
    Connect,
    /// Sending the request and reading the whole response head.
    Head,
    /// From the end of the head to the first complete frame.
    FirstFrame,
    /// Between two frames.
    Silence,
}

impl Phase {
    /// Lower-case name, as in error messages and `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Head => "response head",
            Phase::FirstFrame => "first frame",
            Phase::Silence => "frame silence",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a [`CameraStream`](crate::client::CameraStream) item is an error.
///
/// Only [`ClientError::Decode`] leaves the connection open (a corrupt part was skipped); after any
/// other error the client reconnects after a backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The camera URL cannot be used.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A phase's deadline expired.
    #[error("{phase} deadline expired after {:.1} s ({addr})", after.as_secs_f64())]
    Timeout {
        /// The phase that took too long.
        phase: Phase,
        /// Its deadline.
        after: Duration,
        /// `host:port`.
        addr: String,
    },
    /// A socket error.
    #[error("{phase}: {source} ({addr})")]
    Io {
        /// The phase it happened in.
        phase: Phase,
        /// `host:port`.
        addr: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The camera closed the connection.
    #[error("connection closed by the camera during {phase} ({addr})")]
    Closed {
        /// The phase it happened in.
        phase: Phase,
        /// `host:port`.
        addr: String,
    },
    /// The camera answered with a status other than 2xx (401 is [`ClientError::Unauthorized`]).
    #[error("HTTP status {status} {reason} ({addr})")]
    Status {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// `host:port`.
        addr: String,
    },
    /// 401: no credentials in the URL, or the camera refused them.
    #[error("401 unauthorized: {why} ({addr})")]
    Unauthorized {
        /// What was tried.
        why: &'static str,
        /// `host:port`.
        addr: String,
    },
    /// The answer is neither `multipart/x-mixed-replace` nor `image/*`.
    #[error(
        "unexpected Content-Type {content_type:?} (want image/jpeg or multipart/x-mixed-replace)"
    )]
    ContentType {
        /// What the camera sent.
        content_type: String,
    },
    /// Malformed HTTP (head, chunked coding) or a polled body over the part-size limit.
    #[error("HTTP: {0}")]
    Http(crate::Error),
    /// A corrupt part, skipped; the stream goes on on the same connection.
    #[error("bad part: {0}")]
    Decode(crate::Error),
}

impl ClientError {
    /// True if the connection stays open after this error (a skipped corrupt part).
    ///
    /// ```
    /// use stream_codec::client::ClientError;
    /// let e = ClientError::Decode(stream_codec::Error::BadHeader { offset: 0 });
    /// assert!(e.is_recoverable());
    /// ```
    pub fn is_recoverable(&self) -> bool {
        matches!(self, ClientError::Decode(_))
    }

    /// The phase whose deadline expired, for [`ClientError::Timeout`].
    pub fn timed_out_phase(&self) -> Option<Phase> {
        match self {
            ClientError::Timeout { phase, .. } => Some(*phase),
            _ => None,
        }
    }
}
