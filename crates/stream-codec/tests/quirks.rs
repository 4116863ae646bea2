//! Quirks, corrupt parts, limits and raw-JPEG mode on small hand-made streams and real frames.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use stream_codec::{Decoder, DecoderConfig, Error, Frame, Limits, Mode, Writer};
use support::{read, shared};

fn jpeg(tag: u8, len: usize) -> Vec<u8> {
    // SOI, COM segment with payload, SOS with entropy bytes, EOI: a walkable JPEG-shaped blob
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x04, tag, tag, 0xFF, 0xDA, 0x00, 0x02,
    ];
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(31) & 0x7F));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

fn run(mut d: Decoder, data: &[u8], chunk: usize) -> (Vec<Frame>, Vec<Error>) {
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    for c in data.chunks(chunk.max(1)) {
        d.push(c);
        for item in d.frames() {
            match item {
                Ok(f) => frames.push(f),
                Err(e) => errors.push(e),
            }
        }
    }
    d.finish();
    for item in d.frames() {
        match item {
            Ok(f) => frames.push(f),
            Err(e) => errors.push(e),
        }
    }
    (frames, errors)
}

fn all_chunkings(d: impl Fn() -> Decoder, data: &[u8]) -> (Vec<Frame>, Vec<String>) {
    let (frames, errors) = run(d(), data, data.len());
    let errs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for chunk in [1, 2, 3, 7, 64] {
        let (f2, e2) = run(d(), data, chunk);
        assert_eq!(f2, frames, "chunk {chunk}");
        assert_eq!(
            e2.iter().map(ToString::to_string).collect::<Vec<_>>(),
            errs,
            "chunk {chunk}"
        );
    }
    (frames, errs)
}

fn part(b: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("--{b}\r\n{headers}\r\n").into_bytes();
    v.extend_from_slice(body);
    v.extend_from_slice(b"\r\n");
    v
}

#[test]
fn content_length_too_small_or_too_large_is_recovered() {
    let (a, b, c) = (jpeg(1, 300), jpeg(2, 200), jpeg(3, 100));
    let mut s = part("x", &format!("Content-Length: {}\r\n", a.len() - 10), &a);
    s.extend(part(
        "x",
        &format!("Content-Length: {}\r\n", b.len() + 50),
        &b,
    ));
    s.extend(part("x", &format!("Content-Length: {}\r\n", c.len()), &c));
    let mk = || Decoder::with_boundary("x").unwrap();
    let (frames, errors) = all_chunkings(mk, &s);
    assert!(errors.is_empty(), "{errors:?}");
    let data: Vec<&[u8]> = frames.iter().map(|f| &f.data[..]).collect();
    assert_eq!(data, [&a[..], &b[..], &c[..]]);
    assert_eq!(
        frames[0].headers.content_length(),
        Some(a.len() as u64 - 10)
    );
    let mut d = mk();
    d.push(&s);
    d.finish();
    assert_eq!(d.frames().count(), 3);
    assert_eq!(d.stats().length_mismatches, 2);
}

#[test]
fn garbage_blank_lines_closing_boundary_and_lf_only() {
    let (a, b, c) = (jpeg(1, 50), jpeg(2, 60), jpeg(3, 70));
    let mut s = b"\r\n\r\npreamble line\r\n-- not it\r\n".to_vec();
    s.extend(part("bb", "Content-Type: image/jpeg\r\n", &a));
    s.extend(b"\r\n\r\n  \r\ngarbage between parts \xff\xd8 junk\r\n");
    s.extend(b"--bb  \nCONTENT-TYPE: IMAGE/JPEG\nX-Whatever: 1\ncontent-length: 70\n\n");
    s.extend(&b);
    s.extend(b"\n--bb--\r\nepilogue\r\n");
    s.extend(part("bb", "Content-type:image/jpeg\r\n", &c));
    let (frames, errors) = all_chunkings(|| Decoder::with_boundary("bb").unwrap(), &s);
    assert!(errors.is_empty(), "{errors:?}");
    let data: Vec<&[u8]> = frames.iter().map(|f| &f.data[..]).collect();
    assert_eq!(data, [&a[..], &b[..], &c[..]]);
    // detected without a hint too
    let (frames2, _) = all_chunkings(Decoder::default, &s);
    assert_eq!(frames2, frames);
}

#[test]
fn lying_or_dashed_header_boundary() {
    let a = jpeg(9, 40);
    let s = part("real", "Content-Length: 54\r\n", &a);
    assert_eq!(a.len(), 54);
    let mut d = Decoder::with_boundary("announced").unwrap();
    d.push(&s);
    d.finish();
    assert_eq!(d.frames().filter(Result::is_ok).count(), 1);
    assert_eq!(d.boundary(), Some("real"));
    assert!(d.stats().boundary_overridden);
    // Content-Type says "--real" and the lines are "--real" (or "----real")
    for (hint, b) in [("--real", "real"), ("--real", "--real")] {
        let s = part(b, "Content-Length: 54\r\n", &a);
        let mut d = Decoder::with_boundary(hint).unwrap();
        d.push(&s);
        d.finish();
        assert_eq!(d.frames().filter(Result::is_ok).count(), 1, "{hint} {b}");
        assert!(!d.stats().boundary_overridden);
    }
}

#[test]
fn corrupt_parts_give_typed_errors_and_resync() {
    let good = jpeg(5, 100);
    let mut s = part("q", "Content-Length: 112\r\n", &good);
    // header line without a colon
    s.extend(part("q", "this is not a header\r\n", &good));
    // not a JPEG although declared as one (no Content-Length)
    s.extend(part("q", "Content-Type: image/jpeg\r\n", b"hello world"));
    // declared far too large
    s.extend(part("q", "Content-Length: 999999999\r\n", &good));
    // too many headers
    let many: String = (0..10).map(|i| format!("X-{i}: v\r\n")).collect();
    s.extend(part("q", &many, &good));
    // header block too large
    s.extend(part(
        "q",
        &format!("X-Big: {}\r\n", "a".repeat(3000)),
        &good,
    ));
    s.extend(part("q", "", &good));
    let limits = Limits {
        max_part_size: 1 << 20,
        max_header_bytes: 1024,
        max_headers: 8,
        ..Limits::default()
    };
    let mk = || {
        Decoder::new(DecoderConfig {
            boundary: Some("q".into()),
            limits,
            ..DecoderConfig::default()
        })
        .unwrap()
    };
    let (frames, errors) = all_chunkings(mk, &s);
    assert_eq!(frames.len(), 2, "first and last parts survive: {errors:?}");
    assert!(frames.iter().all(|f| f.data[..] == good[..]));
    let mut d = mk();
    d.push(&s);
    d.finish();
    let errs: Vec<Error> = d.frames().filter_map(Result::err).collect();
    assert!(matches!(errs[0], Error::BadHeader { .. }), "{errs:?}");
    assert!(matches!(errs[1], Error::NotJpeg { .. }), "{errs:?}");
    assert!(
        matches!(
            errs[2],
            Error::PartTooLarge {
                size: 999_999_999,
                ..
            }
        ),
        "{errs:?}"
    );
    assert!(
        matches!(errs[3], Error::TooManyHeaders { limit: 8, .. }),
        "{errs:?}"
    );
    assert!(
        matches!(errs[4], Error::HeadersTooLarge { limit: 1024, .. }),
        "{errs:?}"
    );
    assert_eq!(errs.len(), 5);
    // offsets point into the stream
    let bad_line = s
        .windows(20)
        .position(|w| w == b"this is not a header")
        .unwrap() as u64;
    assert_eq!(errs[0].offset(), Some(bad_line));
}

#[test]
fn memory_stays_bounded() {
    let limits = Limits {
        max_part_size: 64 << 10,
        max_header_bytes: 1024,
        ..Limits::default()
    };
    let config = |mode, b: Option<&str>| DecoderConfig {
        mode,
        boundary: b.map(String::from),
        limits,
    };
    let junk: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // garbage with no boundary at all; a part with no end; a header block with no end; raw junk
    let mut endless_part = b"--b\r\n\r\n".to_vec();
    endless_part.extend(&junk);
    let mut endless_head = b"--b\r\n".to_vec();
    endless_head.extend(std::iter::repeat_n(b'h', 1 << 20));
    let cases: Vec<(DecoderConfig, Vec<u8>)> = vec![
        (config(Mode::Multipart, None), junk.clone()),
        (config(Mode::Multipart, Some("b")), endless_part),
        (config(Mode::Multipart, Some("b")), endless_head),
        (
            config(Mode::RawJpeg, None),
            [&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2][..], &junk].concat(),
        ),
    ];
    for (i, (cfg, data)) in cases.into_iter().enumerate() {
        let mut d = Decoder::new(cfg).unwrap();
        let mut peak = 0;
        for _ in 0..8 {
            for c in data.chunks(4096) {
                d.push(c);
                d.frames().for_each(drop);
                peak = peak.max(d.buffered());
            }
        }
        assert!(
            peak <= (64 << 10) + 4096 + 1024,
            "case {i}: {peak} bytes buffered"
        );
        assert!(d.stats().errors >= 1 || i == 0, "case {i}: {:?}", d.stats());
    }
}

/// A real JPEG with an EXIF thumbnail from the quirky stream, and the plain frames of esp32cam,
/// concatenated with junk: raw mode walks the markers and returns exactly the JPEGs.
#[test]
fn raw_jpeg_mode_on_real_frames() {
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&shared("media/mjpeg/quirky.json"))).unwrap();
    let body = read(&shared("media/mjpeg/quirky.mjpeg"));
    let mut jpegs: Vec<Vec<u8>> = Vec::new();
    for f in meta["frames"].as_array().unwrap().iter().take(20) {
        let (o, l) = (
            f["offset"].as_u64().unwrap() as usize,
            f["length"].as_u64().unwrap() as usize,
        );
        jpegs.push(body[o..o + l].to_vec());
    }
    assert!(
        jpegs
            .iter()
            .any(|j| j[2..].windows(2).any(|w| w == [0xFF, 0xD8])),
        "has a thumbnail"
    );
    let mut s = Vec::new();
    for (i, j) in jpegs.iter().enumerate() {
        if i % 3 == 1 {
            s.extend(b"\r\n--junk between\r\n");
        }
        s.extend(j);
    }
    let truncated = &jpegs[0][..jpegs[0].len() / 2];
    s.extend(truncated);
    for chunk in [1, 7, 1024, 65536, s.len()] {
        let (frames, errors) = run(Decoder::raw_jpeg(), &s, chunk);
        assert_eq!(frames.len(), jpegs.len(), "chunk {chunk}");
        for (f, j) in frames.iter().zip(&jpegs) {
            assert_eq!(&f.data[..], &j[..], "chunk {chunk}");
        }
        assert!(
            matches!(errors.as_slice(), [Error::Truncated { available, .. }] if *available == truncated.len() as u64),
            "chunk {chunk}: {errors:?}"
        );
    }
}

#[test]
fn writer_fans_out_without_copies() {
    let w = Writer::new("fan").unwrap();
    let j = jpeg(7, 50_000);
    let part = w.encode_part(&j, None);
    let viewers: Vec<Bytes> = (0..1000).map(|_| part.clone()).collect();
    assert!(
        viewers
            .iter()
            .all(|v| v.as_ptr() == part.as_ptr() && v.len() == part.len())
    );
    let mut d = Decoder::from_content_type(&w.content_type()).unwrap();
    d.push_bytes(viewers[999].clone());
    let f = d.next_frame().unwrap().unwrap();
    assert_eq!(&f.data[..], &j[..]);
}
