//! Every recorded stream in `shared/media/mjpeg` decodes to exactly the frames its JSON sidecar
//! lists (offset, length, sha256), under chunk sizes 1, 7, 1024, 65536, random chunking and one
//! zero-copy `Bytes` push; the truncated last part of `quirky` is reported, never returned.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use stream_codec::{Decoder, Error, Frame, HttpDecoder};
use support::{read, shared};

const STREAMS: [&str; 4] = ["esp32cam", "flask_relay", "mjpg_streamer", "quirky"];

#[derive(Debug, PartialEq, Eq, Clone)]
struct Expect {
    offset: u64,
    length: usize,
    sha256: String,
}

struct Recorded {
    name: &'static str,
    body: Bytes,
    content_type: String,
    frames: Vec<Expect>,
    truncated: usize,
    meta: serde_json::Value,
}

fn load(name: &'static str) -> Recorded {
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&shared(&format!("media/mjpeg/{name}.json"))))
            .expect("sidecar is JSON");
    let body = Bytes::from(read(&shared(&format!("media/mjpeg/{name}.mjpeg"))));
    let frames = meta["frames"]
        .as_array()
        .expect("frames list")
        .iter()
        .map(|f| Expect {
            offset: f["offset"].as_u64().expect("offset"),
            length: f["length"].as_u64().expect("length") as usize,
            sha256: f["sha256"].as_str().expect("sha256").to_string(),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        frames.len() as u64,
        meta["frame_count"].as_u64().expect("frame_count")
    );
    Recorded {
        name,
        body,
        content_type: meta["content_type"]
            .as_str()
            .expect("content_type")
            .to_string(),
        frames,
        truncated: usize::from(meta.get("truncated_final_part").is_some()),
        meta,
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn expect_of(f: &Frame) -> Expect {
    Expect {
        offset: f.offset,
        length: f.data.len(),
        sha256: hex(&Sha256::digest(&f.data)),
    }
}

/// Splits into chunks of `sizes` (cycled) and decodes; returns frames and errors.
fn decode(
    mut d: Decoder,
    body: &Bytes,
    sizes: &[usize],
    zero_copy: bool,
) -> (Vec<Frame>, Vec<Error>) {
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    let mut sink = |item: Result<Frame, Error>| match item {
        Ok(f) => frames.push(f),
        Err(e) => errors.push(e),
    };
    let mut pos = 0;
    let mut k = 0;
    while pos < body.len() {
        let n = sizes[k % sizes.len()].min(body.len() - pos);
        k += 1;
        if zero_copy {
            d.push_bytes(body.slice(pos..pos + n));
        } else {
            d.push(&body[pos..pos + n]);
        }
        pos += n;
        while let Some(item) = d.next_frame() {
            sink(item);
        }
    }
    d.finish();
    while let Some(item) = d.next_frame() {
        sink(item);
    }
    (frames, errors)
}

/// Deterministic pseudo-random chunk sizes 1..=max (xorshift).
fn random_sizes(seed: u64, count: usize, max: usize) -> Vec<usize> {
    let mut x = seed | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % max as u64) as usize + 1
        })
        .collect()
}

fn check(rec: &Recorded, label: &str, frames: &[Frame], errors: &[Error]) {
    let got: Vec<Expect> = frames.iter().map(expect_of).collect();
    assert_eq!(
        got.len(),
        rec.frames.len(),
        "{} {label}: frame count",
        rec.name
    );
    for (i, (g, e)) in got.iter().zip(&rec.frames).enumerate() {
        assert_eq!(g, e, "{} {label}: frame {i}", rec.name);
    }
    let truncated: Vec<_> = errors
        .iter()
        .filter(|e| matches!(e, Error::Truncated { .. }))
        .collect();
    assert_eq!(
        truncated.len(),
        rec.truncated,
        "{} {label}: truncations {errors:?}",
        rec.name
    );
    assert_eq!(
        errors.len(),
        truncated.len(),
        "{} {label}: unexpected errors {errors:?}",
        rec.name
    );
}

#[test]
fn recorded_streams_under_every_chunking() {
    for name in STREAMS {
        let rec = load(name);
        let cases: Vec<(String, Vec<usize>, bool)> = vec![
            ("chunk 1".into(), vec![1], false),
            ("chunk 7".into(), vec![7], false),
            ("chunk 1024".into(), vec![1024], false),
            ("chunk 65536".into(), vec![65536], false),
            (
                "random 1..=4096".into(),
                random_sizes(0x5eed, 4096, 4096),
                false,
            ),
            (
                "random zero-copy 1..=200000".into(),
                random_sizes(42, 512, 200_000),
                true,
            ),
            ("one Bytes".into(), vec![usize::MAX], true),
        ];
        for (label, sizes, zc) in cases {
            let d = Decoder::from_content_type(&rec.content_type).expect("content type");
            let (frames, errors) = decode(d, &rec.body, &sizes, zc);
            check(&rec, &label, &frames, &errors);
        }
        // boundary detected from the body alone
        let (frames, errors) = decode(Decoder::default(), &rec.body, &[1024], false);
        check(&rec, "detected boundary", &frames, &errors);
        // timestamps parsed where the stream has them
        let (frames, _) = decode(Decoder::default(), &rec.body, &[65536], true);
        for (f, m) in frames
            .iter()
            .zip(rec.meta["frames"].as_array().expect("frames"))
        {
            if let Some(ts) = m["timestamp"].as_str() {
                let (s, us) = ts.split_once('.').expect("s.us");
                let want = std::time::Duration::new(
                    s.parse().expect("s"),
                    us.parse::<u32>().expect("us") * 1000,
                );
                assert_eq!(f.timestamp, Some(want), "{name} frame {}", f.index);
            }
        }
    }
}

#[test]
fn quirky_truncation_is_reported_with_its_numbers() {
    let rec = load("quirky");
    let t = &rec.meta["truncated_final_part"];
    let (_, errors) = decode(Decoder::default(), &rec.body, &[4096], false);
    match errors.as_slice() {
        [
            Error::Truncated {
                offset,
                declared,
                available,
            },
        ] => {
            assert_eq!(*offset, t["offset"].as_u64().expect("offset"));
            assert_eq!(*declared, t["declared_length"].as_u64());
            assert_eq!(
                *available,
                t["available_bytes"].as_u64().expect("available")
            );
        }
        other => panic!("expected one truncation, got {other:?}"),
    }
}

#[test]
fn exif_thumbnail_frames_are_whole() {
    let rec = load("quirky");
    let (frames, _) = decode(Decoder::default(), &rec.body, &[1024], false);
    let exif: Vec<_> = rec.meta["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["exif_thumbnail"].as_bool() == Some(true))
        .map(|f| f["index"].as_u64().expect("index") as usize)
        .collect();
    assert_eq!(exif.len(), 12);
    for i in exif {
        assert_eq!(expect_of(&frames[i]), rec.frames[i], "EXIF frame {i}");
    }
}

#[test]
fn zero_copy_when_one_chunk_holds_the_part() {
    let rec = load("esp32cam");
    let (frames, _) = decode(Decoder::default(), &rec.body, &[usize::MAX], true);
    let base = rec.body.as_ptr() as usize;
    for f in &frames {
        assert_eq!(
            f.data.as_ptr() as usize - base,
            f.offset as usize,
            "frame {} is a slice of the input",
            f.index
        );
    }
}

#[test]
fn chunked_zero_copy_only_copies_parts_that_span_chunks() {
    let rec = load("flask_relay");
    let mut d = Decoder::default();
    let (mut sliced, mut total) = (0, 0);
    let base = rec.body.as_ptr() as usize;
    for start in (0..rec.body.len()).step_by(1 << 20) {
        d.push_bytes(
            rec.body
                .slice(start..(start + (1 << 20)).min(rec.body.len())),
        );
        for f in d.frames() {
            let f = f.unwrap();
            total += 1;
            sliced += usize::from(f.data.as_ptr() as usize == base + f.offset as usize);
        }
    }
    d.finish();
    total += d.frames().count();
    assert_eq!(total, 90);
    // 7 MB in 1 MiB chunks: at most one spanning part per chunk border is copied
    assert!(
        sliced >= 90 - 7,
        "{sliced} of {total} frames are slices of the input"
    );
}

/// `esp32cam.wire.bin` is the response as on the socket (head + chunked transfer coding): the HTTP
/// layer undoes the chunking before the parser, under any chunking of the socket reads.
#[test]
fn esp32cam_wire_through_the_http_layer() {
    let rec = load("esp32cam");
    let wire = Bytes::from(read(&shared("media/mjpeg/esp32cam.wire.bin")));
    for sizes in [
        vec![1],
        vec![7],
        vec![1460],
        vec![65536],
        random_sizes(7, 1000, 9000),
    ] {
        let mut d = HttpDecoder::default();
        let (mut frames, mut errors) = (Vec::new(), Vec::new());
        let mut pos = 0;
        let mut k = 0;
        while pos < wire.len() {
            let n = sizes[k % sizes.len()].min(wire.len() - pos);
            k += 1;
            d.push_bytes(wire.slice(pos..pos + n));
            pos += n;
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
        let head = d.head().expect("head parsed");
        assert_eq!(head.status, 200);
        assert_eq!(
            head.boundary().as_deref(),
            Some("123456789000000000000987654321")
        );
        assert_eq!(head.header("x-framerate"), Some("60"));
        // offsets are in the de-chunked body, as in the sidecar
        check(&rec, &format!("wire {:?}", &sizes[..1]), &frames, &errors);
    }
}
