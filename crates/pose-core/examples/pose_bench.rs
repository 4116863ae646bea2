//! Pose pipeline benchmark against the Python reference (`../shared/tools/pose_ref.py`) and,
//! with `--mediapipe`, MediaPipe 0.10.14 itself (`../shared/tools/baselines/mediapipe_pose.py` in
//! `.cache/mpvenv`, installed by `scripts/setup_mediapipe.sh`), on the same video frames, in one
//! run; prints per-stage medians and ratios, then the throughput of tracking on 640x480 frames with
//! one and two workers. `--extract` instead compares whole processes: the `extract` example
//! against MediaPipe's video mode on the same video.
//!
//! ```text
//! cargo run --release -p pose-core --example pose_bench -- [--frames 50] [--rounds 3] [--video PATH] [--threads 1] [--crop-threads 2] [--no-python] [--mediapipe] [--model lite|full]... [--mode detect|track]...
//! cargo build --release -p pose-core --features video --example extract && \
//!   cargo run --release -p pose-core --example pose_bench -- --extract [--extract-frames 500] [--rounds 3] [--model full]
//! ```
//!
//! Each pipeline (lite/full, detector on every frame/tracking) runs `--rounds` times on the same
//! frames, alternating the sides (Rust, Python, MediaPipe; the order rotates by one every round, a
//! fresh estimator or process each round), so that all see the same machine load; the medians are
//! over all frames of all rounds, and the ratio of every round is printed too.
//!
//! Frames are decoded once up front with the `ffmpeg` CLI (decode is excluded from all timings,
//! as in the reference); each is copied into a working buffer just before it is timed, as the
//! reference's `cvtColor` writes its RGB frame just before its timed section. The Python
//! reference runs with `.cache/venv/bin/python ../shared/tools/pose_ref.py VIDEO --model M
//! --max-frames N --threads T [--track] --json OUT --quiet`, and its per-frame `timings_ms` are
//! read back from OUT. MediaPipe runs with `.cache/mpvenv/bin/python mediapipe_pose.py VIDEO
//! --frames N --complexity 0|1 [--static] --json OUT` (tracking = video mode with its default
//! landmark smoothing, detector every frame = `static_image_mode`; frames decoded by OpenCV up
//! front, each `pose.process` timed alone on a fresh copy), and its per-frame `ms` are read back;
//! MediaPipe picks its own threads (XNNPACK), `--threads` does not apply to it.
//!
//! `--extract` (wall and CPU time, the latter from `/proc/self/stat`'s children times, which load
//! disturbs less): a video of `--extract-frames` frames is made by looping the video (`ffmpeg
//! -stream_loop`, stream copy: same frames, no re-encoding), then `extract VIDEO --fps <video fps>
//! --out CSV --model M --quiet` (every frame, the sibling binary of this example) and
//! `mediapipe_pose.py VIDEO --whole --complexity C` alternate for `--rounds` rounds; both wall
//! times are from process start to exit (imports, model loading and decoding included).

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
    /// Let idle intra-op threads spin (`RuntimeConfig::intra_spinning`; with `--threads` != 1).
    #[arg(long)]
    spinning: bool,
    /// Only the stage micro-benchmark.
    #[arg(long)]
    stages_only: bool,
    /// Frames for the 640x480 throughput test (0 = skip it).
    #[arg(long, default_value_t = 200)]
    throughput_frames: usize,
    /// Add MediaPipe 0.10.14 (`.cache/mpvenv`, `scripts/setup_mediapipe.sh`) as a baseline.
    #[arg(long)]
    mediapipe: bool,
    /// Landmark models to run (repeatable; default lite and full).
    #[arg(long)]
    model: Vec<ModelKind>,
    /// Pipelines to run: `detect` (detector every frame) and/or `track` (repeatable; default both).
    #[arg(long, value_parser = ["detect", "track"])]
    mode: Vec<String>,
    /// Whole-process comparison instead: the `extract` example vs MediaPipe's video mode.
    #[arg(long)]
    extract: bool,
    /// Frames of the looped video for `--extract`.
    #[arg(long, default_value_t = 500)]
    extract_frames: usize,
}

/// Goal of issue 16 for a pipeline: our time / MediaPipe's at most this.
fn mediapipe_goal(track: bool) -> f64 {
    if track { 0.5 } else { 0.7 }
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

/// `--spinning`, set once by `main`.
static SPINNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn config(model: ModelKind, threads: usize) -> PoseConfig {
    PoseConfig {
        runtime: RuntimeConfig {
            model,
            intra_threads: threads,
            intra_spinning: SPINNING.load(std::sync::atomic::Ordering::Relaxed),
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

fn mediapipe_python() -> Result<PathBuf> {
    let python = crate::support::workspace_root().join(".cache/mpvenv/bin/python");
    if !python.is_file() {
        bail!(
            "{} not found: run scripts/setup_mediapipe.sh (MediaPipe 0.10.14 in its own venv)",
            python.display()
        );
    }
    Ok(python)
}

fn complexity(model: ModelKind) -> &'static str {
    match model {
        ModelKind::Lite => "0",
        ModelKind::Full => "1",
        ModelKind::Heavy => "2",
    }
}

/// MediaPipe's per-frame `pose.process` times (ms) on the first `n` frames of `video`.
fn run_mediapipe(video: &Path, model: ModelKind, track: bool, n: usize) -> Result<Vec<Sample>> {
    let python = mediapipe_python()?;
    let script = crate::support::shared("tools/baselines/mediapipe_pose.py");
    let out =
        std::env::temp_dir().join(format!("pose_bench_mp_{model}_{}.json", std::process::id()));
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(video)
        .args([
            "--frames",
            &n.to_string(),
            "--complexity",
            complexity(model),
            "--json",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if !track {
        cmd.arg("--static");
    }
    let status = cmd
        .status()
        .context(&format!("running {}", python.display()))?;
    if !status.success() {
        bail!("mediapipe_pose.py failed: {status}");
    }
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let _ = std::fs::remove_file(&out);
    let frames = js["frames"]
        .as_array()
        .context("no frames in mediapipe_pose output")?;
    Ok(frames
        .iter()
        .map(|f| {
            let nan = StageTimes {
                det_pre: f64::NAN,
                det_infer: f64::NAN,
                det_post: f64::NAN,
                lm_pre: f64::NAN,
                lm_infer: f64::NAN,
                lm_post: f64::NAN,
            };
            (nan, f["ms"].as_f64().unwrap_or(f64::NAN), !track)
        })
        .collect())
}

/// Frames per second of `video` (ffprobe's `r_frame_rate`).
fn video_fps(video: &Path) -> Result<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=r_frame_rate", "-of", "csv=p=0"])
        .arg(video)
        .output()
        .context("running ffprobe")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.trim().split('/').map(|s| s.parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(n)), Some(Ok(d))) if d > 0.0 => Ok(n / d),
        (Some(Ok(n)), None) => Ok(n),
        _ => bail!(
            "ffprobe could not read the frame rate of {}: {text:?}",
            video.display()
        ),
    }
}

/// CPU time (s, user + system) of this process's waited-for children so far: `cutime` and
/// `cstime` of `/proc/self/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`); NaN elsewhere.
fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(13)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() == 2 {
        (f[0] + f[1]) / 100.0
    } else {
        f64::NAN
    }
}

/// Wall time and CPU time (s) of a whole process.
fn wall(cmd: &mut Command, what: &str) -> Result<(f64, f64)> {
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let out = cmd.output().context(&format!("running {what}"))?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = children_cpu() - cpu0;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((secs, cpu))
}

/// `--extract`: whole-process wall time of the `extract` example against MediaPipe's video-mode
/// script on the same looped video.
fn extract_comparison(args: &Args, video: &Path) -> Result<()> {
    let extract = std::env::current_exe()?
        .parent()
        .context("no folder for this executable")?
        .join("extract");
    if !extract.is_file() {
        bail!(
            "{} not found: cargo build --release -p pose-core --features video --example extract",
            extract.display()
        );
    }
    let python = mediapipe_python()?;
    let script = crate::support::shared("tools/baselines/mediapipe_pose.py");
    let model = args.model.first().copied().unwrap_or(ModelKind::Full);
    let dir = std::env::temp_dir().join(format!("pose_bench_extract_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let looped = dir.join("looped.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "-1", "-i"])
        .arg(video)
        .args([
            "-frames:v",
            &args.extract_frames.to_string(),
            "-c",
            "copy",
            "-an",
        ])
        .arg(&looped)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg could not loop {}", video.display());
    }
    let (w, h, _) = decode_frames(&looped, 1, None)?;
    let fps = video_fps(&looped)?;
    println!(
        "extract: {} frames {w}x{h} ({} looped), every frame (--fps {fps}), model {model}, whole processes, load {}",
        args.extract_frames,
        video.display(),
        load_average()
    );
    let csv = dir.join("out.csv");
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ours_cpu, mut theirs_cpu) = (Vec::new(), Vec::new());
    for round in 0..args.rounds.max(1) {
        let rust = || {
            wall(
                Command::new(&extract)
                    .arg(&looped)
                    .args(["--fps", &fps.to_string(), "--out"])
                    .arg(&csv)
                    .args(["--model", model.name(), "--quiet"]),
                "extract",
            )
        };
        let mediapipe = || {
            wall(
                Command::new(&python).arg(&script).arg(&looped).args([
                    "--whole",
                    "--complexity",
                    complexity(model),
                ]),
                "mediapipe_pose.py --whole",
            )
        };
        let ((r, rc), (m, mc)) = if round % 2 == 0 {
            let r = rust()?;
            (r, mediapipe()?)
        } else {
            let m = mediapipe()?;
            (rust()?, m)
        };
        let rows = std::fs::read_to_string(&csv)?.lines().count();
        println!(
            "  round {round}: extract {r:.2} s wall, {rc:.2} s CPU ({rows} rows); mediapipe {m:.2} s wall, {mc:.2} s CPU; mediapipe/extract wall x{:.2}",
            m / r
        );
        ours.push(r);
        theirs.push(m);
        ours_cpu.push(rc);
        theirs_cpu.push(mc);
        ratios.push(m / r);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (r, m) = (median(&mut ours), median(&mut theirs));
    let (rc, mc) = (median(&mut ours_cpu), median(&mut theirs_cpu));
    println!(
        "extract median {r:.2} s, mediapipe median {m:.2} s (wall, whole process): extract is x{:.2} faster (median of rounds x{:.2}; goal >= x2.00); CPU {rc:.2} vs {mc:.2} s (x{:.2}); load {}",
        m / r,
        median(&mut ratios),
        mc / rc,
        load_average()
    );
    Ok(())
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
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
    SPINNING.store(args.spinning, std::sync::atomic::Ordering::Relaxed);
    let video = match &args.video {
        Some(v) => v.clone(),
        None => crate::support::shared("media/pose2sim/single/cam01.mp4"),
    };
    if args.extract {
        return extract_comparison(&args, &video);
    }
    let (w, h, frames) = decode_frames(&video, args.frames, None)?;
    println!(
        "pose_bench: {} frames {w}x{h} of {}, intra-op threads {} (spinning {}), decode excluded; medians in ms; load {}",
        frames.len(),
        video.display(),
        args.threads,
        args.spinning,
        load_average()
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
    let models = if args.model.is_empty() {
        vec![ModelKind::Lite, ModelKind::Full]
    } else {
        args.model.clone()
    };
    let tracks: Vec<bool> = if args.mode.is_empty() {
        vec![false, true]
    } else {
        [false, true]
            .into_iter()
            .filter(|t| args.mode.iter().any(|m| (m == "track") == *t))
            .collect()
    };
    // The sides of a round: 0 = Rust, 1 = Python reference, 2 = MediaPipe.
    let mut sides = vec![0usize];
    if !args.no_python {
        sides.push(1);
    }
    if args.mediapipe {
        sides.push(2);
    }
    for &model in &models {
        for &track in &tracks {
            let mode = if track { "track" } else { "detect" };
            let mut samples: [Vec<Sample>; 3] = Default::default();
            let mut round_totals: Vec<[f64; 3]> = Vec::new();
            for round in 0..rounds {
                let mut totals = [f64::NAN; 3];
                for k in 0..sides.len() {
                    let side = sides[(k + round) % sides.len()];
                    let s = match side {
                        0 => {
                            run_rust(model, args.threads, args.crop_threads, track, w, h, &frames)?
                        }
                        1 => run_python(&video, model, args.threads, track, frames.len())?,
                        _ => run_mediapipe(&video, model, track, frames.len())?,
                    };
                    totals[side] = Medians::from_samples(&s).total;
                    samples[side].extend(s);
                }
                round_totals.push(totals);
            }
            let ours = Medians::from_samples(&samples[0]);
            println!("{}", ours.line(&format!("rust   {model} {mode}")));
            println!(
                "{:<28} pre+post {:.2} ms = {:.1} % of model time {:.2} ms",
                "",
                ours.non_model(),
                100.0 * ours.non_model() / ours.model(),
                ours.model()
            );
            let per_round = |side: usize| -> String {
                round_totals
                    .iter()
                    .map(|t| format!("{:.2}", t[0] / t[side]))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if !args.no_python {
                let py = Medians::from_samples(&samples[1]);
                println!("{}", py.line(&format!("python {model} {mode}")));
                println!(
                    "{:<28} ratio rust/python total {:.2} (rounds: {}; pre+post {:.2} vs {:.2} ms)",
                    "",
                    ours.total / py.total,
                    per_round(1),
                    ours.non_model(),
                    py.non_model()
                );
            }
            if args.mediapipe {
                let mp = Medians::from_samples(&samples[2]);
                println!("{}", mp.line(&format!("mediapipe {model} {mode}")));
                let goal = mediapipe_goal(track);
                let ratio = ours.total / mp.total;
                println!(
                    "{:<28} ratio rust/mediapipe total {ratio:.2} (rounds: {}; goal <= {goal:.1}: {})",
                    "",
                    per_round(2),
                    if ratio <= goal { "met" } else { "not met" }
                );
            }
        }
    }
    println!("load {}", load_average());
    if args.throughput_frames == 0 {
        return Ok(());
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
