//! WebRTC (WHEP, H.264) demo: a moving camera picture (a relay fixture JPEG, or any JPEG given
//! with `--jpeg`) encoded once and served to every browser that opens the page.
//!
//! ```sh
//! cargo run --release -p stream-codec --features webrtc --example whep_demo -- --listen 127.0.0.1:8090
//! # then open http://127.0.0.1:8090/ (UDP for WebRTC on the same port number)
//! ```
//!
//! A deliberately tiny HTTP/1.1 server (httparse, one request per connection): `GET /` (page),
//! `GET /whep.js` (the crate's player), `POST /whep`, `DELETE /whep/<id>`, `GET /stats`.
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use stream_codec::webrtc::{
    H264Settings, H264Track, WHEP_PLAYER_JS, WhepConfig, WhepServer, default_candidate_ips,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
struct Args {
    /// HTTP address; WebRTC uses UDP on the same port number.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Picture source (default: the relay fixture testdata/relay/f040/cam0.jpg).
    #[arg(long)]
    jpeg: Option<PathBuf>,
    /// Frames per second.
    #[arg(long, default_value_t = 15.0)]
    fps: f64,
    /// H.264 bitrate (bit/s).
    #[arg(long, default_value_t = 1_000_000)]
    bitrate: u32,
    /// Stop after this many seconds (0 = run until killed).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>WHEP demo</title>
<style>body{font:14px sans-serif;background:#222;color:#eee} video{max-width:100%;background:#000}</style>
</head><body>
<h1>WHEP demo</h1>
<video id="v" autoplay muted playsinline></video>
<pre id="s">starting...</pre>
<script src="/whep.js"></script>
<script>
const player = new WhepPlayer(document.getElementById('v'), '/whep');
window.__player = player;
player.start().catch((e) => { document.getElementById('s').textContent = String(e); });
setInterval(() => { document.getElementById('s').textContent = JSON.stringify(player.stats, null, 1); }, 500);
</script></body></html>"#;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let path = args
        .jpeg
        .clone()
        .unwrap_or_else(|| crate::support::testdata("relay/f040/cam0.jpg"));
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = (img.width() & !1, img.height() & !1);
    let img = image::imageops::crop_imm(&img, 0, 0, w, h).to_image();
    let rgb = img.into_raw();

    let udp = SocketAddr::new(args.listen.ip(), args.listen.port());
    let config = WhepConfig::new(udp).with_candidate_ips(default_candidate_ips(udp.ip()));
    let server = WhepServer::bind(config).await.expect("bind WebRTC UDP");
    let listener = TcpListener::bind(args.listen).await.expect("bind HTTP");
    println!(
        "whep_demo: http://{} (WebRTC UDP {}, candidates {:?})",
        args.listen,
        server.local_addr(),
        server.candidate_ips()
    );

    // The frame source: the picture scrolling sideways, pushed at --fps from its own thread.
    let mut track = H264Track::new(
        server.clone(),
        H264Settings::default()
            .with_bitrate(args.bitrate)
            .with_max_fps(args.fps as f32),
    )
    .expect("encoder");
    let fps = args.fps;
    std::thread::spawn(move || {
        let period = Duration::from_secs_f64(1.0 / fps);
        let mut next = Instant::now();
        let mut frame = vec![0u8; rgb.len()];
        for i in 0u64.. {
            if track.wanted() {
                let (wu, hu) = (w as usize, h as usize);
                let shift = (i as usize * 4) % wu;
                for y in 0..hu {
                    let row = &rgb[y * wu * 3..(y + 1) * wu * 3];
                    let dst = &mut frame[y * wu * 3..(y + 1) * wu * 3];
                    dst[shift * 3..].copy_from_slice(&row[..(wu - shift) * 3]);
                    dst[..shift * 3].copy_from_slice(&row[(wu - shift) * 3..]);
                }
                if let Err(e) = track.push_rgb(&frame, w, h, Instant::now()) {
                    eprintln!("encode: {e}");
                }
            }
            next += period;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    });

    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = server.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(10), handle(stream, server)).await;
            });
        }
    };
    if args.seconds > 0 {
        let _ = tokio::time::timeout(Duration::from_secs(args.seconds), serve).await;
        println!("whep_demo: {:?}", server.stats());
    } else {
        serve.await;
    }
}

async fn handle(mut stream: TcpStream, server: WhepServer) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let (method, path, content_type, head_len, content_length) = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 128 * 1024 {
            return respond(&mut stream, 413, "text/plain", &[], b"too large").await;
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .map(str::to_owned)
                };
                let length = header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (
                    req.method.unwrap_or("").to_owned(),
                    req.path.unwrap_or("").to_owned(),
                    header("content-type"),
                    len,
                    length,
                );
            }
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return respond(&mut stream, 400, "text/plain", &[], b"bad request").await,
        }
    };
    if content_length > 64 * 1024 {
        return respond(&mut stream, 413, "text/plain", &[], b"too large").await;
    }
    while buf.len() < head_len + content_length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[head_len..head_len + content_length];
    match (method.as_str(), path.as_str()) {
        ("GET", "/") => respond(&mut stream, 200, "text/html", &[], PAGE.as_bytes()).await,
        ("GET", "/whep.js") => {
            respond(
                &mut stream,
                200,
                "text/javascript",
                &[],
                WHEP_PLAYER_JS.as_bytes(),
            )
            .await
        }
        ("GET", "/stats") => {
            let stats = format!("{:?}", server.stats());
            respond(&mut stream, 200, "text/plain", &[], stats.as_bytes()).await
        }
        ("POST", "/whep") => match server.offer(content_type.as_deref(), body).await {
            Ok(answer) => {
                respond(
                    &mut stream,
                    201,
                    "application/sdp",
                    &[("Location", answer.location.as_str())],
                    answer.sdp.as_bytes(),
                )
                .await
            }
            Err(e) => {
                respond(
                    &mut stream,
                    e.status(),
                    "text/plain",
                    &[],
                    e.to_string().as_bytes(),
                )
                .await
            }
        },
        ("DELETE", p) if p.starts_with("/whep/") => {
            match server.delete(&p["/whep/".len()..]).await {
                Ok(()) => respond(&mut stream, 200, "text/plain", &[], b"").await,
                Err(e) => {
                    respond(
                        &mut stream,
                        e.status(),
                        "text/plain",
                        &[],
                        e.to_string().as_bytes(),
                    )
                    .await
                }
            }
        }
        _ => respond(&mut stream, 404, "text/plain", &[], b"not found").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}
