//! The crate's one error type. Every variant that comes from input says where (byte offset in the
//! stream that was pushed, counted from the first byte ever pushed).

/// What went wrong, and where.
///
/// Part-level errors (everything but [`Error::Http`], [`Error::HttpStatus`], [`Error::Chunked`] and
/// [`Error::Io`]) are recoverable: the decoder has already resynchronised at the next boundary (or the
/// next JPEG start in raw mode) and the next call to `next_frame` continues with the following part.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The part's header block grew past [`crate::Limits::max_header_bytes`].
    #[error("part at byte {offset}: header block exceeds {limit} bytes")]
    HeadersTooLarge {
        /// Offset of the first header byte.
        offset: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The part has more header lines than [`crate::Limits::max_headers`].
    #[error("part at byte {offset}: more than {limit} header lines")]
    TooManyHeaders {
        /// Offset of the first header byte.
        offset: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A header line without a `:`.
    #[error("part header line at byte {offset} has no ':'")]
    BadHeader {
        /// Offset of the line.
        offset: u64,
    },
    /// The part (declared or scanned) is larger than [`crate::Limits::max_part_size`].
    #[error("part body at byte {offset}: {size} bytes exceed the limit of {limit}")]
    PartTooLarge {
        /// Offset of the body's first byte.
        offset: u64,
        /// Declared length, or bytes seen so far without a delimiter.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The stream ended inside a part: the part is dropped, never returned as a frame.
    #[error(
        "truncated part at byte {offset}: {available} bytes before the end of the stream{}",
        match declared { Some(d) => format!(", {d} declared"), None => String::new() }
    )]
    Truncated {
        /// Offset of the body's first byte (or of the header block if the headers were cut).
        offset: u64,
        /// Content-Length of the part, when it had one.
        declared: Option<u64>,
        /// Bytes of the part that arrived.
        available: u64,
    },
    /// A part's Content-Length disagreed with its body and the body found by the boundary is not a
    /// whole JPEG either.
    #[error(
        "part at byte {offset}: Content-Length {declared} disagrees with the body ({actual} bytes to the boundary)"
    )]
    LengthMismatch {
        /// Offset of the body's first byte.
        offset: u64,
        /// The Content-Length value.
        declared: u64,
        /// Bytes up to the next delimiter.
        actual: u64,
    },
    /// A part declared (or assumed) to be a JPEG that does not start with SOI / end with EOI, or a
    /// broken marker segment in raw mode.
    #[error("part at byte {offset}: not a JPEG ({what})")]
    NotJpeg {
        /// Offset of the body's (or the marker's) first byte.
        offset: u64,
        /// What was wrong.
        what: &'static str,
    },
    /// No delimiter line within [`crate::Limits::max_preamble`] bytes while detecting the boundary.
    #[error("no boundary line found in the first {limit} bytes (from byte {offset})")]
    NoBoundary {
        /// Offset where the search started.
        offset: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A boundary that cannot be used (empty, too long, or with characters RFC 2046 forbids).
    #[error("invalid boundary {0:?}")]
    InvalidBoundary(String),
    /// A malformed HTTP response head.
    #[error("HTTP response head at byte {offset}: {what}")]
    Http {
        /// Offset (0 for the head).
        offset: u64,
        /// What was wrong.
        what: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("HTTP status {status} {reason}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// Malformed chunked transfer coding (not recoverable: the byte stream has lost its framing).
    #[error("chunked transfer coding at byte {offset}: {what}")]
    Chunked {
        /// Offset in the raw response bytes.
        offset: u64,
        /// What was wrong.
        what: &'static str,
    },
    /// An I/O error from the transport (tokio codec adapters only).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True for errors after which the decoder goes on with the next part (everything that concerns
    /// one part); false for transport-level errors.
    ///
    /// ```
    /// let e = stream_codec::Error::BadHeader { offset: 7 };
    /// assert!(e.is_recoverable());
    /// ```
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self,
            Error::Http { .. } | Error::HttpStatus { .. } | Error::Chunked { .. } | Error::Io(_)
        )
    }

    /// The byte offset the error refers to, when it has one.
    ///
    /// ```
    /// let e = stream_codec::Error::BadHeader { offset: 7 };
    /// assert_eq!(e.offset(), Some(7));
    /// ```
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::HeadersTooLarge { offset, .. }
            | Error::TooManyHeaders { offset, .. }
            | Error::BadHeader { offset }
            | Error::PartTooLarge { offset, .. }
            | Error::Truncated { offset, .. }
            | Error::LengthMismatch { offset, .. }
            | Error::NotJpeg { offset, .. }
            | Error::NoBoundary { offset, .. }
            | Error::Http { offset, .. }
            | Error::Chunked { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}
