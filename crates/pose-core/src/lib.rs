//! MediaPipe BlazePose on ONNX Runtime: detector, ROI, landmarks, tracking, faithful to MediaPipe.
#![forbid(unsafe_code)]

pub mod draw;
pub mod error;
pub mod extract;
pub mod pose;
pub mod smoothing;
#[cfg(feature = "video")]
pub mod video;
pub use error::{Error, Result};
pub use pose::{Landmark, LandmarkName, Pose};
