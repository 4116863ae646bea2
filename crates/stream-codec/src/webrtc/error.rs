//! Errors of the WebRTC output: encoder and server set-up ([`WebrtcError`]) and WHEP requests
//! ([`WhepError`], each with its HTTP status).

/// Set-up and encoding errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebrtcError {
    /// A setting is out of range.
    #[error("invalid WebRTC setting: {0}")]
    Config(String),
    /// The frame handed to the encoder does not match its size.
    #[error("frame size: {0}")]
    FrameSize(String),
    /// OpenH264 failed.
    #[error("H.264 encoder: {0}")]
    Encoder(String),
    /// The UDP socket could not be bound or read.
    #[error("WebRTC UDP socket {addr}: {source}")]
    Socket {
        /// The address in question.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The DTLS certificate could not be generated.
    #[error("DTLS certificate: {0}")]
    Certificate(String),
}

/// A WHEP request that cannot be served, with the HTTP status to answer and a reason for the
/// response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WhepError {
    /// `Content-Type` is not `application/sdp` (415).
    #[error("unsupported media type {0:?}: a WHEP offer is sent as application/sdp")]
    ContentType(String),
    /// The offer is larger than the limit (413).
    #[error("SDP offer of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// The body is not a valid SDP offer (400).
    #[error("malformed SDP offer: {0}")]
    MalformedSdp(String),
    /// The offer has no video section this server can send H.264 in (422 Unprocessable Content).
    #[error("offer not acceptable: {0}")]
    NotAcceptable(String),
    /// No session with this id (404).
    #[error("no WHEP session {0:?}")]
    UnknownSession(String),
    /// The session limit is reached (503).
    #[error("too many WebRTC sessions (limit {0})")]
    TooManySessions(usize),
    /// The WebRTC server has stopped (503).
    #[error("the WebRTC server is not running")]
    Stopped,
}

impl WhepError {
    /// The HTTP status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            WhepError::ContentType(_) => 415,
            WhepError::TooLarge { .. } => 413,
            WhepError::MalformedSdp(_) => 400,
            WhepError::NotAcceptable(_) => 422,
            WhepError::UnknownSession(_) => 404,
            WhepError::TooManySessions(_) | WhepError::Stopped => 503,
        }
    }
}
