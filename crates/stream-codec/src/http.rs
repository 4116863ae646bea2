//! A small sans-IO HTTP/1.x client layer for MJPEG sources read over plain TCP (ESP32-CAM,
//! mjpg-streamer, uStreamer, IP cameras): response-head parsing (status, headers, the
//! Content-Type boundary, via `httparse`), chunked transfer decoding, and [`HttpDecoder`], which
//! strings them with the multipart [`Decoder`] so socket bytes go in and frames come out.
//!
//! The request is the caller's (e.g. `GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n`); nothing here
//! does I/O.

use bytes::Bytes;

use crate::decoder::{Decoder, Frame};
use crate::input::Input;
use crate::{Error, Limits, boundary_from_content_type};

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct HttpLimits {
    /// Largest response head (status line + headers), bytes. Default 16 KiB.
    pub max_head_bytes: usize,
    /// Most response headers. Default 64.
    pub max_headers: usize,
    /// Longest chunk-size line and trailer block, bytes. Default 4 KiB.
    pub max_chunk_line: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head_bytes: 16 << 10,
            max_headers: 64,
            max_chunk_line: 4 << 10,
        }
    }
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: N`.
    Length(u64),
    /// Until the server closes the connection (the usual MJPEG case).
    UntilClose,
}

/// A parsed HTTP/1.x response head.
///
/// ```
/// use stream_codec::http::{BodyKind, ResponseHead};
/// let raw = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=123\r\nTransfer-Encoding: chunked\r\n\r\nrest";
/// let (head, len) = ResponseHead::parse(raw, &Default::default()).expect("valid").expect("complete");
/// assert_eq!(head.status, 200);
/// assert_eq!(head.boundary().as_deref(), Some("123"));
/// assert_eq!(head.body_kind(), BodyKind::Chunked);
/// assert_eq!(&raw[len..], b"rest");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in order, names as sent, values trimmed (invalid UTF-8 replaced).
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// Parses a response head at the start of `buf`: `Ok(None)` if incomplete, else the head and
    /// its length in bytes (the body starts there).
    pub fn parse(buf: &[u8], limits: &HttpLimits) -> Result<Option<(ResponseHead, usize)>, Error> {
        // Cheap completeness check first: fed byte by byte, the head is parsed once, not per byte.
        let window = &buf[..buf.len().min(limits.max_head_bytes + 4)];
        if memchr::memmem::find(window, b"\n\r\n").is_none()
            && memchr::memmem::find(window, b"\n\n").is_none()
        {
            return if buf.len() > limits.max_head_bytes {
                Err(too_large(limits))
            } else {
                Ok(None)
            };
        }
        let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                if n > limits.max_head_bytes {
                    return Err(too_large(limits));
                }
                let head = ResponseHead {
                    version: resp.version.unwrap_or(1),
                    status: resp.code.unwrap_or(0),
                    reason: resp.reason.unwrap_or("").to_string(),
                    headers: resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).trim().to_string(),
                            )
                        })
                        .collect(),
                };
                Ok(Some((head, n)))
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > limits.max_head_bytes {
                    Err(too_large(limits))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(Error::Http {
                offset: 0,
                what: e.to_string(),
            }),
        }
    }

    /// First header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Content-Type` value.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The multipart boundary named by `Content-Type`, if any.
    pub fn boundary(&self) -> Option<String> {
        boundary_from_content_type(self.content_type()?)
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// How the body is delimited (chunked wins over Content-Length, as RFC 9112 says).
    pub fn body_kind(&self) -> BodyKind {
        let chunked = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .any(|(_, v)| {
                v.rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            });
        if chunked {
            return BodyKind::Chunked;
        }
        match self.header("content-length").and_then(|v| v.parse().ok()) {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::UntilClose,
        }
    }
}

fn too_large(limits: &HttpLimits) -> Error {
    Error::Http {
        offset: 0,
        what: format!("response head exceeds {} bytes", limits.max_head_bytes),
    }
}

#[derive(Debug)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers(usize),
    Done,
    Failed,
}

/// Sans-IO decoder of `Transfer-Encoding: chunked`: push the raw body bytes, pull payload pieces
/// (zero-copy slices of pushed `Bytes`).
///
/// ```
/// use stream_codec::http::ChunkedDecoder;
/// let mut c = ChunkedDecoder::default();
/// c.push(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
/// let mut out = Vec::new();
/// while let Some(piece) = c.next_chunk() {
///     out.extend_from_slice(&piece.expect("well formed"));
/// }
/// assert_eq!(out, b"hello world");
/// assert!(c.is_done());
/// ```
#[derive(Debug)]
pub struct ChunkedDecoder {
    input: Input,
    state: Chunk,
    max_line: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new(&HttpLimits::default())
    }
}

impl ChunkedDecoder {
    /// A decoder with these limits; stream offsets in errors count from its first byte.
    pub fn new(limits: &HttpLimits) -> Self {
        ChunkedDecoder {
            input: Input::default(),
            state: Chunk::Size,
            max_line: limits.max_chunk_line,
        }
    }

    fn with_base(limits: &HttpLimits, input: Input) -> Self {
        ChunkedDecoder {
            input,
            state: Chunk::Size,
            max_line: limits.max_chunk_line,
        }
    }

    /// Appends raw body bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        self.input.push_slice(data);
    }

    /// Appends raw body bytes without copying.
    pub fn push_bytes(&mut self, data: Bytes) {
        self.input.push_bytes(data);
    }

    /// True once the terminating zero-size chunk and its trailers were read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, Chunk::Done)
    }

    fn fail(&mut self, what: &'static str) -> Option<Result<Bytes, Error>> {
        self.state = Chunk::Failed;
        Some(Err(Error::Chunked {
            offset: self.input.base(),
            what,
        }))
    }

    /// The next payload piece; `None` when more input is needed, at the end, or after an error
    /// (chunked errors are fatal: the stream has lost its framing).
    pub fn next_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        loop {
            if let Some(item) = self.poll_chunk() {
                return Some(item);
            }
            if matches!(self.state, Chunk::Done | Chunk::Failed) || !self.input.pull_more() {
                return None;
            }
        }
    }

    fn poll_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        loop {
            let v = self.input.view();
            match self.state {
                Chunk::Done | Chunk::Failed => return None,
                Chunk::Size => {
                    let Some(nl) = memchr::memchr(b'\n', &v[..v.len().min(self.max_line)]) else {
                        if v.len() >= self.max_line {
                            return self.fail("chunk-size line too long");
                        }
                        return None;
                    };
                    let line = crate::headers::trim(&v[..nl]);
                    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                    let rest = crate::headers::trim(&line[digits..]);
                    if digits == 0 || digits > 15 || !(rest.is_empty() || rest[0] == b';') {
                        return self.fail("bad chunk-size line");
                    }
                    let size = line[..digits].iter().fold(0u64, |a, &d| {
                        a * 16 + u64::from((d as char).to_digit(16).unwrap_or(0))
                    });
                    self.input.advance(nl + 1);
                    self.state = if size == 0 {
                        Chunk::Trailers(0)
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(remaining) => {
                    if v.is_empty() {
                        return None;
                    }
                    let n = (remaining.min(v.len() as u64)) as usize;
                    let piece = self.input.take(n);
                    self.state = if n as u64 == remaining {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(remaining - n as u64)
                    };
                    return Some(Ok(piece));
                }
                Chunk::DataEnd => match v {
                    [] | [b'\r'] => return None,
                    [b'\r', b'\n', ..] => {
                        self.input.advance(2);
                        self.state = Chunk::Size;
                    }
                    [b'\n', ..] => {
                        self.input.advance(1);
                        self.state = Chunk::Size;
                    }
                    _ => return self.fail("chunk data not followed by CRLF"),
                },
                Chunk::Trailers(seen) => {
                    let Some(nl) = memchr::memchr(b'\n', v) else {
                        if seen + v.len() > self.max_line {
                            return self.fail("trailers too long");
                        }
                        return None;
                    };
                    let empty = crate::headers::trim(&v[..nl]).is_empty();
                    self.input.advance(nl + 1);
                    self.state = if empty {
                        Chunk::Done
                    } else {
                        Chunk::Trailers(seen + nl + 1)
                    };
                }
            }
        }
    }
}

#[derive(Debug)]
enum Body {
    Head,
    Chunked(ChunkedDecoder),
    Length(u64),
    UntilClose,
    Done,
    Failed,
}

/// Sans-IO HTTP/1.x response reader: push socket bytes, get the head, then the body with the
/// transfer coding undone.
///
/// ```
/// use stream_codec::http::ResponseDecoder;
/// let mut r = ResponseDecoder::default();
/// r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
/// let mut body = Vec::new();
/// while let Some(piece) = r.next_body() {
///     body.extend_from_slice(&piece.expect("ok"));
/// }
/// assert_eq!(r.head().map(|h| h.status), Some(200));
/// assert_eq!(body, b"abc");
/// assert!(r.is_done());
/// ```
#[derive(Debug)]
pub struct ResponseDecoder {
    input: Input,
    head: Option<ResponseHead>,
    body: Body,
    limits: HttpLimits,
    eof: bool,
}

impl Default for ResponseDecoder {
    fn default() -> Self {
        ResponseDecoder::new(HttpLimits::default())
    }
}

impl ResponseDecoder {
    /// A reader with these limits.
    pub fn new(limits: HttpLimits) -> Self {
        ResponseDecoder {
            input: Input::default(),
            head: None,
            body: Body::Head,
            limits,
            eof: false,
        }
    }

    /// Appends socket bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        match &mut self.body {
            Body::Chunked(c) => c.push(data),
            _ => self.input.push_slice(data),
        }
    }

    /// Appends socket bytes without copying.
    pub fn push_bytes(&mut self, data: Bytes) {
        match &mut self.body {
            Body::Chunked(c) => c.push_bytes(data),
            _ => self.input.push_bytes(data),
        }
    }

    /// The connection was closed by the peer.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The response head, once complete.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// True once [`finish`](ResponseDecoder::finish) was called.
    pub fn is_closed(&self) -> bool {
        self.eof
    }

    /// True when the body is complete (chunked terminator, Content-Length reached, or the
    /// connection closed for a body read until close).
    pub fn is_done(&self) -> bool {
        match &self.body {
            Body::Done => true,
            Body::Chunked(c) => c.is_done(),
            Body::UntilClose => self.eof && self.input.len() == 0,
            _ => false,
        }
    }

    /// The next piece of the body; `None` when more input is needed or at the end. Errors are
    /// fatal (malformed head or chunking, or the connection closed before the head was complete).
    pub fn next_body(&mut self) -> Option<Result<Bytes, Error>> {
        loop {
            match &mut self.body {
                Body::Failed | Body::Done => return None,
                Body::Head => match ResponseHead::parse(self.input.view(), &self.limits) {
                    Ok(Some((head, n))) => {
                        self.input.advance(n);
                        self.body = match head.body_kind() {
                            BodyKind::Chunked => {
                                let rest = std::mem::take(&mut self.input);
                                Body::Chunked(ChunkedDecoder::with_base(&self.limits, rest))
                            }
                            BodyKind::Length(n) => Body::Length(n),
                            BodyKind::UntilClose => Body::UntilClose,
                        };
                        self.head = Some(head);
                    }
                    Ok(None) => {
                        if self.input.pull_more() {
                            continue;
                        }
                        if self.eof {
                            self.body = Body::Failed;
                            return Some(Err(Error::Http {
                                offset: self.input.base() + self.input.len() as u64,
                                what: "connection closed before the response head was complete"
                                    .into(),
                            }));
                        }
                        return None;
                    }
                    Err(e) => {
                        self.body = Body::Failed;
                        return Some(Err(e));
                    }
                },
                Body::Chunked(c) => {
                    let r = c.next_chunk();
                    if matches!(r, Some(Err(_))) {
                        self.body = Body::Failed;
                    }
                    return r;
                }
                Body::Length(remaining) => {
                    if *remaining == 0 {
                        self.body = Body::Done;
                        return None;
                    }
                    let len = self.input.view().len();
                    if len == 0 {
                        return None;
                    }
                    let n = (*remaining).min(len as u64);
                    *remaining -= n;
                    let n = n as usize;
                    return Some(Ok(self.input.take(n)));
                }
                Body::UntilClose => {
                    let len = self.input.view().len();
                    if len == 0 {
                        return None;
                    }
                    return Some(Ok(self.input.take(len)));
                }
            }
        }
    }
}

/// Socket bytes in, frames out: [`ResponseDecoder`] + [`Decoder`] (multipart with the head's
/// boundary as hint, or raw-JPEG mode for a non-multipart `Content-Type`). What the camera relay
/// uses to read an ESP32-CAM or mjpg-streamer over plain TCP.
///
/// ```
/// use stream_codec::HttpDecoder;
/// let mut d = HttpDecoder::default();
/// d.push(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n");
/// d.push(b"20\r\n--b\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n\r\n0\r\n\r\n");
/// d.finish();
/// let frames: Vec<_> = d.frames().collect::<Result<_, _>>().expect("no error");
/// assert_eq!(frames.len(), 1);
/// assert_eq!(d.head().map(|h| h.status), Some(200));
/// ```
#[derive(Debug)]
pub struct HttpDecoder {
    response: ResponseDecoder,
    decoder: Option<Decoder>,
    limits: Limits,
    finished: bool,
    failed: bool,
    drained: bool,
}

impl Default for HttpDecoder {
    fn default() -> Self {
        HttpDecoder::new(HttpLimits::default(), Limits::default())
    }
}

impl HttpDecoder {
    /// A decoder with these limits.
    pub fn new(http: HttpLimits, limits: Limits) -> Self {
        HttpDecoder {
            response: ResponseDecoder::new(http),
            decoder: None,
            limits,
            finished: false,
            failed: false,
            drained: false,
        }
    }

    /// True once [`next_frame`](HttpDecoder::next_frame) has returned everything this response
    /// will give: the body ended (chunked terminator, `Content-Length` reached, or the connection
    /// closed) and the last frame or error was returned, or an HTTP-level error ended it. On a
    /// keep-alive connection the next response may then be read with a new decoder.
    ///
    /// ```
    /// use stream_codec::HttpDecoder;
    /// let mut d = HttpDecoder::default();
    /// d.push(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8");
    /// assert!(d.next_frame().is_none());
    /// assert!(!d.is_done());
    /// d.push(b"\xff\xd9");
    /// assert!(d.next_frame().expect("a frame").is_ok());
    /// assert!(d.next_frame().is_none());
    /// assert!(d.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.failed || self.drained
    }

    /// Appends socket bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        self.response.push(data);
    }

    /// Appends socket bytes without copying.
    pub fn push_bytes(&mut self, data: Bytes) {
        self.response.push_bytes(data);
    }

    /// The connection was closed.
    pub fn finish(&mut self) {
        self.response.finish();
    }

    /// The response head, once parsed.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.response.head()
    }

    /// The multipart decoder, once the head was parsed (its stats, boundary).
    pub fn decoder(&self) -> Option<&Decoder> {
        self.decoder.as_ref()
    }

    /// Makes the multipart decoder once the head is known; an error if the status is not 2xx.
    fn ensure_decoder(&mut self) -> Option<Error> {
        if self.decoder.is_some() {
            return None;
        }
        let head = self.response.head()?;
        if !head.is_success() {
            self.failed = true;
            return Some(Error::HttpStatus {
                status: head.status,
                reason: head.reason.clone(),
            });
        }
        match Decoder::from_content_type_with(head.content_type().unwrap_or(""), self.limits) {
            Ok(d) => {
                self.decoder = Some(d);
                None
            }
            Err(e) => {
                self.failed = true;
                Some(e)
            }
        }
    }

    /// Next frame or error, `None` when more input is needed or at the end. HTTP-level errors
    /// (bad head, non-2xx status, broken chunking) are fatal: `None` follows them.
    pub fn next_frame(&mut self) -> Option<Result<Frame, Error>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(d) = &mut self.decoder
                && let Some(item) = d.next_frame()
            {
                return Some(item);
            }
            if let Some(e) = self.ensure_decoder() {
                return Some(Err(e));
            }
            match self.response.next_body() {
                Some(Ok(piece)) => {
                    if let Some(e) = self.ensure_decoder() {
                        return Some(Err(e));
                    }
                    if let Some(d) = &mut self.decoder {
                        d.push_bytes(piece);
                    }
                }
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                None => {
                    if self.decoder.is_none() && self.response.head().is_some() {
                        // The head just completed with an empty body so far: judge it now
                        // (a non-2xx status is reported in this call, not the next one).
                        continue;
                    }
                    if (self.response.is_done() || self.response.is_closed())
                        && !self.finished
                        && let Some(d) = &mut self.decoder
                    {
                        d.finish();
                        self.finished = true;
                        continue;
                    }
                    if self.finished {
                        self.drained = true;
                    }
                    return None;
                }
            }
        }
    }

    /// Drains what the input so far yields.
    pub fn frames(&mut self) -> impl Iterator<Item = Result<Frame, Error>> + '_ {
        std::iter::from_fn(move || self.next_frame())
    }
}
