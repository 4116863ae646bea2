//! Camera relay: reads each camera once, stitches the views into one panorama, encodes it once
//! and serves it as MJPEG to any number of viewers.
//!
//! ```text
//! cargo run --release --example camera_relay -- --config cameras_config.json \
//!     [--listen 0.0.0.0:5000] [--idle-s 30] [--quality 80] [--auth USER:PASS]
//! cargo run --release --example camera_relay -- --simulate      # no hardware needed
//! ```
//!
//! Endpoints: `/stream` (MJPEG), `/snapshot.jpg`, `/health` (JSON), `/metrics` (Prometheus),
//! `/` (status page), `/camera/{n}` (a camera's latest JPEG). See `examples/camera_relay/README.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

mod compose;
mod config;
mod frames;
mod http;
mod hub;
mod placeholder;
mod relay;
#[cfg(feature = "opencv")]
mod rtsp;
#[path = "../common/sim_camera.rs"]
mod sim_camera;
mod simulate;
mod sources;
mod upstream;

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "Relay several cameras as one stitched MJPEG panorama to many viewers")]
struct Args {
    /// The old `cameras_config.json` (required unless --simulate).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to serve on.
    #[arg(long, default_value = "0.0.0.0:5000")]
    listen: SocketAddr,
    /// Close a camera's connection after this many seconds without viewers.
    #[arg(long, default_value_t = 30.0)]
    idle_s: f64,
    /// JPEG quality of the panorama (1-100).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Basic auth `USER:PASS` on every endpoint but /health.
    #[arg(long)]
    auth: Option<String>,
    /// Start simulated ESP32-CAMs in-process (fixtures embedded in the binary) instead of real
    /// cameras; with --config, its geometry is used with the simulated cameras' URLs.
    #[arg(long)]
    simulate: bool,
    /// Frame rate of the simulated cameras.
    #[arg(long, default_value_t = 15.0)]
    sim_fps: f64,
    /// Use `url.rtsp` rather than `url.jpg` when a camera has both.
    #[arg(long)]
    prefer_rtsp: bool,
    /// Upper bound on panoramas per second.
    #[arg(long, default_value_t = 30.0)]
    max_fps: f64,
    /// Most `/stream` viewers at once; more get `503` + `Retry-After` (lowered to fit the
    /// open-file limit).
    #[arg(long, default_value_t = 1000)]
    max_viewers: usize,
    /// Most open HTTP connections (lowered to the open-file limit minus a reserve of 64); at the
    /// cap, idle connections are closed to make room.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client has to send a whole request head.
    #[arg(long, default_value_t = 10.0)]
    head_timeout_s: f64,
}

fn main() -> std::process::ExitCode {
    // JPEG decoding and stitching run on the blocking pool; a small pool keeps the number of
    // threads (and allocator arenas) bounded.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build();
    match rt {
        Ok(rt) => rt.block_on(async_main()),
        Err(e) => {
            eprintln!("camera_relay: error: cannot start the runtime: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn async_main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camera_relay: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if !(args.idle_s.is_finite() && args.idle_s >= 0.0) {
        anyhow::bail!("--idle-s must be a non-negative number of seconds");
    }
    if !(args.head_timeout_s.is_finite() && args.head_timeout_s > 0.0) {
        anyhow::bail!("--head-timeout-s must be a positive number of seconds");
    }
    // Viewers and cameras each hold a descriptor: use all the process may have.
    match stream_codec::serve::raise_open_file_limit() {
        Ok(n) => tracing::info!(open_files = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    if let Some(a) = &args.auth
        && !a.contains(':')
    {
        anyhow::bail!("--auth must be USER:PASS");
    }
    let mut sims = Vec::new();
    let mut config = match (&args.config, args.simulate) {
        (Some(path), _) => relay::read_config(path)?,
        (None, true) => serde_json::from_str(simulate::CONFIG_JSON)?,
        (None, false) => anyhow::bail!("--config FILE is required (or --simulate)"),
    };
    if args.simulate {
        let n = config
            .get("camera")
            .and_then(|c| c.as_array())
            .map_or(0, |c| c.len());
        sims = simulate::start_cameras(n, args.sim_fps).await?;
        for (i, cam) in sims.iter().enumerate() {
            config::set_url(&mut config, i, &cam.stream_url());
            tracing::info!(camera = i, url = %cam.stream_url(), "simulated ESP32-CAM");
        }
    }
    let opts = relay::RelayOptions {
        config,
        listen: args.listen,
        timing: sources::SourceTiming {
            idle: Duration::from_secs_f64(args.idle_s),
            ..Default::default()
        },
        compose: compose::ComposeOptions {
            quality: args.quality,
            max_fps: args.max_fps,
            ..Default::default()
        },
        auth: args.auth.clone(),
        prefer: if args.prefer_rtsp {
            config::Prefer::Rtsp
        } else {
            config::Prefer::Http
        },
        serve: stream_codec::serve::ServeLimits::default()
            .with_head_timeout(Duration::from_secs_f64(args.head_timeout_s))
            .with_max_connections(args.max_connections),
        max_viewers: args.max_viewers,
    };
    let relay = relay::start(opts).await?;
    println!(
        "camera relay on http://{}/ ({} cameras; stream: /stream)",
        relay.addr,
        relay.app.cameras.len()
    );
    tokio::signal::ctrl_c().await?;
    drop(relay);
    drop(sims);
    Ok(())
}
