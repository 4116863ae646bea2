//! MediaPipe BlazePose on ONNX Runtime: detector, ROI, landmarks, tracking, faithful to MediaPipe.
#![forbid(unsafe_code)]

pub mod pose;
pub use pose::{Landmark, LandmarkName, Pose};
