//! Camera URLs `http://[user[:password]@]host[:port][/path]`: parsing, percent-decoding of the
//! user-info, and [`redact_url`], which hides the password wherever a URL is shown.
//!
//! Sans-IO and always available (no feature): the relay's `/health` and logs use [`redact_url`]
//! on any URL they print.

use std::fmt;

/// A camera URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Only `http://` is supported (`https://` needs TLS; RTSP is not HTTP).
    #[error("{url}: unsupported scheme (want http://)")]
    Scheme {
        /// The URL, redacted.
        url: String,
    },
    /// The authority has no host.
    #[error("{url}: no host")]
    NoHost {
        /// The URL, redacted.
        url: String,
    },
    /// The port is not a number in 1..=65535.
    #[error("{url}: bad port")]
    Port {
        /// The URL, redacted.
        url: String,
    },
    /// A control character, space or bad percent escape where none may be.
    #[error("{url}: invalid character or percent escape")]
    Invalid {
        /// The URL, redacted.
        url: String,
    },
}

/// A parsed `http://` camera URL. The password never appears in its `Debug` or `Display`.
///
/// ```
/// use stream_codec::CameraUrl;
/// let url = CameraUrl::parse("http://admin:s%40cret@192.168.1.20:81/stream").expect("valid");
/// assert_eq!(url.host(), "192.168.1.20");
/// assert_eq!(url.port(), 81);
/// assert_eq!(url.path(), "/stream");
/// assert_eq!(url.user(), Some("admin"));
/// assert_eq!(url.password(), Some("s@cret"));
/// assert_eq!(url.to_string(), "http://admin:***@192.168.1.20:81/stream");
/// assert!(!format!("{url:?}").contains("cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CameraUrl {
    host: String,
    port: u16,
    explicit_port: bool,
    path: String,
    user: Option<String>,
    password: Option<String>,
    redacted: String,
}

impl CameraUrl {
    /// Parses `http://[user[:password]@]host[:port][/path][?query]` (scheme any case; IPv6 hosts
    /// in brackets). User and password are percent-decoded.
    pub fn parse(url: &str) -> Result<CameraUrl, UrlError> {
        let redacted = redact_url(url);
        let bad = |make: fn(String) -> UrlError| make(redacted.clone());
        if url
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b >= 0x80)
        {
            return Err(bad(|url| UrlError::Invalid { url }));
        }
        let rest = match url.get(..7) {
            Some(s) if s.eq_ignore_ascii_case("http://") => &url[7..],
            _ => return Err(bad(|url| UrlError::Scheme { url })),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = path.split('#').next().unwrap_or("");
        let path = if path.is_empty() {
            "/".to_owned()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (u, p) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let dec =
                    |s: &str| percent_decode(s).ok_or_else(|| bad(|url| UrlError::Invalid { url }));
                (Some(dec(u)?), p.map(dec).transpose()?)
            }
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let Some((h, after)) = v6.split_once(']') else {
                return Err(bad(|url| UrlError::NoHost { url }));
            };
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad(|url| UrlError::Port { url }))?,
                ),
            };
            (format!("[{h}]"), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad(|url| UrlError::NoHost { url }));
        }
        let (port, explicit_port) = match port {
            None => (80, false),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => (n, true),
                _ => return Err(bad(|url| UrlError::Port { url })),
            },
        };
        Ok(CameraUrl {
            host,
            port,
            explicit_port,
            path,
            user,
            password,
            redacted,
        })
    }

    /// The host (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (80 when the URL has none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, what to connect to.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` header value (`host` or `host:port` as written).
    pub fn host_header(&self) -> String {
        if self.explicit_port {
            self.address()
        } else {
            self.host.clone()
        }
    }

    /// Path and query, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The percent-decoded user name, if the URL has user-info.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The percent-decoded password, if any. Never print it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The URL with the password replaced by `***` (what `Display` shows).
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl fmt::Display for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CameraUrl")
            .field("url", &self.redacted)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for CameraUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CameraUrl::parse(s)
    }
}

/// Percent-decodes `s` (`None` on a bad escape or a result that is not UTF-8).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with the password of its user-info replaced by `***`, for logs, errors and status
/// pages. Any scheme (`http`, `rtsp`, ...); a URL without a password is returned as is; the user
/// name is kept. Never fails: text that is not a URL comes back with anything that could be
/// user-info hidden.
///
/// ```
/// use stream_codec::redact_url;
/// assert_eq!(redact_url("http://admin:s3cret@host:81/stream"), "http://admin:***@host:81/stream");
/// assert_eq!(redact_url("rtsp://u:p@cam/live"), "rtsp://u:***@cam/live");
/// assert_eq!(redact_url("http://cam/capture"), "http://cam/capture");
/// assert_eq!(redact_url("http://token@cam/x"), "http://token@cam/x");
/// ```
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let mut end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if !rest[..end].contains('@')
        && let Some((_, after_colon)) = rest[..end].split_once(':')
        && !after_colon.bytes().all(|b| b.is_ascii_digit())
        && let Some(at) = rest.rfind('@')
    {
        // `user:pa/ss@host`: a password with an unescaped `/`, `?` or `#` (not a valid URL, but
        // hide it all the same). A numeric port (`host:81/a@b`) is not taken for a password.
        end = rest[at..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |i| at + i);
    }
    let (authority, tail) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let hostport = &authority[at..];
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => user,
        None if scheme.is_empty() => "",
        None => return url.to_owned(),
    };
    format!("{scheme}{user}:***{hostport}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let u = CameraUrl::parse("HTTP://cam").expect("valid");
        assert_eq!((u.address().as_str(), u.path()), ("cam:80", "/"));
        assert_eq!(u.host_header(), "cam");
        let u = CameraUrl::parse("http://a:b:c@[::1]:8080?x=1").expect("valid");
        assert_eq!(u.address(), "[::1]:8080");
        assert_eq!(u.path(), "/?x=1");
        assert_eq!(u.password(), Some("b:c"));
        assert_eq!(u.to_string(), "http://a:***@[::1]:8080?x=1");
        for bad in [
            "rtsp://cam/x",
            "http://",
            "http://:80/x",
            "http://cam:0/",
            "http://cam:99999/",
            "http://u:%zz@cam/",
            "http://ca m/",
        ] {
            let e = CameraUrl::parse(bad).expect_err(bad);
            assert!(!e.to_string().contains("%zz"), "{e}");
        }
        assert_eq!(redact_url("a:b@c"), "a:***@c");
        assert_eq!(redact_url("http://u:p@h/x@y"), "http://u:***@h/x@y");
        assert_eq!(redact_url("http://u:p@q@h/"), "http://u:***@h/");
        assert_eq!(redact_url("http://u:pa/ss@h/x"), "http://u:***@h/x");
        assert_eq!(redact_url("http://u:p?s#s@h:81/x"), "http://u:***@h:81/x");
        assert_eq!(redact_url("http://h:81/a@b"), "http://h:81/a@b");
        assert_eq!(redact_url("http://h/a:b@c"), "http://h/a:b@c");
    }
}
