//! proptest: camera URLs and credentials. `redact_url` and `CameraUrl`'s `Display` / `Debug` /
//! errors never show a password; the URL parser and the `WWW-Authenticate` Digest parser never
//! panic on any input, and what the parser reads back is what was written.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use stream_codec::{CameraUrl, redact_url};

/// Percent-encodes everything but unreserved characters, as a URL's user-info must be.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn redaction_never_leaks(
        user in "[a-z]{0,8}",
        secret in "[ -~]{0,16}",
        host in "[a-z]{1,10}(\\.[a-z]{1,6}){0,2}",
        port in proptest::option::of(1u16..),
        path in "(/[a-z0-9@:._-]{0,8}){0,3}",
        scheme in prop::sample::select(vec!["http", "HTTP", "rtsp"]),
        raw in any::<bool>(),
    ) {
        // A marker no host, path or user can contain.
        let password = format!("PW{secret}Z");
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        // Encoded (a valid URL), or raw (a password with `/`, `@`, `?` ... pasted as is).
        let info = if raw { password.clone() } else { encode(&password) };
        let url = format!("{scheme}://{user}:{info}@{host}{port}{path}");
        let shown = redact_url(&url);
        prop_assert!(!shown.contains(&info), "{url} -> {shown}");
        prop_assert!(shown.contains(":***@"), "{url} -> {shown}");
        match CameraUrl::parse(&url) {
            Ok(u) => {
                prop_assert!(scheme != "rtsp");
                if !raw {
                    prop_assert_eq!(u.password(), Some(password.as_str()));
                    prop_assert_eq!(u.user(), Some(user.as_str()));
                }
                for s in [u.to_string(), format!("{u:?}"), u.redacted().to_owned()] {
                    prop_assert!(!s.contains(&info) && !s.contains(&password), "{s}");
                }
            }
            Err(e) => {
                for s in [e.to_string(), format!("{e:?}")] {
                    prop_assert!(!s.contains(&info), "{s}");
                }
            }
        }
    }

    #[test]
    fn url_parser_never_panics(s in "\\PC{0,64}", t in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = redact_url(&s);
        let _ = CameraUrl::parse(&s);
        let s2 = format!("http://{}", String::from_utf8_lossy(&t));
        let _ = redact_url(&s2);
        let _ = CameraUrl::parse(&s2);
    }
}

#[cfg(feature = "auth")]
mod digest {
    use proptest::prelude::*;
    use stream_codec::auth::{Credentials, DigestAlgorithm, DigestChallenge};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn challenge_parser_never_panics(s in "\\PC{0,200}", b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = DigestChallenge::parse(&s);
            let _ = DigestChallenge::parse(&format!("Digest {s}"));
            let _ = DigestChallenge::parse(&format!("Digest {}", String::from_utf8_lossy(&b)));
        }

        #[test]
        fn challenge_round_trip(
            realm in "[ -!#-\\[\\]-~]{0,20}",
            nonce in "[A-Za-z0-9+/=]{1,40}",
            opaque in proptest::option::of("[a-f0-9]{0,16}"),
            alg in prop::sample::select(vec!["MD5", "md5", "SHA-256", "SHA-256-sess", "MD5-sess"]),
            qop in prop::sample::select(vec!["", "auth", "auth,auth-int", "auth-int, auth"]),
            before in prop::sample::select(vec!["", "Basic realm=\"x\", ", "Bearer, "]),
        ) {
            let mut v = format!("{before}Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm={alg}");
            if let Some(o) = &opaque {
                v.push_str(&format!(", opaque=\"{o}\""));
            }
            if !qop.is_empty() {
                v.push_str(&format!(", qop=\"{qop}\""));
            }
            let c = DigestChallenge::parse(&v).unwrap();
            prop_assert_eq!(&c.realm, &realm);
            prop_assert_eq!(&c.nonce, &nonce);
            prop_assert_eq!(&c.opaque, &opaque);
            prop_assert_eq!(c.qop_auth, !qop.is_empty());
            prop_assert_eq!(c.algorithm.as_str().to_ascii_lowercase(), alg.to_ascii_lowercase());
            let h = Credentials::new("user", "pass").digest(&c, "GET", "/x", 1, "abcd");
            prop_assert!(h.starts_with("Digest username=\"user\""));
            prop_assert!(!h.contains("pass\""));
            let _ = DigestAlgorithm::Md5;
        }
    }
}
