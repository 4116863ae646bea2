//! Dancer reference extraction: one [`Pose`] (or none) per sampled frame, and the files it is
//! stored in.
//!
//! [`extract`] runs a per-frame pose function over timestamped frames (any source; with the
//! `video` feature, `extract_video` reads a video file through `video::VideoReader`)
//! and collects a [`PoseTrack`]. A track is written as
//!
//! * the old project's `dancer_keyp_list.csv` ([`PoseTrack::write_openpose_csv`]): no header, one
//!   row per sample, 36 integer columns = OpenPose-18 `x, y` pairs in pixels (order
//!   [`crate::pose::COCO18_NAMES`]), `0` for a missing part or a sample without a person;
//! * a rich CSV ([`PoseTrack::write_csv`]): a `#` metadata line, a header, then per sample its
//!   index, time, frame time, score and the 33 landmarks' `x, y, z, visibility, presence`
//!   (empty fields when no person was found);
//! * JSON ([`PoseTrack::write_json`]): the [`PoseTrack`] itself, landmarks as
//!   `[x, y, z, visibility, presence]` and, when the model gave them, the 3D world landmarks as
//!   `"world": [[x, y, z], ...]` (metres, see [`crate::pose::WorldLandmarks`]) beside
//!   `"landmarks"`; tracks written before `"world"` existed still read.
//!
//! The rich formats read back exactly ([`PoseTrack::load`]), so a server can cache a track; the
//! rich CSV has no world landmarks (they read back as `None`): use JSON to keep them.
//!
//! ```
//! use pose_core::extract::{ExtractOptions, PoseTrack, TimedFrame, extract};
//! use pose_core::pose::{Landmark, Pose};
//!
//! struct Frame(f64);
//! impl TimedFrame for Frame {
//!     fn time(&self) -> f64 { self.0 }
//!     fn size(&self) -> (u32, u32) { (640, 480) }
//! }
//! let frames = (0..5).map(|k| Ok(Frame(k as f64 / 10.0)));
//! let track = extract(frames, 10.0, &ExtractOptions::quiet(), |f: &Frame| {
//!     let mut pose = Pose::default();
//!     pose.landmarks[0] = Landmark::new(100.0 + f.0 as f32, 50.0, 0.0, 0.9, 0.9);
//!     Ok(Some(pose))
//! })?;
//! assert_eq!(track.samples.len(), 5);
//! let mut csv = Vec::new();
//! track.write_openpose_csv(&mut csv, 0.5)?;
//! assert!(String::from_utf8(csv).unwrap().starts_with("100,50,0,0,"));
//! # Ok::<(), pose_core::Error>(())
//! ```

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::pose::{Landmark, LandmarkName, NUM_LANDMARKS, Pose};

/// Most samples accepted in a track (a 27-hour video at 10 samples per second).
pub const MAX_SAMPLES: usize = 1_000_000;

/// Largest track file accepted by the readers, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Format tag on the rich CSV's first line.
const CSV_MAGIC: &str = "# posecam pose track v1";

/// Number of columns in the rich CSV.
const CSV_COLUMNS: usize = 4 + 5 * NUM_LANDMARKS;

/// A frame with a sample time, as [`extract`] consumes it.
pub trait TimedFrame {
    /// The sample's time in seconds.
    fn time(&self) -> f64;
    /// The frame's own timestamp in seconds (defaults to [`TimedFrame::time`]).
    fn frame_time(&self) -> f64 {
        self.time()
    }
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
}

#[cfg(feature = "video")]
impl TimedFrame for crate::video::VideoFrame {
    fn time(&self) -> f64 {
        self.time
    }
    fn frame_time(&self) -> f64 {
        self.frame_time
    }
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

/// The pose found (or not) at one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseSample {
    /// Sample number (0, 1, 2, ...).
    pub index: usize,
    /// Sample time in seconds.
    pub time: f64,
    /// Timestamp of the video frame used, in seconds.
    pub frame_time: f64,
    /// The person, or `None` when none was found.
    pub pose: Option<Pose>,
}

/// Poses sampled at a fixed rate from one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseTrack {
    /// Samples per second.
    pub fps: f64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Where the track came from (e.g. the video's file name), if known.
    #[serde(default)]
    pub source: Option<String>,
    /// One entry per sample, in time order.
    pub samples: Vec<PoseSample>,
}

/// How [`extract`] reports progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Show a progress bar on stderr (feature `progress`; only drawn on a terminal).
    pub progress: bool,
    /// Expected number of samples, for the bar's length.
    pub expected_samples: Option<u64>,
    /// Text in front of the bar.
    pub label: String,
}

impl ExtractOptions {
    /// No progress bar.
    pub fn quiet() -> Self {
        Self::default()
    }

    /// A progress bar labelled `label`.
    pub fn with_progress(label: impl Into<String>) -> Self {
        Self {
            progress: true,
            expected_samples: None,
            label: label.into(),
        }
    }
}

/// Progress reporting, compiled to nothing without the `progress` feature.
struct Progress {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn new(options: &ExtractOptions) -> Self {
        #[cfg(feature = "progress")]
        {
            let bar = options.progress.then(|| {
                let bar = match options.expected_samples {
                    Some(n) => indicatif::ProgressBar::new(n),
                    None => indicatif::ProgressBar::new_spinner(),
                };
                let template = "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} samples, {per_sec}, eta {eta}";
                if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                    bar.set_style(style);
                }
                bar.set_prefix(options.label.clone());
                bar
            });
            Self { bar }
        }
        #[cfg(not(feature = "progress"))]
        Self {}
    }

    fn inc(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Runs `pose_of` on every frame and collects the results, in order.
///
/// The track's `width`/`height` come from the first frame and `fps` is `sample_fps`. Frames must
/// come in time order; the sample index is the frame's position in the sequence.
///
/// # Errors
/// The first error from `frames` or `pose_of`; [`Error::InvalidConfig`] for a bad `sample_fps`,
/// frames out of time order, or more than [`MAX_SAMPLES`] frames.
pub fn extract<T, I, F>(
    frames: I,
    sample_fps: f64,
    options: &ExtractOptions,
    mut pose_of: F,
) -> Result<PoseTrack, Error>
where
    T: TimedFrame,
    I: IntoIterator<Item = Result<T, Error>>,
    F: FnMut(&T) -> Result<Option<Pose>, Error>,
{
    if !(sample_fps.is_finite() && sample_fps > 0.0) {
        return Err(Error::InvalidConfig {
            name: "sample fps",
            message: format!("{sample_fps} is not positive"),
        });
    }
    let progress = Progress::new(options);
    let mut track = PoseTrack {
        fps: sample_fps,
        width: 0,
        height: 0,
        source: None,
        samples: Vec::new(),
    };
    for frame in frames {
        let frame = frame?;
        let index = track.samples.len();
        if index >= MAX_SAMPLES {
            return Err(Error::InvalidConfig {
                name: "samples",
                message: format!("more than {MAX_SAMPLES}"),
            });
        }
        let time = frame.time();
        if !time.is_finite() || track.samples.last().is_some_and(|s| time <= s.time) {
            return Err(Error::InvalidConfig {
                name: "frame time",
                message: format!("sample {index} at {time} s is not after the previous one"),
            });
        }
        if index == 0 {
            (track.width, track.height) = frame.size();
        }
        let pose = pose_of(&frame)?;
        track.samples.push(PoseSample {
            index,
            time,
            frame_time: frame.frame_time(),
            pose,
        });
        progress.inc();
    }
    progress.finish();
    Ok(track)
}

/// Reads `path` at `sample_fps` samples per second and runs `pose_of` on each sampled frame (see
/// [`crate::video`] for the sampling rule). The track's `source` is the file name.
///
/// `options.expected_samples` is filled from the video when not set.
///
/// # Errors
/// As [`crate::video::VideoReader::open`], then as [`extract`].
///
/// ```no_run
/// use pose_core::extract::{ExtractOptions, extract_video};
/// let track = extract_video("dance.mp4", 10.0, &ExtractOptions::with_progress("dance.mp4"), |frame| {
///     // run a pose pipeline on frame.rgb (frame.width x frame.height) here
///     Ok(None)
/// })?;
/// track.save_openpose_csv("dancer_keyp_list.csv", 0.5)?;
/// # Ok::<(), pose_core::Error>(())
/// ```
#[cfg(feature = "video")]
pub fn extract_video<F>(
    path: impl AsRef<Path>,
    sample_fps: f64,
    options: &ExtractOptions,
    pose_of: F,
) -> Result<PoseTrack, Error>
where
    F: FnMut(&crate::video::VideoFrame) -> Result<Option<Pose>, Error>,
{
    let path = path.as_ref();
    let reader = crate::video::VideoReader::open(path, sample_fps)?;
    let mut options = options.clone();
    options.expected_samples = options.expected_samples.or(Some(reader.expected_samples()));
    let mut track = extract(reader, sample_fps, &options, pose_of)?;
    track.source = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(track)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn memory() -> PathBuf {
    PathBuf::from("<memory>")
}

/// Formats a float so that it reads back to the same value (Rust's shortest round-trip form).
fn push_num(line: &mut String, v: impl std::fmt::Display) {
    let _ = write!(line, "{v}");
}

impl PoseTrack {
    /// Duration covered by the samples: `samples / fps` seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.fps
    }

    /// The sample nearest to `time` seconds (`None` for an empty track).
    ///
    /// ```
    /// use pose_core::extract::{PoseSample, PoseTrack};
    /// let samples = (0..10).map(|k| PoseSample { index: k, time: k as f64 * 0.1, frame_time: k as f64 * 0.1, pose: None }).collect();
    /// let track = PoseTrack { fps: 10.0, width: 640, height: 480, source: None, samples };
    /// assert_eq!(track.sample_at(0.44).map(|s| s.index), Some(4));
    /// assert_eq!(track.sample_at(99.0).map(|s| s.index), Some(9));
    /// ```
    pub fn sample_at(&self, time: f64) -> Option<&PoseSample> {
        let i = self.samples.partition_point(|s| s.time < time);
        let after = self.samples.get(i);
        let before = i.checked_sub(1).and_then(|j| self.samples.get(j));
        match (before, after) {
            (Some(b), Some(a)) => Some(if time - b.time <= a.time - time { b } else { a }),
            (b, a) => b.or(a),
        }
    }

    /// The samples with `from <= time <= to`.
    pub fn window(&self, from: f64, to: f64) -> &[PoseSample] {
        let lo = self.samples.partition_point(|s| s.time < from);
        let hi = self.samples.partition_point(|s| s.time <= to).max(lo);
        &self.samples[lo..hi]
    }

    /// The old project's 36 numbers per sample (see [`Pose::to_openpose18_with`]): parts with a
    /// visibility below `min_visibility`, or outside the frame (`x` not in `[0, width)`, `y` not
    /// in `[0, height)`, which tf-pose could not report), are `0, 0`; samples without a person are
    /// all zeros. Values are rounded half up to whole pixels.
    pub fn openpose_rows(&self, min_visibility: f32) -> Vec<[i32; 36]> {
        let (w, h) = (self.width as f32, self.height as f32);
        self.samples
            .iter()
            .map(|s| {
                let mut row = [0i32; 36];
                if let Some(pose) = &s.pose {
                    let op = pose.to_openpose18_with(min_visibility);
                    for k in 0..18 {
                        let (x, y) = (op[2 * k], op[2 * k + 1]);
                        let inside = (x, y) != (0.0, 0.0) && x >= 0.0 && y >= 0.0 && x < w && y < h;
                        if inside {
                            row[2 * k] = (x + 0.5).floor() as i32;
                            row[2 * k + 1] = (y + 0.5).floor() as i32;
                        }
                    }
                }
                row
            })
            .collect()
    }

    /// Writes the old `dancer_keyp_list.csv`: no header, one line per sample, 36 integers.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_openpose_csv(&self, out: impl Write, min_visibility: f32) -> Result<(), Error> {
        let mut out = BufWriter::new(out);
        let mut line = String::with_capacity(36 * 5);
        for row in self.openpose_rows(min_visibility) {
            line.clear();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                push_num(&mut line, v);
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(io_err(&memory()))?;
        }
        out.flush().map_err(io_err(&memory()))
    }

    /// [`PoseTrack::write_openpose_csv`] to a file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save_openpose_csv(
        &self,
        path: impl AsRef<Path>,
        min_visibility: f32,
    ) -> Result<(), Error> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        self.write_openpose_csv(file, min_visibility)
            .map_err(|e| with_path(e, path))
    }

    /// Writes the rich CSV: a `# posecam pose track v1 ...` metadata line, a header
    /// (`index,time,frame_time,score,nose_x,nose_y,nose_z,nose_visibility,nose_presence,...`),
    /// then one line per sample; a sample without a person has empty score and landmark fields.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_csv(&self, out: impl Write) -> Result<(), Error> {
        let mut out = BufWriter::new(out);
        let source = self
            .source
            .as_deref()
            .unwrap_or("")
            .replace(['\n', '\r'], " ");
        let mut line = format!(
            "{CSV_MAGIC} fps={} width={} height={} source={source}\nindex,time,frame_time,score",
            self.fps, self.width, self.height
        );
        for name in LandmarkName::ALL {
            for field in ["x", "y", "z", "visibility", "presence"] {
                let _ = write!(line, ",{}_{field}", name.name());
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io_err(&memory()))?;
        for s in &self.samples {
            line.clear();
            let _ = write!(line, "{},{},{},", s.index, s.time, s.frame_time);
            match &s.pose {
                Some(p) => {
                    push_num(&mut line, p.score);
                    for l in &p.landmarks {
                        for v in <[f32; 5]>::from(*l) {
                            line.push(',');
                            push_num(&mut line, v);
                        }
                    }
                }
                None => line.push_str(&",".repeat(5 * NUM_LANDMARKS)),
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(io_err(&memory()))?;
        }
        out.flush().map_err(io_err(&memory()))
    }

    /// Reads the rich CSV written by [`PoseTrack::write_csv`].
    ///
    /// # Errors
    /// [`Error::Csv`] with the line number for a missing metadata line, a wrong header or column
    /// count, an unparsable number, or more than [`MAX_SAMPLES`] rows; [`Error::Io`] on a read
    /// error.
    pub fn read_csv(input: impl Read) -> Result<Self, Error> {
        read_csv_from(input, &memory())
    }

    /// Writes the track as JSON (the serde form of [`PoseTrack`]).
    ///
    /// # Errors
    /// [`Error::Json`] when writing fails.
    pub fn write_json(&self, out: impl Write) -> Result<(), Error> {
        let mut out = BufWriter::new(out);
        serde_json::to_writer(&mut out, self).map_err(|source| Error::Json {
            path: memory(),
            source,
        })?;
        out.flush().map_err(io_err(&memory()))
    }

    /// Reads a track written by [`PoseTrack::write_json`].
    ///
    /// # Errors
    /// [`Error::Json`] for malformed JSON; [`Error::InvalidConfig`] for more than [`MAX_SAMPLES`]
    /// samples or an invalid rate.
    pub fn read_json(input: impl Read) -> Result<Self, Error> {
        let track: Self = serde_json::from_reader(BufReader::new(input.take(MAX_FILE_BYTES)))
            .map_err(|source| Error::Json {
                path: memory(),
                source,
            })?;
        track.validate()?;
        Ok(track)
    }

    fn validate(&self) -> Result<(), Error> {
        if self.samples.len() > MAX_SAMPLES {
            return Err(Error::InvalidConfig {
                name: "samples",
                message: format!("more than {MAX_SAMPLES}"),
            });
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(Error::InvalidConfig {
                name: "fps",
                message: format!("{} is not positive", self.fps),
            });
        }
        Ok(())
    }

    /// Writes the track to `path`: JSON when the name ends in `.json`, else the rich CSV.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Json`] naming the file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        let res = if is_json(path) {
            self.write_json(file)
        } else {
            self.write_csv(file)
        };
        res.map_err(|e| with_path(e, path))
    }

    /// Reads a track saved by [`PoseTrack::save`] (JSON when the name ends in `.json`, else the
    /// rich CSV).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Json`] or [`Error::Csv`] naming the file; files above
    /// [`MAX_FILE_BYTES`] are refused.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        if len > MAX_FILE_BYTES {
            return Err(Error::InvalidConfig {
                name: "track file",
                message: format!(
                    "{} is {len} bytes, more than {MAX_FILE_BYTES}",
                    path.display()
                ),
            });
        }
        if is_json(path) {
            Self::read_json(file).map_err(|e| with_path(e, path))
        } else {
            read_csv_from(file, path)
        }
    }
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Replaces the `<memory>` placeholder of an error with the file's path.
fn with_path(e: Error, path: &Path) -> Error {
    match e {
        Error::Io { source, .. } => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        Error::Json { source, .. } => Error::Json {
            path: path.to_path_buf(),
            source,
        },
        Error::Csv { line, message, .. } => Error::Csv {
            path: path.to_path_buf(),
            line,
            message,
        },
        other => other,
    }
}

fn read_csv_from(input: impl Read, path: &Path) -> Result<PoseTrack, Error> {
    let csv_err = |line: usize, message: String| Error::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = BufReader::new(input.take(MAX_FILE_BYTES)).lines();
    let mut next_line = |n: usize| -> Result<Option<String>, Error> {
        lines
            .next()
            .transpose()
            .map_err(|e| csv_err(n, format!("read error: {e}")))
    };
    // Line 1: metadata.
    let meta = next_line(1)?.ok_or_else(|| csv_err(1, "empty file".into()))?;
    let rest = meta
        .strip_prefix(CSV_MAGIC)
        .ok_or_else(|| csv_err(1, format!("expected a line starting with {CSV_MAGIC:?}")))?;
    let (mut fps, mut width, mut height, mut source) = (None, None, None, None);
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        if let Some(s) = rest.strip_prefix("source=") {
            source = Some(s.to_string()).filter(|s| !s.is_empty());
            break;
        }
        let (item, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        rest = tail.trim_start();
        let bad = || csv_err(1, format!("bad metadata item {item:?}"));
        match item.split_once('=') {
            Some(("fps", v)) => fps = Some(v.parse::<f64>().map_err(|_| bad())?),
            Some(("width", v)) => width = Some(v.parse::<u32>().map_err(|_| bad())?),
            Some(("height", v)) => height = Some(v.parse::<u32>().map_err(|_| bad())?),
            _ => {}
        }
    }
    let fps = fps
        .filter(|f| f.is_finite() && *f > 0.0)
        .ok_or_else(|| csv_err(1, "missing or bad fps".into()))?;
    let width = width.ok_or_else(|| csv_err(1, "missing width".into()))?;
    let height = height.ok_or_else(|| csv_err(1, "missing height".into()))?;
    // Line 2: header.
    let header = next_line(2)?.ok_or_else(|| csv_err(2, "missing header".into()))?;
    let cols: Vec<&str> = header.split(',').collect();
    if cols.len() != CSV_COLUMNS
        || cols[..4] != ["index", "time", "frame_time", "score"]
        || cols[4] != "nose_x"
    {
        return Err(csv_err(
            2,
            format!(
                "header has {} columns, expected {CSV_COLUMNS} starting index,time,frame_time,score,nose_x",
                cols.len()
            ),
        ));
    }
    let mut samples = Vec::new();
    let mut n = 2;
    while let Some(line) = next_line(n + 1)? {
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        if samples.len() >= MAX_SAMPLES {
            return Err(csv_err(n, format!("more than {MAX_SAMPLES} rows")));
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != CSV_COLUMNS {
            return Err(csv_err(
                n,
                format!("{} columns, expected {CSV_COLUMNS}", fields.len()),
            ));
        }
        let bad = |i: usize| {
            csv_err(
                n,
                format!("column {}: not a number: {:?}", i + 1, fields[i]),
            )
        };
        let num = |i: usize| fields[i].trim().parse::<f64>().map_err(|_| bad(i));
        // f32 fields parse as f32 (no double rounding through f64).
        let num32 = |i: usize| fields[i].trim().parse::<f32>().map_err(|_| bad(i));
        let index = fields[0]
            .trim()
            .parse::<usize>()
            .map_err(|_| csv_err(n, format!("column 1: not an index: {:?}", fields[0])))?;
        let (time, frame_time) = (num(1)?, num(2)?);
        let pose = if fields[3..].iter().all(|f| f.trim().is_empty()) {
            None
        } else {
            let mut landmarks = [Landmark::default(); NUM_LANDMARKS];
            for (j, l) in landmarks.iter_mut().enumerate() {
                let c = 4 + 5 * j;
                *l = Landmark::new(
                    num32(c)?,
                    num32(c + 1)?,
                    num32(c + 2)?,
                    num32(c + 3)?,
                    num32(c + 4)?,
                );
            }
            Some(Pose::new(landmarks, num32(3)?))
        };
        samples.push(PoseSample {
            index,
            time,
            frame_time,
            pose,
        });
    }
    Ok(PoseTrack {
        fps,
        width,
        height,
        source,
        samples,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Frame(f64);
    impl TimedFrame for Frame {
        fn time(&self) -> f64 {
            self.0
        }
        fn size(&self) -> (u32, u32) {
            (640, 480)
        }
    }

    /// A track with odd values: a missing person, off-image and hidden points, awkward floats.
    fn track() -> PoseTrack {
        let frames = (0..6).map(|k| Ok(Frame(k as f64 / 3.0)));
        let mut t = extract(frames, 3.0, &ExtractOptions::quiet(), |f: &Frame| {
            if f.0 > 0.9 && f.0 < 1.1 {
                return Ok(None);
            }
            let mut landmarks = [Landmark::default(); NUM_LANDMARKS];
            for (i, l) in landmarks.iter_mut().enumerate() {
                *l = Landmark::new(
                    100.0 + i as f32 * 7.3 + f.0 as f32,
                    0.1 + 13.7 * i as f32,
                    -0.333_333_3 * i as f32,
                    (i as f32 / 32.0).min(1.0),
                    0.999_999,
                );
            }
            landmarks[LandmarkName::RightAnkle.index()].x = 640.2; // off the frame, visible
            Ok(Some(Pose::new(landmarks, 0.87)))
        })
        .unwrap();
        t.source = Some("clip, 1.mp4".into());
        t
    }

    #[test]
    fn rich_csv_and_json_round_trip_exactly() {
        let t = track();
        assert_eq!(t.samples.len(), 6);
        assert!(t.samples[3].pose.is_none());
        let mut csv = Vec::new();
        t.write_csv(&mut csv).unwrap();
        let text = String::from_utf8(csv.clone()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "# posecam pose track v1 fps=3 width=640 height=480 source=clip, 1.mp4"
        );
        assert_eq!(lines.next().unwrap().split(',').count(), 169);
        assert!(lines.all(|l| l.split(',').count() == 169));
        assert_eq!(PoseTrack::read_csv(&csv[..]).unwrap(), t);
        let mut json = Vec::new();
        t.write_json(&mut json).unwrap();
        assert_eq!(PoseTrack::read_json(&json[..]).unwrap(), t);

        let dir = std::env::temp_dir().join(format!("pose-core-extract-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["t.csv", "t.json"] {
            t.save(dir.join(name)).unwrap();
            assert_eq!(PoseTrack::load(dir.join(name)).unwrap(), t, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_keeps_world_landmarks_and_reads_tracks_without_them() {
        let mut t = track();
        for (k, s) in t.samples.iter_mut().enumerate() {
            if let Some(p) = &mut s.pose {
                *p = p.with_world(std::array::from_fn(|i| {
                    [0.1 * k as f32, -0.01 * i as f32, 0.123_456_79]
                }));
            }
        }
        let mut json = Vec::new();
        t.write_json(&mut json).unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(
            text.contains("\"world\":[[0.0,-0.0,0.12345679],[0.0,-0.01,"),
            "{text}"
        );
        assert_eq!(PoseTrack::read_json(&json[..]).unwrap(), t);
        // A track file from before world landmarks: no "world" key anywhere.
        let old = track();
        let mut json = Vec::new();
        old.write_json(&mut json).unwrap();
        assert!(!String::from_utf8(json.clone()).unwrap().contains("world"));
        let back = PoseTrack::read_json(&json[..]).unwrap();
        assert_eq!(back, old);
        assert!(
            back.samples
                .iter()
                .flat_map(|s| s.pose)
                .all(|p| p.world.is_none())
        );
    }

    #[test]
    fn old_csv_has_36_integer_columns_and_zeros_for_missing() {
        let t = track();
        let mut csv = Vec::new();
        t.write_openpose_csv(&mut csv, 0.5).unwrap();
        let text = String::from_utf8(csv.clone()).unwrap();
        assert_eq!(text.lines().count(), 6);
        for line in text.lines() {
            let cols: Vec<i64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            assert_eq!(cols.len(), 36);
        }
        // pose-score holds the one library reader of the old file; this test only needs numbers.
        let rows: Vec<Vec<f32>> = text
            .lines()
            .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows[3], [0.0; 36], "no person");
        let row = &rows[0];
        let half_up = |v: f32| (v + 0.5).floor();
        // Visibility is i / 32: the nose, eyes, ears and shoulders (< 16) are missing.
        assert_eq!(&row[0..2], &[0.0, 0.0]);
        assert_eq!(&row[10..12], &[0.0, 0.0], "LShoulder");
        // RHip = part 8 = landmark 24.
        assert_eq!(
            &row[16..18],
            &[half_up(100.0 + 24.0 * 7.3), half_up(0.1 + 13.7 * 24.0)]
        );
        // Neck: midpoint of 11 and 12, visibility min(11/32, 12/32) < 0.5 -> missing.
        assert_eq!(&row[2..4], &[0.0, 0.0]);
        // RAnkle (28) is visible but x = 640.2 is outside the 640-wide frame -> missing.
        assert_eq!(&row[20..22], &[0.0, 0.0]);
        // LAnkle (27) is in the frame.
        assert_eq!(row[26], half_up(100.0 + 27.0 * 7.3));
        // A lower threshold brings the neck back.
        let rows = t.openpose_rows(0.3);
        let (a, b) = (100.0 + 11.0 * 7.3f32, 100.0 + 12.0 * 7.3f32);
        assert_eq!(rows[0][2], ((a + b) / 2.0 + 0.5).floor() as i32);
    }

    #[test]
    fn readers_reject_bad_input_with_line_numbers() {
        let t = track();
        let mut csv = Vec::new();
        t.write_csv(&mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let broken = text.replacen(",0.87,", ",zz,", 1);
        let err = PoseTrack::read_csv(broken.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 3, .. }), "{err}");
        let err = PoseTrack::read_csv("index,time\n".as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 1, .. }), "{err}");
        assert!(PoseTrack::read_json("{\"fps\":0}".as_bytes()).is_err());
        let err = PoseTrack::load("/nonexistent/track.json").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/track.json"), "{err}");
    }

    #[test]
    fn extract_checks_time_order_and_lookups_work() {
        let frames = [0.0, 0.2, 0.1].into_iter().map(|t| Ok(Frame(t)));
        let err = extract(frames, 5.0, &ExtractOptions::quiet(), |_: &Frame| Ok(None)).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidConfig {
                name: "frame time",
                ..
            }
        ));
        let t = track();
        assert_eq!(t.sample_at(0.45).unwrap().index, 1);
        assert_eq!(t.sample_at(0.6).unwrap().index, 2);
        assert_eq!(
            t.window(0.3, 1.0)
                .iter()
                .map(|s| s.index)
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!((t.duration() - 2.0).abs() < 1e-12);
    }
}
