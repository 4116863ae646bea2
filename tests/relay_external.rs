//! The camera relay against the programs that must read it and the faults that need a separate
//! process: the old Python client (FF D8 / FF D9 loop), `ffmpeg -i http://.../stream`, curl,
//! headless Chromium, an RTSP camera served from ffmpeg's RTP output, RSS over 1000
//! connect/disconnect cycles, bad configs.
//!
//! Needs the built examples and external programs, so `cargo test` does not run it
//! (`test = false`); `scripts/test.d/40-relay.sh` builds the examples and runs it:
//! `cargo build --example camera_relay --example fake_camera && cargo test --test relay_external`.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/camera_relay/compose.rs"]
mod compose;
#[allow(dead_code)]
#[path = "../examples/camera_relay/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "../examples/camera_relay/frames.rs"]
mod frames;
#[allow(dead_code)]
#[path = "../examples/camera_relay/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../examples/camera_relay/hub.rs"]
mod hub;
#[path = "../examples/common/mjpeg_client.rs"]
mod mjpeg_client;
#[allow(dead_code)]
#[path = "../examples/camera_relay/placeholder.rs"]
mod placeholder;
#[allow(dead_code)]
#[path = "../examples/camera_relay/relay.rs"]
mod relay;
#[cfg(feature = "opencv")]
#[allow(dead_code)]
#[path = "../examples/camera_relay/rtsp.rs"]
mod rtsp;
#[path = "../examples/common/sim_camera.rs"]
mod sim_camera;
#[allow(dead_code)]
#[path = "../examples/camera_relay/simulate.rs"]
mod simulate;
#[allow(dead_code)]
#[path = "../examples/camera_relay/sources.rs"]
mod sources;
#[allow(dead_code)]
#[path = "../examples/camera_relay/upstream.rs"]
mod upstream;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mjpeg_client::get;

const T: Duration = Duration::from_secs(20);

/// A built example next to this test binary (`target/<profile>/examples/NAME`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let p = dir.join("examples").join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --example {name}` first (scripts/test.d/40-relay.sh does)",
        p.display()
    );
    p
}

/// The relay binary as a child process; killed on drop.
struct RelayProc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_relay(args: &[&str]) -> RelayProc {
    let mut child = Command::new(example("camera_relay"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start camera_relay");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("relay prints its address");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected relay output {line:?}"));
    RelayProc { child, addr }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("posecam-relay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let id = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(timeout);
        // The child may be gone (then this fails harmlessly).
        let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
    });
    let out = child.wait_with_output().expect("wait");
    drop(watchdog);
    out
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb * 1024
}

async fn health(addr: SocketAddr) -> serde_json::Value {
    let (h, body) = get(addr, "/health", None, T).await.expect("health");
    assert_eq!(h.status, 200);
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn old_python_client_reads_the_stream() {
    let relay = spawn_relay(&["--simulate"]);
    let py = posecam_test_support::workspace_root().join(".cache/venv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/setup.sh",
        py.display()
    );
    // The old viewer loop (seed_client.py), over urllib instead of requests (same 1024-byte reads).
    let script = r#"
import sys, urllib.request, numpy as np, cv2
r = urllib.request.urlopen(sys.argv[1], timeout=20)
bytes_ = b''; n = 0; shapes = set()
while n < 20:
    chunk = r.read(1024)
    if not chunk: break
    bytes_ += chunk
    a = bytes_.find(b'\xff\xd8'); b = bytes_.find(b'\xff\xd9')
    if a != -1 and b != -1:
        jpg = bytes_[a:b+2]; bytes_ = bytes_[b+2:]
        frame = cv2.imdecode(np.frombuffer(jpg, dtype=np.uint8), cv2.IMREAD_COLOR)
        if frame is None: print('undecodable frame'); sys.exit(1)
        shapes.add(frame.shape); n += 1
print(n, sorted(shapes))
"#;
    let url = format!("http://{}/stream", relay.addr);
    let out = run_with_timeout(Command::new(&py).arg("-c").arg(script).arg(&url), T);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "20 [(400, 1604, 3)]");
}

#[test]
fn ffmpeg_reads_the_stream() {
    let relay = spawn_relay(&["--simulate"]);
    let url = format!("http://{}/stream", relay.addr);
    let out = run_with_timeout(
        Command::new("ffmpeg").args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            &url,
            "-frames:v",
            "10",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ]),
        T,
    );
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout.len(),
        10 * 1604 * 400 * 3,
        "10 decoded 1604x400 frames"
    );
    // Not blank: the panorama has texture.
    let px = &out.stdout[9 * 1604 * 400 * 3..];
    let mean = px.iter().map(|&v| f64::from(v)).sum::<f64>() / px.len() as f64;
    let var = px
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / px.len() as f64;
    assert!(var.sqrt() > 20.0, "flat image: std {}", var.sqrt());
}

#[test]
fn curl_reads_snapshot_stream_and_auth() {
    let relay = spawn_relay(&["--simulate", "--auth", "viewer:pa55"]);
    let dir = tmpdir("curl");
    let base = format!("http://{}", relay.addr);
    let code = |args: &[&str], path: &str| -> String {
        let out = run_with_timeout(
            Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                .args(args)
                .arg(format!("{base}{path}")),
            T,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(code(&[], "/snapshot.jpg"), "401");
    assert_eq!(code(&["-u", "viewer:wrong"], "/snapshot.jpg"), "401");
    assert_eq!(code(&[], "/health"), "200");
    let snap = dir.join("snap.jpg");
    let out = run_with_timeout(
        Command::new("curl")
            .args(["-sS", "-f", "-u", "viewer:pa55", "-o"])
            .arg(&snap)
            .arg(format!("{base}/snapshot.jpg")),
        T,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = frames::decode_jpeg(&std::fs::read(&snap).expect("snapshot")).expect("JPEG");
    assert_eq!(img.size(), (1604, 400));
    // The stream for 3 s (curl ends with "operation timed out", exit 28).
    let body = dir.join("stream.bin");
    let out = run_with_timeout(
        Command::new("curl")
            .args(["-sS", "-u", "viewer:pa55", "--max-time", "3", "-o"])
            .arg(&body)
            .arg(format!("{base}/stream")),
        T,
    );
    assert_eq!(
        out.status.code(),
        Some(28),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&body).expect("stream body");
    let mut d = stream_codec::Decoder::with_boundary(relay::BOUNDARY).expect("boundary");
    d.push(&data);
    let mut n = 0;
    while let Some(f) = d.next_frame() {
        let f = f.expect("a well-formed part");
        assert_eq!(f.headers.content_length(), Some(f.data.len() as u64));
        n += 1;
    }
    assert!(n >= 15, "only {n} parts in 3 s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chromium_shows_the_panorama() {
    let relay = spawn_relay(&["--simulate"]);
    let dir = tmpdir("chromium");
    let shot = dir.join("shot.png");
    // Wake the cameras first so the page's <img src=/stream> gets a live panorama at once.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        get(relay.addr, "/snapshot.jpg", None, T)
            .await
            .expect("snapshot")
    });
    let out = run_with_timeout(
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
            ])
            .args([
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .args([
                "--hide-scrollbars",
                "--window-size=1000,600",
                "--timeout=6000",
            ])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("http://{}/", relay.addr)),
        Duration::from_secs(60),
    );
    assert!(
        shot.exists(),
        "no screenshot: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let img = image::open(&shot).expect("PNG").to_rgb8();
    // The panorama <img> spans the page width below the title: rows 60..250 of a 1000 px wide
    // page hold it (aspect 1604:400). A blank or broken image would be flat #222 there.
    let (w, h) = img.dimensions();
    let mut vals = Vec::new();
    for y in (60..250.min(h)).step_by(2) {
        for x in (20..w - 20).step_by(2) {
            let p = img.get_pixel(x, y).0;
            vals.push(f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]));
        }
    }
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
    assert!(
        std > 40.0,
        "the panorama area looks blank (std {std:.1}, mean {mean:.1}); screenshot {}",
        shot.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_cycles_keep_rss_flat_and_cameras_close() {
    let relay = spawn_relay(&["--simulate", "--idle-s", "1"]);
    let cycle = |wait_frame: bool| async move {
        let mut v = mjpeg_client::MjpegClient::connect(relay.addr, "/stream", None)
            .await
            .expect("connect");
        v.wait_head().await.expect("head");
        if wait_frame {
            tokio::time::timeout(T, v.next_frame())
                .await
                .expect("frame in time")
                .expect("io")
                .expect("frame");
        }
    };
    // Warm-up: thread pools, allocator arenas and buffers reach their working size.
    for i in 0..500 {
        cycle(i % 10 == 0).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = relay.child.id();
    let rss0 = rss_bytes(pid);
    for i in 0..1000 {
        cycle(i % 10 == 0).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss1 = rss_bytes(pid);
    let growth = rss1 as f64 / rss0 as f64 - 1.0;
    eprintln!(
        "RSS {:.1} MB -> {:.1} MB ({:+.1} %) over 1000 cycles",
        rss0 as f64 / 1e6,
        rss1 as f64 / 1e6,
        growth * 100.0
    );
    assert!(
        growth < 0.10,
        "RSS grew {:.1} % over 1000 cycles",
        growth * 100.0
    );
    // No viewer left: the cameras close after --idle-s 1.
    let t0 = Instant::now();
    loop {
        let j = health(relay.addr).await;
        if j["viewers"] == 0
            && j["cameras"]
                .as_array()
                .expect("cameras")
                .iter()
                .all(|c| c["state"] == "idle")
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "cameras still open: {j}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn bad_config_exits_with_an_error_naming_camera_and_field() {
    let dir = tmpdir("badconfig");
    let good: serde_json::Value = serde_json::from_str(simulate::CONFIG_JSON).expect("fixture");
    let mut bad_url = good.clone();
    bad_url["camera"][1]["url"]["jpg"] = serde_json::json!(5);
    let mut bad_crop = good.clone();
    bad_crop["camera"][2]["concat_x"]["back"] = serde_json::json!(9999);
    for (name, config, needles) in [
        ("url", bad_url, ["camera 1", "url.jpg"]),
        ("crop", bad_crop, ["camera 2", "concat_x.back"]),
    ] {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, config.to_string()).expect("write");
        let out = run_with_timeout(
            Command::new(example("camera_relay"))
                .arg("--config")
                .arg(&path)
                .args(["--listen", "127.0.0.1:0"]),
            T,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: {err:?} lacks {n:?}");
        }
    }
    let out = run_with_timeout(
        Command::new(example("camera_relay"))
            .args(["--config", "/nonexistent/cameras_config.json"]),
        T,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cameras_config.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_camera_example_serves_one_client_at_a_time() {
    // A free port: bind, read it, release.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(example("fake_camera"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--fps",
            "10",
            "--camera",
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start fake_camera");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    assert!(line.contains("/stream"), "{line}");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (h, jpeg) = get(addr, "/capture", None, T).await.expect("capture");
    assert_eq!(h.status, 200);
    assert_eq!(frames::decode_jpeg(&jpeg).expect("JPEG").size(), (640, 480));
    // The camera frees itself once it has seen the previous client hang up (as on the device a
    // new client right after the previous one may get 503 for a moment).
    let t0 = Instant::now();
    let (mut s, f) = loop {
        let mut s = mjpeg_client::MjpegClient::connect(addr, "/stream", None)
            .await
            .expect("stream");
        match tokio::time::timeout(T, s.next_frame())
            .await
            .expect("in time")
        {
            Ok(Some(f)) => break (s, f),
            other => assert!(
                t0.elapsed() < Duration::from_secs(3),
                "stream refused: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = &mut s;
    assert!(simulate::frames(2).iter().any(|j| j[..] == f.data[..]));
    let (h, _) = get(addr, "/capture", None, T).await.expect("second client");
    assert_eq!(h.status, 503);
    let _ = child.kill();
    let _ = child.wait();
}

/// A minimal RTSP server (one client at a time, like the cameras) that serves the RTP/JPEG
/// packets ffmpeg sends to a UDP port, over RTSP-interleaved TCP (UDP transport is declined with
/// 461, which makes FFmpeg's client retry over TCP).
#[cfg(feature = "opencv")]
mod rtsp_server {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream, UdpSocket};
    use tokio::sync::broadcast;

    pub async fn serve(listener: TcpListener, rtp: UdpSocket) {
        let (tx, _) = broadcast::channel::<Vec<u8>>(256);
        let fwd = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = rtp.recv(&mut buf).await {
                let _ = fwd.send(buf[..n].to_vec());
            }
        });
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            // One client at a time.
            let _ = session(sock, tx.subscribe()).await;
        }
    }

    async fn session(
        mut sock: TcpStream,
        mut rx: broadcast::Receiver<Vec<u8>>,
    ) -> std::io::Result<()> {
        let mut buf: Vec<u8> = Vec::new();
        let mut playing = false;
        loop {
            // Requests (and interleaved RTCP from the client, skipped).
            let request = loop {
                if buf.first() == Some(&b'$') {
                    if buf.len() >= 4 {
                        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                        if buf.len() >= 4 + len {
                            buf.drain(..4 + len);
                            continue;
                        }
                    }
                } else if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let req = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    break Some(req);
                }
                if playing {
                    tokio::select! {
                        pkt = rx.recv() => {
                            match pkt {
                                Ok(p) => {
                                    let mut frame = vec![b'$', 0, (p.len() >> 8) as u8, p.len() as u8];
                                    frame.extend_from_slice(&p);
                                    sock.write_all(&frame).await?;
                                }
                                Err(broadcast::error::RecvError::Lagged(_)) => {}
                                Err(_) => return Ok(()),
                            }
                            continue;
                        }
                        r = read_more(&mut sock, &mut buf) => { if !r? { return Ok(()) } }
                    }
                } else if !read_more(&mut sock, &mut buf).await? {
                    return Ok(());
                }
                if buf.len() > 65536 {
                    return Ok(());
                }
            };
            let Some(req) = request else { return Ok(()) };
            let mut lines = req.lines();
            let first = lines.next().unwrap_or("");
            let method = first.split(' ').next().unwrap_or("");
            let url = first.split(' ').nth(1).unwrap_or("").to_owned();
            let header = |name: &str| {
                req.lines().find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_owned())
                })
            };
            let cseq = header("CSeq").unwrap_or_default();
            let reply = match method {
                "OPTIONS" => format!(
                    "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n\r\n"
                ),
                "DESCRIBE" => {
                    let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:trackID=0\r\n";
                    let base = if url.ends_with('/') {
                        url.clone()
                    } else {
                        format!("{url}/")
                    };
                    format!(
                        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: {base}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                        sdp.len()
                    )
                }
                "SETUP" => {
                    let transport = header("Transport").unwrap_or_default();
                    if transport.contains("TCP") {
                        format!(
                            "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678\r\n\r\n"
                        )
                    } else {
                        format!("RTSP/1.0 461 Unsupported Transport\r\nCSeq: {cseq}\r\n\r\n")
                    }
                }
                "PLAY" => {
                    playing = true;
                    while rx.try_recv().is_ok() {}
                    format!(
                        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678\r\nRange: npt=0.000-\r\n\r\n"
                    )
                }
                "TEARDOWN" => {
                    let r = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678\r\n\r\n");
                    sock.write_all(r.as_bytes()).await?;
                    return Ok(());
                }
                _ => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: 12345678\r\n\r\n"),
            };
            sock.write_all(reply.as_bytes()).await?;
        }
    }

    async fn read_more(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        let mut tmp = [0u8; 4096];
        let n = sock.read(&mut tmp).await?;
        buf.extend_from_slice(&tmp[..n]);
        Ok(n > 0)
    }
}

#[cfg(feature = "opencv")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_camera_through_opencv() {
    // ffmpeg encodes camera 1's fixture as RTP/JPEG at 15 fps into a UDP port; the RTSP server
    // above serves those packets; the relay reads url.rtsp with OpenCV.
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let rtp_port = rtp.local_addr().expect("addr").port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("rtsp listener");
    let rtsp_addr = listener.local_addr().expect("addr");
    tokio::spawn(rtsp_server::serve(listener, rtp));
    let jpeg = posecam_test_support::testdata("relay/f040/cam1.jpg");
    let mut ffmpeg = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-loop",
            "1",
            "-framerate",
            "15",
            "-i",
        ])
        .arg(&jpeg)
        .args([
            "-c:v", "mjpeg", "-huffman", "default", "-pix_fmt", "yuvj420p", "-q:v", "4", "-f",
            "rtp",
        ])
        .arg(format!("rtp://127.0.0.1:{rtp_port}?pkt_size=1400"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start ffmpeg");
    let cams = simulate::start_cameras(3, 15.0)
        .await
        .expect("simulated cameras");
    let mut config: serde_json::Value =
        serde_json::from_str(simulate::CONFIG_JSON).expect("fixture");
    config::set_url(&mut config, 0, &cams[0].stream_url());
    config["camera"][1]["url"] = serde_json::json!({ "rtsp": format!("rtsp://{rtsp_addr}/cam") });
    config::set_url(&mut config, 2, &cams[2].stream_url());
    let r = relay::start(relay::RelayOptions {
        config,
        listen: ([127, 0, 0, 1], 0).into(),
        timing: sources::SourceTiming {
            idle: Duration::from_secs(5),
            ..Default::default()
        },
        compose: compose::ComposeOptions::default(),
        auth: None,
        prefer: config::Prefer::Http,
        serve: stream_codec::serve::ServeLimits::default(),
        max_viewers: 1000,
    })
    .await
    .expect("relay");
    assert_eq!(
        r.app.cameras[1].url,
        config::SourceUrl::Rtsp(format!("rtsp://{rtsp_addr}/cam"))
    );
    let mut v = mjpeg_client::MjpegClient::connect(r.addr, "/stream", None)
        .await
        .expect("viewer");
    let t0 = Instant::now();
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), v.next_frame()).await;
        let cam = &r.app.cameras[1];
        if cam.status().state == sources::CamState::Live
            && cam.frames_total.load(std::sync::atomic::Ordering::Relaxed) >= 15
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "RTSP camera not live: {:?}",
            cam.status()
        );
    }
    let latest = r.app.cameras[1].latest().expect("frame");
    assert_eq!(latest.image.size(), (640, 480));
    let fps = r.app.cameras[1].fps();
    assert!(fps > 8.0, "RTSP camera at {fps:.1} fps");
    // Decoded RTSP frames look like the fixture (mean abs difference of a decoded JPEG pair).
    let fixture = frames::decode_jpeg(&std::fs::read(&jpeg).expect("fixture")).expect("decode");
    let diff: f64 = latest
        .image
        .as_bytes()
        .iter()
        .zip(fixture.as_bytes())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / fixture.as_bytes().len() as f64;
    assert!(
        diff < 6.0,
        "RTSP frame differs from the source image by {diff:.2} on average"
    );
    drop(v);
    drop(r);
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}
