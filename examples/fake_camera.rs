//! One simulated ESP32-CAM: `/capture` answers one JPEG, `/stream` an MJPEG stream at a set
//! frame rate with chunked transfer encoding and a boundary before each part (like the
//! arduino-esp32 `CameraWebServer`), and a second simultaneous client is refused with 503.
//!
//! ```text
//! cargo run --example fake_camera -- [--listen 127.0.0.1:8081] [--fps 15] [--camera 0]
//!     [--jpeg A.jpg --jpeg B.jpg ...] [--fault none|garbage|truncated|endless]
//! curl -o one.jpg http://127.0.0.1:8081/capture
//! ffplay http://127.0.0.1:8081/stream
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use clap::{Parser, ValueEnum};

use stream_codec::sim_camera;

const FIXTURES: [[&[u8]; 2]; 3] = [
    [
        include_bytes!("../testdata/relay/f040/cam0.jpg"),
        include_bytes!("../testdata/relay/f160/cam0.jpg"),
    ],
    [
        include_bytes!("../testdata/relay/f040/cam1.jpg"),
        include_bytes!("../testdata/relay/f160/cam1.jpg"),
    ],
    [
        include_bytes!("../testdata/relay/f040/cam2.jpg"),
        include_bytes!("../testdata/relay/f160/cam2.jpg"),
    ],
];

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FaultArg {
    None,
    Garbage,
    Truncated,
    Endless,
}

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "A simulated ESP32-CAM (one client at a time, /capture and /stream)")]
struct Args {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Frames per second of /stream.
    #[arg(long, default_value_t = 15.0)]
    fps: f64,
    /// Which built-in fixture camera to show (0, 1 or 2 of the relay's 3-camera panorama).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..3))]
    camera: u8,
    /// JPEG files to serve instead of the fixtures (cycled).
    #[arg(long)]
    jpeg: Vec<PathBuf>,
    /// Misbehave: garbage bytes, truncated JPEGs or a part that never ends.
    #[arg(long, value_enum, default_value = "none")]
    fault: FaultArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let frames: Vec<Bytes> = if args.jpeg.is_empty() {
        FIXTURES[args.camera as usize]
            .iter()
            .map(|b| Bytes::from_static(b))
            .collect()
    } else {
        let mut v = Vec::new();
        for p in &args.jpeg {
            let data =
                std::fs::read(p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            v.push(Bytes::from(data));
        }
        v
    };
    let cam = sim_camera::SimCamera::start(args.listen, frames, args.fps).await?;
    cam.set_fault(match args.fault {
        FaultArg::None => sim_camera::Fault::None,
        FaultArg::Garbage => sim_camera::Fault::Garbage,
        FaultArg::Truncated => sim_camera::Fault::Truncated,
        FaultArg::Endless => sim_camera::Fault::EndlessPart,
    });
    println!(
        "fake ESP32-CAM on {} ({} fps): {} {}",
        cam.addr(),
        args.fps,
        cam.capture_url(),
        cam.stream_url()
    );
    tokio::signal::ctrl_c().await?;
    let s = cam.stats();
    println!(
        "connections {} (refused {}), frames sent {}",
        s.connections, s.refused, s.frames_sent
    );
    Ok(())
}
