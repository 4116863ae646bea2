//! The encode-once H.264 track: RGB or YUV 4:2:0 frames in, Annex B access units out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer, YUVSlices};

use super::error::WebrtcError;

/// Largest frame OpenH264 encodes (level 5.2).
const MAX_DIMENSION: u32 = 3840;

/// Settings of the H.264 encoder.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct H264Settings {
    /// Target bitrate in bits per second (rate control on the bitrate).
    pub bitrate_bps: u32,
    /// Expected frame rate (rate control budget per frame).
    pub max_fps: f32,
    /// A key frame at least this often, whatever the viewers ask.
    pub keyframe_interval: Duration,
    /// Requested key frames (viewer join, PLI, FIR) closer than this to the previous key frame
    /// are merged into it: a lossy viewer cannot turn the stream into key frames only.
    pub min_keyframe_spacing: Duration,
    /// OpenH264 worker threads (1 = encode on the calling thread only).
    pub threads: u16,
}

impl Default for H264Settings {
    fn default() -> Self {
        Self {
            bitrate_bps: 1_500_000,
            max_fps: 15.0,
            keyframe_interval: Duration::from_secs(2),
            min_keyframe_spacing: Duration::from_millis(250),
            threads: 1,
        }
    }
}

impl H264Settings {
    /// Settings with this target bitrate (bits per second).
    pub fn with_bitrate(mut self, bps: u32) -> Self {
        self.bitrate_bps = bps;
        self
    }

    /// Settings with this maximum key frame interval.
    pub fn with_keyframe_interval(mut self, interval: Duration) -> Self {
        self.keyframe_interval = interval;
        self
    }

    /// Settings with this rate limit on requested key frames.
    pub fn with_min_keyframe_spacing(mut self, spacing: Duration) -> Self {
        self.min_keyframe_spacing = spacing;
        self
    }

    /// Settings with this expected frame rate.
    pub fn with_max_fps(mut self, fps: f32) -> Self {
        self.max_fps = fps;
        self
    }
}

/// One encoded picture: an H.264 access unit in Annex B format (start codes), shared by every
/// session (`Arc`, never copied per viewer).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AccessUnit {
    /// NAL units with start codes; a key frame carries SPS and PPS first.
    pub data: Arc<[u8]>,
    /// An IDR picture: a decoder can start here.
    pub keyframe: bool,
    /// When the source frame was captured (the RTP timestamp and the latency figure use it).
    pub capture: Instant,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Encoder output counter (1, 2, 3, ...): a gap tells a receiver it missed a picture.
    pub seq: u64,
    /// Time spent in colour conversion and encoding.
    pub encode_time: Duration,
}

/// Borrowed YUV 4:2:0 planes (I420) of one frame.
#[derive(Clone, Copy, Debug)]
pub struct Yuv420<'a> {
    /// Luma plane, `height` rows of `y_stride` bytes.
    pub y: &'a [u8],
    /// Cb plane, `height / 2` rows of `uv_stride` bytes.
    pub u: &'a [u8],
    /// Cr plane, `height / 2` rows of `uv_stride` bytes.
    pub v: &'a [u8],
    /// Picture width (even).
    pub width: u32,
    /// Picture height (even).
    pub height: u32,
    /// Bytes per luma row (>= width).
    pub y_stride: usize,
    /// Bytes per chroma row (>= width / 2).
    pub uv_stride: usize,
}

/// An H.264 encoder (OpenH264, constrained baseline profile: every browser decodes it) with key
/// frames on request and at least every [`H264Settings::keyframe_interval`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use stream_codec::webrtc::{H264Encoder, H264Settings};
///
/// let settings = H264Settings::default().with_min_keyframe_spacing(Duration::ZERO);
/// let mut encoder = H264Encoder::new(settings).expect("encoder");
/// let rgb = vec![128u8; 64 * 48 * 3];
/// let first = encoder.encode_rgb(&rgb, 64, 48, Instant::now()).expect("encode").expect("a picture");
/// assert!(first.keyframe); // the first picture is always a key frame
/// let second = encoder.encode_rgb(&rgb, 64, 48, Instant::now()).expect("encode").expect("a picture");
/// assert!(!second.keyframe);
/// encoder.request_keyframe();
/// let third = encoder.encode_rgb(&rgb, 64, 48, Instant::now()).expect("encode").expect("a picture");
/// assert!(third.keyframe);
/// assert_eq!(&third.data[..4], &[0, 0, 0, 1]); // Annex B
/// ```
pub struct H264Encoder {
    settings: H264Settings,
    encoder: Encoder,
    yuv: Option<YUVBuffer>,
    started: Instant,
    last_keyframe: Option<Instant>,
    keyframe_requested: bool,
    seq: u64,
    out: Vec<u8>,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("settings", &self.settings)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder with these settings (the picture size is taken from the first frame).
    pub fn new(settings: H264Settings) -> Result<Self, WebrtcError> {
        if settings.bitrate_bps < 10_000 || settings.bitrate_bps > 100_000_000 {
            return Err(WebrtcError::Config(format!(
                "H.264 bitrate {} bit/s outside 10 kbit/s ..= 100 Mbit/s",
                settings.bitrate_bps
            )));
        }
        if !(settings.max_fps > 0.0 && settings.max_fps <= 240.0) {
            return Err(WebrtcError::Config(format!(
                "H.264 frame rate {} outside (0, 240]",
                settings.max_fps
            )));
        }
        if settings.keyframe_interval.is_zero() {
            return Err(WebrtcError::Config(
                "key frame interval must be positive".into(),
            ));
        }
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.max_fps))
            .rate_control_mode(RateControlMode::Bitrate)
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .skip_frames(false)
            // Key frames are placed by time here (and on request), not by frame count.
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .num_threads(settings.threads.max(1));
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| WebrtcError::Encoder(e.to_string()))?;
        Ok(Self {
            settings,
            encoder,
            yuv: None,
            started: Instant::now(),
            last_keyframe: None,
            keyframe_requested: false,
            seq: 0,
            out: Vec::new(),
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &H264Settings {
        &self.settings
    }

    /// Make the next picture a key frame (merged with the previous key frame when it is closer
    /// than [`H264Settings::min_keyframe_spacing`]).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encode a packed RGB frame (`width * height * 3` bytes, even width and height).
    ///
    /// Returns `None` when the encoder produced no picture for this frame.
    pub fn encode_rgb(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        capture: Instant,
    ) -> Result<Option<AccessUnit>, WebrtcError> {
        check_size(width, height)?;
        let expected = width as usize * height as usize * 3;
        if rgb.len() != expected {
            return Err(WebrtcError::FrameSize(format!(
                "RGB frame of {} bytes, {width}x{height} needs {expected}",
                rgb.len()
            )));
        }
        let t0 = Instant::now();
        let (w, h) = (width as usize, height as usize);
        let mut yuv = match self.yuv.take() {
            Some(buffer) if yuv_dimensions(&buffer) == (w, h) => buffer,
            _ => YUVBuffer::new(w, h),
        };
        yuv.read_rgb8(RgbSliceU8::new(rgb, (w, h)));
        let result = self.encode_source(&yuv, width, height, capture, t0);
        self.yuv = Some(yuv);
        result
    }

    /// Encode YUV 4:2:0 planes (no colour conversion).
    pub fn encode_yuv420(
        &mut self,
        frame: Yuv420<'_>,
        capture: Instant,
    ) -> Result<Option<AccessUnit>, WebrtcError> {
        check_size(frame.width, frame.height)?;
        let (w, h) = (frame.width as usize, frame.height as usize);
        if frame.y_stride < w
            || frame.uv_stride < w / 2
            || frame.y.len() != frame.y_stride * h
            || frame.u.len() != frame.uv_stride * (h / 2)
            || frame.v.len() != frame.uv_stride * (h / 2)
        {
            return Err(WebrtcError::FrameSize(format!(
                "YUV 4:2:0 planes of {}/{}/{} bytes with strides {}/{} do not fit {w}x{h}",
                frame.y.len(),
                frame.u.len(),
                frame.v.len(),
                frame.y_stride,
                frame.uv_stride
            )));
        }
        let t0 = Instant::now();
        let source = YUVSlices::new(
            (frame.y, frame.u, frame.v),
            (w, h),
            (frame.y_stride, frame.uv_stride, frame.uv_stride),
        );
        self.encode_source(&source, frame.width, frame.height, capture, t0)
    }

    fn encode_source<S: openh264::formats::YUVSource>(
        &mut self,
        source: &S,
        width: u32,
        height: u32,
        capture: Instant,
        t0: Instant,
    ) -> Result<Option<AccessUnit>, WebrtcError> {
        let now = Instant::now();
        let due = match self.last_keyframe {
            None => true,
            Some(last) => {
                let since = now.saturating_duration_since(last);
                since >= self.settings.keyframe_interval
                    || (self.keyframe_requested && since >= self.settings.min_keyframe_spacing)
            }
        };
        if due {
            // The first call initialises the encoder inside `encode_at`; OpenH264 starts with
            // an IDR anyway, and forcing one on an initialised encoder is always allowed.
            if self.last_keyframe.is_some() {
                self.encoder.force_intra_frame();
            }
            self.keyframe_requested = false;
        }
        let millis = u64::try_from(now.saturating_duration_since(self.started).as_millis())
            .unwrap_or(u64::MAX / 2);
        let stream = self
            .encoder
            .encode_at(source, Timestamp::from_millis(millis))
            .map_err(|e| WebrtcError::Encoder(e.to_string()))?;
        let keyframe = match stream.frame_type() {
            FrameType::IDR | FrameType::I => true,
            FrameType::P | FrameType::IPMixed => false,
            FrameType::Skip | FrameType::Invalid => return Ok(None),
        };
        self.out.clear();
        stream.write_vec(&mut self.out);
        if self.out.is_empty() {
            return Ok(None);
        }
        if keyframe {
            self.last_keyframe = Some(now);
        }
        self.seq += 1;
        Ok(Some(AccessUnit {
            data: Arc::from(self.out.as_slice()),
            keyframe,
            capture,
            width,
            height,
            seq: self.seq,
            encode_time: t0.elapsed(),
        }))
    }
}

fn yuv_dimensions(buffer: &YUVBuffer) -> (usize, usize) {
    use openh264::formats::YUVSource;
    buffer.dimensions()
}

fn check_size(width: u32, height: u32) -> Result<(), WebrtcError> {
    if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(WebrtcError::FrameSize(format!(
            "{width}x{height}: H.264 4:2:0 needs a non-empty picture with even width and height"
        )));
    }
    if width.max(height) > MAX_DIMENSION || width.min(height) > 2160 {
        return Err(WebrtcError::FrameSize(format!(
            "{width}x{height}: larger than OpenH264's 3840x2160"
        )));
    }
    Ok(())
}
