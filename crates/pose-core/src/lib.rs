//! MediaPipe BlazePose on ONNX Runtime: detector, ROI, landmarks, tracking, faithful to MediaPipe.
//!
//! The main path: load the models once, then turn RGB frames into [`Pose`]s (33 landmarks in
//! image pixels). [`PoseEstimator`] treats every image on its own (detector on every call);
//! [`Tracker`] is the video mode (the detector runs only when a pose is lost).
//!
//! ```no_run
//! use pose_core::{ModelKind, PoseConfig, PoseEstimator, RgbImage, RuntimeConfig};
//!
//! let config = PoseConfig {
//!     runtime: RuntimeConfig { model: ModelKind::Full, ..Default::default() },
//!     ..Default::default()
//! };
//! let mut estimator = PoseEstimator::new(config)?;
//! let image = RgbImage::open("testdata/images/dancer_f060.jpg")?;
//! for pose in estimator.estimate(&image.as_frame())? {
//!     let nose = pose.landmarks[0];
//!     println!("score {:.2}: nose at ({:.1}, {:.1})", pose.score, nose.x, nose.y);
//! }
//! # Ok::<(), pose_core::Error>(())
//! ```
//!
//! One `unsafe` call, measured: the input crops' warp compiled for AVX2+FMA, called after the
//! run-time feature check (`warp.rs`; 2x faster than the portable path, same bytes).
#![deny(unsafe_code)]

// Inputs and set-up.
pub mod error;
pub mod frame;
pub mod runtime;

// The pipeline stages, in order.
pub mod anchors;
pub mod detector;
pub mod estimator;
pub mod landmarks;
pub mod pool;
pub mod roi;
pub mod tracker;
pub mod warp;

// Outputs and what is done with them.
pub mod draw;
pub mod extract;
pub mod pose;
pub mod smoothing;
#[cfg(feature = "video")]
pub mod video;

pub use detector::{Detection, DetectorConfig};
pub use error::{Error, Result};
pub use estimator::{FrameResult, PoseConfig, PoseEstimator, StageTimes};
pub use frame::{RgbFrame, RgbImage};
pub use landmarks::LandmarkResult;
pub use pool::{EstimatorPool, PooledEstimator};
pub use pose::{Landmark, LandmarkName, Pose, WorldLandmarks};
pub use roi::Roi;
pub use runtime::{ModelKind, Optimization, RuntimeConfig};
pub use tracker::{TrackState, TrackedPose, Tracker, TrackerConfig};
