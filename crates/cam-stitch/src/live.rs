//! The live stitch step of a camera relay: N cameras, each fed its newest frame, one panorama
//! JPEG per [`LiveStitcher::render`].
//!
//! What it renders (the camera relay's compositor, kept as it was): each camera's newest frame
//! if it is younger than [`LiveOptions::stale`] (1 s), else a placeholder tile in
//! [`PLACEHOLDER_RGB`] with a label in [`LABEL_RGB`] ("camera 1 no picture", "camera 1 stale",
//! or the caller's own, e.g. "camera 1 offline"); the plan is rebuilt when a camera's frame
//! size changes; the panorama is encoded once. JPEG frames are decoded at render time, only the
//! newest of each camera, each camera with its own codec (in parallel with the `rayon` feature
//! and [`PlanOptions::parallel`]). A frame that does not decode costs its camera that frame
//! and nothing more: it is counted ([`CameraStats`]), the camera keeps its previous frame (which
//! goes stale), and the codec is fresh for the next one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Config;
use crate::error::{Result, StitchError};
use crate::jpeg::{JpegBackend, JpegCodec};
use crate::label::{LABEL_RGB, PLACEHOLDER_RGB, draw_label};
use crate::plan::{Plan, PlanOptions};
use crate::rgb::{RgbImage, RgbView};

/// Settings of a [`LiveStitcher`].
///
/// ```
/// let options = cam_stitch::LiveOptions { quality: 90, ..Default::default() };
/// assert_eq!(options.stale, std::time::Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    /// JPEG quality of the panorama (1..=100, default 80).
    pub quality: u8,
    /// A frame older than this (from its arrival time) is shown as a placeholder (default 1 s).
    pub stale: Duration,
    /// Plan options: feathering, threads (`parallel` also decodes the cameras in parallel),
    /// limits, and the placeholder tile's colour (default [`PLACEHOLDER_RGB`]).
    pub plan: PlanOptions,
    /// Colour of the placeholder label (default [`LABEL_RGB`]).
    pub label_rgb: [u8; 3],
    /// Size assumed for a camera that has not sent a frame yet (default 640x480, ESP32-CAM VGA).
    pub default_size: (u32, u32),
    /// Largest JPEG accepted from a camera, in bytes (default 4 MiB); larger ones are bad frames.
    pub max_jpeg_bytes: usize,
    /// JPEG implementation (default [`JpegBackend::fastest`]).
    pub backend: JpegBackend,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            quality: 80,
            stale: Duration::from_secs(1),
            plan: PlanOptions {
                placeholder: PLACEHOLDER_RGB,
                ..PlanOptions::default()
            },
            label_rgb: LABEL_RGB,
            default_size: (640, 480),
            max_jpeg_bytes: 4 << 20,
            backend: JpegBackend::fastest(),
        }
    }
}

/// A camera frame as received: a JPEG (decoded at render time) or decoded RGB pixels.
#[derive(Debug, Clone)]
pub enum CameraFrame {
    /// A JPEG, e.g. one part of the camera's MJPEG stream.
    Jpeg(Bytes),
    /// Decoded pixels.
    Rgb(Arc<RgbImage>),
}

impl From<Bytes> for CameraFrame {
    /// A JPEG.
    fn from(jpeg: Bytes) -> Self {
        CameraFrame::Jpeg(jpeg)
    }
}

impl From<Arc<RgbImage>> for CameraFrame {
    /// Decoded pixels.
    fn from(image: Arc<RgbImage>) -> Self {
        CameraFrame::Rgb(image)
    }
}

/// What a camera's tile shows (or would show if rendered now).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tile {
    /// The camera's frame number `seq` (its count of frames fed, from 1).
    Live {
        /// Which frame.
        seq: u64,
    },
    /// A placeholder with this label.
    Placeholder {
        /// The text drawn on the tile.
        label: String,
    },
}

/// Per camera counters, e.g. for a `/health` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CameraStats {
    /// Frames fed ([`LiveStitcher::push_jpeg`] / [`LiveStitcher::push_rgb`]).
    pub frames_pushed: u64,
    /// JPEG frames decoded.
    pub frames_decoded: u64,
    /// Frames that could not be used (did not decode, too large, wrong size).
    pub bad_frames: u64,
    /// Why the last bad frame was bad.
    pub last_bad_reason: Option<String>,
    /// Frames replaced by a newer one before a render used them (never decoded).
    pub frames_skipped: u64,
}

/// One rendered panorama.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LivePanorama {
    /// The panorama as JPEG (encoded once; clone it for every viewer).
    pub jpeg: Bytes,
    /// What each camera's tile shows, in camera order.
    pub tiles: Vec<Tile>,
    /// Time spent decoding camera JPEGs.
    pub decode_time: Duration,
    /// Time spent planning (when a size changed), stitching and drawing labels.
    pub render_time: Duration,
    /// Time spent encoding the panorama.
    pub encode_time: Duration,
}

/// One camera's state.
#[derive(Debug)]
struct Slot {
    codec: JpegCodec,
    /// The newest JPEG, not decoded yet: bytes, arrival time, frame number.
    pending: Option<(Bytes, Instant, u64)>,
    /// The frame shown: pixels, arrival time, frame number.
    shown: Option<(Shown, Instant, u64)>,
    /// Decode target, swapped with the shown frame's buffer on success.
    scratch: RgbImage,
    offline: Option<String>,
    stats: CameraStats,
}

#[derive(Debug)]
enum Shown {
    Own(RgbImage),
    Shared(Arc<RgbImage>),
}

impl Shown {
    fn image(&self) -> &RgbImage {
        match self {
            Shown::Own(i) => i,
            Shown::Shared(i) => i,
        }
    }
}

impl Slot {
    fn bad_frame(&mut self, reason: String) {
        self.stats.bad_frames += 1;
        self.stats.last_bad_reason = Some(reason);
    }

    /// Decodes the pending JPEG, if any, into the shown frame.
    fn decode_pending(&mut self) {
        let Some((jpeg, at, seq)) = self.pending.take() else {
            return;
        };
        match self.codec.decode(&jpeg, &mut self.scratch) {
            Ok(()) => {
                self.stats.frames_decoded += 1;
                let buffer = match self.shown.take() {
                    Some((Shown::Own(old), ..)) => old,
                    _ => RgbImage::default(),
                };
                let image = std::mem::replace(&mut self.scratch, buffer);
                self.shown = Some((Shown::Own(image), at, seq));
            }
            Err(e) => self.bad_frame(e.to_string()),
        }
    }

    fn tile(&self, camera: usize, now: Instant, stale: Duration) -> Tile {
        if let Some(label) = &self.offline {
            return Tile::Placeholder {
                label: label.clone(),
            };
        }
        // The pending JPEG is assumed to decode (it is what `render` would try first).
        let newest = match (&self.pending, &self.shown) {
            (Some((_, at, seq)), _) | (None, Some((_, at, seq))) => Some((*at, *seq)),
            (None, None) => None,
        };
        match newest {
            None => Tile::Placeholder {
                label: format!("camera {camera} no picture"),
            },
            Some((at, _)) if now.saturating_duration_since(at) >= stale => Tile::Placeholder {
                label: format!("camera {camera} stale"),
            },
            Some((_, seq)) => Tile::Live { seq },
        }
    }
}

/// Stitches N live cameras: feed each camera's newest frame as it arrives, call
/// [`LiveStitcher::render`] whenever a panorama is wanted.
///
/// What it renders (the camera relay's compositor, kept as it was): each camera's newest frame
/// if it is younger than [`LiveOptions::stale`] (1 s), else a placeholder tile in
/// [`PLACEHOLDER_RGB`] with a label in [`LABEL_RGB`]: the caller's while the camera is marked
/// offline ([`LiveStitcher::set_offline`], e.g. "camera 1 offline"), "camera 1 no picture"
/// before its first frame, "camera 1 stale" once its frame is old. The plan is rebuilt when a
/// camera's frame size changes (a camera without a frame keeps its last size, else
/// [`LiveOptions::default_size`]). JPEG frames are decoded at render time, only the newest of
/// each camera, each camera with its own codec (in parallel with the `rayon` feature and
/// [`PlanOptions::parallel`]). A frame that does not decode costs its camera that frame and
/// nothing more: it is counted ([`CameraStats`]), the camera keeps its previous frame (which
/// goes stale), and the codec is fresh for the next one.
///
/// It is `Send` and synchronous: run `render` where blocking is fine (e.g. tokio's
/// `spawn_blocking`, moving the stitcher in and out).
///
/// ```
/// use std::time::Instant;
/// use cam_stitch::{Config, LiveOptions, LiveStitcher, RgbImage, Tile};
///
/// let config = Config::from_json_str(r#"{"camera":[
///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":64}},
///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":64}}]}"#)?;
/// let mut live = LiveStitcher::new(config, LiveOptions::default())?;
///
/// let mut frame = RgbImage::new(64, 48);
/// frame.as_mut_bytes().fill(200);
/// let jpeg = cam_stitch::encode_jpeg(frame.view(), 90)?;
/// live.push_jpeg(0, jpeg.into(), Instant::now())?;      // camera 0: a JPEG from its stream
/// live.set_offline(1, Some("camera 1 offline".into()))?; // camera 1: down
///
/// let pano = live.render(Instant::now())?;
/// assert_eq!(pano.tiles[0], Tile::Live { seq: 1 });
/// assert_eq!(pano.tiles[1], Tile::Placeholder { label: "camera 1 offline".into() });
/// assert_eq!(cam_stitch::decode_jpeg(&pano.jpeg)?.size(), (128, 48));
/// assert_eq!(live.panorama().pixel(10, 10).map(|p| p[0].abs_diff(200) <= 3), Some(true));
/// assert_eq!(live.stats(0).map(|s| s.frames_decoded), Some(1));
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
#[derive(Debug)]
pub struct LiveStitcher {
    config: Config,
    options: LiveOptions,
    slots: Vec<Slot>,
    encoder: JpegCodec,
    plan: Option<Plan>,
    out: RgbImage,
    jpeg_capacity: usize,
}

impl LiveStitcher {
    /// A stitcher for `config` (validated); the plan is built on the first render.
    pub fn new(config: Config, options: LiveOptions) -> Result<LiveStitcher> {
        config.validate(&options.plan.limits)?;
        let mut slots = Vec::with_capacity(config.camera.len());
        for _ in &config.camera {
            let mut codec = JpegCodec::with_backend(options.backend)?;
            codec.set_limits(options.plan.limits);
            slots.push(Slot {
                codec,
                pending: None,
                shown: None,
                scratch: RgbImage::default(),
                offline: None,
                stats: CameraStats::default(),
            });
        }
        let (w, h) = config.output_size();
        Ok(LiveStitcher {
            encoder: JpegCodec::with_backend(options.backend)?,
            config,
            options,
            slots,
            plan: None,
            out: RgbImage::new(w, h),
            jpeg_capacity: 0,
        })
    }

    /// Number of cameras.
    pub fn camera_count(&self) -> usize {
        self.slots.len()
    }

    /// Panorama size `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        self.config.output_size()
    }

    /// The settings.
    pub fn options(&self) -> &LiveOptions {
        &self.options
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn slot(&mut self, camera: usize) -> Result<&mut Slot> {
        let cameras = self.slots.len();
        self.slots
            .get_mut(camera)
            .ok_or(StitchError::NoSuchCamera { camera, cameras })
    }

    /// Feeds camera `camera`'s newest frame (JPEG or pixels) that arrived at `at`:
    /// [`LiveStitcher::push_jpeg`] or [`LiveStitcher::push_rgb`].
    pub fn push(&mut self, camera: usize, frame: CameraFrame, at: Instant) -> Result<()> {
        match frame {
            CameraFrame::Jpeg(jpeg) => self.push_jpeg(camera, jpeg, at),
            CameraFrame::Rgb(image) => self.push_rgb(camera, image, at),
        }
    }

    /// Feeds camera `camera`'s newest frame, a JPEG that arrived at `at`. It replaces any frame
    /// not rendered yet and is decoded by the next [`LiveStitcher::render`]. A JPEG over
    /// [`LiveOptions::max_jpeg_bytes`] is counted as a bad frame and dropped. Errors only for a
    /// camera index out of range.
    pub fn push_jpeg(&mut self, camera: usize, jpeg: Bytes, at: Instant) -> Result<()> {
        let max = self.options.max_jpeg_bytes;
        let slot = self.slot(camera)?;
        slot.stats.frames_pushed += 1;
        if jpeg.len() > max {
            slot.bad_frame(format!("JPEG of {} bytes exceeds {max}", jpeg.len()));
            return Ok(());
        }
        let seq = slot.stats.frames_pushed;
        if slot.pending.replace((jpeg, at, seq)).is_some() {
            slot.stats.frames_skipped += 1;
        }
        Ok(())
    }

    /// Feeds camera `camera`'s newest frame as decoded pixels that arrived at `at`. An image
    /// outside the size limits is counted as a bad frame and dropped. Errors only for a camera
    /// index out of range.
    pub fn push_rgb(&mut self, camera: usize, image: Arc<RgbImage>, at: Instant) -> Result<()> {
        let max = self.options.plan.limits.max_side;
        let slot = self.slot(camera)?;
        slot.stats.frames_pushed += 1;
        let (w, h) = image.size();
        if w == 0 || h == 0 || w > max || h > max {
            slot.bad_frame(format!("image is {w}x{h}, sides must be 1..={max} pixels"));
            return Ok(());
        }
        if slot.pending.take().is_some() {
            slot.stats.frames_skipped += 1;
        }
        let seq = slot.stats.frames_pushed;
        slot.shown = Some((Shown::Shared(image), at, seq));
        Ok(())
    }

    /// Marks camera `camera` offline with the label to show on its placeholder tile (e.g.
    /// "camera 1 offline", "camera 1 connecting"), whatever frames it has; `None` marks it
    /// online again (the default), showing its frames while they are fresh.
    pub fn set_offline(&mut self, camera: usize, label: Option<String>) -> Result<()> {
        self.slot(camera)?.offline = label;
        Ok(())
    }

    /// What camera `camera`'s tile would show if rendered at `now` (a pending JPEG counts as
    /// live: it shows unless it fails to decode). `None` for a camera index out of range.
    pub fn tile(&self, camera: usize, now: Instant) -> Option<Tile> {
        self.slots
            .get(camera)
            .map(|s| s.tile(camera, now, self.options.stale))
    }

    /// [`LiveStitcher::tile`] of every camera.
    pub fn tiles(&self, now: Instant) -> Vec<Tile> {
        (0..self.slots.len())
            .filter_map(|k| self.tile(k, now))
            .collect()
    }

    /// When the first tile that would be live at `now` goes stale (the `stale_at` of
    /// [`RenderSchedule::next`](crate::RenderSchedule::next)); `None` if no tile is live.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use cam_stitch::{Config, LiveOptions, LiveStitcher};
    /// let config = Config::from_json_str(r#"{"camera":[
    ///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":64}}]}"#)?;
    /// let mut live = LiveStitcher::new(config, LiveOptions::default())?; // stale after 1 s
    /// let t0 = Instant::now();
    /// assert_eq!(live.stale_at(t0), None);
    /// let jpeg = cam_stitch::encode_jpeg(cam_stitch::RgbImage::new(64, 48).view(), 90)?;
    /// live.push_jpeg(0, jpeg.into(), t0)?;
    /// assert_eq!(live.stale_at(t0), Some(t0 + Duration::from_secs(1)));
    /// assert_eq!(live.stale_at(t0 + Duration::from_secs(2)), None);
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn stale_at(&self, now: Instant) -> Option<Instant> {
        let stale = self.options.stale;
        self.slots
            .iter()
            .filter(|s| s.offline.is_none())
            .filter_map(|s| match (&s.pending, &s.shown) {
                (Some((_, at, _)), _) | (None, Some((_, at, _))) => Some(*at + stale),
                (None, None) => None,
            })
            .filter(|at| now < *at)
            .min()
    }

    /// Camera `camera`'s counters.
    pub fn stats(&self, camera: usize) -> Option<&CameraStats> {
        self.slots.get(camera).map(|s| &s.stats)
    }

    /// When camera `camera`'s shown frame arrived (its newest frame that decoded).
    pub fn last_frame_at(&self, camera: usize) -> Option<Instant> {
        self.slots
            .get(camera)
            .and_then(|s| s.shown.as_ref().map(|f| f.1))
    }

    /// The last rendered panorama as RGB (the placeholder colour before the first render).
    pub fn panorama(&self) -> RgbView<'_> {
        self.out.view()
    }

    /// The plan in use, once built.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// Decodes the cameras' newest JPEGs, stitches the frames that are fresh at `now`, paints
    /// placeholders for the others, and encodes the panorama once.
    ///
    /// Errors only if planning or encoding fails; a camera's bad frame is not an error (see
    /// [`LiveStitcher::stats`]).
    pub fn render(&mut self, now: Instant) -> Result<LivePanorama> {
        let t0 = Instant::now();
        self.decode_pending();
        let t1 = Instant::now();
        let stale = self.options.stale;
        let tiles: Vec<Tile> = self
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| s.tile(k, now, stale))
            .collect();
        let old = self.plan.as_ref().map(Plan::input_sizes);
        let sizes: Vec<(u32, u32)> = self
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| match &s.shown {
                Some((f, ..)) => f.image().size(),
                None => old
                    .as_ref()
                    .and_then(|o| o.get(k).copied())
                    .unwrap_or(self.options.default_size),
            })
            .collect();
        if old.as_ref() != Some(&sizes) {
            let plan = Plan::with_options(&self.config, &sizes, &self.options.plan)?;
            self.out = plan.new_output();
            self.plan = Some(plan);
        }
        let Some(plan) = self.plan.as_ref() else {
            return Err(StitchError::NoCameras);
        };
        let views: Vec<Option<RgbView<'_>>> = self
            .slots
            .iter()
            .zip(&tiles)
            .map(|(s, t)| match (t, &s.shown) {
                (Tile::Live { .. }, Some((f, ..))) => Some(f.image().view()),
                _ => None,
            })
            .collect();
        plan.render(&views, &mut self.out)?;
        for (k, tile) in tiles.iter().enumerate() {
            if let (Tile::Placeholder { label }, Some(cols)) = (tile, plan.camera_columns(k)) {
                draw_label(
                    &mut self.out,
                    cols.start,
                    cols.end - cols.start,
                    label,
                    self.options.label_rgb,
                );
            }
        }
        let t2 = Instant::now();
        let mut jpeg = Vec::with_capacity(self.jpeg_capacity);
        self.encoder
            .encode(self.out.view(), self.options.quality, &mut jpeg)?;
        self.jpeg_capacity = jpeg.len() + jpeg.len() / 4;
        let t3 = Instant::now();
        Ok(LivePanorama {
            jpeg: Bytes::from(jpeg),
            tiles,
            decode_time: t1 - t0,
            render_time: t2 - t1,
            encode_time: t3 - t2,
        })
    }

    /// Decodes every camera's pending JPEG, in parallel when asked (feature `rayon`).
    fn decode_pending(&mut self) {
        #[cfg(feature = "rayon")]
        if self.options.plan.parallel
            && self.slots.iter().filter(|s| s.pending.is_some()).count() > 1
        {
            use rayon::prelude::*;
            self.slots.par_iter_mut().for_each(Slot::decode_pending);
            return;
        }
        self.slots.iter_mut().for_each(Slot::decode_pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send() {
        fn send<T: Send>() {}
        send::<LiveStitcher>();
        send::<LivePanorama>();
    }
}
