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
//! For servers and references: [`RgbImage::decode_jpeg_within`] decodes a client's JPEG within
//! [`DecodeLimits`] (bytes and declared sides checked from the header first), an
//! [`EstimatorPool`] shares a few estimators between many [`TrackState`]s, and with the `video`
//! feature `load_or_extract(video, fps, model, cache_dir)` gives a video's poses extracted once
//! and cached by the video's SHA-256.
//!
//! One `unsafe` call, measured: the input crops' warp compiled for AVX2+FMA, called after the
//! run-time feature check (`warp.rs`; 2x faster than the portable path, same bytes).
#![deny(unsafe_code)]
// docs.rs: mark feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Inputs and set-up.
mod decode_limits;
pub mod discovery;
pub mod error;
pub mod frame;
pub mod runtime;

// The pipeline stages, in order. The stage modules are internals (hidden; the golden tests and
// the benches reach them by path): their public items are the re-exports below.
#[doc(hidden)]
pub mod anchors;
#[doc(hidden)]
pub mod detector;
pub mod estimator;
#[doc(hidden)]
pub mod landmarks;
pub mod pool;
#[doc(hidden)]
pub mod roi;
pub mod tracker;
#[doc(hidden)]
pub mod warp;

// Outputs and what is done with them.
pub mod draw;
pub mod extract;
pub mod pose;
pub mod smoothing;
#[cfg(feature = "video")]
mod track_cache;
#[cfg(feature = "video")]
pub mod video;

pub use decode_limits::{DecodeLimits, jpeg_dimensions};
// The test-data finder of tests/, for the unit tests that read video files.
#[cfg(all(test, feature = "video"))]
#[path = "../tests/support/mod.rs"]
mod test_support;

pub use detector::{Detection, DetectorConfig};
pub use error::{Error, Result};
pub use estimator::{FrameResult, PoseConfig, PoseEstimator, StageTimes};
pub use frame::{RgbFrame, RgbImage};
pub use landmarks::LandmarkResult;
pub use pool::{EstimatorPool, PooledEstimator};
pub use pose::{Landmark, LandmarkName, Pose, WorldLandmarks};
pub use roi::Roi;
pub use runtime::{ModelKind, Optimization, RuntimeConfig};
#[cfg(feature = "video")]
pub use track_cache::{
    CachedTracks, MAX_DEFAULT_FPS, cache_file, load_or_extract, load_or_extract_people, sha256_file,
};
pub use tracker::{TrackState, TrackedPose, Tracker, TrackerConfig};
