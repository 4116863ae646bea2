//! Figures of the relay's WebRTC output (issue 15), printed with their goals.
//!
//! ```sh
//! cargo build --release --example camera_relay --example webrtc_bench
//! target/release/examples/webrtc_bench --codec            # bytes/s at equal PSNR, encode time
//! target/release/examples/webrtc_bench --viewers 1,20,100 # relay CPU, latency, per viewer
//! ```
//!
//! `--codec`: 10 s of real motion (the Sports2D demo video, `../shared/media/sports2d/demo.mp4`,
//! a 4:1 band scaled to the 1604x400 panorama) at 15 fps, as MJPEG (libjpeg-turbo, qualities
//! 50-95) and as H.264 (the relay's encoder, bitrates 0.25-4 Mbit/s); PSNR of each decoded
//! frame against the uncompressed frame; the H.264 rate that matches MJPEG's PSNR at the relay's
//! quality 80 (interpolated), and the ratio of bytes per second (goal <= 1/10).
//!
//! `--viewers`: starts `camera_relay --simulate` (release build next to this binary) as a child
//! process, opens N WHEP viewers (stream-codec's `WhepViewer`, several per thread) for
//! `--seconds`, and reads the relay's CPU time from `/proc` and its WebRTC counters from
//! `/health` (encode time per panorama, newest camera frame -> first RTP packet p50/p95).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use stream_codec::webrtc::{H264Encoder, H264Settings, ViewerEvent, WhepViewer};

#[derive(Parser)]
struct Args {
    /// Codec figures: bytes/s at equal PSNR, encode time.
    #[arg(long)]
    codec: bool,
    /// Viewer counts for the relay CPU / latency figures, e.g. 1,20,100.
    #[arg(long, value_delimiter = ',')]
    viewers: Vec<usize>,
    /// Seconds measured per viewer count.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Frames of the codec figure (15 fps).
    #[arg(long, default_value_t = 150)]
    frames: usize,
}

const W: u32 = 1604;
const H: u32 = 400;

fn main() {
    let args = Args::parse();
    if args.codec {
        codec(args.frames);
    }
    if !args.viewers.is_empty() {
        viewers(&args.viewers, args.seconds);
    }
    if !args.codec && args.viewers.is_empty() {
        eprintln!("nothing to do: --codec and/or --viewers 1,20,100");
    }
}

/// `n` frames of the demo video at 15 fps, a 4:1 band scaled to the panorama size (ffmpeg).
fn load_frames(n: usize) -> Vec<Vec<u8>> {
    let path = posecam_test_support::shared("media/sports2d/demo.mp4");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args([
            "-vf",
            &format!("crop=iw:iw*{H}/{W},scale={W}:{H},fps=15"),
            "-frames:v",
            &n.to_string(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact((W * H * 3) as usize)
        .map(<[u8]>::to_vec)
        .collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// (bytes per second at 15 fps, mean PSNR) of MJPEG at `quality`.
fn mjpeg_point(frames: &[Vec<u8>], quality: u8) -> (f64, f64) {
    let (mut bytes, mut db) = (0usize, 0.0);
    for f in frames {
        let view = cam_stitch::RgbView::new(W, H, f).unwrap();
        let jpeg = cam_stitch::encode_jpeg(view, quality).unwrap();
        bytes += jpeg.len();
        let back = cam_stitch::decode_jpeg(&jpeg).unwrap();
        db += psnr(f, back.view().as_bytes());
    }
    let n = frames.len() as f64;
    (bytes as f64 / n * 15.0, db / n)
}

/// (bytes per second, mean PSNR, encode times in ms) of H.264 at `bps`, frames 66.7 ms apart.
fn h264_point(frames: &[Vec<u8>], bps: u32) -> (f64, f64, Vec<f64>) {
    let mut enc = H264Encoder::new(H264Settings::default().with_bitrate(bps)).unwrap();
    let mut dec = openh264::decoder::Decoder::new().unwrap();
    let (mut bytes, mut db, mut decoded, mut times) = (0usize, 0.0, 0usize, Vec::new());
    let t0 = Instant::now();
    for (i, f) in frames.iter().enumerate() {
        // Frame times as at 15 fps (the encoder places key frames by time: every 2 s).
        let capture = t0 + Duration::from_millis(i as u64 * 1000 / 15);
        while Instant::now() < capture {
            std::thread::sleep(capture - Instant::now());
        }
        let au = enc
            .encode_rgb(f, W, H, capture)
            .unwrap()
            .expect("a picture");
        times.push(au.encode_time.as_secs_f64() * 1000.0);
        bytes += au.data.len();
        if let Ok(Some(yuv)) = dec.decode(&au.data) {
            let mut rgb = vec![0u8; f.len()];
            yuv.write_rgb8(&mut rgb);
            db += psnr(f, &rgb);
            decoded += 1;
        }
    }
    let n = frames.len() as f64;
    (bytes as f64 / n * 15.0, db / decoded.max(1) as f64, times)
}

fn codec(n: usize) {
    let frames = load_frames(n);
    println!(
        "codec: {} frames of the Sports2D demo as {W}x{H} panoramas, 15 fps",
        frames.len()
    );
    let mut mjpeg = Vec::new();
    for q in [50u8, 60, 70, 80, 90, 95] {
        let (bps, db) = mjpeg_point(&frames, q);
        println!(
            "  MJPEG q{q:<3} {:>8.0} kB/s {:>6.2} Mbit/s  PSNR {db:.2} dB",
            bps / 1e3,
            bps * 8.0 / 1e6
        );
        mjpeg.push((q, bps, db));
    }
    let mut h264 = Vec::new();
    let mut times_at_default = Vec::new();
    for bps in [
        250_000u32, 500_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000, 4_000_000,
    ] {
        let (bytes, db, times) = h264_point(&frames, bps);
        println!(
            "  H.264 {:>4} kbit/s target: {:>8.0} kB/s {:>6.2} Mbit/s  PSNR {db:.2} dB",
            bps / 1000,
            bytes / 1e3,
            bytes * 8.0 / 1e6
        );
        if bps == 1_500_000 {
            times_at_default = times;
        }
        h264.push((bytes, db));
    }
    // For each MJPEG quality: the smallest H.264 rate with the same PSNR (interpolated between
    // measured points), and the ratio of bytes per second. The relay serves q80.
    for &(q, m_bps, m_db) in &mjpeg {
        let mut matched = None;
        for w in h264.windows(2) {
            let ((b0, d0), (b1, d1)) = (w[0], w[1]);
            if d0 >= m_db {
                matched = Some(b0);
                break;
            }
            if d1 >= m_db {
                matched = Some(b0 + (b1 - b0) * (m_db - d0) / (d1 - d0));
                break;
            }
        }
        match matched {
            Some(h_bps) => println!(
                "equal PSNR {m_db:.2} dB: MJPEG q{q} {:.0} kB/s per viewer, H.264 {:.0} kB/s: ratio {:.3} (goal <= 0.100) {}",
                m_bps / 1e3,
                h_bps / 1e3,
                h_bps / m_bps,
                if h_bps / m_bps <= 0.1 {
                    "MET"
                } else {
                    "MISSED"
                }
            ),
            None => println!(
                "equal PSNR {m_db:.2} dB: MJPEG q{q} {:.0} kB/s per viewer, H.264 does not reach it up to 4 Mbit/s",
                m_bps / 1e3
            ),
        }
    }
    let mut t = times_at_default.clone();
    let (p50, p95) = (percentile(&mut t, 0.5), percentile(&mut t, 0.95));
    println!(
        "H.264 encode per {W}x{H} panorama at 1.5 Mbit/s (RGB->YUV + OpenH264, 1 thread): p50 {p50:.1} ms, p95 {p95:.1} ms = {:.2} core at 15 fps",
        p50 * 15.0 / 1000.0
    );
}

/// The relay child process.
struct Relay {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay() -> Relay {
    let exe = std::env::current_exe()
        .unwrap()
        .with_file_name("camera_relay");
    let exe: PathBuf = if exe.exists() {
        exe
    } else {
        panic!("{} missing: build it first", exe.display())
    };
    let mut child = Command::new(exe)
        .args([
            "--simulate",
            "--sim-fps",
            "15",
            "--listen",
            "127.0.0.1:0",
            "--idle-s",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start camera_relay");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("relay said {line:?}"));
    Relay { child, addr }
}

/// One HTTP/1.1 exchange (Connection: close): status, headers, body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ctype: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ct = if ctype.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ctype}\r\n")
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: relay\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(all.len());
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        head,
        all.get(split + 4..).unwrap_or_default().to_vec(),
    )
}

fn health(addr: SocketAddr) -> serde_json::Value {
    let (_, _, body) = http(addr, "GET", "/health", "", b"");
    serde_json::from_slice(&body).unwrap_or_default()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn viewers(counts: &[usize], seconds: u64) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "viewers: relay --simulate 15 fps {W}x{H}, {seconds} s per count, load {}",
        load.trim()
    );
    for &n in counts {
        let relay = relay();
        let stop = Arc::new(AtomicBool::new(false));
        let counters: Vec<Arc<AtomicU64>> = (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let mut pool: Vec<Vec<(WhepViewer, Arc<AtomicU64>)>> =
            (0..n.div_ceil(25)).map(|_| Vec::new()).collect();
        for (i, c) in counters.iter().enumerate() {
            let (mut v, offer) = WhepViewer::new("127.0.0.1:0".parse().unwrap()).unwrap();
            let (status, _head, body) = http(
                relay.addr,
                "POST",
                "/whep",
                "application/sdp",
                offer.as_bytes(),
            );
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
            v.accept_answer(std::str::from_utf8(&body).unwrap())
                .unwrap();
            pool[i / 25].push((v, c.clone()));
        }
        let threads: Vec<_> = pool
            .into_iter()
            .map(|mut group| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let end = Instant::now() + Duration::from_secs(seconds + 60);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                        for (v, c) in &mut group {
                            for e in v.poll(Duration::from_millis(1)).unwrap_or_default() {
                                if let ViewerEvent::Picture { .. } = e {
                                    c.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        // Warm up until every viewer plays.
        let t = Instant::now();
        while counters.iter().any(|c| c.load(Ordering::Relaxed) < 3)
            && t.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let pid = relay.child.id();
        let (h0, c0, t0) = (health(relay.addr), cpu_ticks(pid), Instant::now());
        let p0: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        std::thread::sleep(Duration::from_secs(seconds));
        let (h1, c1, dt) = (
            health(relay.addr),
            cpu_ticks(pid),
            t0.elapsed().as_secs_f64(),
        );
        let got: Vec<u64> = counters
            .iter()
            .zip(&p0)
            .map(|(c, s)| c.load(Ordering::Relaxed) - s)
            .collect();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
        let get =
            |j: &serde_json::Value, p: &str| j.pointer(p).and_then(|v| v.as_f64()).unwrap_or(0.0);
        let pics = get(&h1, "/webrtc/h264_frames") - get(&h0, "/webrtc/h264_frames");
        let enc_ms =
            (get(&h1, "/webrtc/encode_s") - get(&h0, "/webrtc/encode_s")) * 1000.0 / pics.max(1.0);
        let bytes = get(&h1, "/webrtc/sent_bytes") - get(&h0, "/webrtc/sent_bytes");
        let cpu = (c1 - c0) as f64 / 100.0 / dt; // USER_HZ = 100
        let min = got.iter().min().copied().unwrap_or(0);
        let below = got.iter().filter(|g| (**g as f64) < 0.9 * pics).count();
        let sessions = get(&h1, "/webrtc_viewers");
        let mut sorted = got.clone();
        sorted.sort_unstable();
        println!(
            "  {n:>3} WebRTC viewers: {:.1} H.264 pictures/s, encode {enc_ms:.1} ms/panorama, relay CPU {cpu:.2} cores (goal < 1 at 100), \
             per viewer min {min} / median {} of {pics:.0} ({:.0} %, {below} viewers < 90 %, {sessions} sessions open), {:.0} kB/s per viewer, latency camera frame -> first RTP p50 {:.1} ms p95 {:.1} ms (goal <= 66.7)",
            pics / dt,
            sorted[sorted.len() / 2],
            100.0 * min as f64 / pics.max(1.0),
            bytes / dt / n as f64 / 1e3,
            get(&h1, "/webrtc/latency_p50_ms"),
            get(&h1, "/webrtc/latency_p95_ms"),
        );
    }
}
