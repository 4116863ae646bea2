//! HTTP authentication for cameras: Basic from a URL's user-info, and Digest (RFC 7616 / 2617,
//! `qop=auth` or none; MD5, MD5-sess, SHA-256, SHA-256-sess) when the camera answers
//! `401` with `WWW-Authenticate: Digest ...`, as many IP cameras do.
//!
//! Sans-IO: the [`client`](crate::client) uses it; any other HTTP client can too. The
//! challenge parser never panics on any input (fuzzed: `crates/stream-codec/fuzz`).

use std::fmt;

use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `MD5` (the default when the challenge names none).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    fn parse(s: &str) -> Option<Self> {
        let all = [
            ("MD5", Self::Md5),
            ("MD5-sess", Self::Md5Sess),
            ("SHA-256", Self::Sha256),
            ("SHA-256-sess", Self::Sha256Sess),
        ];
        all.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, a)| a)
    }

    /// The name as sent in the header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        let bytes: Vec<u8> = match self {
            Self::Md5 | Self::Md5Sess => Md5::digest(data.as_bytes()).to_vec(),
            Self::Sha256 | Self::Sha256Sess => Sha256::digest(data.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }
}

/// A parsed `WWW-Authenticate: Digest ...` challenge.
///
/// ```
/// use stream_codec::auth::{DigestAlgorithm, DigestChallenge};
/// let c = DigestChallenge::parse(r#"Digest realm="cam", qop="auth,auth-int", nonce="abc", opaque="xyz""#)
///     .expect("a digest challenge");
/// assert_eq!(c.realm, "cam");
/// assert_eq!(c.algorithm, DigestAlgorithm::Md5);
/// assert!(c.qop_auth);
/// assert!(DigestChallenge::parse("Basic realm=\"x\"").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back.
    pub opaque: Option<String>,
    /// `algorithm` (MD5 when absent).
    pub algorithm: DigestAlgorithm,
    /// True if the server offers `qop=auth` (otherwise the RFC 2069 form is used).
    pub qop_auth: bool,
    /// `stale=true`: the nonce expired, the credentials were right.
    pub stale: bool,
    /// `userhash=true` (RFC 7616): the user name is sent hashed.
    pub userhash: bool,
}

/// One `name=value` auth-param or a scheme token, from a `WWW-Authenticate` value.
#[derive(Debug)]
enum Item<'a> {
    Scheme(&'a str),
    Param(String, String),
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Splits a `WWW-Authenticate` value into scheme tokens and auth-params (lenient: skips what it
/// cannot read, never panics).
fn tokenize(s: &str) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() || out.len() > 64 {
            return out;
        }
        let tok_len = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        if tok_len == 0 {
            // Unreadable character: skip it.
            let skip = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[skip..];
            continue;
        }
        let token = &rest[..tok_len];
        let after = rest[tok_len..].trim_start();
        let Some(value_part) = after.strip_prefix('=') else {
            out.push(Item::Scheme(token));
            rest = after;
            continue;
        };
        let value_part = value_part.trim_start();
        if let Some(quoted) = value_part.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            out.push(Item::Param(token.to_ascii_lowercase(), value));
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let v_len = value_part
                .find(|c: char| c == ',' || c.is_ascii_whitespace())
                .unwrap_or(value_part.len());
            out.push(Item::Param(
                token.to_ascii_lowercase(),
                value_part[..v_len].to_owned(),
            ));
            rest = &value_part[v_len..];
        }
    }
}

impl DigestChallenge {
    /// The first usable Digest challenge in one `WWW-Authenticate` value (which may list several
    /// schemes); `None` if there is none (no Digest, no nonce, or an unknown algorithm).
    pub fn parse(value: &str) -> Option<DigestChallenge> {
        let items = tokenize(value);
        let mut i = 0;
        while i < items.len() {
            if let Item::Scheme(s) = items[i]
                && s.eq_ignore_ascii_case("digest")
            {
                let mut params = Vec::new();
                let mut j = i + 1;
                while let Some(Item::Param(n, v)) = items.get(j) {
                    params.push((n.as_str(), v.as_str()));
                    j += 1;
                }
                if let Some(c) = Self::from_params(&params) {
                    return Some(c);
                }
                i = j;
            } else {
                i += 1;
            }
        }
        None
    }

    /// The best challenge among several `WWW-Authenticate` values: SHA-256 before MD5.
    pub fn pick<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<DigestChallenge> {
        let all: Vec<DigestChallenge> = values.into_iter().filter_map(Self::parse).collect();
        let strong = all.iter().find(|c| {
            matches!(
                c.algorithm,
                DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess
            )
        });
        strong.or(all.first()).cloned()
    }

    fn from_params(params: &[(&str, &str)]) -> Option<DigestChallenge> {
        let get = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let algorithm = match get("algorithm") {
            None => DigestAlgorithm::Md5,
            Some(a) => DigestAlgorithm::parse(a)?,
        };
        let qop = get("qop");
        let qop_auth =
            qop.is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")));
        if qop.is_some() && !qop_auth {
            // Only auth-int offered: we do not hash bodies.
            return None;
        }
        Some(DigestChallenge {
            realm: get("realm").unwrap_or("").to_owned(),
            nonce: get("nonce")?.to_owned(),
            opaque: get("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
            userhash: get("userhash").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

/// A user name and password, from a URL's user-info. `Debug` never shows the password.
///
/// ```
/// use stream_codec::auth::Credentials;
/// let c = Credentials::new("admin", "secret");
/// assert_eq!(c.basic(), "Basic YWRtaW46c2VjcmV0");
/// assert!(!format!("{c:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl Credentials {
    /// Credentials from a user name and password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `Authorization` value for Basic: `Basic base64(user:password)`.
    pub fn basic(&self) -> String {
        let raw = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// The `Authorization` value answering `challenge` for `method uri`; `nc` is the nonce
    /// count (1 for the first request with this nonce), `cnonce` the client nonce.
    ///
    /// ```
    /// use stream_codec::auth::{Credentials, DigestChallenge};
    /// // RFC 2617 section 3.5's example.
    /// let c = DigestChallenge::parse(r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#).expect("challenge");
    /// let h = Credentials::new("Mufasa", "Circle Of Life").digest(&c, "GET", "/dir/index.html", 1, "0a4f113b");
    /// assert!(h.contains(r#"response="6629fae49393a05397450978507c4ef1""#), "{h}");
    /// ```
    pub fn digest(
        &self,
        challenge: &DigestChallenge,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let alg = challenge.algorithm;
        let mut ha1 = alg.hash(&format!(
            "{}:{}:{}",
            self.user, challenge.realm, self.password
        ));
        if alg.is_sess() {
            ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", challenge.nonce));
        }
        let ha2 = alg.hash(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if challenge.qop_auth {
            alg.hash(&format!(
                "{ha1}:{}:{nc}:{cnonce}:auth:{ha2}",
                challenge.nonce
            ))
        } else {
            alg.hash(&format!("{ha1}:{}:{ha2}", challenge.nonce))
        };
        let user = if challenge.userhash {
            alg.hash(&format!("{}:{}", self.user, challenge.realm))
        } else {
            self.user.clone()
        };
        let mut h = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}, response=\"{response}\"",
            quote(&user),
            quote(&challenge.realm),
            quote(&challenge.nonce),
            quote(uri),
            alg.as_str(),
        );
        if challenge.qop_auth {
            h.push_str(&format!(
                ", qop=auth, nc={nc}, cnonce=\"{}\"",
                quote(cnonce)
            ));
        }
        if let Some(o) = &challenge.opaque {
            h.push_str(&format!(", opaque=\"{}\"", quote(o)));
        }
        if challenge.userhash {
            h.push_str(", userhash=true");
        }
        h
    }
}

/// Escapes `"` and `\` for a quoted-string (and drops CR/LF, which would break the header).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 section 3.9.1 (SHA-256).
        let c = DigestChallenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .expect("challenge");
        let h = Credentials::new("Mufasa", "Circle of Life").digest(
            &c,
            "GET",
            "/dir/index.html",
            1,
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            h.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{h}"
        );
    }

    #[test]
    fn several_schemes_in_one_value() {
        let c = DigestChallenge::parse(
            r#"Basic realm="a", Digest realm="b", nonce="n", algorithm="sha-256", stale=TRUE"#,
        )
        .expect("digest");
        assert_eq!(c.realm, "b");
        assert_eq!(c.algorithm, DigestAlgorithm::Sha256);
        assert!(c.stale && !c.qop_auth);
        assert!(DigestChallenge::parse(r#"Digest realm="b""#).is_none());
        assert!(DigestChallenge::parse(r#"Digest nonce="n", qop="auth-int""#).is_none());
        assert!(DigestChallenge::parse(r#"Digest nonce="n", algorithm=SHA-512"#).is_none());
        assert!(DigestChallenge::parse("Digest nonce=\"unterminated\\").is_some());
        let best = DigestChallenge::pick([
            r#"Digest realm="r", nonce="1""#,
            r#"Digest realm="r", nonce="2", algorithm=SHA-256"#,
        ])
        .expect("one");
        assert_eq!(best.nonce, "2");
    }
}
