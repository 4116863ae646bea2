//! Multipart boundaries: reading one from a `Content-Type` header, checking it, and the delimiter
//! search (`\n--BOUNDARY`, memchr's SIMD `memmem`).

use memchr::memmem;

use crate::Error;

/// Longest boundary accepted (RFC 2046 allows 70; cameras in the wild stay well below 200).
pub const MAX_BOUNDARY_LEN: usize = 200;

/// The boundary parameter of a `Content-Type: multipart/...` header value: quoted or not, any case
/// for the parameter name, with a leading `--` kept as written (the decoder accepts delimiter lines
/// with or without it). `None` if the value has no boundary parameter.
///
/// ```
/// use stream_codec::boundary_from_content_type;
/// assert_eq!(boundary_from_content_type("multipart/x-mixed-replace;boundary=frame").as_deref(), Some("frame"));
/// assert_eq!(
///     boundary_from_content_type(r#"Multipart/X-Mixed-Replace; Boundary="quirky-b0undary""#).as_deref(),
///     Some("quirky-b0undary")
/// );
/// assert_eq!(boundary_from_content_type("image/jpeg"), None);
/// ```
pub fn boundary_from_content_type(value: &str) -> Option<String> {
    // Parameters follow the media type, separated by ';'. Quoted strings may contain ';'.
    let mut rest = value.split_once(';')?.1;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let (name, after) = rest.split_once('=')?;
        let name = name.trim();
        let after = after.trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            // quoted-string with backslash escapes
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, c2)) = chars.next() {
                            out.push(c2);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => out.push(c),
                }
            }
            (out, &q[end.min(q.len())..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        if name.eq_ignore_ascii_case("boundary") {
            return if val.is_empty() { None } else { Some(val) };
        }
        rest = next;
    }
}

/// Checks a boundary for use in a delimiter line: 1..=200 bytes, printable ASCII, no CR/LF.
pub(crate) fn validate(b: &str) -> Result<(), Error> {
    if b.is_empty()
        || b.len() > MAX_BOUNDARY_LEN
        || !b.bytes().all(|c| (0x20..0x7f).contains(&c))
        || b.ends_with(' ')
    {
        return Err(Error::InvalidBoundary(b.to_string()));
    }
    Ok(())
}

/// A known boundary with its delimiter finder.
#[derive(Debug, Clone)]
pub(crate) struct Delimiter {
    /// `--BOUNDARY`
    pub(crate) dash: Vec<u8>,
    /// Finds `\n--BOUNDARY`.
    pub(crate) finder: memmem::Finder<'static>,
    pub(crate) boundary: String,
}

impl Delimiter {
    pub(crate) fn new(boundary: &str) -> Self {
        let mut dash = b"--".to_vec();
        dash.extend_from_slice(boundary.as_bytes());
        let mut nl = b"\n".to_vec();
        nl.extend_from_slice(&dash);
        Delimiter {
            dash,
            finder: memmem::Finder::new(&nl).into_owned(),
            boundary: boundary.to_string(),
        }
    }

    /// Length of `\n--BOUNDARY`.
    #[inline]
    pub(crate) fn needle_len(&self) -> usize {
        self.dash.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_variants() {
        let b = |s: &str| boundary_from_content_type(s);
        assert_eq!(
            b("multipart/x-mixed-replace; boundary=--myboundary").as_deref(),
            Some("--myboundary")
        );
        assert_eq!(
            b("multipart/x-mixed-replace;boundary=\"a;b\";charset=x").as_deref(),
            Some("a;b")
        );
        assert_eq!(
            b("multipart/x-mixed-replace; charset=x; BOUNDARY = zz ").as_deref(),
            Some("zz")
        );
        assert_eq!(b("multipart/x-mixed-replace"), None);
        assert_eq!(b("multipart/x-mixed-replace; boundary="), None);
        assert_eq!(
            b("multipart/x-mixed-replace; boundary=\"unterminated"),
            Some("unterminated".into())
        );
    }

    #[test]
    fn validation() {
        assert!(validate("frame").is_ok());
        assert!(validate("").is_err());
        assert!(validate("a\r\nb").is_err());
        assert!(validate(&"x".repeat(201)).is_err());
    }
}
