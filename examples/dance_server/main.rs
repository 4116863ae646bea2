//! The dance server: a web page with the user's webcam beside a dancer video, live pose scoring
//! over a WebSocket, a final grade at the end. Wiring only: pose-core (cached dancer track,
//! estimator pool, JPEG decode within limits), pose-score (live score, session, protocol).
//!
//! ```sh
//! cargo run --release --example dance_server -- [--dancer VIDEO] [--listen 127.0.0.1:8000] [--model lite|full]
//! ```
//!
//! At start the dancer's keypoints are extracted once (progress bar) and cached under
//! `.cache/dancer/` by the video's SHA-256; later starts load the cache. Protocol and figures:
//! `examples/dance_server/README.md`.

mod app;
mod socket;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use pose_core::{DecodeLimits, EstimatorPool, PoseConfig};
use pose_score::live::Dance;
use pose_score::protocol::{DancerKeypoints, Hello};
use pose_score::{Mirror, Scorer, ScorerConfig, ViewConfig, ViewScorer};

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,ort=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = app::Config::parse();
    let what = || format!("dancer reference for {}", args.dancer.display());
    let cached = pose_core::load_or_extract(&args.dancer, args.fps, args.model, &args.cache_dir)
        .with_context(what)?;
    let from = ["cached in", "loaded from"][usize::from(cached.from_cache)];
    tracing::info!("dancer: keypoints {from} {}", cached.file.display());
    let mut tracks = cached.tracks.into_iter();
    let track = tracks.next().context("no dancer track")?;

    // One ONNX Runtime thread per session, one session per worker: a free estimator is always
    // there for a frame holding a worker permit.
    let mut pose_config = PoseConfig::default();
    (pose_config.runtime.model, pose_config.runtime.intra_threads) = (args.model, 1);
    let pool = EstimatorPool::new(pose_config, args.workers())?;
    let max_bytes = args.max_jpeg_bytes;
    let limits = DecodeLimits {
        max_bytes,
        ..DecodeLimits::default()
    };
    let dance = if args.score == "view" {
        let view = ViewScorer::new(ViewConfig::default())?;
        Dance::with_view_score(view, &track, pool, limits)?
    } else {
        // A webcam user may copy the dancer as seen or as in a mirror: the better one counts.
        let mirror = Mirror::Either;
        let scorer = Scorer::new(ScorerConfig {
            mirror,
            ..ScorerConfig::default()
        })?;
        Dance::new(scorer, &track, pool, limits)?
    };
    let threshold = dance.correct_from();
    let hello = Hello::new(&track, args.model, args.max_jpeg_bytes, threshold);
    let listen = args.listen;
    let state = app::AppState {
        workers: Arc::new(tokio::sync::Semaphore::new(args.workers())),
        hello,
        dancer_video: args.dancer.clone(),
        config: args,
        dancer_json: serde_json::to_vec(&DancerKeypoints::from(&track))?.into(),
        dance: Arc::new(dance),
        stats: app::Stats::default(),
        shutdown: tokio::sync::watch::Sender::new(false),
    };
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    runtime.block_on(serve(listen, Arc::new(state)))
}

async fn serve(listen: SocketAddr, state: Arc<app::AppState>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("local address")?;
    let shown = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    println!("dance server: open http://{shown}/ in a browser (Ctrl-C to stop)");
    axum::serve(listener, app::router(state.clone()))
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // Every client is closed with 1001 "server going away" (their pages reconnect).
            state.shutdown.send_replace(true);
        })
        .await
        .context("server")
}
