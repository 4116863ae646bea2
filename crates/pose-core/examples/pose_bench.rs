//! Pose pipeline benchmark against the Python reference (`../shared/tools/pose_ref.py`), on the
//! same video frames and models, in one run; prints per-stage medians and ratios, then the
//! throughput of tracking on 640x480 frames with one and two workers.
//!
//! ```text
//! cargo run --release -p pose-core --example pose_bench -- [--frames 50] [--rounds 3] [--video PATH] [--threads 1] [--crop-threads 2] [--no-python]
//! ```
//!
//! Each pipeline (lite/full, detector on every frame/tracking) runs `--rounds` times on the same
//! frames, alternating Rust and Python (Rust first in even rounds, Python first in odd ones, a
//! fresh estimator or Python process each round), so that both see the same machine load; the
//! medians are over all frames of all rounds, and the ratio of every round is printed too.
//!
//! Frames are decoded once up front with the `ffmpeg` CLI (decode is excluded from all timings,
//! as in the reference); each is copied into a working buffer just before it is timed, as the
//! reference's `cvtColor` writes its RGB frame just before its timed section. The Python
//! reference runs with `.cache/venv/bin/python ../shared/tools/pose_ref.py VIDEO --model M
//! --max-frames N --threads T [--track] --json OUT --quiet`, and its per-frame `timings_ms` are
//! read back from OUT.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Parser;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(format!($($arg)*).into())
    };
}

/// `.context()` for results and options: adds what was being done to the error.
trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| format!("{what}: {e}").into())
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T> {
        self.ok_or_else(|| what.into())
    }
}
use pose_core::{
    ModelKind, PoseConfig, PoseEstimator, RgbFrame, RuntimeConfig, StageTimes, Tracker,
    TrackerConfig,
};

#[derive(Parser)]
struct Args {
    /// Frames to process (from the start of the video).
    #[arg(long, default_value_t = 50)]
    frames: usize,
    /// Alternating Rust/Python rounds per pipeline.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// `PoseConfig::crop_threads` of the Rust latency pipelines (0 = the default, 2).
    #[arg(long, default_value_t = 0)]
    crop_threads: usize,
    /// Video file (default: ../shared/media/pose2sim/single/cam01.mp4, 1080x1920).
    #[arg(long)]
    video: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session, for both pipelines (0 = ONNX Runtime default).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Skip the Python reference.
    #[arg(long)]
    no_python: bool,
    /// Only the stage micro-benchmark.
    #[arg(long)]
    stages_only: bool,
    /// Frames for the 640x480 throughput test.
    #[arg(long, default_value_t = 200)]
    throughput_frames: usize,
}

/// Decodes the first `n` frames of `video` to packed RGB with ffmpeg; with `fit`, each frame is
/// scaled to fit that size (aspect kept) and padded with black, like a webcam frame.
fn decode_frames(
    video: &Path,
    n: usize,
    fit: Option<(u32, u32)>,
) -> Result<(u32, u32, Vec<Vec<u8>>)> {
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .context("running ffprobe")?;
    let dims = String::from_utf8_lossy(&probe.stdout);
    let mut it = dims.trim().split(',').map(|s| s.trim().parse::<u32>());
    let (w0, h0) = match (it.next(), it.next()) {
        (Some(Ok(w)), Some(Ok(h))) => (w, h),
        _ => bail!(
            "ffprobe could not read the size of {}: {dims:?}",
            video.display()
        ),
    };
    let (w, h) = fit.unwrap_or((w0, h0));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-i"]).arg(video);
    if fit.is_some() {
        let filter = format!(
            "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
        );
        cmd.args(["-vf", &filter]);
    }
    let out = cmd
        .args([
            "-frames:v",
            &n.to_string(),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .context("running ffmpeg")?;
    let size = (w * h * 3) as usize;
    let frames: Vec<Vec<u8>> = out.stdout.chunks_exact(size).map(<[u8]>::to_vec).collect();
    if frames.is_empty() {
        bail!("ffmpeg decoded no frame from {}", video.display());
    }
    Ok((w, h, frames))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per-stage medians (ms) in the reference's key names.
#[derive(Default, Clone)]
struct Medians {
    det_pre: f64,
    det_infer: f64,
    det_post: f64,
    lm_pre: f64,
    lm_infer: f64,
    lm_post: f64,
    total: f64,
    detector_frames: usize,
    frames: usize,
}

impl Medians {
    fn from_samples(samples: &[(StageTimes, f64, bool)]) -> Self {
        let col = |f: &dyn Fn(&StageTimes) -> f64, only_det: bool| {
            let mut v: Vec<f64> = samples
                .iter()
                .filter(|s| !only_det || s.2)
                .map(|s| f(&s.0))
                .collect();
            median(&mut v)
        };
        let mut totals: Vec<f64> = samples.iter().map(|s| s.1).collect();
        Self {
            det_pre: col(&|t| t.det_pre, true),
            det_infer: col(&|t| t.det_infer, true),
            det_post: col(&|t| t.det_post, true),
            lm_pre: col(&|t| t.lm_pre, false),
            lm_infer: col(&|t| t.lm_infer, false),
            lm_post: col(&|t| t.lm_post, false),
            total: median(&mut totals),
            detector_frames: samples.iter().filter(|s| s.2).count(),
            frames: samples.len(),
        }
    }

    fn line(&self, label: &str) -> String {
        let f = |v: f64| {
            if v.is_nan() {
                "    -".to_string()
            } else {
                format!("{v:6.2}")
            }
        };
        format!(
            "{label:<28} {} {} {} {} {} {} | {} | det on {}/{} frames",
            f(self.det_pre),
            f(self.det_infer),
            f(self.det_post),
            f(self.lm_pre),
            f(self.lm_infer),
            f(self.lm_post),
            f(self.total),
            self.detector_frames,
            self.frames
        )
    }

    fn non_model(&self) -> f64 {
        let z = |v: f64| if v.is_nan() { 0.0 } else { v };
        z(self.det_pre) + z(self.det_post) + z(self.lm_pre) + z(self.lm_post)
    }

    fn model(&self) -> f64 {
        let z = |v: f64| if v.is_nan() { 0.0 } else { v };
        z(self.det_infer) + z(self.lm_infer)
    }
}

fn config(model: ModelKind, threads: usize) -> PoseConfig {
    PoseConfig {
        runtime: RuntimeConfig {
            model,
            intra_threads: threads,
            ..Default::default()
        },
        max_poses: 1,
        ..Default::default()
    }
}

/// One frame's stage times, total time (ms) and whether the detector ran.
type Sample = (StageTimes, f64, bool);

fn run_rust(
    model: ModelKind,
    threads: usize,
    crop_threads: usize,
    track: bool,
    w: u32,
    h: u32,
    frames: &[Vec<u8>],
) -> Result<Vec<Sample>> {
    let mut samples = Vec::with_capacity(frames.len());
    // Each frame is copied into a working buffer just before it is timed, as the reference's
    // `cv2.cvtColor` produces its RGB frame just before its timed section: both pipelines start
    // on a frame that was just written (decode and conversion excluded on both sides), not on one
    // of the 40 x 6 MB frames decoded up front, which would be out of every cache.
    let mut work = vec![0u8; frames.first().map_or(0, Vec::len)];
    let mut cfg = config(model, threads);
    if crop_threads > 0 {
        cfg.crop_threads = crop_threads;
    }
    let (mut tracker, mut est) = if track {
        (Some(Tracker::new(cfg, TrackerConfig::default())?), None)
    } else {
        (None, Some(PoseEstimator::new(cfg)?))
    };
    for data in frames {
        work.copy_from_slice(data);
        let frame = RgbFrame::new(w, h, &work)?;
        // The first frame includes session warm-up on both sides; the medians are unaffected.
        if let Some(tracker) = tracker.as_mut() {
            tracker.estimator().reset_times();
            let t0 = Instant::now();
            tracker.process(&frame, 0.0)?;
            let total = t0.elapsed().as_secs_f64() * 1e3;
            samples.push((tracker.estimator().times(), total, tracker.detector_ran()));
        } else if let Some(est) = est.as_mut() {
            est.reset_times();
            let t0 = Instant::now();
            est.estimate(&frame)?;
            let total = t0.elapsed().as_secs_f64() * 1e3;
            samples.push((est.times(), total, true));
        }
    }
    Ok(samples)
}

fn run_python(
    video: &Path,
    model: ModelKind,
    threads: usize,
    track: bool,
    n: usize,
) -> Result<Vec<Sample>> {
    let root = crate::support::workspace_root();
    let python = root.join(".cache/venv/bin/python");
    let script = crate::support::shared("tools/pose_ref.py");
    let out =
        std::env::temp_dir().join(format!("pose_bench_{}_{}.json", model, std::process::id()));
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(video)
        .args(["--model", model.name(), "--max-frames", &n.to_string()])
        .args(["--threads", &threads.to_string(), "--json"])
        .arg(&out)
        .arg("--quiet");
    if track {
        cmd.arg("--track");
    }
    let status = cmd
        .status()
        .context(&format!("running {}", python.display()))?;
    if !status.success() {
        bail!("pose_ref.py failed: {status}");
    }
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let _ = std::fs::remove_file(&out);
    let frames = js["frames"]
        .as_array()
        .context("no frames in pose_ref output")?;
    let mut samples = Vec::new();
    for fr in frames {
        let t = &fr["timings_ms"];
        let g = |k: &str| t[k].as_f64().unwrap_or(0.0);
        let ran_det = t.get("det_infer").is_some();
        samples.push((
            StageTimes {
                det_pre: g("det_pre"),
                det_infer: g("det_infer"),
                det_post: g("det_post") + g("roi"),
                lm_pre: g("lm_pre"),
                lm_infer: g("lm_infer"),
                lm_post: g("lm_post"),
            },
            g("total"),
            ran_det,
        ));
    }
    Ok(samples)
}

/// Frames per second of tracking with `workers` threads, each with its own tracker over a
/// contiguous share of the frames (one session pair per worker, 1 intra-op thread each; the
/// default 2 crop threads with one worker, 1 with several).
fn throughput(workers: usize, w: u32, h: u32, frames: &[Vec<u8>]) -> Result<f64> {
    let trackers: Vec<Tracker> = (0..workers)
        .map(|_| {
            // One crop thread per worker once every core has its own worker.
            let mut cfg = config(ModelKind::Lite, 1);
            cfg.crop_threads = if workers > 1 { 1 } else { cfg.crop_threads };
            Tracker::new(cfg, TrackerConfig::default())
        })
        .collect::<Result<_, _>>()?;
    let chunk = frames.len().div_ceil(workers);
    let t0 = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = trackers
            .into_iter()
            .zip(frames.chunks(chunk))
            .map(|(mut tracker, part)| {
                s.spawn(move || -> Result<()> {
                    for data in part {
                        tracker.process(&RgbFrame::new(w, h, data)?, 0.0)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "worker panicked")??;
        }
        Ok(())
    })?;
    Ok(frames.len() as f64 / t0.elapsed().as_secs_f64())
}

/// Median time (ms) of the pre/post-processing stages alone, repeated on one frame.
fn stage_micro(w: u32, h: u32, data: &[u8]) -> Result<()> {
    use pose_core::detector::{DetectorConfig, Letterbox, decode_detections, detector_input};
    use pose_core::landmarks::{RawLandmarks, landmark_input, postprocess};
    let frame = RgbFrame::new(w, h, data)?;
    let mut est = PoseEstimator::new(config(ModelKind::Lite, 1))?;
    let mut det_t = vec![0f32; 224 * 224 * 3];
    let mut lm_t = vec![0f32; 256 * 256 * 3];
    let lb = detector_input(&frame, 1, &mut det_t);
    let (boxes, scores) = est.run_detector_model(&det_t)?;
    let dets = decode_detections(&boxes, &scores, &lb, w, h, &DetectorConfig::default());
    let roi = pose_core::Roi::from_detection(dets.first().context("no detection in frame 0")?);
    landmark_input(&frame, &roi, 1, &mut lm_t);
    let out = est.run_landmark_model(&lm_t)?;
    let time = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..50)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(&mut v)
    };
    let a = time(&mut || {
        std::hint::black_box(detector_input(&frame, 1, &mut det_t));
    });
    let b = time(&mut || {
        std::hint::black_box(decode_detections(
            &boxes,
            &scores,
            &lb,
            w,
            h,
            &DetectorConfig::default(),
        ));
    });
    let c = time(&mut || landmark_input(&frame, &roi, 1, &mut lm_t));
    let a2 = time(&mut || {
        std::hint::black_box(detector_input(&frame, 2, &mut det_t));
    });
    let c2 = time(&mut || landmark_input(&frame, &roi, 2, &mut lm_t));
    let d = time(&mut || {
        std::hint::black_box(postprocess(
            &RawLandmarks {
                landmarks: &out.landmarks,
                presence: out.presence,
                heatmap: Some(&out.heatmap),
                world: &out.world,
            },
            &roi,
        ));
    });
    let _ = Letterbox::new(w, h);
    println!(
        "stages alone (median of 50, ms): detector input {a:.3} (2 crop threads {a2:.3}), decode+NMS {b:.3}, \
         landmark input {c:.3} (2 crop threads {c2:.3}), landmark post {d:.3}"
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let video = match args.video {
        Some(v) => v,
        None => crate::support::shared("media/pose2sim/single/cam01.mp4"),
    };
    let (w, h, frames) = decode_frames(&video, args.frames, None)?;
    println!(
        "pose_bench: {} frames {w}x{h} of {}, intra-op threads {}, decode excluded; medians in ms",
        frames.len(),
        video.display(),
        args.threads
    );
    stage_micro(w, h, &frames[0])?;
    if args.stages_only {
        return Ok(());
    }
    println!(
        "{:<28} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} | {:>6}",
        "pipeline", "detpre", "detinf", "detpst", "lmpre", "lminf", "lmpst", "total"
    );
    let rounds = args.rounds.max(1);
    for model in [ModelKind::Lite, ModelKind::Full] {
        for track in [false, true] {
            let mode = if track { "track" } else { "detect" };
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let mut round_ratios = Vec::new();
            for round in 0..rounds {
                let rust = |ours: &mut Vec<Sample>| -> Result<f64> {
                    let s = run_rust(model, args.threads, args.crop_threads, track, w, h, &frames)?;
                    let total = Medians::from_samples(&s).total;
                    ours.extend(s);
                    Ok(total)
                };
                let python = |theirs: &mut Vec<Sample>| -> Result<f64> {
                    if args.no_python {
                        return Ok(f64::NAN);
                    }
                    let s = run_python(&video, model, args.threads, track, frames.len())?;
                    let total = Medians::from_samples(&s).total;
                    theirs.extend(s);
                    Ok(total)
                };
                let (r, p) = if round % 2 == 0 {
                    let r = rust(&mut ours)?;
                    (r, python(&mut theirs)?)
                } else {
                    let p = python(&mut theirs)?;
                    (rust(&mut ours)?, p)
                };
                round_ratios.push(r / p);
            }
            let ours = Medians::from_samples(&ours);
            println!("{}", ours.line(&format!("rust   {model} {mode}")));
            println!(
                "{:<28} pre+post {:.2} ms = {:.1} % of model time {:.2} ms",
                "",
                ours.non_model(),
                100.0 * ours.non_model() / ours.model(),
                ours.model()
            );
            if !args.no_python {
                let py = Medians::from_samples(&theirs);
                println!("{}", py.line(&format!("python {model} {mode}")));
                let per_round: Vec<String> =
                    round_ratios.iter().map(|r| format!("{r:.2}")).collect();
                println!(
                    "{:<28} ratio rust/python total {:.2} (rounds: {}; pre+post {:.2} vs {:.2} ms)",
                    "",
                    ours.total / py.total,
                    per_round.join(" "),
                    ours.non_model(),
                    py.non_model()
                );
            }
        }
    }
    let (tw, th, small) = decode_frames(&video, args.throughput_frames, Some((640, 480)))?;
    let one = throughput(1, tw, th, &small)?;
    let two = throughput(2, tw, th, &small)?;
    println!(
        "throughput lite, tracking, {} frames {tw}x{th}: 1 worker {one:.1} frames/s, 2 workers {two:.1} frames/s (x{:.2})",
        small.len(),
        two / one
    );
    Ok(())
}
