//! Video files through OpenCV (feature `video`), sampled at a target rate by the video's own
//! timestamps.
//!
//! The old project sampled by wall-clock time, so the number of rows depended on how fast the
//! machine was. [`VideoReader`] instead emits sample `k` at time `t_k = k / fps` (seconds from
//! the first frame) and gives it the frame nearest to `t_k`, judged by the frames' presentation
//! timestamps (`CAP_PROP_POS_MSEC`, falling back to `frame index / stream fps` when the container
//! gives none). Samples cover `[0, D)` where `D` is the last frame's timestamp plus one frame
//! duration, so a clip of `D` seconds at `F` samples per second yields `ceil(D x F)` samples, which
//! is `round(D x F)` or one more, whatever the machine's load. A target rate above the video's
//! repeats frames.
//!
//! Only frames that are sampled are converted to RGB; the others are decoded (the codec needs
//! them) but not converted.
//!
//! ```no_run
//! use pose_core::video::VideoReader;
//!
//! let reader = VideoReader::open("dance.mp4", 10.0)?;
//! println!("{:?}, about {} samples", reader.info(), reader.expected_samples());
//! for frame in reader {
//!     let frame = frame?;
//!     println!("sample {} at {:.3} s: {}x{}", frame.index, frame.time, frame.width, frame.height);
//! }
//! # Ok::<(), pose_core::Error>(())
//! ```

use std::path::{Path, PathBuf};

use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::{
    MatTraitConst, MatTraitConstManual, VideoCaptureTrait, VideoCaptureTraitConst,
};
use opencv::videoio::{self, VideoCapture};

use crate::Error;
use crate::frame::RgbFrame;

/// Largest target sampling rate accepted (samples per second).
pub const MAX_SAMPLE_FPS: f64 = 1000.0;

/// Largest frame side accepted, in pixels.
pub const MAX_FRAME_SIDE: u32 = 16_384;

/// What OpenCV reports about a video stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Nominal frame rate (`CAP_PROP_FPS`); 30 when the container gives none.
    pub fps: f64,
    /// Frame count announced by the container (may be an estimate; 0 when unknown).
    pub frame_count: u64,
}

impl VideoInfo {
    /// Duration in seconds estimated from the announced frame count and rate.
    pub fn duration(&self) -> f64 {
        self.frame_count as f64 / self.fps
    }
}

/// One sampled frame: packed RGB8 pixels and its times.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// `width * height * 3` bytes, rows top to bottom.
    pub rgb: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Sample number `k` (0, 1, 2, ...).
    pub index: usize,
    /// The sample's time `k / fps` in seconds.
    pub time: f64,
    /// The chosen frame's own timestamp in seconds (relative to the first frame).
    pub frame_time: f64,
    /// The chosen frame's number in the stream (0-based).
    pub frame_index: u64,
}

impl VideoFrame {
    /// The pixels as an [`RgbFrame`] for the pose pipeline (no copy).
    ///
    /// # Errors
    /// [`Error::ImageSize`] if a side exceeds [`crate::frame::MAX_IMAGE_SIDE`].
    pub fn as_frame(&self) -> Result<RgbFrame<'_>, Error> {
        RgbFrame::new(self.width, self.height, &self.rgb)
    }
}

/// A decoded frame kept until the samples it serves are emitted.
struct Held {
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    frame_time: f64,
    frame_index: u64,
}

/// Reads a video file and yields [`VideoFrame`]s at a fixed sampling rate (see the module doc).
pub struct VideoReader {
    path: PathBuf,
    cap: VideoCapture,
    info: VideoInfo,
    sample_fps: f64,
    /// Next sample to emit.
    next_sample: usize,
    /// Frames grabbed so far.
    frames_read: u64,
    /// First frame's raw timestamp (seconds), to make times relative.
    t0: Option<f64>,
    /// Previous frame's relative timestamp.
    last_ts: Option<f64>,
    /// The most recently converted frame.
    held: Option<Held>,
    /// Grab reported the end of the stream.
    ended: bool,
    bgr: Mat,
    rgb: Mat,
}

impl std::fmt::Debug for VideoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReader")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("sample_fps", &self.sample_fps)
            .field("next_sample", &self.next_sample)
            .finish_non_exhaustive()
    }
}

impl VideoReader {
    /// Opens `path` for sampling at `sample_fps` samples per second.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a rate that is not finite, not positive or above
    /// [`MAX_SAMPLE_FPS`]; [`Error::Video`] naming the file when it is missing or OpenCV cannot
    /// open it, or its frame size is zero or above [`MAX_FRAME_SIDE`].
    pub fn open(path: impl AsRef<Path>, sample_fps: f64) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        if !(sample_fps.is_finite() && sample_fps > 0.0 && sample_fps <= MAX_SAMPLE_FPS) {
            return Err(Error::InvalidConfig {
                name: "sample fps",
                message: format!("{sample_fps} is not in (0, {MAX_SAMPLE_FPS}]"),
            });
        }
        let video_err = |message: String| Error::Video {
            path: path.clone(),
            message,
        };
        if !path.is_file() {
            return Err(video_err("no such file".into()));
        }
        // FFmpeg first (timestamps from the container), then whatever else OpenCV has.
        let mut cap = None;
        let mut last_err = None;
        for api in [videoio::CAP_FFMPEG, videoio::CAP_ANY] {
            match VideoCapture::from_file(path.as_os_str(), api) {
                Ok(c) if c.is_opened().unwrap_or(false) => {
                    cap = Some(c);
                    break;
                }
                Ok(_) => {}
                Err(e) => last_err = Some(e),
            }
        }
        let cap = cap.ok_or_else(|| {
            video_err(match last_err {
                Some(e) => format!("OpenCV cannot open it: {e}"),
                None => "OpenCV cannot open it (not a video, or no decoder for its codec)".into(),
            })
        })?;
        let get = |prop: i32| cap.get(prop).unwrap_or(0.0);
        let (w, h) = (
            get(videoio::CAP_PROP_FRAME_WIDTH),
            get(videoio::CAP_PROP_FRAME_HEIGHT),
        );
        let side_ok = |v: f64| v >= 1.0 && v <= f64::from(MAX_FRAME_SIDE);
        if !side_ok(w) || !side_ok(h) {
            return Err(video_err(format!(
                "frame size {w}x{h} is not in 1..={MAX_FRAME_SIDE}"
            )));
        }
        let fps = get(videoio::CAP_PROP_FPS);
        let fps = if fps.is_finite() && fps > 0.0 && fps <= 10_000.0 {
            fps
        } else {
            30.0
        };
        let count = get(videoio::CAP_PROP_FRAME_COUNT);
        let frame_count = if count.is_finite() && count > 0.0 {
            count as u64
        } else {
            0
        };
        let info = VideoInfo {
            width: w as u32,
            height: h as u32,
            fps,
            frame_count,
        };
        Ok(Self {
            path,
            cap,
            info,
            sample_fps,
            next_sample: 0,
            frames_read: 0,
            t0: None,
            last_ts: None,
            held: None,
            ended: false,
            bgr: Mat::default(),
            rgb: Mat::default(),
        })
    }

    /// The stream's properties as OpenCV reports them.
    pub fn info(&self) -> VideoInfo {
        self.info
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sampling rate (samples per second).
    pub fn sample_fps(&self) -> f64 {
        self.sample_fps
    }

    /// Samples expected from the announced duration: `ceil(duration x fps)` (for a progress bar;
    /// the real count follows the frames' timestamps).
    pub fn expected_samples(&self) -> u64 {
        (self.info.duration() * self.sample_fps - 1e-6)
            .ceil()
            .max(0.0) as u64
    }

    fn sample_time(&self, k: usize) -> f64 {
        k as f64 / self.sample_fps
    }

    fn video_err(&self, message: String) -> Error {
        Error::Video {
            path: self.path.clone(),
            message,
        }
    }

    /// The next frame's relative timestamp: `CAP_PROP_POS_MSEC` when it increases, else the
    /// previous timestamp plus one nominal frame.
    fn frame_timestamp(&mut self) -> f64 {
        let raw = self.cap.get(videoio::CAP_PROP_POS_MSEC).unwrap_or(f64::NAN) / 1000.0;
        let nominal = self.last_ts.map_or(0.0, |t| t + 1.0 / self.info.fps);
        let t0 = *self
            .t0
            .get_or_insert(if raw.is_finite() { raw } else { 0.0 });
        let rel = raw - t0;
        match self.last_ts {
            None => 0.0,
            Some(last) if rel.is_finite() && rel > last => rel,
            Some(_) => nominal,
        }
    }

    /// Converts the grabbed frame to RGB and holds it.
    fn retrieve(&mut self, frame_time: f64) -> Result<(), Error> {
        let ok = self
            .cap
            .retrieve(&mut self.bgr, 0)
            .map_err(|e| self.video_err(format!("frame {}: {e}", self.frames_read)))?;
        if !ok || self.bgr.empty() {
            return Err(self.video_err(format!("frame {}: cannot decode", self.frames_read)));
        }
        imgproc::cvt_color_def(&self.bgr, &mut self.rgb, imgproc::COLOR_BGR2RGB)
            .map_err(|e| self.video_err(format!("frame {}: BGR to RGB: {e}", self.frames_read)))?;
        let (w, h) = (self.rgb.cols(), self.rgb.rows());
        let bytes = self
            .rgb
            .data_bytes()
            .map_err(|e| self.video_err(format!("frame {}: {e}", self.frames_read)))?;
        let (width, height) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
        if width == 0 || height == 0 || bytes.len() != width as usize * height as usize * 3 {
            return Err(self.video_err(format!(
                "frame {}: unexpected {w}x{h} RGB layout",
                self.frames_read
            )));
        }
        let rgb = match self.held.take() {
            Some(mut held) => {
                held.rgb.clear();
                held.rgb.extend_from_slice(bytes);
                held.rgb
            }
            None => bytes.to_vec(),
        };
        self.held = Some(Held {
            rgb,
            width,
            height,
            frame_time,
            frame_index: self.frames_read - 1,
        });
        Ok(())
    }

    fn emit(&mut self) -> Option<VideoFrame> {
        let held = self.held.as_ref()?;
        let frame = VideoFrame {
            rgb: held.rgb.clone(),
            width: held.width,
            height: held.height,
            index: self.next_sample,
            time: self.sample_time(self.next_sample),
            frame_time: held.frame_time,
            frame_index: held.frame_index,
        };
        self.next_sample += 1;
        Some(frame)
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>, Error> {
        let dur = 1.0 / self.info.fps;
        loop {
            if self.ended {
                // The last frame serves the samples up to its end.
                let end = self.last_ts.map_or(0.0, |t| t + dur);
                if self.sample_time(self.next_sample) < end - 1e-9 {
                    return Ok(self.emit());
                }
                return Ok(None);
            }
            // The held frame is the nearest for samples up to half a frame after it.
            if let (Some(held), Some(last)) = (&self.held, self.last_ts)
                && held.frame_index + 1 == self.frames_read
                && self.sample_time(self.next_sample) <= last + dur / 2.0
            {
                return Ok(self.emit());
            }
            let grabbed = self
                .cap
                .grab()
                .map_err(|e| self.video_err(format!("frame {}: {e}", self.frames_read)))?;
            if !grabbed {
                self.ended = true;
                if self.frames_read == 0 {
                    return Err(self.video_err("no frame could be decoded".into()));
                }
                continue;
            }
            self.frames_read += 1;
            let ts = self.frame_timestamp();
            self.last_ts = Some(ts);
            // Convert when a pending sample falls before this frame's end: it is emitted now, or at
            // the end of the stream if this turns out to be the last frame.
            if self.sample_time(self.next_sample) < ts + dur {
                self.retrieve(ts)?;
            }
        }
    }
}

impl Iterator for VideoReader {
    type Item = Result<VideoFrame, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_frame() {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => None,
            Err(e) => {
                // After an error the reader is finished.
                self.ended = true;
                self.held = None;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// (sample index, frame index) of every sample, checking times and sizes on the way.
    fn count_and_check(path: &Path, fps: f64) -> Vec<(usize, u64)> {
        let reader = VideoReader::open(path, fps).unwrap();
        let info = reader.info();
        let mut out = Vec::new();
        for (k, f) in reader.enumerate() {
            let f = f.unwrap();
            assert_eq!(f.index, k);
            assert!((f.time - k as f64 / fps).abs() < 1e-9);
            assert!(
                (f.frame_time - f.time).abs() <= 0.5 / info.fps + 1e-6,
                "{k}: {} vs {}",
                f.frame_time,
                f.time
            );
            assert_eq!((f.width, f.height), (info.width, info.height));
            assert_eq!(f.rgb.len(), (info.width * info.height * 3) as usize);
            out.push((f.index, f.frame_index));
        }
        out
    }

    #[test]
    fn sample_counts_follow_the_video_clock() {
        // Pose2Sim cam01: 100 frames at 60 fps = 1.667 s, 1080x1920.
        let cam01 = crate::test_support::shared("media/pose2sim/single/cam01.mp4");
        let reader = VideoReader::open(&cam01, 10.0).unwrap();
        assert_eq!(
            (
                reader.info().width,
                reader.info().height,
                reader.info().frame_count
            ),
            (1080, 1920, 100)
        );
        assert_eq!(reader.expected_samples(), 17);
        let samples = count_and_check(&cam01, 10.0);
        assert_eq!(samples.len(), 17); // round(1.667 x 10)
        assert_eq!(samples[16].1, 96);

        // The bundled dancer: 100 frames at 30 fps = 3.333 s, 540x960.
        let dancer = crate::test_support::testdata("dancer.mp4");
        let samples = count_and_check(&dancer, 10.0);
        assert_eq!(samples.len(), 34); // 33.3 -> 34
        assert_eq!(samples[1].1, 3);
        assert_eq!(count_and_check(&dancer, 7.0).len(), 24); // 23.3 -> 24
        assert_eq!(count_and_check(&dancer, 30.0).len(), 100);
        // Above the video rate, frames repeat: 3.333 s at 45 fps = 150 samples.
        let up = count_and_check(&dancer, 45.0);
        assert_eq!(up.len(), 150);
        assert_eq!(up.last().unwrap().1, 99);
        for frame in 0..100 {
            let n = up.iter().filter(|(_, f)| *f == frame).count();
            assert!(n == 1 || n == 2, "frame {frame} served {n} samples");
        }
    }

    #[test]
    fn pixels_are_rgb_and_match_the_same_frame_as_a_jpeg() {
        // Sample 0 of the dancer clip is source frame 0; testdata/images/dancer_f000.jpg is the
        // same frame, scaled the same way, stored as JPEG instead of H.264.
        let dancer = crate::test_support::testdata("dancer.mp4");
        let first = VideoReader::open(&dancer, 1.0)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let jpeg = image::open(crate::test_support::testdata("images/dancer_f000.jpg"))
            .unwrap()
            .to_rgb8();
        assert_eq!((first.width, first.height), jpeg.dimensions());
        let mad = |swap: bool| {
            let total: u64 = first
                .rgb
                .chunks_exact(3)
                .zip(jpeg.as_raw().chunks_exact(3))
                .map(|(v, j)| {
                    let v = if swap {
                        [v[2], v[1], v[0]]
                    } else {
                        [v[0], v[1], v[2]]
                    };
                    (0..3).map(|c| u64::from(v[c].abs_diff(j[c]))).sum::<u64>()
                })
                .sum();
            total as f64 / first.rgb.len() as f64
        };
        let (straight, swapped) = (mad(false), mad(true));
        assert!(straight < 4.0, "mean abs difference {straight}");
        assert!(
            swapped > straight * 1.5,
            "BGR order would be {swapped} vs {straight}"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let err = VideoReader::open("/nonexistent/clip.mp4", 10.0).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/clip.mp4"), "{err}");
        let not_video = crate::test_support::testdata("README.md");
        let err = VideoReader::open(&not_video, 10.0).unwrap_err();
        assert!(matches!(err, Error::Video { .. }), "{err}");
        assert!(err.to_string().contains("README.md"), "{err}");
        let dancer = crate::test_support::testdata("dancer.mp4");
        for bad in [0.0, -1.0, f64::NAN, 1e9] {
            assert!(matches!(
                VideoReader::open(&dancer, bad),
                Err(Error::InvalidConfig { .. })
            ));
        }
    }
}
