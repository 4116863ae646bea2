//! Throughput of `stream_codec::client` over loopback against the baseline it replaces: a bare
//! tokio read loop into `HttpDecoder` (what `examples/common/mjpeg_client.rs` does, with no
//! deadlines, status or reconnects).
//!
//! ```text
//! cargo run --release -p stream-codec --features tokio --example client_bench [-- ROUNDS]
//! ```
//!
//! A loopback server sends `shared/media/mjpeg/esp32cam.wire.bin` (chunked, 100 frames, 3.5 MB)
//! as fast as the socket takes it, `REPEAT` times per connection (the chunked body is repeated,
//! one response). Both readers run in the same process, alternating, ROUNDS times (default 7);
//! the medians are printed with the ratio. Goal: the client within 10 % of the bare loop (ratio
//! >= 0.9).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use stream_codec::HttpDecoder;
use stream_codec::client::{self, ClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REPEAT: usize = 20;

/// The recorded chunked response, its body repeated `REPEAT` times (one head, one terminator).
fn wire() -> (Bytes, u64) {
    let raw = std::fs::read(posecam_test_support::shared(
        "media/mjpeg/esp32cam.wire.bin",
    ))
    .expect("recorded wire");
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let body = &raw[head_end..raw.len() - 5]; // without the final "0\r\n\r\n"
    let mut out = raw[..head_end].to_vec();
    for _ in 0..REPEAT {
        out.extend_from_slice(body);
    }
    out.extend_from_slice(b"0\r\n\r\n");
    (Bytes::from(out), 100 * REPEAT as u64)
}

async fn serve(listener: TcpListener, wire: Bytes) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let wire = wire.clone();
        tokio::spawn(async move {
            let mut req = [0u8; 4096];
            let _ = sock.read(&mut req).await;
            let _ = sock.write_all(&wire).await;
            let _ = sock.shutdown().await;
        });
    }
}

async fn bare(addr: std::net::SocketAddr) -> u64 {
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    let mut dec = HttpDecoder::default();
    let mut frames = 0;
    loop {
        while let Some(item) = dec.next_frame() {
            if item.is_ok() {
                frames += 1;
            }
        }
        if dec.is_done() {
            return frames;
        }
        let mut buf = BytesMut::with_capacity(64 << 10);
        if sock.read_buf(&mut buf).await.expect("read") == 0 {
            dec.finish();
        } else {
            dec.push_bytes(buf.freeze());
        }
    }
}

async fn with_client(addr: std::net::SocketAddr) -> u64 {
    let config = ClientConfig {
        max_reconnects: Some(0),
        ..ClientConfig::default()
    };
    let mut camera = client::connect(&format!("http://{addr}/"), config).expect("url");
    let mut frames = 0;
    while let Some(item) = camera.next().await {
        match item {
            Ok(_) => frames += 1,
            Err(e) if e.is_recoverable() => {}
            Err(_) => break, // the server closed the response
        }
    }
    frames
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let (wire, want) = wire();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, wire.clone()));
    let mb = wire.len() as f64 / 1e6;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        assert_eq!(bare(addr).await, want);
        a.push(mb / t.elapsed().as_secs_f64());
        let t = Instant::now();
        assert_eq!(with_client(addr).await, want);
        b.push(mb / t.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.0}-{hi:.0}")
    };
    let (ma, mb_) = (median(&mut a), median(&mut b));
    println!(
        "{:.1} MB, {want} frames per run, {rounds} rounds alternating",
        mb
    );
    println!(
        "bare read loop + HttpDecoder: median {ma:.0} MB/s (spread {})",
        spread(&a)
    );
    println!(
        "stream_codec::client:         median {mb_:.0} MB/s (spread {})",
        spread(&b)
    );
    println!("ratio client / bare: {:.2} (goal >= 0.90)", mb_ / ma);
}
