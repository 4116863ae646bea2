//! proptest: writer -> parser round trip of arbitrary frames (with bytes that look like the
//! boundary, `FF D9` and `FF D8` inside) under arbitrary chunking; arbitrary input never panics and
//! keeps memory bounded.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use stream_codec::{Decoder, DecoderConfig, Limits, Mode, Writer};

/// Frame bodies: SOI, then pieces that include delimiter look-alikes, EOI in the middle, CR/LF.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(b"\r\n--posecamframe\r\n".to_vec()),
        Just(b"\r\n--posecamframe--\r\n".to_vec()),
        Just(b"\n--posecamframe".to_vec()),
        Just(vec![0xFF, 0xD9]),
        Just(vec![0xFF, 0xD8, 0xFF]),
        Just(b"Content-Length: 3\r\n\r\n".to_vec()),
    ];
    (proptest::collection::vec(piece, 0..12), any::<bool>()).prop_map(|(pieces, eoi)| {
        let mut v = vec![0xFF, 0xD8];
        v.extend(pieces.concat());
        if eoi {
            v.extend_from_slice(&[0xFF, 0xD9]);
        }
        v
    })
}

fn decode_chunked(
    mut d: Decoder,
    wire: &Bytes,
    cuts: &[usize],
    zero_copy: bool,
) -> Vec<(Vec<u8>, Option<Duration>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < wire.len() {
        let n = cuts
            .get(k)
            .copied()
            .unwrap_or(wire.len())
            .clamp(1, wire.len() - pos);
        k += 1;
        if zero_copy {
            d.push_bytes(wire.slice(pos..pos + n));
        } else {
            d.push(&wire[pos..pos + n]);
        }
        pos += n;
        for item in d.frames() {
            let f = item.unwrap();
            out.push((f.data.to_vec(), f.timestamp));
        }
    }
    d.finish();
    for item in d.frames() {
        let f = item.unwrap();
        out.push((f.data.to_vec(), f.timestamp));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn writer_parser_round_trip(
        frames in proptest::collection::vec((body(), proptest::option::of(0u64..4_000_000_000_000)), 1..8),
        cuts in proptest::collection::vec(1usize..300, 0..64),
        zero_copy in any::<bool>(),
        with_head in any::<bool>(),
    ) {
        let w = Writer::default();
        let mut wire = Vec::new();
        let expected: Vec<(Vec<u8>, Option<Duration>)> = frames
            .iter()
            .map(|(b, us)| (b.clone(), us.map(Duration::from_micros)))
            .collect();
        for (b, ts) in &expected {
            wire.extend_from_slice(&w.encode_part(b, *ts));
        }
        let wire = Bytes::from(wire);
        let got = if with_head {
            // through the HTTP client layer, head included
            let mut full = w.response_head().to_vec();
            full.extend_from_slice(&wire);
            let full = Bytes::from(full);
            let mut d = stream_codec::HttpDecoder::default();
            let mut out = Vec::new();
            let mut pos = 0;
            for &c in cuts.iter().chain(std::iter::repeat(&usize::MAX)) {
                if pos >= full.len() { break; }
                let n = c.clamp(1, full.len() - pos);
                d.push_bytes(full.slice(pos..pos + n));
                pos += n;
                for item in d.frames() {
                    let f = item.unwrap();
                    out.push((f.data.to_vec(), f.timestamp));
                }
            }
            d.finish();
            for item in d.frames() {
                let f = item.unwrap();
                out.push((f.data.to_vec(), f.timestamp));
            }
            out
        } else {
            decode_chunked(Decoder::default(), &wire, &cuts, zero_copy)
        };
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn arbitrary_input_never_panics_and_stays_bounded(
        data in proptest::collection::vec(prop_oneof![
            4 => any::<u8>(),
            1 => Just(b'\n'),
            1 => Just(b'-'),
            1 => Just(0xFF),
            1 => Just(0xD8),
            1 => Just(0xD9),
        ], 0..1500),
        raw in any::<bool>(),
        cuts in proptest::collection::vec(1usize..100, 0..40),
    ) {
        let limits = Limits { max_part_size: 512, max_header_bytes: 128, max_headers: 4, max_preamble: 256 };
        let mode = if raw { Mode::RawJpeg } else { Mode::Multipart };
        let mut d = Decoder::new(DecoderConfig { mode, boundary: None, limits }).unwrap();
        let mut pos = 0;
        for &c in cuts.iter().chain(std::iter::repeat(&usize::MAX)) {
            if pos >= data.len() { break; }
            let n = c.clamp(1, data.len() - pos);
            d.push(&data[pos..pos + n]);
            pos += n;
            d.frames().for_each(drop);
            prop_assert!(d.buffered() <= 512 + 128 + 100 + 300, "{} buffered", d.buffered());
        }
        d.finish();
        d.frames().for_each(drop);
        prop_assert_eq!(d.buffered(), 0);
    }
}
