//! # posecam
//!
//! Umbrella crate of the posecam workspace: it re-exports the four library crates and owns the
//! workspace's `examples/` (camera relay, dance server) and `benches/`.
//!
//! | crate | what it does |
//! |---|---|
//! | [`stream_codec`] | MJPEG `multipart/x-mixed-replace` parser (sans-IO) and writer |
//! | [`cam_stitch`] | rotate, perspective warp, crop and concat of fixed cameras into a panorama |
//! | [`pose_core`] | BlazePose (MediaPipe) on ONNX Runtime: detector, landmarks, tracking |
//! | [`pose_score`] | seed-compatible cosine matching and a robust per-limb pose score |
//!
//! Depend on the crate you need directly; this crate only ties them together.

pub use cam_stitch;
pub use pose_core;
pub use pose_score;
pub use stream_codec;
