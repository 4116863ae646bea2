//! Fuzz target over the `WWW-Authenticate` Digest parser and the response it leads to: no panic
//! on any input, and a parsed challenge always gives a well-formed `Authorization` value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream_codec::auth::{Credentials, DigestChallenge};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // One header value, and the same bytes split into several headers at newlines.
    let one = DigestChallenge::parse(&text);
    let many = DigestChallenge::pick(text.split('\n'));
    for c in [one, many].into_iter().flatten() {
        // Parameter names are case-insensitive (RFC 7616): `noNce=""` is an empty nonce.
        assert!(!c.nonce.is_empty() || text.to_ascii_lowercase().contains("nonce"));
        let h = Credentials::new("user", "pass").digest(&c, "GET", "/x", 1, "0a4f113b");
        assert!(h.starts_with("Digest username=\""));
        assert!(!h.contains('\r') && !h.contains('\n'), "header injection: {h:?}");
    }
});
