//! The HTTP side: routes, shared state, limits. `/` the page, `/static/*` its script and style,
//! `/game/dancer` the dancer video (HTTP Range through tower-http), `/game/dancer.json` the
//! dancer's keypoints, `/client` the WebSocket, `/stats` counters as JSON.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;
use tower_http::services::ServeFile;

use crate::engine::AnalyserFactory;
use crate::protocol::Hello;
use crate::socket;

const INDEX_HTML: &str = include_str!("static/index.html");
const APP_JS: &str = include_str!("static/app.js");
const STYLE_CSS: &str = include_str!("static/style.css");

/// Limits and timeouts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JPEG accepted (binary message or decoded data URL); larger: JSON `too_large`.
    pub max_jpeg_bytes: usize,
    /// Largest WebSocket message read at all; larger: close 1009.
    pub hard_message_bytes: usize,
    /// A reply that cannot be written within this time drops the client.
    pub send_timeout: Duration,
    /// Clients served at once; more: close 1013.
    pub max_clients: usize,
    /// Bad messages tolerated per client before close 1008.
    pub max_bad_messages: u32,
    /// Frames analysed at once (the blocking pool's share for inference).
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let max_jpeg_bytes = 2 << 20;
        Self {
            max_jpeg_bytes,
            // A data URL is 4/3 of its JPEG; leave room so such messages get a JSON error.
            hard_message_bytes: max_jpeg_bytes * 2,
            send_timeout: Duration::from_secs(5),
            max_clients: 64,
            max_bad_messages: 100,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Counters, served as JSON on `/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted since start.
    pub connections: AtomicU64,
    /// Clients connected now.
    pub active: AtomicU64,
    /// JPEG frames received.
    pub frames: AtomicU64,
    /// Frames analysed and answered.
    pub scored: AtomicU64,
    /// Messages refused (JSON error sent).
    pub bad_messages: AtomicU64,
    /// Clients dropped because they did not read their replies.
    pub slow_readers: AtomicU64,
    /// Clients refused because the server was full.
    pub refused: AtomicU64,
    /// Analysis tasks that failed (a bug: should stay 0).
    pub internal_errors: AtomicU64,
}

impl Stats {
    fn snapshot(&self) -> HashMap<&'static str, u64> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        HashMap::from([
            ("connections", get(&self.connections)),
            ("active", get(&self.active)),
            ("frames", get(&self.frames)),
            ("scored", get(&self.scored)),
            ("bad_messages", get(&self.bad_messages)),
            ("slow_readers", get(&self.slow_readers)),
            ("refused", get(&self.refused)),
            ("internal_errors", get(&self.internal_errors)),
        ])
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// Limits and timeouts.
    pub config: ServerConfig,
    /// The hello message (the socket sets `annotated`).
    pub hello: Hello,
    /// The dancer video file.
    pub dancer_video: PathBuf,
    /// The dancer's keypoints for the page, as JSON.
    pub dancer_json: Bytes,
    /// One analyser per client.
    pub factory: AnalyserFactory,
    /// Worker permits: FIFO, so clients waiting for inference take turns.
    pub workers: Arc<Semaphore>,
    /// Counters.
    pub stats: Stats,
    /// Set to true to close every client with 1001 (server going away).
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State with `config.workers` worker permits.
    pub fn new(
        config: ServerConfig,
        hello: Hello,
        dancer_video: PathBuf,
        dancer_json: Bytes,
        factory: AnalyserFactory,
    ) -> Self {
        let workers = Arc::new(Semaphore::new(config.workers.max(1)));
        Self {
            config,
            hello,
            dancer_video,
            dancer_json,
            factory,
            workers,
            stats: Stats::default(),
            shutdown: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Closes every client with 1001 "server going away" (their pages reconnect).
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// The router with every route.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { static_file(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/static/app.js",
            get(|| async { static_file(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/style.css",
            get(|| async { static_file(STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route_service("/game/dancer", ServeFile::new(&state.dancer_video))
        .route("/game/dancer.json", get(dancer_json))
        .route("/client", get(client))
        .route("/stats", get(stats))
        .with_state(state)
}

fn static_file(body: &'static str, mime: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

async fn dancer_json(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.dancer_json.clone(),
    )
        .into_response()
}

async fn stats(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(StatsReply {
        stats: state.stats.snapshot(),
        workers: state.config.workers,
    })
    .into_response()
}

#[derive(Serialize)]
struct StatsReply {
    stats: HashMap<&'static str, u64>,
    workers: usize,
}

async fn client(
    ws: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    let annotated = query
        .get("annotated")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let hard = state.config.hard_message_bytes;
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |socket| async move {
            let active = state.stats.active.load(Ordering::Relaxed);
            if active >= state.config.max_clients as u64 {
                state.stats.refused.fetch_add(1, Ordering::Relaxed);
                let timeout = state.config.send_timeout;
                socket::close_with(
                    socket,
                    socket::close_code::TRY_AGAIN,
                    "server full",
                    timeout,
                )
                .await;
                return;
            }
            socket::serve(socket, state, annotated).await;
        })
}
