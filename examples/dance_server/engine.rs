//! What the socket layer needs from the pose side: a per-client [`Analyser`] made by a factory,
//! and the frames it analyses. The real analyser (pose-core + pose-score) is in `analyser.rs`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::protocol::{FrameResult, Summary};

/// A JPEG frame received from a client, with what its header said.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Client frame id (or the server's count).
    pub id: u64,
    /// Dancer playback time from the header, seconds (None: use the session clock).
    pub t: Option<f64>,
    /// Whether to score (false: pose only).
    pub score: bool,
    /// The JPEG bytes.
    pub jpeg: Bytes,
    /// When the last byte arrived.
    pub received: Instant,
}

/// The result of one analysed frame.
#[derive(Debug)]
pub struct Analysis {
    /// The JSON reply (the socket layer fills `dropped` and the wait/server latencies).
    pub result: FrameResult,
    /// The frame with the skeleton drawn, as JPEG, when asked for.
    pub annotated: Option<Vec<u8>>,
}

/// Why a frame could not be analysed; the connection stays open.
#[derive(Debug)]
pub struct AnalyseError {
    /// Stable code for the JSON error (`bad_jpeg`, `too_large`, `internal`).
    pub code: &'static str,
    /// Detail for humans.
    pub message: String,
}

/// Per-client state of the pose pipeline: tracking, the session's history for the final grade.
/// Runs on the blocking pool, one frame at a time.
pub trait Analyser: Send + 'static {
    /// A new dance begins: forget the history (tracking may continue).
    fn start(&mut self);
    /// Decodes, estimates, scores one frame at dancer time `t` (seconds).
    fn analyse(&mut self, frame: &Frame, t: f64, annotate: bool) -> Result<Analysis, AnalyseError>;
    /// The end of the dance: DTW alignment of the session with the dancer, final grade.
    fn summary(&mut self) -> Summary;
}

/// Makes one [`Analyser`] per connection.
pub type AnalyserFactory =
    Arc<dyn Fn() -> Result<Box<dyn Analyser>, String> + Send + Sync + 'static>;
