//! Load bench of the camera relay: N concurrent MJPEG viewers on loopback against
//! `camera_relay --simulate` (three simulated 15 fps ESP32-CAMs), run as a separate process so
//! its CPU time and RSS are its own. Prints per-viewer frames received, relay CPU and RSS, and
//! how they scale with the number of viewers.
//!
//! ```text
//! cargo build --release --example camera_relay --example relay_soak
//! target/release/examples/relay_soak                       # 500 viewers, 30 s
//! target/release/examples/relay_soak --scaling 50,200,500,1000 --seconds 15
//! target/release/examples/relay_soak --cycles 1000         # connect/disconnect RSS check
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt as _;
use stream_codec::client::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "Load bench of camera_relay: many viewers, relay CPU and RSS")]
struct Args {
    /// Concurrent viewers (ignored with --scaling).
    #[arg(long, default_value_t = 500)]
    viewers: usize,
    /// Run several viewer counts one after the other, e.g. 50,200,500,1000.
    #[arg(long, value_delimiter = ',')]
    scaling: Vec<usize>,
    /// Measured seconds per run (after a 2 s warm-up).
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Frame rate of the simulated cameras.
    #[arg(long, default_value_t = 15.0)]
    fps: f64,
    /// JPEG quality of the panorama.
    #[arg(long, default_value_t = 80)]
    quality: u8,
    /// Instead of the load runs: this many viewer connect/disconnect cycles, RSS before/after.
    #[arg(long)]
    cycles: Option<usize>,
    /// The relay binary (default: camera_relay next to this example).
    #[arg(long)]
    relay: Option<PathBuf>,
}

/// The relay child process; killed on drop.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(bin: &PathBuf, fps: f64, quality: u8, idle_s: f64) -> anyhow::Result<RelayProcess> {
    let mut child = Command::new(bin)
        .args(["--simulate", "--listen", "127.0.0.1:0"])
        .args([
            "--sim-fps",
            &fps.to_string(),
            "--quality",
            &quality.to_string(),
            "--idle-s",
            &idle_s.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot start {}: {e} (build it: cargo build --release --example camera_relay)",
                bin.display()
            )
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unexpected relay output {line:?}"))?;
    Ok(RelayProcess { child, addr })
}

/// (CPU seconds user+system, RSS bytes) of a process, from /proc.
fn proc_usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after ") ": state=0, ..., utime=11, stime=12 (clock ticks, 100 Hz on Linux).
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    (cpu, rss_kb * 1024)
}

/// One viewer: counts parts by their Content-Length without copying the JPEGs.
/// One viewer (stream-codec's client): counts the parts and bytes it receives.
async fn viewer(
    addr: SocketAddr,
    frames: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let config = ClientConfig {
        max_reconnects: Some(0),
        first_frame_timeout: Duration::from_secs(30),
        silence_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let Ok(mut stream) = stream_codec::client::connect(&format!("http://{addr}/stream"), config)
    else {
        return;
    };
    let status = stream.status();
    let mut seen = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(Ok(_)) = stream.next().await else {
            return;
        };
        frames.fetch_add(1, Ordering::Relaxed);
        let total = status.borrow().bytes;
        bytes.fetch_add(total - seen, Ordering::Relaxed);
        seen = total;
    }
}

async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let text = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        Some(out)
    }
    .await
    .unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

struct RunResult {
    viewers: usize,
    seconds: f64,
    output_fps: f64,
    min_frames: u64,
    median_frames: u64,
    source_frames: f64,
    cpu_cores: f64,
    viewers_cpu_cores: f64,
    rss_max_mb: f64,
    mbit_s: f64,
}

async fn run(relay: &RelayProcess, n: usize, seconds: f64, fps: f64) -> RunResult {
    let stop = Arc::new(AtomicBool::new(false));
    let total_bytes = Arc::new(AtomicU64::new(0));
    let counters: Vec<Arc<AtomicU64>> = (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut tasks = Vec::new();
    for c in &counters {
        tasks.push(tokio::spawn(viewer(
            relay.addr,
            c.clone(),
            total_bytes.clone(),
            stop.clone(),
        )));
        if tasks.len() % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up: cameras connect, viewers settle
    let pid = relay.child.id();
    let start: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let out0 = metric(relay.addr, "relay_output_frames_total").await;
    let bytes0 = total_bytes.load(Ordering::Relaxed);
    let (cpu0, _) = proc_usage(pid);
    let (own0, _) = proc_usage(std::process::id());
    let t0 = Instant::now();
    let mut rss_max = 0u64;
    while t0.elapsed().as_secs_f64() < seconds {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_max = rss_max.max(proc_usage(pid).1);
    }
    let dt = t0.elapsed().as_secs_f64();
    let (cpu1, _) = proc_usage(pid);
    let (own1, _) = proc_usage(std::process::id());
    let out1 = metric(relay.addr, "relay_output_frames_total").await;
    let mut got: Vec<u64> = counters
        .iter()
        .zip(&start)
        .map(|(c, s)| c.load(Ordering::Relaxed) - s)
        .collect();
    let bytes = total_bytes.load(Ordering::Relaxed) - bytes0;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    got.sort_unstable();
    RunResult {
        viewers: n,
        seconds: dt,
        output_fps: (out1 - out0) / dt,
        min_frames: got.first().copied().unwrap_or(0),
        median_frames: got.get(got.len() / 2).copied().unwrap_or(0),
        source_frames: fps * dt,
        cpu_cores: (cpu1 - cpu0) / dt,
        viewers_cpu_cores: (own1 - own0) / dt,
        rss_max_mb: rss_max as f64 / 1e6,
        mbit_s: bytes as f64 * 8.0 / dt / 1e6,
    }
}

async fn cycles(relay: &RelayProcess, n: usize) -> anyhow::Result<()> {
    let pid = relay.child.id();
    let one = |wait_frame: bool| async move {
        let mut s = TcpStream::connect(relay.addr).await?;
        s.write_all(b"GET /stream HTTP/1.1\r\nHost: relay\r\n\r\n")
            .await?;
        if wait_frame {
            let mut buf = vec![0u8; 65536];
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        }
        anyhow::Ok(())
    };
    for i in 0..100 {
        one(i % 10 == 0).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, rss0) = proc_usage(pid);
    let t0 = Instant::now();
    for i in 0..n {
        one(i % 10 == 0).await?;
    }
    let dt = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, rss1) = proc_usage(pid);
    println!(
        "{n} connect/disconnect cycles in {:.1} s: relay RSS {:.1} MB -> {:.1} MB ({:+.1} %)",
        dt.as_secs_f64(),
        rss0 as f64 / 1e6,
        rss1 as f64 / 1e6,
        (rss1 as f64 / rss0 as f64 - 1.0) * 100.0
    );
    let t1 = Instant::now();
    while metric(relay.addr, "relay_camera_up{camera=\"0\"}").await != 0.0
        && t1.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "cameras closed {:.1} s after the last viewer (--idle-s 2)",
        t1.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.relay {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("camera_relay"),
    };
    if let Some(n) = args.cycles {
        let relay = start_relay(&bin, args.fps, args.quality, 2.0)?;
        return cycles(&relay, n).await;
    }
    let counts = if args.scaling.is_empty() {
        vec![args.viewers]
    } else {
        args.scaling.clone()
    };
    println!(
        "camera_relay --simulate ({} fps cameras, quality {}), {} s per run, {} cores on this machine",
        args.fps,
        args.quality,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| viewers | output fps | frames/viewer min / median | min % of source | relay CPU (cores) | viewers' CPU (cores) | relay RSS max | loopback Mbit/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in counts {
        let relay = start_relay(&bin, args.fps, args.quality, 30.0)?;
        let r = run(&relay, n, args.seconds, args.fps).await;
        println!(
            "| {} | {:.1} | {} / {} | {:.1} % | {:.2} | {:.2} | {:.0} MB | {:.0} |",
            r.viewers,
            r.output_fps,
            r.min_frames,
            r.median_frames,
            r.min_frames as f64 / r.source_frames * 100.0,
            r.cpu_cores,
            r.viewers_cpu_cores,
            r.rss_max_mb,
            r.mbit_s
        );
        let _ = r.seconds;
    }
    Ok(())
}
