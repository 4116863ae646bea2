//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in pose-core; each variant names what and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image buffer whose length does not match its stated size.
    #[error("{what}: {width}x{height}x{channels} needs {} bytes, got {len}", *width as u64 * *height as u64 * *channels as u64)]
    ImageSize {
        /// Which buffer.
        what: &'static str,
        /// Stated width in pixels.
        width: u32,
        /// Stated height in pixels.
        height: u32,
        /// Channels per pixel.
        channels: u32,
        /// Actual length in bytes.
        len: usize,
    },

    /// A setting outside its valid range.
    #[error("invalid {name}: {message}")]
    InvalidConfig {
        /// The setting's name.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// A file that could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A malformed line in a keypoint CSV file.
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },

    /// A malformed keypoint JSON file.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// A video file that OpenCV cannot open or decode.
    #[error("video {}: {message}", path.display())]
    Video {
        /// The video file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// An encoded image (JPEG/PNG) that cannot be decoded.
    #[error("cannot decode image {what}: {message}")]
    Decode {
        /// The file name (or `<memory>`).
        what: String,
        /// The decoder's message.
        message: String,
    },
    /// An encoded image refused before decoding: more bytes, or a larger declared width or
    /// height, than [`crate::DecodeLimits`] allow.
    #[error("image refused before decoding: {what} {size} above the limit of {limit}")]
    TooLarge {
        /// Which size: `"bytes"`, `"width"` or `"height"`.
        what: &'static str,
        /// The size found.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The ONNX Runtime shared library is missing or cannot be loaded.
    #[error(
        "ONNX Runtime library {}: {message} (run scripts/setup.sh, or `pip install \
         onnxruntime==1.31.1` and point ORT_DYLIB_PATH / RuntimeConfig::ort_library at the wheel's \
         onnxruntime/capi/libonnxruntime.so.1.31.1)",
        path.display()
    )]
    OrtLibrary {
        /// The library file that was tried.
        path: PathBuf,
        /// What failed.
        message: String,
    },

    /// The ONNX Runtime library or the model folder was found in none of the places looked at
    /// (see [`discovery`](crate::discovery)).
    #[error("{what} not found; looked at, in order:{tried}\n{help}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Every absolute path looked at, in order, with where it came from.
        tried: crate::discovery::Tried,
        /// How to get the files (without the posecam repository too).
        help: &'static str,
    },

    /// A model file that is missing, unreadable or not the expected BlazePose model.
    #[error(
        "model {}: {message} (run scripts/setup.sh, or point POSECAM_MODELS / \
         RuntimeConfig::models_dir at the output of scripts/convert_models.sh or a shared models/)",
        path.display()
    )]
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// ONNX Runtime failed while setting up or running a model.
    #[error("ONNX Runtime, {context}: {message}")]
    Ort {
        /// What was being done (model file and step).
        context: String,
        /// ONNX Runtime's message.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
