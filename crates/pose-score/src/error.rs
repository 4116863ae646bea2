//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in this crate. Each variant says what was wrong and where.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// A keypoint CSV line could not be used.
    #[error("line {line}: {what}")]
    Csv {
        /// 1-based line number in the file.
        line: usize,
        /// What was wrong with it.
        what: String,
    },
    /// A keypoint CSV had no data rows.
    #[error("no keypoint rows (empty file)")]
    Empty,
    /// Reading the input failed.
    #[error("reading keypoints: {0}")]
    Io(#[from] std::io::Error),
    /// A row had the wrong number of values.
    #[error("row {row}: expected {expected} values, got {got}")]
    RowLength {
        /// 0-based row index.
        row: usize,
        /// Values the format needs.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A value was NaN, infinite, or so large or so small (but not 0) that its square is not a
    /// normal number.
    #[error(
        "row {row}, value {index}: {value} is not 0 or a finite coordinate of magnitude 1e-150 ..= 1e150"
    )]
    BadValue {
        /// 0-based row index.
        row: usize,
        /// 0-based value index within the row.
        index: usize,
        /// The value.
        value: f64,
    },
    /// An input is larger than the configured limit.
    #[error("{what}: {got} exceeds the limit of {limit}")]
    TooLarge {
        /// Which size.
        what: &'static str,
        /// The size given.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Two sequences cannot be aligned under the given constraints.
    #[error("cannot align: {0}")]
    Alignment(String),
}
