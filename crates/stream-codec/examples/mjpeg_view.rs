//! Reads an MJPEG camera (or a relay) with `stream_codec::client` and prints its rate:
//!
//! ```text
//! cargo run --release -p stream-codec --features tokio --example mjpeg_view -- URL [--seconds S]
//! ```
//!
//! One line a second `t=T frames=N fps=F bytes=B` (frames and bytes so far, fps over the last
//! second), then `frames=N fps=F reconnects=R errors=E` (fps over the whole run). It keeps
//! reconnecting while the camera is down and exits 0 after S seconds (default 10). Errors go to
//! stderr (passwords redacted), each distinct message once in a row.

use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use stream_codec::client::{self, ClientConfig};

#[derive(Parser)]
#[command(about = "Read an MJPEG camera and print frames, fps and bytes once a second")]
struct Args {
    /// Camera URL: http://[user:pass@]host[:port]/path
    url: String,
    /// How long to read, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut camera = match client::connect(&args.url, ClientConfig::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mjpeg_view: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let status = camera.status();
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds.clamp(0.0, 1e7));
    let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let mut frames: u64 = 0;
    let mut frames_at_tick: u64 = 0;
    let mut last_error = String::new();
    loop {
        tokio::select! {
            // Ticks first: at `--seconds 3` the `t=3` line comes before the final one.
            biased;
            _ = tick.tick() => {
                let t = start.elapsed().as_secs_f64();
                let bytes = status.borrow().bytes;
                println!("t={t:.0} frames={frames} fps={:.1} bytes={bytes}", (frames - frames_at_tick) as f64);
                frames_at_tick = frames;
            }
            _ = tokio::time::sleep_until(end) => break,
            item = camera.next() => match item {
                Some(Ok(_frame)) => frames += 1,
                Some(Err(e)) => {
                    let msg = e.to_string();
                    if msg != last_error {
                        eprintln!("mjpeg_view: {msg}");
                        last_error = msg;
                    }
                }
                None => {
                    // Only with max_reconnects (not set here): wait out the run.
                    tokio::time::sleep_until(end).await;
                    break;
                }
            },
        }
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let st = status.borrow().clone();
    println!(
        "frames={frames} fps={:.1} reconnects={} errors={}",
        frames as f64 / elapsed,
        st.reconnects,
        st.errors
    );
    std::process::ExitCode::SUCCESS
}
