//! stream-codec criterion bench: in-process decode throughput (data in memory) with Content-Length
//! (only headers are touched), by delimiter scan, on the quirky stream, through a copying socket-read
//! loop, through the HTTP layer (chunked esp32cam wire bytes), and the writer's encode-once fan-out.
//!
//! `cargo bench -p posecam --no-default-features --bench mjpeg`
//! Goals (issue 4): >= 10 GB/s with Content-Length, >= 3 GB/s by delimiter scan.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use posecam_test_support::{read, shared};
use stream_codec::{Decoder, HttpDecoder, Writer};

fn body(name: &str) -> Bytes {
    Bytes::from(read(&shared(&format!("media/mjpeg/{name}.mjpeg"))))
}

fn decode_whole(data: &Bytes) -> usize {
    let mut d = Decoder::default();
    d.push_bytes(data.clone());
    d.finish();
    d.frames().filter(Result::is_ok).count()
}

fn decode_chunks(data: &[u8], n: usize) -> usize {
    let mut d = Decoder::default();
    let mut count = 0;
    for c in data.chunks(n) {
        d.push(c);
        count += d.frames().filter(Result::is_ok).count();
    }
    d.finish();
    count + d.frames().filter(Result::is_ok).count()
}

fn decoder(c: &mut Criterion) {
    let mut g = c.benchmark_group("mjpeg_decode");
    g.measurement_time(Duration::from_secs(3));
    for (label, name) in [
        ("content_length/esp32cam", "esp32cam"),
        ("content_length/mjpg_streamer", "mjpg_streamer"),
        ("delimiter_scan/flask_relay", "flask_relay"),
        ("mixed/quirky", "quirky"),
    ] {
        let data = body(name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(format!("{label}/one_bytes"), |b| {
            b.iter(|| decode_whole(black_box(&data)))
        });
        g.bench_function(format!("{label}/copied_64KiB_reads"), |b| {
            b.iter(|| decode_chunks(black_box(&data), 65536))
        });
    }
    let wire = Bytes::from(read(&shared("media/mjpeg/esp32cam.wire.bin")));
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("http_chunked/esp32cam_wire/1460B_reads", |b| {
        b.iter(|| {
            let mut d = HttpDecoder::default();
            let mut n = 0;
            for c in black_box(&wire).chunks(1460) {
                d.push(c);
                n += d.frames().filter(Result::is_ok).count();
            }
            n
        })
    });
    g.finish();
}

fn writer(c: &mut Criterion) {
    let data = body("esp32cam");
    let jpeg = {
        let mut d = Decoder::default();
        d.push_bytes(data);
        d.next_frame().expect("a frame").expect("ok").data
    };
    let w = Writer::default();
    let mut g = c.benchmark_group("mjpeg_writer");
    g.throughput(Throughput::Bytes(jpeg.len() as u64));
    g.bench_function("encode_part", |b| {
        b.iter(|| w.encode_part(black_box(&jpeg), Some(Duration::from_millis(37_500))))
    });
    g.bench_function("fanout_1000_viewers/encode_once", |b| {
        b.iter(|| {
            let part = w.encode_part(black_box(&jpeg), None);
            (0..1000).map(|_| part.clone()).collect::<Vec<Bytes>>()
        })
    });
    g.bench_function("fanout_1000_viewers/encode_per_viewer", |b| {
        b.iter(|| {
            (0..1000)
                .map(|_| w.encode_part(black_box(&jpeg), None))
                .collect::<Vec<Bytes>>()
        })
    });
    g.finish();
}

criterion_group!(benches, decoder, writer);
criterion_main!(benches);
