//! Reference tracks extracted once per video and cached (feature `video`): the poses of a video
//! in tracking mode, stored under `cache_dir` in a file named by the video's SHA-256, the model
//! and the sampling rate, so the next run with the same video loads them at once.
//!
//! The file for one person is a [`PoseTrack`] in JSON ([`PoseTrack::load`] reads it); for
//! several, a JSON array of tracks, track `k` holding the `k`-th person nearest the camera at
//! each sample (by the lower ankle's image y, lowest first: the same order in every camera of a
//! scene filmed from about the same height). Files are written to a temporary name and renamed, so a run
//! killed while writing leaves no half file; an unreadable or empty file, or one whose poses lack
//! their world landmarks (written before poses carried them), is extracted again.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::extract::{ExtractOptions, MAX_FILE_BYTES, PoseTrack, extract_video};
use crate::frame::RgbFrame;
use crate::pose::Pose;
use crate::runtime::{ModelKind, RuntimeConfig};
use crate::tracker::{Tracker, TrackerConfig};
use crate::{PoseConfig, video::VideoReader};

/// Highest sampling rate used when none is given (the video's own rate, at most this).
pub const MAX_DEFAULT_FPS: f64 = 30.0;

/// Bumped when what a cache file holds changes, so older files are extracted again.
const CACHE_FORMAT: &str = "";

/// Tracks loaded from the cache or just extracted.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedTracks {
    /// One track per person (one for [`load_or_extract`]).
    pub tracks: Vec<PoseTrack>,
    /// The cache file.
    pub file: PathBuf,
    /// Whether the tracks came from the cache (else they were extracted now).
    pub from_cache: bool,
}

/// SHA-256 of a file, lower-case hex.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest as _;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The cache file for `people` persons of `video` with `model` at `fps` (None: the video's own
/// rate, at most [`MAX_DEFAULT_FPS`]): `<sha256>-<model>-<fps>.json`, e.g.
/// `...-lite-native.json`, `...-full-60fps-2people.json`.
///
/// # Errors
/// [`Error::Io`] when the video cannot be read.
pub fn cache_file(
    video: &Path,
    fps: Option<f64>,
    model: ModelKind,
    people: usize,
    cache_dir: &Path,
) -> Result<PathBuf> {
    let hash = sha256_file(video)?;
    let fps = fps.map_or_else(|| "native".to_string(), |f| format!("{f}fps"));
    let people = if people > 1 {
        format!("-{people}people")
    } else {
        String::new()
    };
    Ok(cache_dir.join(format!(
        "{hash}-{}-{fps}{people}{CACHE_FORMAT}.json",
        model.name()
    )))
}

/// The poses of the one person in `video` (tracking mode, `model`, sampled at `fps`; None: the
/// video's own rate, at most [`MAX_DEFAULT_FPS`]), from the cache under `cache_dir` or extracted
/// now with a progress bar on stderr (drawn only on a terminal) and cached.
///
/// # Errors
/// As [`VideoReader::open`], [`Tracker::new`] and [`extract_video`]; [`Error::Io`] when the
/// cache cannot be written; [`Error::InvalidConfig`] when no frame could be read.
///
/// ```no_run
/// use pose_core::{ModelKind, load_or_extract};
/// let cached = load_or_extract("dance.mp4".as_ref(), None, ModelKind::Lite, ".cache/dancer".as_ref())?;
/// let track = &cached.tracks[0];
/// println!("{} samples at {} fps (from the cache: {})", track.samples.len(), track.fps, cached.from_cache);
/// # Ok::<(), pose_core::Error>(())
/// ```
pub fn load_or_extract(
    video: &Path,
    fps: Option<f64>,
    model: ModelKind,
    cache_dir: &Path,
) -> Result<CachedTracks> {
    load_or_extract_people(video, fps, model, 1, cache_dir)
}

/// [`load_or_extract`] for up to `people` persons: one track per person, track 0 the person
/// nearest the camera at each sample (the lowest ankle in the image), then the next.
///
/// # Errors
/// As [`load_or_extract`]; [`Error::InvalidConfig`] for `people` 0 or above the pose limit.
pub fn load_or_extract_people(
    video: &Path,
    fps: Option<f64>,
    model: ModelKind,
    people: usize,
    cache_dir: &Path,
) -> Result<CachedTracks> {
    let file = cache_file(video, fps, model, people, cache_dir)?;
    if let Some(tracks) = read_cache(&file, people) {
        return Ok(CachedTracks {
            tracks,
            file,
            from_cache: true,
        });
    }
    let tracks = extract_people(video, fps, model, people)?;
    write_cache(&file, &tracks, people)?;
    Ok(CachedTracks {
        tracks,
        file,
        from_cache: false,
    })
}

fn read_cache(file: &Path, people: usize) -> Option<Vec<PoseTrack>> {
    let tracks = if people == 1 {
        vec![PoseTrack::load(file).ok()?]
    } else {
        let mut text = Vec::new();
        std::fs::File::open(file)
            .ok()?
            .take(MAX_FILE_BYTES)
            .read_to_end(&mut text)
            .ok()?;
        serde_json::from_slice::<Vec<PoseTrack>>(&text).ok()?
    };
    let usable = tracks.len() == people && tracks.iter().all(|t| !t.samples.is_empty());
    // Files written before poses carried their world landmarks are extracted again.
    let poses = || {
        tracks
            .iter()
            .flat_map(|t| &t.samples)
            .filter_map(|s| s.pose.as_ref())
    };
    let has_world = poses().all(|p| p.world.is_some());
    (usable && has_world).then_some(tracks)
}

fn write_cache(file: &Path, tracks: &[PoseTrack], people: usize) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = file.with_extension(format!("{}.tmp.json", std::process::id()));
    match (people, tracks) {
        (1, [track]) => track.save(&tmp)?,
        _ => {
            let json = serde_json::to_vec(tracks).map_err(|source| Error::Json {
                path: tmp.clone(),
                source,
            })?;
            std::fs::write(&tmp, json).map_err(io(&tmp))?;
        }
    }
    std::fs::rename(&tmp, file).map_err(io(file))
}

fn extract_people(
    video: &Path,
    fps: Option<f64>,
    model: ModelKind,
    people: usize,
) -> Result<Vec<PoseTrack>> {
    let fps = match fps {
        Some(f) => f,
        None => VideoReader::open(video, MAX_DEFAULT_FPS)?
            .info()
            .fps
            .min(MAX_DEFAULT_FPS),
    };
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model,
            intra_threads: 0,
            ..RuntimeConfig::default()
        },
        max_poses: people,
        ..PoseConfig::default()
    };
    let mut tracker = Tracker::new(config, TrackerConfig::default())?;
    let name = video.file_name().map_or_else(
        || video.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let label = format!("{name} keypoints ({})", model.name());
    // The first person goes in the track; the others wait beside it, per sample.
    let mut others: Vec<Vec<Pose>> = Vec::new();
    let first = extract_video(video, fps, &ExtractOptions::with_progress(label), |frame| {
        let rgb = RgbFrame::new(frame.width, frame.height, &frame.rgb)?;
        let mut poses: Vec<Pose> = tracker.process(&rgb, frame.time)?;
        poses.sort_by(|a, b| ankle_y(b).total_cmp(&ankle_y(a)));
        let mut poses = poses.into_iter();
        let first = poses.next();
        others.push(poses.collect());
        Ok(first)
    })?;
    if first.samples.is_empty() {
        return Err(Error::InvalidConfig {
            name: "video",
            message: format!("no frame could be read from {}", video.display()),
        });
    }
    let mut tracks = vec![first.clone(); people];
    for (k, track) in tracks.iter_mut().enumerate().skip(1) {
        for (sample, rest) in track.samples.iter_mut().zip(&others) {
            sample.pose = rest.get(k - 1).copied();
        }
    }
    Ok(tracks)
}

/// The lower ankle's image y: the person nearer the camera stands lower in the frame.
fn ankle_y(p: &Pose) -> f32 {
    p.landmarks[27].y.max(p.landmarks[28].y)
}
