//! A part's header block: kept raw (a `Bytes` slice of the input), with the fields the decoder needs
//! parsed once (Content-Type, Content-Length, X-Timestamp).

use std::time::Duration;

use bytes::Bytes;

/// The headers of one multipart part.
///
/// ```
/// use stream_codec::Decoder;
/// let mut d = Decoder::with_boundary("b").expect("valid boundary");
/// d.push(b"--b\r\nContent-Type: image/jpeg\r\ncontent-length: 4\r\nX-Timestamp: 37.5\r\nX-Extra: yes\r\n\r\n\xff\xd8\xff\xd9\r\n");
/// let f = d.next_frame().expect("a frame").expect("no error");
/// assert_eq!(f.headers.content_type(), Some("image/jpeg"));
/// assert_eq!(f.headers.content_length(), Some(4));
/// assert_eq!(f.headers.get("x-extra"), Some("yes"));
/// assert_eq!(f.timestamp, Some(std::time::Duration::from_millis(37_500)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartHeaders {
    raw: Bytes,
    content_type: Option<(usize, usize)>,
    content_length: Option<u64>,
    timestamp: Option<Duration>,
    count: usize,
}

impl PartHeaders {
    /// The raw header block (lines after the boundary line, without the blank line).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The part's `Content-Type`, trimmed.
    pub fn content_type(&self) -> Option<&str> {
        let (a, b) = self.content_type?;
        std::str::from_utf8(&self.raw[a..b]).ok()
    }

    /// The part's `Content-Length` (`None` if absent or not a number).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// `X-Timestamp: SECONDS[.FRACTION]` (ESP32-CAM: since boot; mjpg-streamer: since the epoch).
    pub fn timestamp(&self) -> Option<Duration> {
        self.timestamp
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the part had no header lines.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The value of the first header called `name` (any case), trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header lines as `(name, value)`, trimmed (lines that are not UTF-8 are skipped).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        lines(&self.raw).filter_map(|(_, line)| {
            let colon = memchr::memchr(b':', line)?;
            let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
            let value = std::str::from_utf8(&line[colon + 1..]).ok()?.trim();
            Some((name, value))
        })
    }

    /// Parses a header block (already checked for size). Returns the offset (in `raw`) of the first
    /// line without a colon on failure.
    pub(crate) fn parse(raw: Bytes) -> Result<PartHeaders, usize> {
        let mut h = PartHeaders {
            raw,
            ..PartHeaders::default()
        };
        let mut ct = None;
        let mut cl: Option<Option<u64>> = None;
        let mut ts = None;
        let mut count = 0;
        for (start, line) in lines(&h.raw) {
            count += 1;
            let Some(colon) = memchr::memchr(b':', line) else {
                return Err(start);
            };
            let name = trim(&line[..colon]);
            let value = trim(&line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"content-length") {
                let v = parse_u64(value);
                cl = match cl {
                    // Two different lengths: trust neither, scan for the boundary.
                    Some(prev) if prev != v => Some(None),
                    _ => Some(v),
                };
            } else if name.eq_ignore_ascii_case(b"content-type") {
                if ct.is_none() {
                    let off = value.as_ptr() as usize - h.raw.as_ptr() as usize;
                    ct = Some((off, off + value.len()));
                }
            } else if name.eq_ignore_ascii_case(b"x-timestamp") && ts.is_none() {
                ts = parse_timestamp(value);
            }
        }
        h.content_type = ct;
        h.content_length = cl.flatten();
        h.timestamp = ts;
        h.count = count;
        Ok(h)
    }

    /// True if the part claims to be a JPEG, or does not say what it is.
    pub(crate) fn is_jpeg(&self) -> bool {
        match self.content_type {
            None => true,
            Some((a, b)) => {
                let v = &self.raw[a..b];
                v.windows(4).any(|w| w.eq_ignore_ascii_case(b"jpeg"))
                    || v.windows(3).any(|w| w.eq_ignore_ascii_case(b"jpg"))
            }
        }
    }
}

/// Lines of a block with their start offsets, line ends (`\n`, optional `\r`) removed.
fn lines(raw: &[u8]) -> impl Iterator<Item = (usize, &[u8])> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= raw.len() {
            return None;
        }
        let start = pos;
        let end = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i);
        pos = end + 1;
        let mut line = &raw[start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        Some((start, line))
    })
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |a, &d| a * 10 + u64::from(d - b'0')))
}

/// `SECONDS[.FRACTION]`, fraction up to nanoseconds (extra digits ignored).
pub(crate) fn parse_timestamp(s: &[u8]) -> Option<Duration> {
    let (int, frac) = match memchr::memchr(b'.', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[][..]),
    };
    let secs = parse_u64(int)?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp(b"37.123456"),
            Some(Duration::new(37, 123_456_000))
        );
        assert_eq!(parse_timestamp(b"5"), Some(Duration::new(5, 0)));
        assert_eq!(
            parse_timestamp(b"1.1234567891"),
            Some(Duration::new(1, 123_456_789))
        );
        assert_eq!(parse_timestamp(b"x"), None);
        assert_eq!(parse_timestamp(b"1.x"), None);
    }

    #[test]
    fn header_block() {
        let h = PartHeaders::parse(Bytes::from_static(
            b"CONTENT-TYPE: IMAGE/JPEG\nContent-Length:   12  \r\nX-TIMESTAMP: 1000.123456",
        ))
        .expect("parses");
        assert_eq!(h.content_length(), Some(12));
        assert_eq!(h.content_type(), Some("IMAGE/JPEG"));
        assert!(h.is_jpeg());
        assert_eq!(h.timestamp(), Some(Duration::new(1000, 123_456_000)));
        assert_eq!(h.len(), 3);
        assert_eq!(
            PartHeaders::parse(Bytes::from_static(b"a: b\r\nnocolon")),
            Err(6)
        );
        let h = PartHeaders::parse(Bytes::from_static(b"Content-Length: 5\nContent-Length: 6"))
            .expect("parses");
        assert_eq!(h.content_length(), None);
    }
}
