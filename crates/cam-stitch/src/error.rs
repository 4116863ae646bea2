//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading a config, planning or rendering a panorama.
///
/// Config errors name the camera (its index in the `camera` array) and the JSON field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StitchError {
    /// The config file could not be read.
    #[error("reading config {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// An image file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The config is not valid JSON or does not have the expected shape.
    #[error("config JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The config has an empty `camera` array.
    #[error("config: `camera` is empty")]
    NoCameras,
    /// A camera's config field has a value the stitcher cannot use.
    #[error("camera {camera}: `{field}`: {reason}")]
    InvalidCamera {
        /// Index of the camera in the config's `camera` array.
        camera: usize,
        /// The offending field, e.g. `perspective.src` or `concat_x.back`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The number of inputs (sizes or images) differs from the number of cameras.
    #[error("expected {expected} camera images (one per configured camera), got {got}")]
    CameraCount {
        /// Cameras in the config.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// A camera index is out of range.
    #[error("no camera {camera}: the config has {cameras} cameras")]
    NoSuchCamera {
        /// The index given.
        camera: usize,
        /// Cameras in the config.
        cameras: usize,
    },
    /// A camera image does not have the size the plan was built for (or exceeds the size limit).
    #[error("camera {camera}: image is {got_width}x{got_height}, {reason}")]
    ImageSize {
        /// Index of the camera.
        camera: usize,
        /// Width of the offending image.
        got_width: u32,
        /// Height of the offending image.
        got_height: u32,
        /// What was expected.
        reason: String,
    },
    /// A pixel buffer's length does not match its stated dimensions.
    #[error(
        "pixel buffer of {len} bytes does not hold a {width}x{height} RGB image ({expected} bytes)"
    )]
    BufferSize {
        /// Buffer length in bytes.
        len: usize,
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// Required length in bytes.
        expected: usize,
    },
    /// The output image does not have the plan's output size.
    #[error("output image is {got_width}x{got_height}, the plan renders {width}x{height}")]
    OutputSize {
        /// Width of the given output image.
        got_width: u32,
        /// Height of the given output image.
        got_height: u32,
        /// Plan output width.
        width: u32,
        /// Plan output height.
        height: u32,
    },
    /// The panorama would exceed the configured output limit.
    #[error("panorama {width}x{height} exceeds the limit of {limit} pixels")]
    OutputTooLarge {
        /// Panorama width.
        width: u64,
        /// Panorama height.
        height: u64,
        /// The limit in pixels.
        limit: u64,
    },
    /// A JPEG could not be decoded.
    #[error("JPEG decode: {0}")]
    Decode(String),
    /// An image could not be encoded.
    #[error("JPEG encode: {0}")]
    Encode(String),
    /// The requested JPEG backend is not compiled in.
    #[error("JPEG backend {0} is not compiled in (enable the crate feature)")]
    BackendUnavailable(&'static str),
    /// An OpenCV call failed (baseline and OpenCV decoding only).
    #[cfg(feature = "opencv")]
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}

/// Shorthand for `Result<T, StitchError>`.
pub type Result<T, E = StitchError> = std::result::Result<T, E>;
