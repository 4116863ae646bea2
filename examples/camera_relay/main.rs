//! Camera relay: reads each camera once, stitches the views into one panorama, encodes it once
//! and serves it as MJPEG to any number of viewers. Wiring only: stream-codec (camera client,
//! fan-out, HTTP serve loop, simulated cameras) and cam-stitch (config, live stitcher).
//!
//! ```text
//! cargo run --release --example camera_relay -- --config cameras_config.json \
//!     [--listen 0.0.0.0:5000] [--idle-s 30] [--quality 80] [--auth USER:PASS]
//! cargo run --release --example camera_relay -- --simulate      # no hardware needed
//! ```
//!
//! Endpoints: `/stream` (MJPEG), `/snapshot.jpg`, `/health` (JSON), `/metrics` (Prometheus),
//! `/` (status page), `/camera/{n}` (a camera's latest JPEG). See `examples/camera_relay/README.md`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use cam_stitch::{RenderSchedule, SourcePreference};
use clap::Parser;
use stream_codec::client::ClientConfig;
use stream_codec::fanout::{Fanout, FanoutConfig};
use stream_codec::serve::ServeLimits;
use stream_codec::sim_camera::SimCamera;

mod http;
mod relay;

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
    /// Start simulated ESP32-CAMs in-process (fixtures embedded in the binary); with --config,
    /// its geometry is used with the simulated cameras' URLs.
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
    /// Most /stream viewers at once; more get 503 + Retry-After (lowered to fit the open files).
    #[arg(long, default_value_t = 1000)]
    max_viewers: usize,
    /// Most open HTTP connections (lowered to the open-file limit minus 64); at the cap, idle
    /// connections are closed to make room.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client has to send a whole request head.
    #[arg(long, default_value_t = 10.0)]
    head_timeout_s: f64,
    /// Seconds allowed to each phase of a camera connection: connect, response head, first
    /// frame, silence between frames.
    #[arg(long, default_value_t = 3.0)]
    camera_timeout_s: f64,
    /// ICE host candidate IPs offered to WebRTC viewers (repeat or comma-separate); default: the
    /// --listen address when specific, else this machine's addresses and loopback.
    #[arg(long, value_delimiter = ',')]
    webrtc_ip: Vec<IpAddr>,
    /// UDP port shared by every WebRTC session (default: the HTTP port number).
    #[arg(long)]
    webrtc_port: Option<u16>,
    /// H.264 bitrate of the WebRTC panorama, bit/s.
    #[arg(long, default_value_t = 1_500_000)]
    webrtc_bitrate: u32,
}

/// The simulated cameras' geometry and frames (`testdata/relay/`: a real 3-camera panorama,
/// frames 40 and 160 of camera 0, 1, 2).
const SIM_CONFIG: &str = include_str!("../../testdata/relay/cameras_config.json");
const SIM_FRAMES: [&[u8]; 6] = [
    include_bytes!("../../testdata/relay/f040/cam0.jpg"),
    include_bytes!("../../testdata/relay/f160/cam0.jpg"),
    include_bytes!("../../testdata/relay/f040/cam1.jpg"),
    include_bytes!("../../testdata/relay/f160/cam1.jpg"),
    include_bytes!("../../testdata/relay/f040/cam2.jpg"),
    include_bytes!("../../testdata/relay/f160/cam2.jpg"),
];

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Decoding and stitching run on the blocking pool; a small pool bounds threads and arenas.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build();
    match rt
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(Args::parse())))
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camera_relay: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn seconds(v: f64, flag: &str) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        v.is_finite() && v >= 0.0,
        "{flag} must be a non-negative number of seconds"
    );
    Ok(Duration::from_secs_f64(v))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (idle, head) = (
        seconds(args.idle_s, "--idle-s")?,
        seconds(args.head_timeout_s, "--head-timeout-s")?,
    );
    let phase = seconds(args.camera_timeout_s, "--camera-timeout-s")?;
    anyhow::ensure!(
        args.auth.as_ref().is_none_or(|a| a.contains(':')),
        "--auth must be USER:PASS"
    );
    let mut json: serde_json::Value = match (&args.config, args.simulate) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config {}", p.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("config {}: invalid JSON", p.display()))?
        }
        (None, true) => serde_json::from_str(SIM_CONFIG)?,
        (None, false) => anyhow::bail!("--config FILE is required (or --simulate)"),
    };
    let mut sims = Vec::new();
    let cameras = json["camera"].as_array().map_or(0, Vec::len);
    for i in (0..cameras).filter(|_| args.simulate) {
        let frames = SIM_FRAMES[i % 3 * 2..i % 3 * 2 + 2]
            .iter()
            .map(|b| Bytes::from_static(b))
            .collect();
        let cam = SimCamera::start(([127, 0, 0, 1], 0).into(), frames, args.sim_fps).await?;
        tracing::info!(camera = i, url = %cam.stream_url(), "simulated ESP32-CAM");
        json["camera"][i]["url"] = serde_json::json!({ "jpg": cam.stream_url() });
        sims.push(cam);
    }
    let config = cam_stitch::Config::from_json_str(&json.to_string())?;
    let urls = config.sources(if args.prefer_rtsp {
        SourcePreference::Rtsp
    } else {
        SourcePreference::Http
    })?;
    // Viewers and cameras each hold a descriptor: use all the process may have.
    if let Err(e) = stream_codec::serve::raise_open_file_limit() {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
    }
    let limits = ServeLimits::default()
        .with_head_timeout(head)
        .with_max_connections(args.max_connections);
    let server = stream_codec::serve::Server::new(limits);
    // Keep 32 connections for /health, /metrics and snapshots when the viewers are at their cap.
    let max_viewers = args
        .max_viewers
        .min(server.connection_cap().saturating_sub(32))
        .max(1);
    let fanout = FanoutConfig {
        max_subscribers: Some(max_viewers),
    };
    let live_opts = cam_stitch::LiveOptions {
        quality: args.quality,
        ..Default::default()
    };
    let live = cam_stitch::LiveStitcher::new(config, live_opts)?;
    // WebRTC (WHEP): every session on one UDP port, the panorama encoded once as H.264.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let udp = SocketAddr::new(args.listen.ip(), args.webrtc_port.unwrap_or(addr.port()));
    let whep = stream_codec::webrtc::WhepServer::bind(
        stream_codec::webrtc::WhepConfig::new(udp).with_candidate_ips(args.webrtc_ip.clone()),
    )
    .await
    .with_context(|| format!("WebRTC UDP port {udp}"))?;
    let h264 = stream_codec::webrtc::H264Settings::default()
        .with_bitrate(args.webrtc_bitrate)
        .with_max_fps(args.max_fps.min(15.0) as f32);
    let track = stream_codec::webrtc::H264Track::new(whep.clone(), h264)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let st = Arc::new(relay::State {
        cams: urls
            .iter()
            .map(|u| relay::Cam::new(u, idle, wake.clone()))
            .collect(),
        urls,
        hub: Fanout::with_measure(fanout, |p: &relay::Part| p.part.len()),
        wake,
        started: Instant::now(),
        panorama: live.output_size(),
        out: Default::default(),
        client: ClientConfig::default().with_phase_timeouts(phase),
        writer: stream_codec::Writer::new("frame")?,
        demand: Default::default(),
        whep,
    });
    tokio::spawn(relay::sum_demand(st.clone()));
    for i in 0..st.cams.len() {
        tokio::spawn(relay::run_camera(st.clone(), i));
    }
    let schedule = RenderSchedule::new(
        args.max_fps,
        Duration::from_millis(50),
        Duration::from_millis(500),
    );
    tokio::spawn(relay::run_compositor(st.clone(), live, schedule, track));
    let content_type = st.writer.content_type();
    let app = Arc::new(http::App {
        st: st.clone(),
        auth: args.auth,
        server: server.clone(),
        content_type,
    });
    let (cameras, max_connections) = (st.cams.len(), server.connection_cap());
    let (webrtc, candidates) = (st.whep.local_addr(), st.whep.candidate_ips());
    tracing::info!(%addr, cameras, max_connections, max_viewers, %webrtc, ?candidates, "relay listening");
    println!("camera relay on http://{addr}/ ({cameras} cameras; stream: /stream)");
    tokio::select! {
        r = server.run(listener, http::router(app)) => r.context("HTTP server stopped")?,
        r = tokio::signal::ctrl_c() => r?,
    }
    drop(sims);
    Ok(())
}
