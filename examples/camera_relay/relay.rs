//! Wiring: config -> cameras -> compositor -> hub -> HTTP server. Used by `main.rs` and by the
//! tests (which start a relay in-process).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::compose::{ComposeOptions, ComposeStats, Stitcher};
use crate::config::{self, Prefer, SourceUrl};
use crate::http::App;
use crate::hub::Hub;
use crate::sources::{Camera, SourceTiming};

/// Multipart boundary of the relay's `/stream` (the old Flask relay used `frame`).
pub const BOUNDARY: &str = "frame";

/// Everything needed to start a relay.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// The parsed `cameras_config.json`.
    pub config: serde_json::Value,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Source state machine timings (`idle` = `--idle-s`).
    pub timing: SourceTiming,
    /// Compositor settings (`quality` = `--quality`).
    pub compose: ComposeOptions,
    /// `USER:PASS` for basic auth.
    pub auth: Option<String>,
    /// Which URL to use when a camera lists several.
    pub prefer: Prefer,
    /// Request-head deadline and connection cap of the HTTP server.
    pub serve: stream_codec::serve::ServeLimits,
    /// Most `/stream` viewers at once (`--max-viewers`); lowered to leave connections for others.
    pub max_viewers: usize,
}

/// Connections kept free for `/health`, `/metrics` and snapshots when viewers hit their cap.
pub const NON_VIEWER_HEADROOM: usize = 32;

/// A running relay; dropping it stops every task (the HTTP server included).
pub struct Relay {
    /// The bound address.
    pub addr: SocketAddr,
    /// Shared state (cameras, hub, counters).
    pub app: Arc<App>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Reads and parses a config file (JSON errors carry line and column).
pub fn read_config(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("config {}: invalid JSON", path.display()))
}

/// Validates the whole config: the sources (ours) and the geometry (cam-stitch's). Errors name
/// the camera and the field.
pub fn parse_config(
    config: &serde_json::Value,
    prefer: Prefer,
) -> anyhow::Result<(Vec<SourceUrl>, cam_stitch::Config)> {
    let urls = config::sources(config, prefer)?;
    // cam-stitch reads the geometry; the URLs (which may be plain strings here) are ours.
    let mut geometry = config.clone();
    if let Some(cams) = geometry.get_mut("camera").and_then(|c| c.as_array_mut()) {
        for c in cams {
            if let Some(obj) = c.as_object_mut() {
                obj.remove("url");
            }
        }
    }
    let stitch = cam_stitch::Config::from_json_str(&geometry.to_string())?;
    Ok((urls, stitch))
}

/// Starts the cameras' tasks, the compositor and the HTTP server.
pub async fn start(opts: RelayOptions) -> anyhow::Result<Relay> {
    let (urls, stitch_config) = parse_config(&opts.config, opts.prefer)?;
    let panorama = stitch_config.output_size();
    let hub = Arc::new(Hub::new());
    let wake = Arc::new(Notify::new());
    let cameras: Vec<Arc<Camera>> = urls
        .into_iter()
        .enumerate()
        .map(|(i, u)| Arc::new(Camera::new(i, u, wake.clone())))
        .collect();
    let stats = Arc::new(ComposeStats::default());
    let stitcher = Stitcher::new(stitch_config, opts.compose.quality, BOUNDARY)?;
    let server = stream_codec::serve::Server::new(opts.serve);
    let max_viewers = opts
        .max_viewers
        .min(server.connection_cap().saturating_sub(NON_VIEWER_HEADROOM))
        .max(1);
    let app = Arc::new(App {
        hub: hub.clone(),
        cameras: cameras.clone(),
        compose: stats.clone(),
        auth: opts.auth.clone(),
        server: server.clone(),
        max_viewers,
        content_type: stitcher.content_type(),
        panorama,
        started: Instant::now(),
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let mut tasks = Vec::new();
    for cam in &cameras {
        tasks.push(tokio::spawn(crate::sources::run(
            cam.clone(),
            hub.demand(),
            opts.timing,
        )));
    }
    tasks.push(tokio::spawn(crate::compose::run(
        stitcher,
        opts.compose.clone(),
        cameras.clone(),
        hub.clone(),
        wake,
        stats,
    )));
    let router = crate::http::router(app.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = server.run(listener, router).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }));
    tracing::info!(%addr, cameras = cameras.len(), width = panorama.0, height = panorama.1,
        max_connections = app.server.connection_cap(), max_viewers, "relay listening");
    Ok(Relay { addr, app, tasks })
}
