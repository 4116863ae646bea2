//! The MJPEG writer: the HTTP response head and each part, encoded once into a `Bytes` that every
//! viewer writes (clones share the memory: encode once, fan out).

use std::fmt::Write as _;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::Error;
use crate::boundary::validate;

/// Default boundary of [`Writer::default`].
pub const DEFAULT_BOUNDARY: &str = "posecamframe";

/// Encodes a `multipart/x-mixed-replace` JPEG stream.
///
/// ```
/// use stream_codec::{Decoder, Writer};
/// let w = Writer::default();
/// let part = w.encode_part(b"\xff\xd8 jpeg bytes \xff\xd9", Some(std::time::Duration::from_millis(1500)));
/// // 1000 viewers: clones of one Bytes, all pointing at the same memory
/// let viewers: Vec<bytes::Bytes> = (0..1000).map(|_| part.clone()).collect();
/// assert!(viewers.iter().all(|v| v.as_ptr() == part.as_ptr()));
///
/// let mut d = Decoder::from_content_type(&w.content_type()).expect("valid");
/// d.push_bytes(part);
/// let f = d.next_frame().expect("frame").expect("ok");
/// assert_eq!(&f.data[..], b"\xff\xd8 jpeg bytes \xff\xd9");
/// assert_eq!(f.timestamp, Some(std::time::Duration::from_millis(1500)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    boundary: String,
    /// `--BOUNDARY\r\nContent-Type: image/jpeg\r\nContent-Length: `
    prefix: Vec<u8>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::make(DEFAULT_BOUNDARY)
    }
}

impl Writer {
    fn make(boundary: &str) -> Self {
        let prefix =
            format!("--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: ").into_bytes();
        Writer {
            boundary: boundary.to_string(),
            prefix,
        }
    }

    /// A writer with this boundary (1..=200 printable ASCII characters, no leading `--` needed).
    ///
    /// ```
    /// assert!(stream_codec::Writer::new("frame").is_ok());
    /// assert!(stream_codec::Writer::new("bad\r\n").is_err());
    /// ```
    pub fn new(boundary: &str) -> Result<Self, Error> {
        validate(boundary)?;
        Ok(Writer::make(boundary))
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The response's `Content-Type` value: `multipart/x-mixed-replace;boundary=B`.
    ///
    /// ```
    /// assert_eq!(stream_codec::Writer::default().content_type(), "multipart/x-mixed-replace;boundary=posecamframe");
    /// ```
    pub fn content_type(&self) -> String {
        format!("multipart/x-mixed-replace;boundary={}", self.boundary)
    }

    /// A complete HTTP/1.1 `200 OK` response head for the stream (no caching, connection closed at
    /// the end of the stream).
    ///
    /// ```
    /// let head = stream_codec::Writer::default().response_head();
    /// assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));
    /// assert!(head.ends_with(b"\r\n\r\n"));
    /// ```
    pub fn response_head(&self) -> Bytes {
        Bytes::from(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nCache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\nConnection: close\r\n\r\n",
            self.content_type()
        ))
    }

    /// Encoded size of a part holding `len` bytes.
    pub fn part_len(&self, len: usize, timestamp: Option<Duration>) -> usize {
        // prefix + digits + CRLF [+ X-Timestamp line] + CRLF + body + CRLF
        self.prefix.len() + 20 + 2 + timestamp.map_or(0, |_| 40) + 2 + len + 2
    }

    /// Appends one part (`--B`, `Content-Type: image/jpeg`, `Content-Length`, optional
    /// `X-Timestamp: S.UUUUUU`, blank line, the JPEG, CRLF) to `out`.
    pub fn encode_part_into(&self, jpeg: &[u8], timestamp: Option<Duration>, out: &mut BytesMut) {
        out.reserve(self.part_len(jpeg.len(), timestamp));
        out.put_slice(&self.prefix);
        let mut line = String::with_capacity(64);
        let _ = write!(line, "{}\r\n", jpeg.len());
        if let Some(t) = timestamp {
            let _ = write!(
                line,
                "X-Timestamp: {}.{:06}\r\n",
                t.as_secs(),
                t.subsec_micros()
            );
        }
        line.push_str("\r\n");
        out.put_slice(line.as_bytes());
        out.put_slice(jpeg);
        out.put_slice(b"\r\n");
    }

    /// One part as a `Bytes`: encode once, then `clone()` it for every viewer (no copy).
    pub fn encode_part(&self, jpeg: &[u8], timestamp: Option<Duration>) -> Bytes {
        let mut out = BytesMut::with_capacity(self.part_len(jpeg.len(), timestamp));
        self.encode_part_into(jpeg, timestamp, &mut out);
        out.freeze()
    }

    /// The closing delimiter `--B--\r\n` (optional: live streams usually just close the socket).
    pub fn closing(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }
}
