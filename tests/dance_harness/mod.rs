//! Shared by the dance server tests: start the built `dance_server` example as a real process
//! (built once per test binary with cargo), read its `/stats`, make real test frames.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory under the target dir, fresh for `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = tmp().join(format!("dance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn tmp() -> PathBuf {
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Limits passed to the server as flags.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_jpeg_bytes: usize,
    pub max_bad_messages: u32,
    pub send_timeout_ms: u64,
    /// `--score`: `view` (the default) or `robust`.
    pub score: &'static str,
}

impl Default for Limits {
    /// The server's defaults.
    fn default() -> Self {
        Self {
            max_jpeg_bytes: 2 << 20,
            max_bad_messages: 100,
            send_timeout_ms: 5000,
            score: "view",
        }
    }
}

/// The running server process (killed on drop).
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    /// `ws://ADDR/client` plus `query`.
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/client{query}", self.addr)
    }

    /// The counters of `/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let mut s = std::net::TcpStream::connect(self.addr).expect("connect for /stats");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(
            s,
            "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read /stats");
        let body = text.split_once("\r\n\r\n").expect("an HTTP answer").1;
        serde_json::from_str::<serde_json::Value>(body).expect("JSON stats")["stats"].clone()
    }

    /// Ctrl-C: the server closes every client with 1001, then exits.
    pub fn interrupt(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -INT {pid}");
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("dance_server did not exit within 10 s of Ctrl-C");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `dance_server` binary, built once per test binary (same profile as the tests).
fn binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "posecam", "--example", "dance_server"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.current_dir(root()).status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build --example dance_server failed"
        );
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/<test> -> target/<profile>/examples/dance_server
        let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
        dir.join("examples/dance_server")
    })
}

/// The dancer cache for the tests (under the target dir), filled once through pose-core.
fn cache_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tmp().join("dance-cache");
        let video = root().join("testdata/dancer.mp4");
        pose_core::load_or_extract(&video, None, pose_core::ModelKind::Lite, &dir)
            .expect("dancer reference of testdata/dancer.mp4");
        dir
    })
}

/// Starts the server with the bundled dancer and the lite model on 127.0.0.1:`port` (0: any).
pub async fn start_server(limits: Limits, port: u16) -> Server {
    tokio::task::spawn_blocking(move || start_blocking(&limits, port))
        .await
        .expect("server start task")
}

fn start_blocking(limits: &Limits, port: u16) -> Server {
    let (bin, cache) = (binary(), cache_dir());
    let mut child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--model", "lite"])
        .arg("--cache-dir")
        .arg(cache)
        .args(["--max-jpeg-bytes", &limits.max_jpeg_bytes.to_string()])
        .args(["--max-bad-messages", &limits.max_bad_messages.to_string()])
        .args(["--send-timeout-ms", &limits.send_timeout_ms.to_string()])
        .args(["--score", limits.score])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    // The first line names the address: "dance server: open http://ADDR/ in a browser ...".
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's first line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from dance_server: {line:?}"));
    Server { addr, child }
}

/// Real webcam-like frames: `cam02.mp4` of the shared Pose2Sim set (a person dancing), padded
/// to 640x480, at `fps`, as JPEG files (made with ffmpeg at test time).
pub fn cam02_jpegs(fps: u32, name: &str) -> Vec<Vec<u8>> {
    let src = posecam_test_support::shared("media/pose2sim/single/cam02.mp4");
    let dir = scratch(name);
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&src)
        .args([
            "-vf",
            &format!("fps={fps},scale=-2:480,pad=640:480:(ow-iw)/2:0"),
            "-q:v",
            "4",
        ])
        .arg(dir.join("f%03d.jpg"))
        .status()
        .expect("run ffmpeg (installed by scripts/setup.sh)");
    assert!(status.success(), "ffmpeg failed on {}", src.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read frames")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "ffmpeg made no frames from {}",
        src.display()
    );
    files
        .iter()
        .map(|f| std::fs::read(f).expect("read frame"))
        .collect()
}

/// The fake webcam for Chromium: the same clip as MJPEG, played forwards then backwards.
pub fn cam02_mjpeg(name: &str) -> PathBuf {
    let src = posecam_test_support::shared("media/pose2sim/single/cam02.mp4");
    let out = scratch(name).join("cam02.mjpeg");
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&src)
        .args([
            "-filter_complex",
            "[0:v]fps=15,scale=-2:480,pad=640:480:(ow-iw)/2:0,split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0[v]",
            "-map",
            "[v]",
            "-q:v",
            "4",
        ])
        .arg(&out)
        .status()
        .expect("run ffmpeg (installed by scripts/setup.sh)");
    assert!(status.success(), "ffmpeg failed on {}", src.display());
    out
}
