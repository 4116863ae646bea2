//! Camera JPEGs in, panorama JPEG out, in one call, on the fastest path the frames allow.

use crate::config::Config;
use crate::error::{Result, StitchError};
use crate::jpeg::{JpegCodec, JpegHeader};
use crate::plan::{Plan, PlanOptions};
use crate::rgb::RgbImage;
use crate::yuv::{Subsampling, YuvFrame, YuvInput, YuvPlan};

/// Which path [`JpegStitcher::stitch`] took for a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StitchPath {
    /// Decoded to YCbCr planes, warped per plane, encoded from the planes ([`YuvPlan`]).
    Yuv,
    /// Decoded to RGB, warped with [`Plan`] (OpenCV-equal pixels), encoded from RGB.
    Rgb,
}

/// The whole relay step: decode the camera JPEGs, stitch, encode the panorama as JPEG.
///
/// It takes the YCbCr path ([`YuvPlan`]: no colour conversion, no chroma resampling in the
/// codec, half the bytes to warp) when libjpeg-turbo is compiled in (feature `turbojpeg`) and
/// every frame is a YCbCr JPEG, and the RGB path ([`Plan`], OpenCV-equal pixels) otherwise or
/// when asked ([`JpegStitcher::set_rgb_only`]). Plans are built on the first frame and rebuilt
/// when a camera's size or subsampling changes; a missing camera (`None`) keeps its last known
/// size (or that of another camera) and renders as the placeholder tile. With
/// [`PlanOptions::parallel`] (feature `rayon`) the decodes run in parallel and the rows are
/// split across threads. Output is 4:2:0 at the chosen quality (default 95, like
/// `cv2.imencode`).
///
/// ```
/// use cam_stitch::{Config, JpegCodec, JpegStitcher, PlanOptions, RgbImage};
/// let config = Config::from_json_str(r#"{"camera":[
///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":40}},
///   {"rotate":180,"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":10,"back":64}}]}"#)?;
/// let mut camera = RgbImage::new(64, 48);
/// camera.as_mut_bytes().fill(90);
/// let mut jpeg_in = Vec::new();
/// JpegCodec::new()?.encode(camera.view(), 90, &mut jpeg_in)?;
///
/// let mut stitcher = JpegStitcher::new(config, PlanOptions::default())?;
/// let mut jpeg_out = Vec::new();
/// stitcher.stitch(&[Some(&jpeg_in), None], &mut jpeg_out)?; // camera 1 missing: placeholder
/// let pano = cam_stitch::decode_jpeg(&jpeg_out)?;
/// assert_eq!(pano.size(), (94, 48));
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
#[derive(Debug)]
pub struct JpegStitcher {
    config: Config,
    options: PlanOptions,
    quality: u8,
    default_size: (u32, u32),
    rgb_only: bool,
    decoders: Vec<JpegCodec>,
    encoder: JpegCodec,
    headers: Vec<Option<JpegHeader>>,
    yuv_plan: Option<YuvPlan>,
    yuv_frames: Vec<YuvFrame>,
    yuv_out: YuvFrame,
    rgb_plan: Option<Plan>,
    rgb_frames: Vec<RgbImage>,
    rgb_out: RgbImage,
}

/// The size assumed for a camera that has not sent a frame yet (ESP32-CAM VGA).
const DEFAULT_SIZE: (u32, u32) = (640, 480);

impl JpegStitcher {
    /// A stitcher for `config` with `options` (feathering, placeholder colour, threads, limits).
    /// Validates the config; plans are built on the first frame.
    pub fn new(config: Config, options: PlanOptions) -> Result<JpegStitcher> {
        config.validate(&options.limits)?;
        let n = config.camera.len();
        let mut decoders = Vec::with_capacity(n);
        for _ in 0..n {
            let mut d = JpegCodec::new()?;
            d.set_limits(options.limits);
            decoders.push(d);
        }
        Ok(JpegStitcher {
            config,
            options,
            quality: 95,
            default_size: DEFAULT_SIZE,
            rgb_only: false,
            decoders,
            encoder: JpegCodec::new()?,
            headers: vec![None; n],
            yuv_plan: None,
            yuv_frames: vec![YuvFrame::default(); n],
            yuv_out: YuvFrame::default(),
            rgb_plan: None,
            rgb_frames: vec![RgbImage::default(); n],
            rgb_out: RgbImage::default(),
        })
    }

    /// JPEG quality of the panorama (1..=100, default 95).
    pub fn set_quality(&mut self, quality: u8) {
        self.quality = quality.clamp(1, 100);
    }

    /// Always take the RGB path (OpenCV-equal pixels), e.g. to compare.
    pub fn set_rgb_only(&mut self, rgb_only: bool) {
        self.rgb_only = rgb_only;
    }

    /// Decode in parallel and split rows across threads (needs the `rayon` feature).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.options.parallel = parallel;
        if let Some(p) = self.yuv_plan.as_mut() {
            p.set_parallel(parallel);
        }
        if let Some(p) = self.rgb_plan.as_mut() {
            p.set_parallel(parallel);
        }
    }

    /// The size assumed for a camera that has not sent a frame yet (default 640x480).
    pub fn set_default_size(&mut self, size: (u32, u32)) {
        self.default_size = size;
    }

    /// Panorama size `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        self.config.output_size()
    }

    /// The YCbCr plan in use, once built.
    pub fn yuv_plan(&self) -> Option<&YuvPlan> {
        self.yuv_plan.as_ref()
    }

    /// The RGB plan in use, once built.
    pub fn rgb_plan(&self) -> Option<&Plan> {
        self.rgb_plan.as_ref()
    }

    /// Decodes `jpegs[n]` (camera `n`'s frame, `None` = missing: placeholder tile), stitches and
    /// encodes the panorama into `out` (cleared first). Returns the path taken.
    pub fn stitch(&mut self, jpegs: &[Option<&[u8]>], out: &mut Vec<u8>) -> Result<StitchPath> {
        let n = self.config.camera.len();
        if jpegs.len() != n {
            return Err(StitchError::CameraCount {
                expected: n,
                got: jpegs.len(),
            });
        }
        for (k, ((h, d), j)) in self
            .headers
            .iter_mut()
            .zip(&mut self.decoders)
            .zip(jpegs)
            .enumerate()
        {
            *h = match j {
                Some(j) => Some(d.read_header(j).map_err(|e| camera_error(k, e))?),
                None => None,
            };
        }
        let yuv = cfg!(feature = "turbojpeg")
            && !self.rgb_only
            && self
                .headers
                .iter()
                .flatten()
                .all(|h| h.subsampling.is_some());
        if yuv {
            self.stitch_yuv(jpegs, out)?;
            Ok(StitchPath::Yuv)
        } else {
            self.stitch_rgb(jpegs, out)?;
            Ok(StitchPath::Rgb)
        }
    }

    /// The size of camera `k` for planning: its frame's, else the last plan's, else another
    /// camera's, else the default.
    fn size_of(&self, k: usize, last: Option<(u32, u32)>) -> (u32, u32) {
        if let Some(h) = self.headers.get(k).copied().flatten() {
            return (h.width, h.height);
        }
        last.or_else(|| {
            self.headers
                .iter()
                .flatten()
                .next()
                .map(|h| (h.width, h.height))
        })
        .unwrap_or(self.default_size)
    }

    fn stitch_yuv(&mut self, jpegs: &[Option<&[u8]>], out: &mut Vec<u8>) -> Result<()> {
        let last = self.yuv_plan.as_ref().map(|p| p.inputs());
        let inputs: Vec<YuvInput> = (0..jpegs.len())
            .map(|k| {
                let prev = last.and_then(|l| l.get(k).copied());
                let size = self.size_of(k, prev.map(|p| p.0));
                let sub = self.headers[k]
                    .and_then(|h| h.subsampling)
                    .or(prev.map(|p| p.1))
                    .unwrap_or(Subsampling::S420);
                (size, sub)
            })
            .collect();
        if last != Some(inputs.as_slice()) {
            let plan = YuvPlan::with_options(&self.config, &inputs, &self.options)?;
            self.yuv_out = plan.new_output();
            self.yuv_plan = Some(plan);
        }
        decode_all(
            &mut self.decoders,
            &mut self.yuv_frames,
            jpegs,
            self.options.parallel,
            |d, j, f| d.decode_yuv(j, f),
        )?;
        let Some(plan) = self.yuv_plan.as_ref() else {
            return Err(StitchError::NoCameras);
        };
        let frames: Vec<Option<&YuvFrame>> = self
            .yuv_frames
            .iter()
            .zip(jpegs)
            .map(|(f, j)| j.map(|_| f))
            .collect();
        plan.render(&frames, &mut self.yuv_out)?;
        self.encoder.encode_yuv(&self.yuv_out, self.quality, out)
    }

    fn stitch_rgb(&mut self, jpegs: &[Option<&[u8]>], out: &mut Vec<u8>) -> Result<()> {
        let last = self.rgb_plan.as_ref().map(Plan::input_sizes);
        let sizes: Vec<(u32, u32)> = (0..jpegs.len())
            .map(|k| self.size_of(k, last.as_ref().and_then(|l| l.get(k).copied())))
            .collect();
        if last.as_ref() != Some(&sizes) {
            let plan = Plan::with_options(&self.config, &sizes, &self.options)?;
            self.rgb_out = plan.new_output();
            self.rgb_plan = Some(plan);
        }
        decode_all(
            &mut self.decoders,
            &mut self.rgb_frames,
            jpegs,
            self.options.parallel,
            |d, j, f| d.decode(j, f),
        )?;
        let Some(plan) = self.rgb_plan.as_ref() else {
            return Err(StitchError::NoCameras);
        };
        let views: Vec<_> = self
            .rgb_frames
            .iter()
            .zip(jpegs)
            .map(|(f, j)| j.map(|_| f.view()))
            .collect();
        plan.render(&views, &mut self.rgb_out)?;
        self.encoder.encode(self.rgb_out.view(), self.quality, out)
    }
}

fn camera_error(k: usize, e: StitchError) -> StitchError {
    match e {
        StitchError::Decode(m) => StitchError::Decode(format!("camera {k}: {m}")),
        e => e,
    }
}

/// Decodes every present JPEG into its frame buffer, in parallel when asked (feature `rayon`).
fn decode_all<F: Send>(
    decoders: &mut [JpegCodec],
    frames: &mut [F],
    jpegs: &[Option<&[u8]>],
    parallel: bool,
    decode: impl Fn(&mut JpegCodec, &[u8], &mut F) -> Result<()> + Sync,
) -> Result<()> {
    #[cfg(feature = "rayon")]
    if parallel {
        use rayon::prelude::*;
        return decoders
            .par_iter_mut()
            .zip(frames.par_iter_mut())
            .zip(jpegs.par_iter())
            .enumerate()
            .try_for_each(|(k, ((d, f), j))| match j {
                Some(j) => decode(d, j, f).map_err(|e| camera_error(k, e)),
                None => Ok(()),
            });
    }
    let _ = parallel;
    for (k, ((d, f), j)) in decoders.iter_mut().zip(frames).zip(jpegs).enumerate() {
        if let Some(j) = j {
            decode(d, j, f).map_err(|e| camera_error(k, e))?;
        }
    }
    Ok(())
}
