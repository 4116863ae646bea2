//! The dancer reference: keypoints of the dancer video, extracted once with pose-core and cached
//! as a pose-core track file under `cache_dir/<sha256 of the video>-<model>-<fps>.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use pose_core::extract::{ExtractOptions, PoseTrack, extract_video};
use pose_core::{ModelKind, Pose, PoseConfig, RgbFrame, RuntimeConfig, Tracker, TrackerConfig};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Highest default sampling rate of the dancer reference.
const MAX_DEFAULT_FPS: f64 = 30.0;

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The cache file for `video` with `model` at `fps` (None: the video's own rate, capped).
pub fn cache_path(
    video: &Path,
    cache_dir: &Path,
    model: ModelKind,
    fps: Option<f64>,
) -> anyhow::Result<PathBuf> {
    let hash = sha256_file(video)?;
    let fps = fps.map_or_else(|| "native".to_string(), |f| format!("{f}fps"));
    Ok(cache_dir.join(format!("{hash}-{}-{fps}.json", model.name())))
}

/// Loads the cached reference of `video`, or extracts it (progress bar on stderr) and caches it.
pub fn load_or_extract(
    video: &Path,
    cache_dir: &Path,
    model: ModelKind,
    fps: Option<f64>,
) -> anyhow::Result<PoseTrack> {
    let path = cache_path(video, cache_dir, model, fps)?;
    if path.exists() {
        match PoseTrack::load(&path) {
            Ok(track) if !track.samples.is_empty() => {
                tracing::info!(
                    "dancer: {} reference frames from the cache {}",
                    track.samples.len(),
                    path.display()
                );
                return Ok(track);
            }
            Ok(_) => tracing::warn!("dancer: empty cache file {}, extracting", path.display()),
            Err(e) => tracing::warn!("dancer: unreadable cache ({e}), extracting"),
        }
    }
    let track = extract(video, model, fps)?;
    anyhow::ensure!(
        !track.samples.is_empty(),
        "no frame could be read from {}",
        video.display()
    );
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create {}", cache_dir.display()))?;
    // Write then rename, so a server killed mid-write leaves no half file behind.
    let tmp = path.with_extension(format!("{}.tmp.json", std::process::id()));
    track.save(&tmp)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!("dancer: cached in {}", path.display());
    Ok(track)
}

/// Extracts the dancer's poses with pose-core in video (tracking) mode.
fn extract(video: &Path, model: ModelKind, fps: Option<f64>) -> anyhow::Result<PoseTrack> {
    let fps = match fps {
        Some(f) => f,
        None => {
            let info = pose_core::video::VideoReader::open(video, MAX_DEFAULT_FPS)?.info();
            info.fps.min(MAX_DEFAULT_FPS)
        }
    };
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model,
            intra_threads: 0,
            ..RuntimeConfig::default()
        },
        ..PoseConfig::default()
    };
    let mut tracker = Tracker::new(config, TrackerConfig::default())?;
    let label = format!("dancer keypoints ({})", model.name());
    let track = extract_video(video, fps, &ExtractOptions::with_progress(label), |frame| {
        let rgb = RgbFrame::new(frame.width, frame.height, &frame.rgb)?;
        Ok(tracker.process(&rgb, frame.time)?.into_iter().next())
    })?;
    let found = track.samples.iter().filter(|s| s.pose.is_some()).count();
    tracing::info!(
        "dancer: {} frames at {fps} fps, a person in {found}",
        track.samples.len()
    );
    Ok(track)
}

/// The reference as the page wants it: `{"fps","width","height","frames":[[[x,y,v],...33]|null]}`.
pub fn page_json(reference: &PoseTrack) -> Bytes {
    #[derive(Serialize)]
    struct Page {
        fps: f64,
        width: u32,
        height: u32,
        duration_s: f64,
        frames: Vec<Option<Vec<[f32; 3]>>>,
    }
    let frames = reference
        .samples
        .iter()
        .map(|s| s.pose.as_ref().map(keypoints_xyv))
        .collect();
    let page = Page {
        fps: reference.fps,
        width: reference.width,
        height: reference.height,
        duration_s: reference.duration(),
        frames,
    };
    Bytes::from(serde_json::to_vec(&page).unwrap_or_default())
}

/// `[x, y, visibility]` per landmark, rounded for a compact JSON.
pub fn keypoints_xyv(pose: &Pose) -> Vec<[f32; 3]> {
    pose.landmarks
        .iter()
        .map(|l| {
            [
                (l.x * 10.0).round() / 10.0,
                (l.y * 10.0).round() / 10.0,
                (l.visibility * 100.0).round() / 100.0,
            ]
        })
        .collect()
}
