//! The HTTP client layer: status handling, body kinds, limits, broken chunking, JPEG snapshots.
#![allow(clippy::unwrap_used)]

use stream_codec::http::{BodyKind, ResponseDecoder, ResponseHead};
use stream_codec::{Error, HttpDecoder, HttpLimits, Writer};

fn frames(d: &mut HttpDecoder, wire: &[u8], chunk: usize) -> (usize, Vec<Error>) {
    let (mut n, mut errors) = (0, Vec::new());
    for c in wire.chunks(chunk) {
        d.push(c);
        for item in d.frames() {
            match item {
                Ok(_) => n += 1,
                Err(e) => errors.push(e),
            }
        }
    }
    d.finish();
    for item in d.frames() {
        match item {
            Ok(_) => n += 1,
            Err(e) => errors.push(e),
        }
    }
    (n, errors)
}

#[test]
fn writer_stream_through_http_decoder_any_chunking() {
    let w = Writer::new("relay").unwrap();
    let mut wire = w.response_head().to_vec();
    for i in 0..4u8 {
        wire.extend_from_slice(&w.encode_part(&[0xFF, 0xD8, i, 0xFF, 0xD9], None));
    }
    wire.extend_from_slice(&w.closing());
    for chunk in [1, 2, 5, 64, wire.len()] {
        let mut d = HttpDecoder::default();
        let (n, errors) = frames(&mut d, &wire, chunk);
        assert_eq!((n, errors.len()), (4, 0), "chunk {chunk}: {errors:?}");
        assert_eq!(d.decoder().unwrap().boundary(), Some("relay"));
    }
}

#[test]
fn non_2xx_status_is_an_error_then_nothing() {
    let mut d = HttpDecoder::default();
    let (n, errors) = frames(
        &mut d,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        3,
    );
    assert_eq!(n, 0);
    assert!(
        matches!(errors.as_slice(), [Error::HttpStatus { status: 401, .. }]),
        "{errors:?}"
    );
}

#[test]
fn jpeg_snapshot_with_content_length_uses_raw_mode() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x03, 0x41, 0xFF, 0xD9];
    let mut wire = format!(
        "HTTP/1.0 200 OK\nContent-Type: image/jpeg\nContent-Length: {}\n\n",
        jpeg.len()
    )
    .into_bytes();
    wire.extend_from_slice(&jpeg);
    wire.extend_from_slice(b"ignored after the body");
    let mut d = HttpDecoder::default();
    let (n, errors) = frames(&mut d, &wire, 4);
    assert_eq!((n, errors.len()), (1, 0), "{errors:?}");
    assert_eq!(
        d.head().unwrap().body_kind(),
        BodyKind::Length(jpeg.len() as u64)
    );
}

#[test]
fn malformed_inputs() {
    // closed before the head was complete
    let mut r = ResponseDecoder::default();
    r.push(b"HTTP/1.1 200 OK\r\nContent-");
    r.finish();
    assert!(matches!(r.next_body(), Some(Err(Error::Http { .. }))));
    assert!(r.next_body().is_none());
    // head too large
    let limits = HttpLimits {
        max_head_bytes: 64,
        ..HttpLimits::default()
    };
    let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 100));
    assert!(ResponseHead::parse(&big, &limits).is_err());
    // not HTTP
    assert!(ResponseHead::parse(b"\xff\xd8\xff\xe0 binary\r\n\r\n", &limits).is_err());
    // broken chunk size
    let mut d = HttpDecoder::default();
    let (n, errors) = frames(
        &mut d,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\nzz\r\n",
        3,
    );
    assert_eq!(n, 0);
    assert!(
        matches!(errors.as_slice(), [Error::Chunked { .. }]),
        "{errors:?}"
    );
}

#[test]
fn truncated_chunked_stream_reports_the_cut_part() {
    let w = Writer::new("b").unwrap();
    let part = w.encode_part(&[0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9], None);
    let mut wire = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    wire.extend(format!("{:x}\r\n", part.len()).as_bytes());
    wire.extend_from_slice(&part);
    wire.extend(b"\r\n");
    wire.extend(format!("{:x}\r\n", part.len()).as_bytes());
    wire.extend_from_slice(&part[..part.len() - 6]);
    let mut d = HttpDecoder::default();
    let (n, errors) = frames(&mut d, &wire, 5);
    assert_eq!(n, 1);
    assert!(
        matches!(
            errors.as_slice(),
            [Error::Truncated {
                declared: Some(7),
                ..
            }]
        ),
        "{errors:?}"
    );
}

/// `is_done` tells when a response on a keep-alive connection is over, so the next one can be
/// read with a new decoder: Content-Length, chunked, and a non-2xx answer.
#[test]
fn is_done_for_keep_alive_responses() {
    let jpeg = b"\xff\xd8\xff\xe0\x00\x02\xff\xd9";
    let mut wire = Vec::new();
    wire.extend_from_slice(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            jpeg.len()
        )
        .as_bytes(),
    );
    wire.extend_from_slice(jpeg);
    let first_len = wire.len();
    wire.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n\xff\xd8\xff\xe0\x00\x02\xff\xd9\r\n0\r\n\r\n",
    );
    let second_len = wire.len() - first_len;
    for (range, label) in [
        (0..first_len, "content-length"),
        (first_len..first_len + second_len, "chunked"),
    ] {
        let mut d = HttpDecoder::default();
        let mut frames = 0;
        for (i, b) in wire[range.clone()].iter().enumerate() {
            assert!(!d.is_done(), "{label}: done before byte {i}");
            d.push(&[*b]);
            frames += d.frames().filter(|f| f.is_ok()).count();
        }
        assert!(d.is_done(), "{label}");
        assert_eq!(frames, 1, "{label}");
    }
    let mut d = HttpDecoder::default();
    d.push(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(
        d.next_frame(),
        Some(Err(stream_codec::Error::HttpStatus { status: 404, .. }))
    ));
    assert!(d.is_done());
}
