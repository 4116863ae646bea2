//! Fuzz target over the decoders: the first bytes choose the mode, limits and chunking; the rest
//! is the stream. Checks: no panic, bounded buffering, identical output under two chunkings,
//! every frame's offset/length inside the input, and the HTTP layer on the same bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use stream_codec::{Decoder, DecoderConfig, HttpDecoder, Limits, Mode};

const LIMITS: Limits = Limits {
    max_part_size: 4096,
    max_header_bytes: 512,
    max_headers: 8,
    max_preamble: 1024,
};

fn run(config: &DecoderConfig, data: &[u8], chunk: usize, zero_copy: bool) -> Vec<(u64, Bytes)> {
    let mut d = Decoder::new(config.clone()).expect("valid config");
    let mut out = Vec::new();
    let input = Bytes::copy_from_slice(data);
    let mut pos = 0;
    while pos < data.len() {
        let n = chunk.min(data.len() - pos);
        if zero_copy {
            d.push_bytes(input.slice(pos..pos + n));
        } else {
            d.push(&data[pos..pos + n]);
        }
        pos += n;
        for item in d.frames() {
            if let Ok(f) = item {
                out.push((f.offset, f.data));
            }
        }
        // bounded: one part + one header block + one pushed chunk + delimiter look-ahead
        assert!(d.buffered() <= LIMITS.max_part_size + LIMITS.max_header_bytes + chunk + 512);
    }
    d.finish();
    for item in d.frames() {
        if let Ok(f) = item {
            out.push((f.offset, f.data));
        }
    }
    assert_eq!(d.buffered(), 0);
    for (offset, f) in &out {
        let o = *offset as usize;
        assert_eq!(
            &data[o..o + f.len()],
            &f[..],
            "frame is the input's bytes at its offset"
        );
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let [sel, chunk, rest @ ..] = input else {
        return;
    };
    let mode = if sel & 1 == 0 {
        Mode::Multipart
    } else {
        Mode::RawJpeg
    };
    let boundary = match (sel >> 1) & 3 {
        0 => None,
        1 => Some("b".to_string()),
        2 => Some("--b".to_string()),
        _ => Some("frame".to_string()),
    };
    let config = DecoderConfig {
        mode,
        boundary,
        limits: LIMITS,
    };
    let chunk = usize::from(*chunk).max(1);
    let a = run(&config, rest, chunk, sel & 8 != 0);
    let b = run(&config, rest, rest.len().max(1), sel & 16 == 0);
    assert_eq!(a, b, "same frames under any chunking");

    let mut h = HttpDecoder::default();
    for c in rest.chunks(chunk) {
        h.push(c);
        h.frames().for_each(drop);
    }
    h.finish();
    h.frames().for_each(drop);
});
