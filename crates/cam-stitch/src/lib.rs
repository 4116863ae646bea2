//! One-pass panorama from fixed cameras: rotate, 4-point perspective warp, crop and concat, planned once.
#![forbid(unsafe_code)]
