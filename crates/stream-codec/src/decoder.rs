//! The sans-IO multipart / raw-JPEG decoder: push byte chunks of any size, pull frames.

use std::time::Duration;

use bytes::Bytes;
use memchr::memmem;

use crate::boundary::{Delimiter, MAX_BOUNDARY_LEN, boundary_from_content_type, validate};
use crate::headers::{PartHeaders, trim};
use crate::input::Input;
use crate::jpeg::{JpegWalker, Walk};
use crate::{DecoderConfig, Error, Limits, Mode};

/// One complete part (multipart mode) or JPEG (raw mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The part body: for JPEG parts exactly SOI .. EOI. A slice of the pushed `Bytes` when one
    /// chunk held the whole part (no copy), otherwise of the decoder's carry-over buffer.
    pub data: Bytes,
    /// Stream offset of `data[0]` (counted from the first byte ever pushed).
    pub offset: u64,
    /// The part's headers (empty in raw mode).
    pub headers: PartHeaders,
    /// `X-Timestamp` of the part, when present and well formed.
    pub timestamp: Option<Duration>,
    /// 0-based index among the frames this decoder returned.
    pub index: u64,
}

/// Counters since the decoder was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes pushed.
    pub bytes_in: u64,
    /// Frames returned.
    pub frames: u64,
    /// Errors returned (including truncations).
    pub errors: u64,
    /// Truncated parts reported (also counted in `errors`).
    pub truncated: u64,
    /// Parts whose Content-Length disagreed with the body but were recovered through the boundary
    /// (the frame's `headers.content_length()` then differs from `data.len()`).
    pub length_mismatches: u64,
    /// Preamble, garbage and oversize bytes skipped while looking for a boundary / JPEG start.
    pub skipped_bytes: u64,
    /// True if the body's first delimiter line named another boundary than the hint (lying header).
    pub boundary_overridden: bool,
}

#[derive(Debug)]
enum State {
    /// Boundary unknown: looking for the first line that starts with `--`.
    Detect {
        line_start: bool,
        searched: u64,
        reported: bool,
    },
    /// Looking for the next delimiter line.
    Seek { line_start: bool },
    /// After a delimiter line: `scan` bytes of complete header lines seen, `lines` of them.
    Headers { scan: usize, lines: usize },
    /// Body of known length.
    Body { headers: PartHeaders, len: usize },
    /// Body delimited by the next boundary; `scan` = resume point of the delimiter search.
    Scan {
        headers: PartHeaders,
        scan: usize,
        declared: Option<u64>,
    },
    /// Raw mode: looking for FF D8 FF.
    RawSeek,
    /// Raw mode: inside a JPEG.
    RawFrame { walker: JpegWalker },
    /// End of stream handled.
    Done,
}

enum Step {
    Frame(Frame),
    Error(Error),
    NeedMore,
    Continue,
}

enum DelimLine {
    Open(usize),
    Close(usize),
    NotDelim,
    NeedMore,
}

/// Longest delimiter line accepted (boundary + transport padding).
const MAX_DELIM_LINE: usize = MAX_BOUNDARY_LEN + 256;

fn is_ws(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

fn looks_jpeg(b: &[u8]) -> bool {
    b.len() >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[b.len() - 2] == 0xFF && b[b.len() - 1] == 0xD9
}

/// The sans-IO MJPEG decoder.
///
/// Feed it bytes with [`push`](Decoder::push) (copies) or [`push_bytes`](Decoder::push_bytes)
/// (zero-copy where a chunk holds whole parts), pull frames with
/// [`next_frame`](Decoder::next_frame) until it returns `None`, and call
/// [`finish`](Decoder::finish) at the end of the stream to get the last part (or its truncation
/// error). Output is identical under any chunking.
///
/// ```
/// use stream_codec::Decoder;
/// let body = b"preamble\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xd9\r\n--frame\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9";
/// let mut d = Decoder::default(); // boundary detected from the body
/// let mut frames = Vec::new();
/// for chunk in body.chunks(3) {
///     d.push(chunk);
///     while let Some(item) = d.next_frame() {
///         frames.push(item.expect("no corrupt part"));
///     }
/// }
/// d.finish();
/// while let Some(item) = d.next_frame() {
///     frames.push(item.expect("no corrupt part"));
/// }
/// assert_eq!(frames.len(), 2);
/// assert_eq!(&frames[1].data[..], b"\xff\xd8\xff\xd9");
/// assert_eq!(d.boundary(), Some("frame"));
/// ```
#[derive(Debug)]
pub struct Decoder {
    input: Input,
    state: State,
    delim: Option<Delimiter>,
    hint: Option<String>,
    limits: Limits,
    eof: bool,
    stats: Stats,
    soi: memmem::Finder<'static>,
}

impl Default for Decoder {
    /// Multipart mode, boundary detected, default limits.
    fn default() -> Self {
        Decoder::build(DecoderConfig::default(), None)
    }
}

impl Decoder {
    fn build(config: DecoderConfig, hint: Option<String>) -> Self {
        let state = match (config.mode, &hint) {
            (Mode::RawJpeg, _) => State::RawSeek,
            _ => State::Detect {
                line_start: true,
                searched: 0,
                reported: false,
            },
        };
        Decoder {
            input: Input::default(),
            state,
            delim: None,
            hint,
            limits: config.limits,
            eof: false,
            stats: Stats::default(),
            soi: memmem::Finder::new(b"\xFF\xD8\xFF").into_owned(),
        }
    }

    /// A decoder for `config`; fails only on an unusable boundary hint.
    ///
    /// ```
    /// use stream_codec::{Decoder, DecoderConfig, Mode};
    /// let d = Decoder::new(DecoderConfig { mode: Mode::RawJpeg, ..Default::default() });
    /// assert!(d.is_ok());
    /// ```
    pub fn new(config: DecoderConfig) -> Result<Self, Error> {
        let hint = match &config.boundary {
            Some(b) => {
                validate(b)?;
                Some(b.clone())
            }
            None => None,
        };
        Ok(Decoder::build(config, hint))
    }

    /// Multipart decoder with a boundary hint (e.g. from `--boundary`), with or without `--`.
    ///
    /// ```
    /// let d = stream_codec::Decoder::with_boundary("--myboundary").expect("valid");
    /// # drop(d);
    /// ```
    pub fn with_boundary(boundary: &str) -> Result<Self, Error> {
        Decoder::new(DecoderConfig {
            boundary: Some(boundary.to_string()),
            ..DecoderConfig::default()
        })
    }

    /// Decoder for a response `Content-Type` value: multipart with its boundary as hint; a
    /// `image/jpeg` (or any non-multipart) type selects raw-JPEG mode.
    ///
    /// ```
    /// let d = stream_codec::Decoder::from_content_type("multipart/x-mixed-replace;boundary=frame");
    /// assert!(d.is_ok());
    /// ```
    pub fn from_content_type(content_type: &str) -> Result<Self, Error> {
        Decoder::from_content_type_with(content_type, Limits::default())
    }

    /// [`from_content_type`](Decoder::from_content_type) with explicit limits.
    pub fn from_content_type_with(content_type: &str, limits: Limits) -> Result<Self, Error> {
        let ct = content_type.trim();
        let is_multipart = ct
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"));
        let mode = if is_multipart || ct.is_empty() {
            Mode::Multipart
        } else {
            Mode::RawJpeg
        };
        let boundary = if is_multipart {
            boundary_from_content_type(ct).filter(|b| validate(b).is_ok())
        } else {
            None
        };
        Decoder::new(DecoderConfig {
            mode,
            boundary,
            limits,
        })
    }

    /// Raw concatenated-JPEG decoder (no multipart framing).
    ///
    /// ```
    /// let mut d = stream_codec::Decoder::raw_jpeg();
    /// d.push(b"junk\xff\xd8\xff\xd9\xff\xd8\xff\xd9");
    /// assert_eq!(d.frames().filter(|f| f.is_ok()).count(), 2);
    /// ```
    pub fn raw_jpeg() -> Self {
        Decoder::build(
            DecoderConfig {
                mode: Mode::RawJpeg,
                ..DecoderConfig::default()
            },
            None,
        )
    }

    /// Appends bytes (copied into the decoder's buffer).
    pub fn push(&mut self, data: &[u8]) {
        self.stats.bytes_in += data.len() as u64;
        self.input.push_slice(data);
    }

    /// Appends a chunk without copying it: frames that lie wholly inside it are slices of it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let chunk = Bytes::from_static(b"--b\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n");
    /// let mut d = stream_codec::Decoder::with_boundary("b").expect("valid");
    /// d.push_bytes(chunk.clone());
    /// let f = d.next_frame().expect("frame").expect("ok");
    /// assert_eq!(f.data.as_ptr(), chunk[26..].as_ptr()); // same memory
    /// ```
    pub fn push_bytes(&mut self, data: Bytes) {
        self.stats.bytes_in += data.len() as u64;
        self.input.push_bytes(data);
    }

    /// Marks the end of the stream: the next calls to [`next_frame`](Decoder::next_frame) return
    /// the last part if it is complete, or [`Error::Truncated`] if it is not.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The boundary in use, once the first delimiter line confirmed it (multipart mode).
    pub fn boundary(&self) -> Option<&str> {
        self.delim.as_ref().map(|d| d.boundary.as_str())
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The next frame, a recoverable error about one part (the decoder has already moved on), or
    /// `None` when more input is needed (or, after [`finish`](Decoder::finish), at the end).
    pub fn next_frame(&mut self) -> Option<Result<Frame, Error>> {
        loop {
            let step = match self.step() {
                Step::NeedMore if self.input.pull_more() => continue,
                Step::NeedMore if self.eof => self.at_eof(),
                step => step,
            };
            match step {
                Step::Continue => continue,
                Step::NeedMore => return None,
                Step::Frame(f) => {
                    self.stats.frames += 1;
                    return Some(Ok(f));
                }
                Step::Error(e) => {
                    self.stats.errors += 1;
                    if matches!(e, Error::Truncated { .. }) {
                        self.stats.truncated += 1;
                    }
                    return Some(Err(e));
                }
            }
        }
    }

    /// Drains what the input so far yields (an iterator over [`next_frame`](Decoder::next_frame)).
    pub fn frames(&mut self) -> impl Iterator<Item = Result<Frame, Error>> + '_ {
        std::iter::from_fn(move || self.next_frame())
    }

    fn frame(&mut self, len: usize, headers: PartHeaders) -> Frame {
        let offset = self.input.base();
        let data = self.input.take(len);
        Frame {
            data,
            offset,
            timestamp: headers.timestamp(),
            headers,
            index: self.stats.frames,
        }
    }

    fn skip(&mut self, n: usize) {
        self.stats.skipped_bytes += n as u64;
        self.input.advance(n);
    }

    fn step(&mut self) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => {
                // drop anything pushed after the end
                let n = self.input.len();
                self.input.advance(n);
                Step::NeedMore
            }
            State::Detect {
                line_start,
                searched,
                reported,
            } => self.detect(line_start, searched, reported),
            State::Seek { line_start } => self.seek(line_start),
            State::Headers { scan, lines } => self.headers(scan, lines),
            State::Body { headers, len } => self.body(headers, len),
            State::Scan {
                headers,
                scan,
                declared,
            } => self.scan(headers, scan, declared),
            State::RawSeek => self.raw_seek(),
            State::RawFrame { walker } => self.raw_frame(walker),
        }
    }

    fn detect(&mut self, mut line_start: bool, mut searched: u64, mut reported: bool) -> Step {
        let limit = self.limits.max_preamble;
        let step = 'out: {
            if searched > limit as u64 && !reported {
                reported = true;
                break 'out Step::Error(Error::NoBoundary {
                    offset: self.input.base() - searched,
                    limit,
                });
            }
            let v = self.input.view();
            if v.is_empty() {
                break 'out Step::NeedMore;
            }
            if line_start {
                let ws = v.iter().take_while(|&&b| is_ws(b)).count();
                if ws > 0 {
                    searched += ws as u64;
                    self.skip(ws);
                    break 'out Step::Continue;
                }
                if v[0] != b'-' {
                    line_start = false;
                    break 'out Step::Continue;
                }
                if v.len() < 2 {
                    break 'out Step::NeedMore;
                }
                if v[1] != b'-' {
                    line_start = false;
                    break 'out Step::Continue;
                }
                let Some(nl) = memchr::memchr(b'\n', &v[..v.len().min(MAX_DELIM_LINE)]) else {
                    if v.len() >= MAX_DELIM_LINE {
                        line_start = false;
                        break 'out Step::Continue;
                    }
                    break 'out Step::NeedMore;
                };
                let line = trim(&v[2..nl]);
                let Ok(line) = std::str::from_utf8(line) else {
                    line_start = false;
                    break 'out Step::Continue;
                };
                let boundary = match &self.hint {
                    Some(h) => {
                        let bare = h.strip_prefix("--").unwrap_or(h);
                        if line == h || line.strip_suffix("--") == Some(h.as_str()) {
                            Some(h.clone())
                        } else if line == bare || line.strip_suffix("--") == Some(bare) {
                            Some(bare.to_string())
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                let boundary = match boundary {
                    Some(b) => b,
                    None => {
                        // Detected boundaries have no blanks ("-- comment" lines are preamble).
                        if validate(line).is_err() || line.contains([' ', '\t']) {
                            line_start = false;
                            break 'out Step::Continue;
                        }
                        self.stats.boundary_overridden = self.hint.is_some();
                        line.to_string()
                    }
                };
                self.delim = Some(Delimiter::new(&boundary));
                self.state = State::Seek { line_start: true };
                return Step::Continue;
            }
            match memchr::memchr(b'\n', v) {
                Some(i) => {
                    searched += i as u64 + 1;
                    self.skip(i + 1);
                    line_start = true;
                    Step::Continue
                }
                None => {
                    let n = v.len();
                    searched += n as u64;
                    self.skip(n);
                    Step::NeedMore
                }
            }
        };
        self.state = State::Detect {
            line_start,
            searched,
            reported,
        };
        step
    }

    /// Classifies the line at the start of the view, which begins with `--BOUNDARY`.
    fn delimiter_line(&self, v: &[u8], dash_len: usize) -> DelimLine {
        let rest = &v[dash_len..];
        let Some(nl) = memchr::memchr(b'\n', &rest[..rest.len().min(MAX_DELIM_LINE)]) else {
            return if rest.len() >= MAX_DELIM_LINE {
                DelimLine::NotDelim
            } else {
                DelimLine::NeedMore
            };
        };
        let tail = trim(&rest[..nl]);
        if tail.is_empty() {
            DelimLine::Open(dash_len + nl + 1)
        } else if tail == b"--" {
            DelimLine::Close(dash_len + nl + 1)
        } else {
            DelimLine::NotDelim
        }
    }

    fn seek(&mut self, mut line_start: bool) -> Step {
        let Some(delim) = self.delim.as_ref() else {
            return Step::NeedMore;
        };
        let v = self.input.view();
        let step = if line_start {
            let ws = v.iter().take_while(|&&b| is_ws(b)).count();
            if ws > 0 {
                self.input.advance(ws);
                Step::Continue
            } else if v.is_empty() {
                Step::NeedMore
            } else {
                let n = v.len().min(delim.dash.len());
                if v[..n] != delim.dash[..n] {
                    line_start = false;
                    Step::Continue
                } else if n < delim.dash.len() {
                    Step::NeedMore
                } else {
                    match self.delimiter_line(v, delim.dash.len()) {
                        DelimLine::Open(len) => {
                            self.input.advance(len);
                            self.state = State::Headers { scan: 0, lines: 0 };
                            return Step::Continue;
                        }
                        DelimLine::Close(len) => {
                            self.input.advance(len);
                            Step::Continue
                        }
                        DelimLine::NotDelim => {
                            line_start = false;
                            Step::Continue
                        }
                        DelimLine::NeedMore => Step::NeedMore,
                    }
                }
            }
        } else {
            match delim.finder.find(v) {
                Some(p) => {
                    self.skip(p + 1);
                    line_start = true;
                    Step::Continue
                }
                None => {
                    let keep = delim.needle_len() - 1;
                    if v.len() > keep {
                        let n = v.len() - keep;
                        self.skip(n);
                    }
                    Step::NeedMore
                }
            }
        };
        self.state = State::Seek { line_start };
        step
    }

    fn headers(&mut self, mut scan: usize, mut lines: usize) -> Step {
        let limits = self.limits;
        let offset = self.input.base();
        let v = self.input.view();
        loop {
            let Some(i) = memchr::memchr(b'\n', &v[scan..]) else {
                if v.len() > limits.max_header_bytes {
                    self.state = State::Seek { line_start: false };
                    return Step::Error(Error::HeadersTooLarge {
                        offset,
                        limit: limits.max_header_bytes,
                    });
                }
                self.state = State::Headers { scan, lines };
                return Step::NeedMore;
            };
            let line = trim(&v[scan..scan + i]);
            if line.is_empty() {
                // A small copy: a slice would pin the input buffer and defeat its reuse.
                let raw = Bytes::copy_from_slice(&v[..scan]);
                self.input.advance(scan + i + 1);
                let headers = match PartHeaders::parse(raw) {
                    Ok(h) => h,
                    Err(at) => {
                        self.state = State::Seek { line_start: false };
                        return Step::Error(Error::BadHeader {
                            offset: offset + at as u64,
                        });
                    }
                };
                match headers.content_length() {
                    Some(n) if n > limits.max_part_size as u64 => {
                        self.state = State::Seek { line_start: false };
                        return Step::Error(Error::PartTooLarge {
                            offset: self.input.base(),
                            size: n,
                            limit: limits.max_part_size,
                        });
                    }
                    Some(n) => {
                        let len = n as usize;
                        self.input.reserve_total(len + 64);
                        self.state = State::Body { headers, len };
                    }
                    None => {
                        self.state = State::Scan {
                            headers,
                            scan: 0,
                            declared: None,
                        };
                    }
                }
                return Step::Continue;
            }
            if self
                .delim
                .as_ref()
                .is_some_and(|d| line.starts_with(&d.dash))
            {
                // a delimiter where headers were expected: an empty part, go on with the next
                self.input.advance(scan);
                self.state = State::Seek { line_start: true };
                return Step::Continue;
            }
            lines += 1;
            scan += i + 1;
            if lines > limits.max_headers {
                self.state = State::Seek { line_start: false };
                return Step::Error(Error::TooManyHeaders {
                    offset,
                    limit: limits.max_headers,
                });
            }
            if scan > limits.max_header_bytes {
                self.state = State::Seek { line_start: false };
                return Step::Error(Error::HeadersTooLarge {
                    offset,
                    limit: limits.max_header_bytes,
                });
            }
        }
    }

    /// What follows a Content-Length body: `Some(true)` a delimiter (after optional blank),
    /// `Some(false)` something else, `None` not known yet.
    fn delimiter_follows(&self, after: &[u8]) -> Option<bool> {
        let delim = self.delim.as_ref()?;
        let ws = after.iter().take_while(|&&b| is_ws(b)).count();
        let rest = &after[ws..];
        let n = rest.len().min(delim.dash.len());
        if rest[..n] != delim.dash[..n] {
            Some(false)
        } else if n < delim.dash.len() {
            None
        } else {
            Some(true)
        }
    }

    fn body(&mut self, headers: PartHeaders, len: usize) -> Step {
        let v = self.input.view();
        if v.len() < len {
            self.state = State::Body { headers, len };
            return Step::NeedMore;
        }
        if headers.is_jpeg() && !looks_jpeg(&v[..len]) {
            // Starts with SOI but ends otherwise (padding?): accept if a delimiter follows.
            let ok = len >= 2 && v[0] == 0xFF && v[1] == 0xD8;
            match self.delimiter_follows(&v[len..]) {
                Some(true) if ok => {}
                None if ok && !self.eof => {
                    self.state = State::Body { headers, len };
                    return Step::NeedMore;
                }
                None if ok => {}
                _ => {
                    self.state = State::Scan {
                        headers,
                        scan: 0,
                        declared: Some(len as u64),
                    };
                    return Step::Continue;
                }
            }
        }
        let f = self.frame(len, headers);
        self.state = State::Seek { line_start: true };
        Step::Frame(f)
    }

    /// Ends a scanned part whose delimiter `\n` is at `end`.
    fn end_scanned(&mut self, headers: PartHeaders, end: usize, declared: Option<u64>) -> Step {
        let v = self.input.view();
        let offset = self.input.base();
        self.state = State::Seek { line_start: true };
        let (lead, len) = if headers.is_jpeg() {
            let body = &v[..end];
            let lead = body.iter().take_while(|&&b| is_ws(b)).count();
            let trail = body[lead..].iter().rev().take_while(|&&b| is_ws(b)).count();
            let mut len = end - lead - trail;
            if len == 0 {
                self.input.advance(end);
                return Step::Continue;
            }
            if !looks_jpeg(&body[lead..lead + len]) {
                // Garbage after the JPEG (before the next boundary): the marker walk finds its end.
                if let Walk::Complete(n) = JpegWalker::new().walk(&body[lead..lead + len]) {
                    self.stats.skipped_bytes += (len - n) as u64;
                    len = n;
                }
            }
            if !looks_jpeg(&body[lead..lead + len]) {
                self.input.advance(end);
                return Step::Error(match declared {
                    Some(declared) => Error::LengthMismatch {
                        offset,
                        declared,
                        actual: end as u64,
                    },
                    None => Error::NotJpeg {
                        offset: offset + lead as u64,
                        what: "part body does not run from SOI to EOI",
                    },
                });
            }
            (lead, len)
        } else {
            let len = if end > 0 && v[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            (0, len)
        };
        if declared.is_some() {
            self.stats.length_mismatches += 1;
        }
        self.input.advance(lead);
        let f = self.frame(len, headers);
        self.input.advance(end - lead - len);
        Step::Frame(f)
    }

    fn scan(&mut self, headers: PartHeaders, mut scan: usize, declared: Option<u64>) -> Step {
        let Some(delim) = self.delim.as_ref() else {
            return Step::NeedMore;
        };
        let needle = delim.needle_len();
        let v = self.input.view();
        loop {
            match delim.finder.find(&v[scan..]) {
                None => {
                    let limit = self.limits.max_part_size;
                    if v.len() > limit + needle {
                        let offset = self.input.base();
                        let size = v.len() as u64;
                        let n = v.len() - (needle - 1);
                        self.skip(n);
                        self.state = State::Seek { line_start: false };
                        return Step::Error(Error::PartTooLarge {
                            offset,
                            size,
                            limit,
                        });
                    }
                    scan = v.len().saturating_sub(needle - 1).max(scan);
                    self.state = State::Scan {
                        headers,
                        scan,
                        declared,
                    };
                    return Step::NeedMore;
                }
                Some(i) => {
                    let p = scan + i;
                    let Some(&c) = v.get(p + needle) else {
                        self.state = State::Scan {
                            headers,
                            scan: p,
                            declared,
                        };
                        return Step::NeedMore;
                    };
                    if is_ws(c) || c == b'-' {
                        let limit = self.limits.max_part_size;
                        if p > limit {
                            let offset = self.input.base();
                            self.skip(p);
                            self.state = State::Seek { line_start: false };
                            return Step::Error(Error::PartTooLarge {
                                offset,
                                size: p as u64,
                                limit,
                            });
                        }
                        return self.end_scanned(headers, p, declared);
                    }
                    scan = p + 1;
                }
            }
        }
    }

    fn raw_seek(&mut self) -> Step {
        let v = self.input.view();
        match self.soi.find(v) {
            Some(p) => {
                self.skip(p);
                self.state = State::RawFrame {
                    walker: JpegWalker::new(),
                };
                Step::Continue
            }
            None => {
                if v.len() > 2 {
                    let n = v.len() - 2;
                    self.skip(n);
                }
                self.state = State::RawSeek;
                Step::NeedMore
            }
        }
    }

    fn raw_frame(&mut self, mut walker: JpegWalker) -> Step {
        let v = self.input.view();
        match walker.walk(v) {
            Walk::Complete(n) if n > self.limits.max_part_size => {
                let offset = self.input.base();
                self.skip(2);
                self.state = State::RawSeek;
                Step::Error(Error::PartTooLarge {
                    offset,
                    size: n as u64,
                    limit: self.limits.max_part_size,
                })
            }
            Walk::Complete(n) => {
                self.state = State::RawSeek;
                Step::Frame(self.frame(n, PartHeaders::default()))
            }
            Walk::NeedMore => {
                let limit = self.limits.max_part_size;
                if walker.position().max(v.len()) > limit {
                    let offset = self.input.base();
                    let size = v.len() as u64;
                    self.skip(2);
                    self.state = State::RawSeek;
                    return Step::Error(Error::PartTooLarge {
                        offset,
                        size,
                        limit,
                    });
                }
                self.state = State::RawFrame { walker };
                Step::NeedMore
            }
            Walk::Corrupt(at, what) => {
                let offset = self.input.base() + at as u64;
                self.skip(2);
                self.state = State::RawSeek;
                Step::Error(Error::NotJpeg { offset, what })
            }
        }
    }

    /// The end of the stream in the current state.
    fn at_eof(&mut self) -> Step {
        let state = std::mem::replace(&mut self.state, State::Done);
        let offset = self.input.base();
        let available = self.input.len() as u64;
        match state {
            State::Done | State::Detect { .. } | State::Seek { .. } | State::RawSeek => {
                self.skip(available as usize);
                Step::NeedMore
            }
            State::Headers { .. } => {
                let v = self.input.view();
                let blank = v.iter().all(|&b| is_ws(b));
                self.skip(available as usize);
                if blank {
                    Step::NeedMore
                } else {
                    Step::Error(Error::Truncated {
                        offset,
                        declared: None,
                        available,
                    })
                }
            }
            State::Body { headers, len } => {
                // A Content-Length that is too large shows as a delimiter inside the body.
                if let Some(delim) = &self.delim {
                    let v = self.input.view();
                    let needle = delim.needle_len();
                    let mut from = 0;
                    while let Some(i) = delim.finder.find(&v[from..]) {
                        let p = from + i;
                        if v.get(p + needle).is_some_and(|&c| is_ws(c) || c == b'-')
                            || p + needle == v.len()
                        {
                            let declared = Some(len as u64);
                            return self.end_scanned(headers, p, declared);
                        }
                        from = p + 1;
                    }
                }
                self.skip(available as usize);
                Step::Error(Error::Truncated {
                    offset,
                    declared: Some(len as u64),
                    available,
                })
            }
            State::Scan {
                headers, declared, ..
            } => {
                let v = self.input.view();
                let lead = v.iter().take_while(|&&b| is_ws(b)).count();
                let trail = v[lead..].iter().rev().take_while(|&&b| is_ws(b)).count();
                let len = v.len() - lead - trail;
                if len == 0 {
                    self.skip(v.len());
                    return Step::NeedMore;
                }
                let complete = match JpegWalker::new().walk(&v[lead..lead + len]) {
                    Walk::Complete(n) => Some(n),
                    _ => None,
                };
                let len = if headers.is_jpeg() {
                    complete.unwrap_or(0)
                } else {
                    len
                };
                if len > self.limits.max_part_size {
                    self.skip(available as usize);
                    return Step::Error(Error::PartTooLarge {
                        offset,
                        size: len as u64,
                        limit: self.limits.max_part_size,
                    });
                }
                if len > 0 {
                    let trail = v.len() - lead - len;
                    if declared.is_some() {
                        self.stats.length_mismatches += 1;
                    }
                    self.input.advance(lead);
                    let f = self.frame(len, headers);
                    self.input.advance(trail);
                    return Step::Frame(f);
                }
                self.skip(available as usize);
                Step::Error(Error::Truncated {
                    offset,
                    declared,
                    available,
                })
            }
            State::RawFrame { .. } => {
                self.skip(available as usize);
                Step::Error(Error::Truncated {
                    offset,
                    declared: None,
                    available,
                })
            }
        }
    }
}
