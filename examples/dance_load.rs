//! Load bench for the dance server: N simulated clients each send real 640x480 JPEG frames at a
//! fixed rate over the WebSocket and measure what comes back. Prints, per client, frames sent,
//! scored and dropped, scored frames per second and p50/p95 latency from send to reply, for
//! each client count, then how it scales.
//!
//! ```sh
//! cargo run --release --example dance_load -- [--clients 1,2,4,8] [--fps 15] [--seconds 30] [--model lite] [--url ws://HOST:PORT/client]
//! ```
//!
//! Without `--url` the built `dance_server` example (same profile, built here with cargo) runs as
//! a child process with the bundled dancer. Replies are read as pose-score's protocol messages.
//! Frames: `../shared/media/pose2sim/single/cam02.mp4` padded to 640x480 (ffmpeg).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use pose_score::protocol::Outgoing;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

/// Dance server load bench.
#[derive(Debug, Parser)]
struct Args {
    /// Client counts to run, one after the other.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    clients: Vec<usize>,
    /// Frames per second each client sends.
    #[arg(long, default_value_t = 15.0)]
    fps: f64,
    /// Seconds per run.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Landmark model of the server started here: lite, full or heavy.
    #[arg(long, default_value = "lite")]
    model: pose_core::ModelKind,
    /// Use a running server instead of an in-process one.
    #[arg(long)]
    url: Option<String>,
}

/// What one client saw.
#[derive(Debug, Default, Clone)]
struct ClientReport {
    sent: u64,
    scored: u64,
    errors: u64,
    dropped: u64,
    latencies_ms: Vec<f64>,
    /// From connecting to the first reply (the server loads this client's models).
    first_reply_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn frames_640x480() -> anyhow::Result<Vec<Vec<u8>>> {
    let shared = std::env::var_os("POSECAM_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    let src = shared.join("media/pose2sim/single/cam02.mp4");
    anyhow::ensure!(src.exists(), "{} not found (POSECAM_SHARED)", src.display());
    let dir = std::env::temp_dir().join(format!("dance-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&src)
        .args([
            "-vf",
            "fps=30,scale=-2:480,pad=640:480:(ow-iw)/2:0",
            "-q:v",
            "4",
        ])
        .arg(dir.join("f%03d.jpg"))
        .status()
        .context("run ffmpeg")?;
    anyhow::ensure!(status.success(), "ffmpeg failed on {}", src.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let frames = files
        .iter()
        .map(std::fs::read)
        .collect::<Result<Vec<_>, _>>()?;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(!frames.is_empty(), "no frames from {}", src.display());
    Ok(frames)
}

async fn run_client(
    url: String,
    frames: Arc<Vec<Vec<u8>>>,
    fps: f64,
    seconds: f64,
    offset: usize,
) -> anyhow::Result<ClientReport> {
    let connected = Instant::now();
    let (ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .with_context(|| format!("connect {url}"))?;
    let (mut sink, mut stream) = ws.split();
    // Wait for hello (the server has loaded this client's models by then? no: hello comes first),
    // then a warm-up frame so model loading is not counted.
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let report = Arc::new(Mutex::new(ClientReport::default()));
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    let reader = {
        let sent_at = sent_at.clone();
        let report = report.clone();
        tokio::spawn(async move {
            let mut first = Some(first_tx);
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(reply) = serde_json::from_str::<Outgoing>(text.as_str()) else {
                    continue;
                };
                match reply {
                    Outgoing::Result(result) => {
                        let id = result.id;
                        if id == 0 {
                            if let Some(tx) = first.take() {
                                let _ = tx.send(());
                            }
                            continue;
                        }
                        let at = sent_at.lock().await.remove(&id);
                        let mut r = report.lock().await;
                        if let Some(at) = at {
                            r.latencies_ms.push(at.elapsed().as_secs_f64() * 1e3);
                        }
                        r.scored += 1;
                        r.dropped = result.dropped;
                    }
                    Outgoing::Error(_) => report.lock().await.errors += 1,
                    _ => {}
                }
            }
        })
    };
    sink.send(Message::text(r#"{"type":"frame","id":0,"score":false}"#))
        .await?;
    sink.send(Message::binary(frames[0].clone())).await?;
    tokio::time::timeout(Duration::from_secs(60), first_rx)
        .await
        .context("warm-up reply")??;
    let first_reply_ms = connected.elapsed().as_secs_f64() * 1e3;
    sink.send(Message::text(r#"{"type":"start"}"#)).await?;

    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = Instant::now();
    let mut id = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        tick.tick().await;
        id += 1;
        let t = start.elapsed().as_secs_f64();
        let jpeg = &frames[(offset + id as usize) % frames.len()];
        sent_at.lock().await.insert(id, Instant::now());
        sink.send(Message::text(format!(
            r#"{{"type":"frame","id":{id},"t":{t:.3}}}"#
        )))
        .await?;
        sink.send(Message::binary(jpeg.clone())).await?;
    }
    // Let the last replies come in.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = sink.send(Message::Close(None)).await;
    reader.abort();
    let mut r = report.lock().await.clone();
    r.sent = id;
    r.first_reply_ms = first_reply_ms;
    Ok(r)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let frames = Arc::new(frames_640x480()?);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let mut server = None;
        let url = match &args.url {
            Some(u) => u.clone(),
            None => {
                let (child, addr) = start_server(args.model)?;
                server = Some(ChildGuard(child));
                format!("ws://{addr}/client")
            }
        };
        println!(
            "dance_load: {url}, {} frames 640x480 from cam02.mp4, {} fps per client, {} s per run, model {:?}, {} cores",
            frames.len(),
            args.fps,
            args.seconds,
            args.model,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut scaling = Vec::new();
        for &n in &args.clients {
            let tasks: Vec<_> = (0..n)
                .map(|k| tokio::spawn(run_client(url.clone(), frames.clone(), args.fps, args.seconds, k * 7)))
                .collect();
            let mut reports = Vec::new();
            for t in tasks {
                reports.push(t.await??);
            }
            println!("\nclients={n}");
            println!("client   sent  scored  dropped  errors  scored/s  p50_ms  p95_ms  first_reply_ms");
            let mut all = Vec::new();
            let mut min_fps = f64::INFINITY;
            let mut total_fps = 0.0;
            for (k, r) in reports.iter().enumerate() {
                let mut l = r.latencies_ms.clone();
                l.sort_by(f64::total_cmp);
                let fps = r.scored as f64 / args.seconds;
                min_fps = min_fps.min(fps);
                total_fps += fps;
                println!(
                    "{k:>6} {:>6} {:>7} {:>8} {:>7} {:>9.1} {:>7.1} {:>7.1} {:>15.0}",
                    r.sent,
                    r.scored,
                    r.dropped,
                    r.errors,
                    fps,
                    percentile(&l, 0.5),
                    percentile(&l, 0.95),
                    r.first_reply_ms
                );
                all.extend(l);
            }
            all.sort_by(f64::total_cmp);
            let (p50, p95) = (percentile(&all, 0.5), percentile(&all, 0.95));
            println!("all: min scored/s per client {min_fps:.1}, total scored/s {total_fps:.1}, p50 {p50:.1} ms, p95 {p95:.1} ms");
            scaling.push((n, min_fps, total_fps, p50, p95));
        }
        println!("\nscaling (offered {} fps per client)", args.fps);
        println!("clients  offered/s  scored/s total  min per client  p50_ms  p95_ms");
        for (n, min_fps, total, p50, p95) in &scaling {
            println!("{n:>7} {:>10.0} {total:>15.1} {min_fps:>15.1} {p50:>7.1} {p95:>7.1}", *n as f64 * args.fps);
        }
        if let Some((_, min_fps, _, _, p95)) = scaling.iter().find(|s| s.0 == 4) {
            let ok = *min_fps >= 12.0 && *p95 < 150.0;
            println!(
                "goal (4 clients: >= 12 scored fps each, p95 < 150 ms): {} ({min_fps:.1} fps, p95 {p95:.1} ms)",
                if ok { "met" } else { "NOT met" }
            );
        }
        drop(server);
        anyhow::Ok(())
    })
}

/// Kills the server started here when the bench ends.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds the `dance_server` example (this program's profile) and starts it on a free port.
fn start_server(model: pose_core::ModelKind) -> anyhow::Result<(std::process::Child, String)> {
    use std::io::BufRead as _;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "-p", "posecam", "--example", "dance_server"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.current_dir(env!("CARGO_MANIFEST_DIR")).status()?;
    anyhow::ensure!(
        status.success(),
        "cargo build --example dance_server failed"
    );
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("examples dir")?.join("dance_server");
    let mut child = std::process::Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--model", model.name()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("server stdout")?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    // "dance server: open http://ADDR/ in a browser (Ctrl-C to stop)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next());
    let addr =
        addr.with_context(|| format!("unexpected first line from dance_server: {line:?}"))?;
    Ok((child, addr.to_string()))
}
