//! Video mode: [`Tracker`] follows up to `max_poses` persons from frame to frame. Each track's
//! next ROI comes from its auxiliary landmarks 33 and 34 (MediaPipe's `PoseLandmarksToRoi`); the
//! detector runs only when there is no track, or (multi-person) when fewer than `max_poses`
//! persons are tracked and `redetect_interval` frames have passed. A track whose pose presence
//! drops below `min_presence` is dropped. Optional One Euro smoothing per track.

use std::ops::DerefMut;

use crate::error::Result;
use crate::estimator::{PoseConfig, PoseEstimator};
use crate::frame::RgbFrame;
use crate::landmarks::LandmarkResult;
use crate::pose::Pose;
use crate::roi::Roi;
use crate::smoothing::{LandmarkSmoother, OneEuroConfig};

/// Tracking options.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrackerConfig {
    /// With fewer than `max_poses` tracks, run the detector again every this many frames to pick
    /// up new persons (0 = only when no person is tracked, MediaPipe's single-person behaviour).
    pub redetect_interval: u32,
    /// A new detection whose ROI centre lies within this fraction of an existing track's ROI side
    /// from that track's centre is the same person and is ignored.
    pub duplicate_distance: f64,
    /// One Euro smoothing of the landmarks (None: raw landmarks, as the golden outputs).
    pub smoothing: Option<OneEuroConfig>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            redetect_interval: 10,
            duplicate_distance: 0.25,
            smoothing: None,
        }
    }
}

/// One followed person.
#[derive(Debug, Clone)]
pub struct Track {
    /// Stable id (increasing from 0 over the tracker's life).
    pub id: u64,
    /// The ROI the landmark model will use on the next frame.
    pub roi: Roi,
    /// The latest result (raw, not smoothed).
    pub last: LandmarkResult,
    /// Frames this track has been followed.
    pub age: u64,
    smoother: Option<LandmarkSmoother>,
}

/// A pose with the id of its track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedPose {
    /// The track id.
    pub id: u64,
    /// The pose (smoothed if smoothing is on).
    pub pose: Pose,
    /// Whether the pose came from the previous frame's ROI (true) or a fresh detection (false).
    pub tracked: bool,
}

/// Video-mode pose tracking over a [`PoseEstimator`] it owns: a [`TrackState`] and its estimator.
///
/// ```no_run
/// use pose_core::{PoseConfig, RgbImage, Tracker, TrackerConfig};
/// let mut tracker = Tracker::new(PoseConfig::default(), TrackerConfig::default())?;
/// for (i, path) in ["a.jpg", "b.jpg"].iter().enumerate() {
///     let img = RgbImage::open(path)?;
///     let poses = tracker.process(&img.as_frame(), i as f64 / 30.0)?;
///     println!("{} poses, detector ran: {}", poses.len(), tracker.detector_ran());
/// }
/// # Ok::<(), pose_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Tracker {
    estimator: PoseEstimator,
    state: TrackState,
}

impl Tracker {
    /// Loads the models and starts with no track.
    ///
    /// # Errors
    /// As [`PoseEstimator::new`].
    pub fn new(config: PoseConfig, tracker: TrackerConfig) -> Result<Self> {
        Ok(Self::from_estimator(PoseEstimator::new(config)?, tracker))
    }

    /// Tracks with an existing estimator.
    pub fn from_estimator(estimator: PoseEstimator, config: TrackerConfig) -> Self {
        Self {
            estimator,
            state: TrackState::new(config),
        }
    }

    /// The estimator (for its timings and configuration).
    pub fn estimator(&mut self) -> &mut PoseEstimator {
        &mut self.estimator
    }

    /// The current tracks.
    pub fn tracks(&self) -> &[Track] {
        self.state.tracks()
    }

    /// Whether the detector ran on the last frame.
    pub fn detector_ran(&self) -> bool {
        self.state.detector_ran()
    }

    /// Forgets all tracks (e.g. after a scene cut).
    pub fn reset(&mut self) {
        self.state.reset();
    }

    /// Poses in the next video frame; `timestamp` in seconds (video time, used by smoothing).
    ///
    /// # Errors
    /// [`crate::Error::Ort`] when a model fails.
    pub fn process(&mut self, frame: &RgbFrame<'_>, timestamp: f64) -> Result<Vec<Pose>> {
        self.state.process(&mut self.estimator, frame, timestamp)
    }

    /// Like [`process`](Self::process), with track ids.
    ///
    /// # Errors
    /// [`crate::Error::Ort`] when a model fails.
    pub fn process_tracked(
        &mut self,
        frame: &RgbFrame<'_>,
        timestamp: f64,
    ) -> Result<Vec<TrackedPose>> {
        self.state
            .process_tracked(&mut self.estimator, frame, timestamp)
    }
}

/// The tracking state of one video stream without an estimator of its own: each frame runs on
/// the estimator it is given, so many streams can share a few estimators (see
/// [`EstimatorPool`](crate::EstimatorPool)). Same behaviour as [`Tracker`].
///
/// ```no_run
/// use pose_core::{EstimatorPool, PoseConfig, RgbImage, TrackState, TrackerConfig};
/// let pool = EstimatorPool::new(PoseConfig::default(), 2)?;
/// let mut streams = [TrackState::new(TrackerConfig::default()), TrackState::new(TrackerConfig::default())];
/// let img = RgbImage::open("a.jpg")?;
/// for state in &mut streams {
///     let poses = state.process(pool.get()?, &img.as_frame(), 0.0)?;
///     println!("{} poses", poses.len());
/// }
/// # Ok::<(), pose_core::Error>(())
/// ```
#[derive(Debug)]
pub struct TrackState {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    frames_since_detection: u32,
    detector_ran: bool,
}

impl TrackState {
    /// No track yet.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            tracks: Vec::new(),
            next_id: 0,
            frames_since_detection: 0,
            detector_ran: false,
        }
    }

    /// The current tracks.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Whether the detector ran on the last frame.
    pub fn detector_ran(&self) -> bool {
        self.detector_ran
    }

    /// Forgets all tracks (e.g. after a scene cut).
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.frames_since_detection = 0;
    }

    /// Poses in the next video frame, computed with `estimator` (its config gives `max_poses`
    /// and `min_presence`): `&mut PoseEstimator`, or a [`PooledEstimator`](crate::PooledEstimator)
    /// (given back to its pool when this returns); `timestamp` in seconds.
    ///
    /// # Errors
    /// [`crate::Error::Ort`] when a model fails.
    pub fn process(
        &mut self,
        estimator: impl DerefMut<Target = PoseEstimator>,
        frame: &RgbFrame<'_>,
        timestamp: f64,
    ) -> Result<Vec<Pose>> {
        Ok(self
            .process_tracked(estimator, frame, timestamp)?
            .into_iter()
            .map(|t| t.pose)
            .collect())
    }

    /// Like [`process`](Self::process), with track ids.
    ///
    /// # Errors
    /// [`crate::Error::Ort`] when a model fails.
    pub fn process_tracked(
        &mut self,
        mut estimator: impl DerefMut<Target = PoseEstimator>,
        frame: &RgbFrame<'_>,
        timestamp: f64,
    ) -> Result<Vec<TrackedPose>> {
        let min_presence = estimator.config().min_presence;
        let max_poses = estimator.config().max_poses;
        self.detector_ran = false;
        // 1. Follow the existing tracks.
        let mut kept = Vec::with_capacity(self.tracks.len());
        let mut tracked_ids = Vec::new();
        for mut track in std::mem::take(&mut self.tracks) {
            if !track.roi.is_valid() {
                continue;
            }
            let res = estimator.landmarks(frame, &track.roi)?;
            if res.presence >= min_presence {
                track.roi = res.next_roi();
                track.last = res;
                track.age += 1;
                tracked_ids.push(track.id);
                kept.push(track);
            }
        }
        // Two tracks that converged onto the same person: keep the older one.
        let mut unique: Vec<Track> = Vec::with_capacity(kept.len());
        for track in kept {
            let dup = unique.iter().any(|u| {
                (u.roi.cx - track.roi.cx).hypot(u.roi.cy - track.roi.cy)
                    < self.config.duplicate_distance * u.roi.size.max(1.0)
            });
            if dup {
                tracked_ids.retain(|&id| id != track.id);
            } else {
                unique.push(track);
            }
        }
        self.tracks = unique;
        // 2. Detect when nobody is tracked, or periodically when there is room for more.
        self.frames_since_detection = self.frames_since_detection.saturating_add(1);
        let want_detection = self.tracks.is_empty()
            || (self.tracks.len() < max_poses
                && self.config.redetect_interval > 0
                && self.frames_since_detection >= self.config.redetect_interval);
        if want_detection {
            self.detector_ran = true;
            self.frames_since_detection = 0;
            let detections = estimator.detect(frame)?;
            for det in detections {
                if self.tracks.len() >= max_poses {
                    break;
                }
                let roi = Roi::from_detection(&det);
                if !roi.is_valid() || self.is_duplicate(&roi) {
                    continue;
                }
                let res = estimator.landmarks(frame, &roi)?;
                if res.presence < min_presence {
                    continue;
                }
                let id = self.next_id;
                self.next_id += 1;
                self.tracks.push(Track {
                    id,
                    roi: res.next_roi(),
                    last: res,
                    age: 1,
                    smoother: self.config.smoothing.map(LandmarkSmoother::new),
                });
            }
        }
        // 3. Output, smoothed per track.
        Ok(self
            .tracks
            .iter_mut()
            .map(|t| {
                let raw = t.last.to_pose();
                let pose = match t.smoother.as_mut() {
                    Some(s) => s.smooth(&raw, timestamp),
                    None => raw,
                };
                TrackedPose {
                    id: t.id,
                    pose,
                    tracked: tracked_ids.contains(&t.id),
                }
            })
            .collect())
    }

    fn is_duplicate(&self, roi: &Roi) -> bool {
        self.tracks.iter().any(|t| {
            let r = &t.last.roi;
            (roi.cx - r.cx).hypot(roi.cy - r.cy) < self.config.duplicate_distance * r.size.max(1.0)
                || (roi.cx - t.roi.cx).hypot(roi.cy - t.roi.cy)
                    < self.config.duplicate_distance * t.roi.size.max(1.0)
        })
    }
}
