//! Shared by the dance server tests: start the server in-process, make real test frames.
//! Each test crate includes the example's modules at its root (`#[path]`), then this module.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use crate::{analyser, app, dancer};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory under the target dir, fresh for `name`.
pub fn scratch(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("dance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// The running server.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// Its state (counters).
    pub state: Arc<app::AppState>,
    /// The accept loop (abort to stop accepting).
    pub task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `ws://ADDR/client` plus `query`.
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/client{query}", self.addr)
    }
}

/// Starts the server with the bundled dancer and the lite model on 127.0.0.1:`port` (0: any).
pub async fn start_server(config: app::ServerConfig, port: u16) -> Server {
    let video = root().join("testdata/dancer.mp4");
    let cache = root().join(".cache/dancer");
    let model = analyser::ModelArg::Lite.kind();
    let v = video.clone();
    let reference =
        tokio::task::spawn_blocking(move || dancer::load_or_extract(&v, &cache, model, None))
            .await
            .expect("extraction task")
            .expect("dancer reference of testdata/dancer.mp4");
    let state =
        Arc::new(analyser::build_state(config, &video, reference, model).expect("server state"));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    let router = app::router(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    Server { addr, state, task }
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
