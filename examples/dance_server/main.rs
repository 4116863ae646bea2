//! The dance server: a web page with the user's webcam beside a dancer video, live pose scoring
//! over a WebSocket, a final grade at the end.
//!
//! ```sh
//! cargo run --release --example dance_server -- [--dancer VIDEO] [--listen 127.0.0.1:8000] [--model lite|full]
//! ```
//!
//! At start the dancer's keypoints are extracted once (progress bar) and cached under
//! `.cache/dancer/` by the video's SHA-256; later starts load the cache. Protocol and figures:
//! `examples/dance_server/README.md`.

mod analyser;
mod app;
mod dancer;
mod engine;
mod protocol;
mod socket;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;

/// Live dance scoring in the browser.
#[derive(Debug, Parser)]
#[command(name = "dance_server")]
struct Args {
    /// The dancer video (any format OpenCV reads).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dancer.mp4"))]
    dancer: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Landmark model.
    #[arg(long, value_enum, default_value_t = analyser::ModelArg::Lite)]
    model: analyser::ModelArg,
    /// Reference sampling rate for the dancer, frames per second (default: the video's, at most 30).
    #[arg(long)]
    fps: Option<f64>,
    /// Where extracted dancer keypoints are cached.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/dancer"))]
    cache_dir: PathBuf,
    /// Frames analysed at once (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ort=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let mut config = app::ServerConfig::default();
    if let Some(w) = args.workers {
        config.workers = w.max(1);
    }
    let model = args.model.kind();
    let reference = dancer::load_or_extract(&args.dancer, &args.cache_dir, model, args.fps)
        .with_context(|| format!("dancer reference for {}", args.dancer.display()))?;
    let state = analyser::build_state(config, &args.dancer, reference, model)?;

    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    runtime.block_on(serve(args.listen, Arc::new(state)))
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
            state.shutdown();
        })
        .await
        .context("server")
}
