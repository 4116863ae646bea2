//! MediaPipe BlazePose on ONNX Runtime: detector, ROI, landmarks, tracking, faithful to MediaPipe.
#![forbid(unsafe_code)]
