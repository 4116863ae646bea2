//! What the relay tests share: the built `camera_relay` / `fake_camera` examples started as real
//! processes, a one-shot HTTP GET, MJPEG viewers (stream-codec's client), simulated cameras
//! (stream-codec's `sim_camera`) and the fixture config.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use stream_codec::http::{ResponseDecoder, ResponseHead};
use stream_codec::sim_camera::SimCamera;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const T: Duration = Duration::from_secs(20);

/// Builds the examples once per test binary (same profile and features as this test) and
/// returns the path of `name` (`target/<profile>/examples/NAME`).
pub fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    BUILT.get_or_init(|| {
        if std::env::var_os("POSECAM_RELAY_PREBUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "posecam",
            "--example",
            "camera_relay",
            "--example",
            "fake_camera",
        ]);
        if dir.file_name().is_some_and(|d| d == "release") {
            cmd.arg("--release");
        }
        if cfg!(feature = "opencv") {
            cmd.args(["--features", "opencv"]);
        } else {
            cmd.arg("--no-default-features");
        }
        let status = cmd.status().expect("run cargo build for the examples");
        assert!(status.success(), "cargo build of the relay examples failed");
    });
    let p = dir.join("examples").join(name);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

/// The relay binary as a child process; killed on drop. Its log (stderr) goes to `log`.
pub struct RelayProc {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RelayProc {
    /// What the relay logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts `camera_relay --listen 127.0.0.1:0 ARGS` (optionally through `prefix`, e.g. `prlimit`).
pub fn spawn_relay_with(prefix: &[&str], args: &[&str]) -> RelayProc {
    let exe = example("camera_relay");
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let log = tmpdir("log").join("relay.log");
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start camera_relay");
    // The address line (an older relay printed its log to stdout first).
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 || line.contains("camera relay on") {
            break;
        }
    }
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "unexpected relay output {line:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    RelayProc { child, addr, log }
}

pub fn spawn_relay(args: &[&str]) -> RelayProc {
    spawn_relay_with(&[], args)
}

pub fn tmpdir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("posecam-relay-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The fixture config (`testdata/relay/cameras_config.json`).
pub fn fixture_config() -> serde_json::Value {
    let text = std::fs::read_to_string(posecam_test_support::testdata("relay/cameras_config.json"))
        .expect("fixture config");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The fixture JPEGs of camera `cam` (frames 40 and 160).
pub fn fixture_frames(cam: usize) -> Vec<Bytes> {
    ["f040", "f160"]
        .iter()
        .map(|f| {
            Bytes::from(posecam_test_support::read(&posecam_test_support::testdata(
                &format!("relay/{f}/cam{cam}.jpg"),
            )))
        })
        .collect()
}

/// Three simulated cameras (the fixture panorama) at `fps`.
pub async fn sim_cameras(fps: f64) -> Vec<SimCamera> {
    let mut cams = Vec::new();
    for i in 0..3 {
        cams.push(
            SimCamera::start(([127, 0, 0, 1], 0).into(), fixture_frames(i), fps)
                .await
                .expect("sim camera"),
        );
    }
    cams
}

/// Writes the fixture config with `urls` as the cameras' `url.jpg`; returns its path.
pub fn config_with_urls(urls: &[String]) -> PathBuf {
    let mut config = fixture_config();
    for (i, u) in urls.iter().enumerate() {
        config["camera"][i]["url"] = serde_json::json!({ "jpg": u });
    }
    let path = tmpdir("config").join("cameras_config.json");
    std::fs::write(&path, config.to_string()).expect("write config");
    path
}

/// `GET path` with `Connection: close` (and an `Authorization` value); the head and whole body.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
) -> std::io::Result<(ResponseHead, Bytes)> {
    let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    tokio::time::timeout(T, async {
        let mut sock = tokio::net::TcpStream::connect(addr).await?;
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let req = format!("GET {path} HTTP/1.1\r\nHost: relay\r\n{auth}Connection: close\r\n\r\n");
        sock.write_all(req.as_bytes()).await?;
        let (mut resp, mut body) = (ResponseDecoder::default(), BytesMut::new());
        loop {
            while let Some(piece) = resp.next_body() {
                body.extend_from_slice(&piece.map_err(|e| other(&e))?);
            }
            if resp.is_done() {
                break;
            }
            let mut buf = BytesMut::with_capacity(64 * 1024);
            if sock.read_buf(&mut buf).await? == 0 {
                resp.finish();
            } else {
                resp.push_bytes(buf.freeze());
            }
        }
        let head = resp
            .head()
            .cloned()
            .ok_or_else(|| other(&"no response head"))?;
        Ok((head, body.freeze()))
    })
    .await
    .map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("GET {path} timed out"),
        )
    })?
}

/// `/health` as JSON.
pub async fn health(addr: SocketAddr) -> serde_json::Value {
    let (h, body) = get(addr, "/health", None).await.expect("health");
    assert_eq!(h.status, 200);
    serde_json::from_slice(&body).expect("JSON")
}

/// An MJPEG viewer of `/stream` that gives up instead of reconnecting.
pub fn viewer(addr: SocketAddr, user_pass: Option<&str>) -> stream_codec::client::CameraStream {
    let cred = user_pass.map(|u| format!("{u}@")).unwrap_or_default();
    let config = stream_codec::client::ClientConfig {
        max_reconnects: Some(0),
        first_frame_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    stream_codec::client::connect(&format!("http://{cred}{addr}/stream"), config)
        .expect("viewer URL")
}

/// Polls `cond` on `/health` every 50 ms until it holds (panics after `timeout`).
pub async fn wait_health(
    addr: SocketAddr,
    what: &str,
    timeout: Duration,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    loop {
        let j = health(addr).await;
        if cond(&j) {
            return j;
        }
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}: {j}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether every camera is in `state`.
pub fn all_state(j: &serde_json::Value, state: &str) -> bool {
    j["cameras"]
        .as_array()
        .is_some_and(|c| c.iter().all(|c| c["state"] == state))
}

/// `METHOD path` with a body and extra header lines (`Name: value\r\n` each), `Connection:
/// close`; the head and whole body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<(ResponseHead, Bytes)> {
    let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    tokio::time::timeout(T, async {
        let mut sock = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: relay\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        sock.write_all(req.as_bytes()).await?;
        sock.write_all(body).await?;
        let (mut resp, mut out) = (ResponseDecoder::default(), BytesMut::new());
        loop {
            while let Some(piece) = resp.next_body() {
                out.extend_from_slice(&piece.map_err(|e| other(&e))?);
            }
            if resp.is_done() {
                break;
            }
            let mut buf = BytesMut::with_capacity(64 * 1024);
            if sock.read_buf(&mut buf).await? == 0 {
                resp.finish();
            } else {
                resp.push_bytes(buf.freeze());
            }
        }
        let head = resp
            .head()
            .cloned()
            .ok_or_else(|| other(&"no response head"))?;
        Ok((head, out.freeze()))
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{method} {path} timed out")))?
}
