//! Dancer reference extraction: sample a video at a fixed rate by its timestamps, run BlazePose
//! on each sample, write the old project's `dancer_keyp_list.csv` and, optionally, the rich track.
//!
//! ```text
//! cargo run --release -p pose-core --features video --example extract -- \
//!     VIDEO --fps F --out DANCER.csv [--json OUT.json] [--csv RICH.csv] [--model lite|full|heavy]
//!     [--min-visibility V] [--quiet]
//! ```
//!
//! `DANCER.csv`: no header, one row per sample (`ceil(duration x F)` rows), 36 integer columns
//! (OpenPose-18 x, y in pixels; 0 for a missing part or a sample without a person). `OUT.json` /
//! `RICH.csv`: timestamps, all 33 landmarks with visibility and presence (see
//! `pose_core::extract`); `OUT.json` also has each pose's 33 world landmarks in metres
//! (`"world": [[x, y, z], ...]`). Exit status: 0 on success, 1 on an error (unreadable video, missing
//! model, unwritable output), 2 on bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use pose_core::extract::{ExtractOptions, extract_video};
use pose_core::{ModelKind, PoseConfig, RuntimeConfig, Tracker, TrackerConfig};

#[derive(Parser, Debug)]
#[command(
    about = "Extract a dancer's poses from a video (old dancer_keyp_list.csv and a rich track)"
)]
struct Args {
    /// The video file.
    video: PathBuf,
    /// Samples per second, by the video's own timestamps.
    #[arg(long, value_parser = parse_fps)]
    fps: f64,
    /// The old 36-column CSV (no header).
    #[arg(long)]
    out: PathBuf,
    /// Also write the rich track as JSON (timestamps, 33 landmarks, visibility, world landmarks).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the rich track as CSV.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Landmark model: lite, full or heavy.
    #[arg(long, default_value = "full")]
    model: ModelKind,
    /// Parts below this visibility are written as 0 in the old CSV.
    #[arg(long, default_value_t = pose_core::pose::DEFAULT_MIN_VISIBILITY)]
    min_visibility: f32,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn parse_fps(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v > 0.0 && v <= pose_core::video::MAX_SAMPLE_FPS {
        Ok(v)
    } else {
        Err(format!(
            "{v} is not in (0, {}]",
            pose_core::video::MAX_SAMPLE_FPS
        ))
    }
}

fn run(args: &Args) -> pose_core::Result<()> {
    let started = Instant::now();
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model: args.model,
            ..Default::default()
        },
        ..Default::default()
    };
    // Video mode: the detector runs only when the dancer is lost; raw (unsmoothed) landmarks.
    let mut tracker = Tracker::new(config, TrackerConfig::default())?;
    let options = if args.quiet {
        ExtractOptions::quiet()
    } else {
        ExtractOptions::with_progress(args.video.display().to_string())
    };
    let track = extract_video(&args.video, args.fps, &options, |frame| {
        let poses = tracker.process(&frame.as_frame()?, frame.time)?;
        Ok(poses.into_iter().max_by(|a, b| a.score.total_cmp(&b.score)))
    })?;
    track.save_openpose_csv(&args.out, args.min_visibility)?;
    if let Some(path) = &args.json {
        track.save(path)?;
    }
    if let Some(path) = &args.csv {
        track.save(path)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let found = track.samples.iter().filter(|s| s.pose.is_some()).count();
    eprintln!(
        "{}: {} samples at {} fps ({}x{}), {found} with a person; wrote {}; {secs:.2} s ({:.1} samples/s, model {})",
        args.video.display(),
        track.samples.len(),
        args.fps,
        track.width,
        track.height,
        args.out.display(),
        track.samples.len() as f64 / secs,
        args.model.name(),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
