//! The HTTP side: routes, shared state, limits. `/` the page, `/static/*` its script and style,
//! `/game/dancer` the dancer video (HTTP Range through tower-http), `/game/dancer.json` the
//! dancer's keypoints, `/client` the WebSocket, `/stats` counters as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use clap::Parser;
use pose_core::ModelKind;
use pose_score::protocol::{Hello, close_code};
use tokio::sync::Semaphore;
use tower_http::services::ServeFile;

use crate::socket;
use pose_score::live::Dance;

/// Live dance scoring in the browser.
#[derive(Debug, Parser)]
#[command(name = "dance_server")]
pub struct Config {
    /// The dancer video (any format OpenCV reads).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dancer.mp4"))]
    pub dancer: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Landmark model: lite, full or heavy.
    #[arg(long, default_value = "lite")]
    pub model: ModelKind,
    /// Reference sampling rate for the dancer, frames per second (default: the video's, at most 30).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Where extracted dancer keypoints are cached.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/dancer"))]
    pub cache_dir: PathBuf,
    /// Frames analysed at once (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Largest JPEG accepted, bytes (larger: JSON `too_large`; above twice this: close 1009).
    #[arg(long, default_value_t = 2 << 20)]
    pub max_jpeg_bytes: usize,
    /// Bad messages tolerated per client before close 1008.
    #[arg(long, default_value_t = 100)]
    pub max_bad_messages: u32,
    /// A client that does not read a reply within this many milliseconds is dropped.
    #[arg(long, default_value_t = 5000)]
    pub send_timeout_ms: u64,
    /// The score: view (3D world landmarks, whatever the camera's angle) or robust (2D).
    #[arg(long, default_value = "view", value_parser = ["view", "robust"])]
    pub score: String,
}

impl Config {
    /// Largest WebSocket message read at all; larger: close 1009. A data URL is 4/3 of its JPEG:
    /// room is left so that such messages get a JSON error.
    pub fn hard_message_bytes(&self) -> usize {
        self.max_jpeg_bytes * 2
    }

    /// A reply that cannot be written within this time drops the client.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms)
    }

    /// Frames analysed at once (the blocking pool's share for inference).
    pub fn workers(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        self.workers.unwrap_or(cores).max(1)
    }
}

/// Clients served at once; more: close 1013.
const MAX_CLIENTS: u64 = 64;

/// Counters, served as JSON on `/stats`.
#[derive(Debug, Default, serde::Serialize)]
pub struct Stats {
    pub connections: AtomicU64,
    pub active: AtomicU64,
    pub frames: AtomicU64,
    pub scored: AtomicU64,
    pub bad_messages: AtomicU64,
    pub slow_readers: AtomicU64,
    pub refused: AtomicU64,
    pub internal_errors: AtomicU64,
}

/// Everything the handlers share.
pub struct AppState {
    pub config: Config,
    /// The hello message (the socket sets `annotated`).
    pub hello: Hello,
    pub dancer_video: PathBuf,
    /// The dancer's keypoints for the page, as JSON.
    pub dancer_json: Bytes,
    pub dance: Arc<Dance>,
    /// Worker permits: FIFO, so clients waiting for inference take turns.
    pub workers: Arc<Semaphore>,
    pub stats: Stats,
    /// Set to true to close every client with 1001 (server going away).
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

/// The router with every route.
pub fn router(state: Arc<AppState>) -> Router {
    let page = |body: &'static str, mime: &'static str| {
        get(move || async move { ([(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache")], body) })
    };
    Router::new()
        .route(
            "/",
            page(
                include_str!("static/index.html"),
                "text/html; charset=utf-8",
            ),
        )
        .route(
            "/static/app.js",
            page(
                include_str!("static/app.js"),
                "text/javascript; charset=utf-8",
            ),
        )
        .route(
            "/static/style.css",
            page(include_str!("static/style.css"), "text/css; charset=utf-8"),
        )
        .route_service("/game/dancer", ServeFile::new(&state.dancer_video))
        .route("/game/dancer.json", get(dancer_json))
        .route("/client", get(client))
        .route("/stats", get(stats))
        .with_state(state)
}

async fn dancer_json(State(state): State<Arc<AppState>>) -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        state.dancer_json.clone(),
    )
        .into_response()
}

async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let workers = state.config.workers();
    axum::Json(serde_json::json!({ "stats": &state.stats, "workers": workers })).into_response()
}

async fn client(
    ws: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    let annotated = query
        .get("annotated")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let hard = state.config.hard_message_bytes();
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |mut socket| async move {
            if state.stats.active.load(Relaxed) >= MAX_CLIENTS {
                state.stats.refused.fetch_add(1, Relaxed);
                let timeout = state.config.send_timeout();
                socket::send_close(&mut socket, close_code::TRY_AGAIN, "server full", timeout)
                    .await;
                return;
            }
            socket::serve(socket, state, annotated).await;
        })
}
