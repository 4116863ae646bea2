//! The camera relay against the programs that must read it and the faults that need a separate
//! process: the old Python client (FF D8 / FF D9 loop), `ffmpeg -i http://.../stream`, curl,
//! headless Chromium, an RTSP camera served from ffmpeg's RTP output, RSS over 1000
//! connect/disconnect cycles, the `fake_camera` example. The relay runs as a real process
//! (`relay_support`), simulated cameras come from stream-codec's `sim_camera`.
//!
//! Needs external programs, so `cargo test` does not run it (`test = false`);
//! `scripts/test.d/40-relay.sh` builds the examples and runs it.
#![allow(clippy::unwrap_used)]

mod relay_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use relay_support::*;

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
    let img = cam_stitch::decode_jpeg(&std::fs::read(&snap).expect("snapshot")).expect("JPEG");
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
    let mut d = stream_codec::Decoder::with_boundary("frame").expect("boundary");
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
        get(relay.addr, "/snapshot.jpg", None)
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
            // MJPEG view: one-shot --screenshot mode does not wait for WebRTC (covered by
            // tests/relay_webrtc_browser.rs over the DevTools protocol).
            .arg(format!("http://{}/?mode=mjpeg", relay.addr)),
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
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut sock = tokio::net::TcpStream::connect(relay.addr)
            .await
            .expect("connect");
        sock.write_all(b"GET /stream HTTP/1.1\r\nHost: r\r\n\r\n")
            .await
            .expect("request");
        // The response head (~100 bytes), or a first part too.
        let want = if wait_frame { 2000 } else { 12 };
        let mut got = 0;
        while got < want {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(T, sock.read(&mut buf))
                .await
                .expect("in time")
                .expect("read");
            assert!(n > 0, "closed early");
            got += n;
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
    let (h, jpeg) = get(addr, "/capture", None).await.expect("capture");
    assert_eq!(h.status, 200);
    assert_eq!(
        cam_stitch::decode_jpeg(&jpeg).expect("JPEG").size(),
        (640, 480)
    );
    // The camera frees itself once it has seen the previous client hang up (as on the device a
    // new client right after the previous one may get 503 for a moment).
    let t0 = Instant::now();
    let config = stream_codec::client::ClientConfig {
        max_reconnects: Some(0),
        ..Default::default()
    };
    let (mut s, f) = loop {
        let url = format!("http://{addr}/stream");
        let mut s = stream_codec::client::connect(&url, config.clone()).expect("URL");
        match tokio::time::timeout(T, futures_util::StreamExt::next(&mut s))
            .await
            .expect("in time")
        {
            Some(Ok(f)) => break (s, f),
            other => assert!(
                t0.elapsed() < Duration::from_secs(3),
                "stream refused: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = &mut s;
    assert!(fixture_frames(2).iter().any(|j| j[..] == f.data[..]));
    let (h, _) = get(addr, "/capture", None).await.expect("second client");
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
    let cams = sim_cameras(15.0).await;
    let mut config = fixture_config();
    config["camera"][0]["url"] = serde_json::json!({ "jpg": cams[0].stream_url() });
    config["camera"][1]["url"] = serde_json::json!({ "rtsp": format!("rtsp://{rtsp_addr}/cam") });
    config["camera"][2]["url"] = serde_json::json!({ "jpg": cams[2].stream_url() });
    let path = tmpdir("rtsp").join("cameras_config.json");
    std::fs::write(&path, config.to_string()).expect("config");
    let r = spawn_relay(&["--config", path.to_str().expect("utf-8 path")]);
    let j = health(r.addr).await;
    assert_eq!(j["cameras"][1]["url"], format!("rtsp://{rtsp_addr}/cam"));
    let mut v = viewer(r.addr, None);
    let t0 = Instant::now();
    let cam = loop {
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            futures_util::StreamExt::next(&mut v),
        )
        .await;
        let j = health(r.addr).await;
        let cam = j["cameras"][1].clone();
        if cam["state"] == "live" && cam["frames"].as_u64().unwrap_or(0) >= 15 {
            break cam;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "RTSP camera not live: {cam}"
        );
    };
    assert_eq!(cam["size"], serde_json::json!([640, 480]), "{cam}");
    let fps = cam["fps"].as_f64().unwrap_or(0.0);
    assert!(fps > 8.0, "RTSP camera at {fps:.1} fps");
    // Camera 1's tile of the panorama looks like the fixture stitched alone (mean abs difference).
    let (_, snap) = get(r.addr, "/snapshot.jpg", None).await.expect("snapshot");
    let snap = cam_stitch::decode_jpeg(&snap).expect("panorama");
    let stitch = cam_stitch::Config::from_json_str(&fixture_config().to_string()).expect("config");
    let plan = cam_stitch::Plan::new(&stitch, &[(640, 480); 3]).expect("plan");
    let fixture = cam_stitch::decode_jpeg(&std::fs::read(&jpeg).expect("fixture")).expect("decode");
    let mut expected = plan.new_output();
    plan.render(&[None, Some(fixture.view()), None], &mut expected)
        .expect("render");
    let cols = plan.camera_columns(1).expect("columns");
    let (mut sum, mut n) = (0.0, 0.0);
    for y in 0..snap.height() {
        for x in cols.clone() {
            let (a, b) = (
                snap.pixel(x, y).expect("in"),
                expected.pixel(x, y).expect("in"),
            );
            sum += a
                .iter()
                .zip(b)
                .map(|(a, b)| f64::from(a.abs_diff(b)))
                .sum::<f64>();
            n += 3.0;
        }
    }
    let diff = sum / n;
    assert!(
        diff < 8.0,
        "RTSP tile differs from the source image by {diff:.2} on average"
    );
    drop(v);
    drop(r);
    drop(cams);
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
}
