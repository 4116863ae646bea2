//! [`PoseEstimator`]: the two models and the single-image pipeline (detector, ROI, landmarks),
//! with per-stage timings.

use std::time::Instant;

use ort::session::Session;
use ort::value::TensorRef;

use crate::anchors::NUM_ANCHORS;
use crate::detector::{
    DETECTOR_SIZE, Detection, DetectorConfig, Letterbox, NUM_COORDS, decode_detections,
    detector_input,
};
use crate::error::{Error, Result};
use crate::frame::RgbFrame;
use crate::landmarks::{
    HEATMAP_SIZE, LANDMARK_SIZE, LandmarkResult, NUM_RAW_LANDMARKS, RawLandmarks, landmark_input,
    postprocess,
};
use crate::pose::Pose;
use crate::roi::Roi;
use crate::runtime::{
    DETECTOR_SIGNATURE, LANDMARK_SIGNATURE, LANDMARK_SIGNATURE_NO_HEATMAP, Model, RuntimeConfig,
};

/// Most poses a single call may return (bounds the work per frame).
pub const MAX_POSES_LIMIT: usize = 64;

/// Configuration of the whole pipeline.
///
/// ```
/// let cfg = pose_core::PoseConfig { max_poses: 2, ..Default::default() };
/// assert_eq!(cfg.runtime.model, pose_core::ModelKind::Full);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PoseConfig {
    /// Runtime, models and session options.
    pub runtime: RuntimeConfig,
    /// Detector decoding (score threshold, NMS).
    pub detector: DetectorConfig,
    /// Most persons per frame (MediaPipe Pose: 1), at most [`MAX_POSES_LIMIT`].
    pub max_poses: usize,
    /// Pose presence below which a pose is dropped (and a track lost); MediaPipe: 0.5.
    pub min_presence: f32,
    /// Heatmap refinement of the landmarks (part of MediaPipe's output).
    pub refine_heatmap: bool,
    /// Threads (row bands on rayon's pool) for the two input crops, 1..=16; default 2, as the
    /// models run on one intra-op thread and the second core is otherwise idle meanwhile. Set 1
    /// when every core already runs its own estimator (throughput on many streams).
    pub crop_threads: usize,
}

impl Default for PoseConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            detector: DetectorConfig::default(),
            max_poses: 1,
            min_presence: 0.5,
            refine_heatmap: true,
            crop_threads: 2,
        }
    }
}

impl PoseConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_poses == 0 || self.max_poses > MAX_POSES_LIMIT {
            return Err(Error::InvalidConfig {
                name: "max_poses",
                message: format!("{} is not in 1..={MAX_POSES_LIMIT}", self.max_poses),
            });
        }
        if !(1..=16).contains(&self.crop_threads) {
            return Err(Error::InvalidConfig {
                name: "crop_threads",
                message: format!("{} is not in 1..=16", self.crop_threads),
            });
        }
        if !(0.0..=1.0).contains(&self.min_presence) {
            return Err(Error::InvalidConfig {
                name: "min_presence",
                message: format!("{} is not in [0, 1]", self.min_presence),
            });
        }
        if !(0.0..=1.0).contains(&self.detector.min_score)
            || !(0.0..=1.0).contains(&self.detector.nms_iou)
        {
            return Err(Error::InvalidConfig {
                name: "detector",
                message: format!("{:?}: score and IoU must be in [0, 1]", self.detector),
            });
        }
        Ok(())
    }
}

/// Milliseconds spent in each stage of the last call(s) (summed over persons).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    /// Detector input (letterbox warp and scaling).
    pub det_pre: f64,
    /// Detector model.
    pub det_infer: f64,
    /// Detector decoding, NMS, letterbox removal.
    pub det_post: f64,
    /// Landmark input (ROI warp and scaling).
    pub lm_pre: f64,
    /// Landmark model.
    pub lm_infer: f64,
    /// Landmark decoding, refinement, projection.
    pub lm_post: f64,
}

impl StageTimes {
    /// Sum of all stages.
    pub fn total(&self) -> f64 {
        self.det_pre + self.det_infer + self.det_post + self.lm_pre + self.lm_infer + self.lm_post
    }

    /// Pre- and post-processing only (everything but the two models).
    pub fn non_model(&self) -> f64 {
        self.det_pre + self.det_post + self.lm_pre + self.lm_post
    }
}

/// Full output of [`PoseEstimator::process_detailed`].
#[derive(Debug, Clone, PartialEq)]
pub struct FrameResult {
    /// Detections, best first.
    pub detections: Vec<Detection>,
    /// Landmark results for the first `max_poses` detections, present or not.
    pub poses: Vec<LandmarkResult>,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The BlazePose pipeline on single images: owns one detector and one landmark session.
///
/// One estimator runs one frame at a time (`&mut self`); for frames in parallel create one per
/// worker thread (sessions are cheap to create: ~100 ms, ~30 MB each).
///
/// ```no_run
/// use pose_core::{PoseConfig, PoseEstimator, RgbImage};
/// let mut est = PoseEstimator::new(PoseConfig::default())?;
/// let img = RgbImage::open("testdata/images/dancer_f060.jpg")?;
/// for pose in est.estimate(&img.as_frame())? {
///     let nose = pose.landmarks[0];
///     println!("score {:.2}, nose at ({:.1}, {:.1})", pose.score, nose.x, nose.y);
/// }
/// # Ok::<(), pose_core::Error>(())
/// ```
pub struct PoseEstimator {
    detector: Model,
    landmark: Model,
    config: PoseConfig,
    det_tensor: Vec<f32>,
    lm_tensor: Vec<f32>,
    times: StageTimes,
}

impl std::fmt::Debug for PoseEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoseEstimator")
            .field("detector", &self.detector.path)
            .field("landmark", &self.landmark.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PoseEstimator {
    /// Loads the detector and the configured landmark model.
    ///
    /// # Errors
    /// [`Error::NotFound`] (library or models found nowhere: the message lists every path looked
    /// at), [`Error::OrtLibrary`] (library not loadable), [`Error::Model`] (model missing or with
    /// unexpected inputs/outputs), [`Error::InvalidConfig`].
    pub fn new(config: PoseConfig) -> Result<Self> {
        config.validate()?;
        // Absolute paths, found from any directory (see `discovery`).
        let runtime = config.runtime.resolved()?;
        let detector = Model::load(
            &runtime,
            &runtime.detector_model_path(),
            &DETECTOR_SIGNATURE,
        )?;
        // Without refinement nobody reads the heatmap: load the model without that branch.
        let landmark_signature = if config.refine_heatmap {
            &LANDMARK_SIGNATURE
        } else {
            &LANDMARK_SIGNATURE_NO_HEATMAP
        };
        let landmark = Model::load(
            &runtime,
            &runtime.landmark_model_path(),
            landmark_signature,
        )?;
        Ok(Self {
            detector,
            landmark,
            config,
            det_tensor: vec![0.0; DETECTOR_SIZE * DETECTOR_SIZE * 3],
            lm_tensor: vec![0.0; LANDMARK_SIZE * LANDMARK_SIZE * 3],
            times: StageTimes::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PoseConfig {
        &self.config
    }

    /// Stage timings accumulated since the last [`reset_times`](Self::reset_times).
    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// Clears the stage timings.
    pub fn reset_times(&mut self) {
        self.times = StageTimes::default();
    }

    /// Runs the detector model on a prepared input tensor (224*224*3, NHWC, [-1, 1]); returns
    /// raw boxes (2254*12) and score logits (2254).
    ///
    /// # Errors
    /// [`Error::Ort`] when the model fails, [`Error::InvalidConfig`] for a wrong tensor length.
    pub fn run_detector_model(&mut self, tensor: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        run_detector(&mut self.detector.session, tensor, &self.detector.path)
    }

    /// Runs the landmark model on a prepared input tensor (256*256*3, NHWC, [0, 1]); returns
    /// landmarks (195), presence, heatmap (64*64*39; empty when the configuration has
    /// `refine_heatmap: false`, whose model is loaded without the heatmap branch) and world
    /// landmarks (117).
    ///
    /// # Errors
    /// [`Error::Ort`] when the model fails, [`Error::InvalidConfig`] for a wrong tensor length.
    pub fn run_landmark_model(&mut self, tensor: &[f32]) -> Result<RawLandmarkOutputs> {
        run_landmark(&mut self.landmark.session, tensor, &self.landmark.path)
    }

    /// Person detections in image pixels, best first.
    ///
    /// # Errors
    /// [`Error::Ort`] when the model fails.
    pub fn detect(&mut self, frame: &RgbFrame<'_>) -> Result<Vec<Detection>> {
        let t0 = Instant::now();
        let lb: Letterbox = detector_input(frame, self.config.crop_threads, &mut self.det_tensor);
        self.times.det_pre += ms_since(t0);
        let t1 = Instant::now();
        let (boxes, scores) = run_detector(
            &mut self.detector.session,
            &self.det_tensor,
            &self.detector.path,
        )?;
        self.times.det_infer += ms_since(t1);
        let t2 = Instant::now();
        let dets = decode_detections(
            &boxes,
            &scores,
            &lb,
            frame.width(),
            frame.height(),
            &self.config.detector,
        );
        self.times.det_post += ms_since(t2);
        Ok(dets)
    }

    /// Landmarks for one ROI (present or not: check [`LandmarkResult::is_present`]).
    ///
    /// # Errors
    /// [`Error::Ort`] when the model fails, [`Error::InvalidConfig`] for a degenerate ROI.
    pub fn landmarks(&mut self, frame: &RgbFrame<'_>, roi: &Roi) -> Result<LandmarkResult> {
        if !roi.is_valid() {
            return Err(Error::InvalidConfig {
                name: "roi",
                message: format!("{roi:?} is not a finite square larger than 1 px"),
            });
        }
        let t0 = Instant::now();
        landmark_input(frame, roi, self.config.crop_threads, &mut self.lm_tensor);
        self.times.lm_pre += ms_since(t0);
        let t1 = Instant::now();
        let out = run_landmark(
            &mut self.landmark.session,
            &self.lm_tensor,
            &self.landmark.path,
        )?;
        self.times.lm_infer += ms_since(t1);
        let t2 = Instant::now();
        let raw = RawLandmarks {
            landmarks: &out.landmarks,
            presence: out.presence,
            heatmap: self.config.refine_heatmap.then_some(&out.heatmap[..]),
            world: &out.world,
        };
        let res = postprocess(&raw, roi);
        self.times.lm_post += ms_since(t2);
        Ok(res)
    }

    /// Detector plus landmarks for the first `max_poses` detections, with all intermediate
    /// results (poses not present are included).
    ///
    /// # Errors
    /// [`Error::Ort`] when a model fails.
    pub fn process_detailed(&mut self, frame: &RgbFrame<'_>) -> Result<FrameResult> {
        let detections = self.detect(frame)?;
        let mut poses = Vec::new();
        for det in detections.iter().take(self.config.max_poses) {
            let roi = Roi::from_detection(det);
            if roi.is_valid() {
                poses.push(self.landmarks(frame, &roi)?);
            }
        }
        Ok(FrameResult { detections, poses })
    }

    /// Poses in a single image (static-image mode): detector, then landmarks for up to
    /// `max_poses` detections; poses with presence below `min_presence` are dropped.
    ///
    /// # Errors
    /// [`Error::Ort`] when a model fails.
    pub fn estimate(&mut self, frame: &RgbFrame<'_>) -> Result<Vec<Pose>> {
        let min = self.config.min_presence;
        Ok(self
            .process_detailed(frame)?
            .poses
            .iter()
            .filter(|p| p.presence >= min)
            .map(LandmarkResult::to_pose)
            .collect())
    }
}

/// Raw landmark model outputs (owned copies).
#[derive(Debug, Clone, PartialEq)]
pub struct RawLandmarkOutputs {
    /// `Identity`: 39 x 5.
    pub landmarks: Vec<f32>,
    /// `Identity_1`.
    pub presence: f32,
    /// `Identity_3`: 64 x 64 x 39; empty when the estimator runs without heatmap refinement
    /// (its model does not compute the heatmap).
    pub heatmap: Vec<f32>,
    /// `Identity_4`: 39 x 3.
    pub world: Vec<f32>,
}

fn ort_err(path: &std::path::Path, step: &str, e: impl std::fmt::Display) -> Error {
    Error::Ort {
        context: format!("{} ({step})", path.display()),
        message: e.to_string(),
    }
}

fn check_len(tensor: &[f32], want: usize, what: &'static str) -> Result<()> {
    if tensor.len() != want {
        return Err(Error::InvalidConfig {
            name: what,
            message: format!("tensor has {} floats, expected {want}", tensor.len()),
        });
    }
    Ok(())
}

fn extract(
    outputs: &ort::session::SessionOutputs<'_>,
    name: &str,
    want: usize,
    path: &std::path::Path,
) -> Result<Vec<f32>> {
    let value = outputs
        .get(name)
        .ok_or_else(|| ort_err(path, "outputs", format!("no output {name}")))?;
    let (_, data) = value
        .try_extract_tensor::<f32>()
        .map_err(|e| ort_err(path, name, e))?;
    if data.len() != want {
        return Err(ort_err(
            path,
            name,
            format!("{} values, expected {want}", data.len()),
        ));
    }
    Ok(data.to_vec())
}

fn run_detector(
    session: &mut Session,
    tensor: &[f32],
    path: &std::path::Path,
) -> Result<(Vec<f32>, Vec<f32>)> {
    check_len(tensor, DETECTOR_SIZE * DETECTOR_SIZE * 3, "detector tensor")?;
    let input = TensorRef::from_array_view(([1usize, DETECTOR_SIZE, DETECTOR_SIZE, 3], tensor))
        .map_err(|e| ort_err(path, "input", e))?;
    let outputs = session
        .run(ort::inputs!["input_1" => input])
        .map_err(|e| ort_err(path, "run", e))?;
    let boxes = extract(&outputs, "Identity", NUM_ANCHORS * NUM_COORDS, path)?;
    let scores = extract(&outputs, "Identity_1", NUM_ANCHORS, path)?;
    Ok((boxes, scores))
}

fn run_landmark(
    session: &mut Session,
    tensor: &[f32],
    path: &std::path::Path,
) -> Result<RawLandmarkOutputs> {
    check_len(tensor, LANDMARK_SIZE * LANDMARK_SIZE * 3, "landmark tensor")?;
    let input = TensorRef::from_array_view(([1usize, LANDMARK_SIZE, LANDMARK_SIZE, 3], tensor))
        .map_err(|e| ort_err(path, "input", e))?;
    let outputs = session
        .run(ort::inputs!["input_1" => input])
        .map_err(|e| ort_err(path, "run", e))?;
    let landmarks = extract(&outputs, "Identity", NUM_RAW_LANDMARKS * 5, path)?;
    let presence = extract(&outputs, "Identity_1", 1, path)?[0];
    // Absent from the model loaded without the heatmap branch (no refinement).
    let heatmap = if outputs.contains_key("Identity_3") {
        extract(
            &outputs,
            "Identity_3",
            HEATMAP_SIZE * HEATMAP_SIZE * NUM_RAW_LANDMARKS,
            path,
        )?
    } else {
        Vec::new()
    };
    let world = extract(&outputs, "Identity_4", NUM_RAW_LANDMARKS * 3, path)?;
    Ok(RawLandmarkOutputs {
        landmarks,
        presence,
        heatmap,
        world,
    })
}
