//! The YCbCr path: camera frames as JPEG's own planes in, the panorama as 4:2:0 planes out.
//!
//! A JPEG stores Y (luma) at full resolution and Cb/Cr (chroma) subsampled, usually 4:2:0.
//! Decoding straight to those planes and encoding straight from them skips the colour
//! conversion and the chroma up- and down-sampling on both sides, and the warp then moves
//! 1.5 bytes per pixel instead of 3. [`YuvPlan`] samples the Y plane exactly like [`crate::Plan`]
//! samples RGB (OpenCV's positions and weights) and the chroma planes at chroma resolution
//! (each chroma sample at its JPEG position, the centre of its luma block). The result is not
//! bit-equal to the RGB path but visually the same (see the README for PSNR figures).

use serde::{Deserialize, Serialize};

use crate::bilinear;
use crate::config::{Config, Rotation};
use crate::error::{Result, StitchError};
use crate::plan::{CameraGeometry, PlanOptions, block_in_input, camera_geometry};
use crate::plane::{Block, Pixel, PlaneInput, PlanePlan};

/// Chroma subsampling of a YCbCr image (JPEG's sampling factors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Subsampling {
    /// No subsampling.
    S444,
    /// Half horizontal chroma resolution.
    S422,
    /// Half horizontal and vertical chroma resolution (the usual camera and `imencode` choice).
    #[default]
    S420,
    /// Half vertical chroma resolution.
    S440,
    /// Quarter horizontal chroma resolution.
    S411,
}

impl Subsampling {
    /// Luma samples per chroma sample `(horizontal, vertical)`.
    ///
    /// ```
    /// assert_eq!(cam_stitch::Subsampling::S420.factors(), (2, 2));
    /// ```
    pub fn factors(self) -> (u32, u32) {
        match self {
            Subsampling::S444 => (1, 1),
            Subsampling::S422 => (2, 1),
            Subsampling::S420 => (2, 2),
            Subsampling::S440 => (1, 2),
            Subsampling::S411 => (4, 1),
        }
    }
}

/// An image as three 8-bit planes Y, Cb, Cr (JFIF full range), contiguous in one buffer in the
/// layout libjpeg-turbo uses with row alignment 1: Y has `pad(width, fx)` bytes per row and
/// `pad(height, fy)` rows, Cb and Cr `ceil(width / fx)` bytes per row and `ceil(height / fy)`
/// rows, where `(fx, fy)` are the [`Subsampling::factors`].
///
/// Decoded camera frames ([`crate::JpegCodec::decode_yuv`]) and the panorama
/// ([`YuvPlan::render`]) use it.
///
/// ```
/// use cam_stitch::{Subsampling, YuvFrame};
/// let f = YuvFrame::new(5, 3, Subsampling::S420);
/// assert_eq!((f.y_stride(), f.chroma_stride(), f.chroma_size()), (6, 3, (3, 2)));
/// let (y, cb, cr) = f.planes();
/// assert_eq!((y.len(), cb.len(), cr.len()), (6 * 4, 3 * 2, 3 * 2));
/// assert!(cb.iter().all(|&v| v == 128));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct YuvFrame {
    width: u32,
    height: u32,
    subsampling: Subsampling,
    data: Vec<u8>,
}

fn pad(v: u32, m: u32) -> u32 {
    v.div_ceil(m) * m
}

/// `(y_stride, y_rows, chroma_stride, chroma_rows)` of a frame.
fn layout(width: u32, height: u32, s: Subsampling) -> (usize, usize, usize, usize) {
    let (fx, fy) = s.factors();
    (
        pad(width, fx) as usize,
        pad(height, fy) as usize,
        width.div_ceil(fx) as usize,
        height.div_ceil(fy) as usize,
    )
}

fn frame_len(width: u32, height: u32, s: Subsampling) -> Option<usize> {
    let (ys, yr, cs, cr) = layout(width, height, s);
    ys.checked_mul(yr)?
        .checked_add(cs.checked_mul(cr)?.checked_mul(2)?)
}

impl YuvFrame {
    /// A black frame (Y 0, Cb/Cr 128). Panics only if the size overflows `usize`.
    pub fn new(width: u32, height: u32, subsampling: Subsampling) -> YuvFrame {
        let mut f = YuvFrame::default();
        f.reset(width, height, subsampling);
        f
    }

    /// Wraps a buffer in the layout described on [`YuvFrame`]; errors if its length differs.
    pub fn from_raw(
        width: u32,
        height: u32,
        subsampling: Subsampling,
        data: Vec<u8>,
    ) -> Result<YuvFrame> {
        let expected = frame_len(width, height, subsampling).unwrap_or(usize::MAX);
        if data.len() != expected {
            return Err(StitchError::BufferSize {
                len: data.len(),
                width,
                height,
                expected,
            });
        }
        Ok(YuvFrame {
            width,
            height,
            subsampling,
            data,
        })
    }

    /// Re-shapes the frame (reusing its allocation) and makes it black.
    pub fn reset(&mut self, width: u32, height: u32, subsampling: Subsampling) {
        let (ys, yr, _, _) = layout(width, height, subsampling);
        let len = frame_len(width, height, subsampling).unwrap_or(usize::MAX);
        self.width = width;
        self.height = height;
        self.subsampling = subsampling;
        self.data.clear();
        self.data.resize(ys * yr, 0);
        self.data.resize(len, 128);
    }

    /// Re-shapes the frame without clearing it when the shape is unchanged (the decoder
    /// overwrites every byte).
    #[cfg_attr(not(feature = "turbojpeg"), allow(dead_code))]
    pub(crate) fn reshape(&mut self, width: u32, height: u32, subsampling: Subsampling) {
        if (self.width, self.height, self.subsampling) != (width, height, subsampling) {
            self.reset(width, height, subsampling);
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The chroma subsampling.
    pub fn subsampling(&self) -> Subsampling {
        self.subsampling
    }

    /// Bytes per row of the Y plane.
    pub fn y_stride(&self) -> usize {
        layout(self.width, self.height, self.subsampling).0
    }

    /// Bytes per row of the Cb and Cr planes.
    pub fn chroma_stride(&self) -> usize {
        layout(self.width, self.height, self.subsampling).2
    }

    /// `(width, height)` of the Cb and Cr planes in samples.
    pub fn chroma_size(&self) -> (u32, u32) {
        let (fx, fy) = self.subsampling.factors();
        (self.width.div_ceil(fx), self.height.div_ceil(fy))
    }

    /// The three planes `(Y, Cb, Cr)`.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let (ys, yr, cs, cr) = layout(self.width, self.height, self.subsampling);
        let (y, c) = self.data.split_at((ys * yr).min(self.data.len()));
        let (u, v) = c.split_at((cs * cr).min(c.len()));
        (y, u, v)
    }

    /// The three planes `(Y, Cb, Cr)`, mutable (e.g. to draw a label into Y).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (ys, yr, cs, cr) = layout(self.width, self.height, self.subsampling);
        let len = self.data.len();
        let (y, c) = self.data.split_at_mut((ys * yr).min(len));
        let (u, v) = c.split_at_mut((cs * cr).min(c.len()));
        (y, u, v)
    }

    /// The whole buffer.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The whole buffer, mutable.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

/// JFIF RGB -> YCbCr of one colour (for placeholder tiles).
pub(crate) fn rgb_to_ycbcr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_735_892 * r - 0.331_264_108 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_687_589 * g - 0.081_312_411 * b;
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// What a camera's frames look like: size as received and chroma subsampling.
pub type YuvInput = ((u32, u32), Subsampling);

/// A panorama plan on YCbCr planes: Y at full resolution, Cb/Cr at 4:2:0 resolution, built once
/// per (config, camera sizes and subsamplings) like [`crate::Plan`].
///
/// ```
/// use cam_stitch::{Config, Subsampling, YuvFrame, YuvPlan};
/// let json = r#"{"camera":[
///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":40}},
///   {"rotate":180,"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":10,"back":64}}]}"#;
/// let config = Config::from_json_str(json)?;
/// let plan = YuvPlan::new(&config, &[((64, 48), Subsampling::S420); 2])?;
/// let cam0 = YuvFrame::new(64, 48, Subsampling::S420);
/// let mut pano = plan.new_output();
/// // camera 1 has no frame: its tile is the placeholder colour
/// plan.render(&[Some(&cam0), None], &mut pano)?;
/// assert_eq!(pano.size(), (94, 48));
/// assert_eq!(pano.planes().0[50], 40);
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
#[derive(Debug, Clone)]
pub struct YuvPlan {
    width: u32,
    height: u32,
    inputs: Vec<YuvInput>,
    columns: Vec<(u32, u32)>,
    luma: PlanePlan,
    chroma: PlanePlan,
    placeholder: [u8; 3],
    parallel: bool,
}

/// Per-camera data for locating samples.
struct Cam<'a> {
    g: &'a CameraGeometry,
    sub: Subsampling,
    front: u32,
    back: u32,
    col0: u32,
    col1: u32,
}

/// A feathered seam in panorama columns: `seam - half .. seam + half` blends cameras
/// `left` and `left + 1`.
struct Seam {
    left: usize,
    seam: u32,
    half: u32,
}

/// Maps a point of the rotated image back to the unrotated `ow x oh` image (real coordinates).
fn unrotate_f(rotation: Rotation, ow: f64, oh: f64, x: f64, y: f64) -> (f64, f64) {
    match rotation {
        Rotation::None => (x, y),
        Rotation::Half => (ow - 1.0 - x, oh - 1.0 - y),
        Rotation::Clockwise90 => (y, oh - 1.0 - x),
        Rotation::Clockwise270 => (ow - 1.0 - y, x),
    }
}

impl Cam<'_> {
    /// The luma block for warped pixel `(xw, y)`: OpenCV's position, as [`crate::Plan`].
    fn luma(&self, cam: usize, xw: u32, y: u32) -> Block {
        let g = self.g;
        let (sx, sy, alpha) = bilinear::sample_position(&g.inv, xw, y, g.block_w);
        let (ow, oh) = (i64::from(g.input.0), i64::from(g.input.1));
        let ((x, y), fx, fy) =
            block_in_input(g.rotation, ow, oh, i64::from(sx), i64::from(sy), alpha);
        Block {
            cam: cam as u16,
            x,
            y,
            fx,
            fy,
        }
    }

    /// The chroma block for the warped point `(xw, yw)` (luma coordinates, pixel centres at
    /// integers): the camera's chroma sample `i` sits at luma `fx * i + (fx - 1) / 2`.
    fn chroma(&self, cam: usize, xw: f64, yw: f64) -> Block {
        let g = self.g;
        let (xr, yr) = g.inv.apply(xw, yw);
        let (xo, yo) = unrotate_f(
            g.rotation,
            f64::from(g.input.0),
            f64::from(g.input.1),
            xr,
            yr,
        );
        let (fx, fy) = self.sub.factors();
        let (fx, fy) = (f64::from(fx), f64::from(fy));
        let cx = (xo - (fx - 1.0) / 2.0) / fx;
        let cy = (yo - (fy - 1.0) / 2.0) / fy;
        // 1/32 sub-pixel steps; far-away or undefined points become a block outside the plane
        let fixed = |v: f64| -> i64 {
            if v.is_finite() {
                (v * 32.0).round().clamp(-1e9, 1e9) as i64
            } else {
                -1_000_000
            }
        };
        let (x32, y32) = (fixed(cx), fixed(cy));
        Block {
            cam: cam as u16,
            x: x32 >> 5,
            y: y32 >> 5,
            fx: (x32 & 31) as u32,
            fy: (y32 & 31) as u32,
        }
    }
}

impl YuvPlan {
    /// Plans the panorama for `config` and each camera's frame size (as received, before
    /// rotation) and subsampling, with default [`PlanOptions`].
    pub fn new(config: &Config, inputs: &[YuvInput]) -> Result<YuvPlan> {
        YuvPlan::with_options(config, inputs, &PlanOptions::default())
    }

    /// Plans the panorama with explicit options (feathering, placeholder colour, threads,
    /// limits), which mean the same as for [`crate::Plan`].
    pub fn with_options(
        config: &Config,
        inputs: &[YuvInput],
        options: &PlanOptions,
    ) -> Result<YuvPlan> {
        let sizes: Vec<(u32, u32)> = inputs.iter().map(|i| i.0).collect();
        let geometry = camera_geometry(config, &sizes, options)?;
        let (width, height) = config.output_size();
        let mut cams = Vec::with_capacity(geometry.len());
        let mut col0 = 0u32;
        for ((cam, g), input) in config.camera.iter().zip(&geometry).zip(inputs) {
            let col1 = col0 + (cam.concat_x.back - cam.concat_x.front);
            cams.push(Cam {
                g,
                sub: input.1,
                front: cam.concat_x.front,
                back: cam.concat_x.back,
                col0,
                col1,
            });
            col0 = col1;
        }
        let mut seams = Vec::new();
        if options.feather > 1 {
            for n in 0..config.camera.len().saturating_sub(1) {
                let (left, right) = (&config.camera[n], &config.camera[n + 1]);
                let (lc, rc) = (&cams[n], &cams[n + 1]);
                let half = (options.feather / 2)
                    .min(left.perspective.width - left.concat_x.back)
                    .min(right.concat_x.front)
                    .min(lc.col1 - lc.col0)
                    .min(rc.col1 - rc.col0);
                if half > 0 {
                    seams.push(Seam {
                        left: n,
                        seam: rc.col0,
                        half,
                    });
                }
            }
        }
        // The seam around luma column `x` (real), with the blend weight of the right camera.
        let seam_at = |x: f64| -> Option<(&Seam, f64, u16)> {
            seams.iter().find_map(|s| {
                let (lo, hi) = (f64::from(s.seam - s.half), f64::from(s.seam + s.half));
                (x >= lo && x < hi).then(|| {
                    let d = x - f64::from(s.seam);
                    let t = ((d + f64::from(s.half) + 0.5) / f64::from(2 * s.half) * 256.0) as u16;
                    (s, d, t)
                })
            })
        };

        // Y: the panorama's columns, padded to even (4:2:0) by repeating the last column/row.
        let ncam = cams.len();
        let (y_stride, y_rows, c_stride, c_rows) = layout(width, height, Subsampling::S420);
        let luma_cols: Vec<(u32, u32)> = cams
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let end = if n + 1 == ncam {
                    y_stride as u32
                } else {
                    c.col1
                };
                (c.col0, end)
            })
            .collect();
        let luma_inputs: Vec<PlaneInput> = inputs
            .iter()
            .map(|&((w, h), s)| PlaneInput {
                size: (w, h),
                stride: pad(w, s.factors().0) as usize,
            })
            .collect();
        let luma = PlanePlan::build(
            y_stride as u32,
            y_rows as u32,
            luma_inputs,
            luma_cols,
            |n, x, y| {
                let (x, y) = (x.min(width - 1), y.min(height - 1));
                if let Some((s, d, t)) = seam_at(f64::from(x)) {
                    let d = d as i64;
                    let (l, r) = (&cams[s.left], &cams[s.left + 1]);
                    let xl = (i64::from(l.back) + d) as u32;
                    let xr = (i64::from(r.front) + d) as u32;
                    return Pixel::Blend(
                        l.luma(s.left, xl, y),
                        r.luma(s.left + 1, xr, y),
                        t.max(1),
                    );
                }
                let c = &cams[n];
                Pixel::One(c.luma(n, c.front + x.min(c.col1 - 1) - c.col0, y))
            },
        );

        // Cb/Cr at half resolution: chroma sample (u, v) sits at luma (2u + 0.5, 2v + 0.5).
        let chroma_cols: Vec<(u32, u32)> = cams
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let end = if n + 1 == ncam {
                    c_stride as u32
                } else {
                    c.col1.div_ceil(2)
                };
                (c.col0.div_ceil(2), end)
            })
            .collect();
        let chroma_inputs: Vec<PlaneInput> = inputs
            .iter()
            .map(|&((w, h), s)| {
                let (fx, fy) = s.factors();
                PlaneInput {
                    size: (w.div_ceil(fx), h.div_ceil(fy)),
                    stride: w.div_ceil(fx) as usize,
                }
            })
            .collect();
        let chroma = PlanePlan::build(
            c_stride as u32,
            c_rows as u32,
            chroma_inputs,
            chroma_cols,
            |n, u, v| {
                let (x, y) = (2.0 * f64::from(u) + 0.5, 2.0 * f64::from(v) + 0.5);
                if let Some((s, d, t)) = seam_at(x) {
                    let (l, r) = (&cams[s.left], &cams[s.left + 1]);
                    return Pixel::Blend(
                        l.chroma(s.left, f64::from(l.back) + d, y),
                        r.chroma(s.left + 1, f64::from(r.front) + d, y),
                        t.max(1),
                    );
                }
                let at = |n: usize| {
                    let c = &cams[n];
                    c.chroma(n, f64::from(c.front) + x - f64::from(c.col0), y)
                };
                // A chroma sample whose two luma columns belong to different cameras is the
                // mean of both cameras, as the encoder's 2x2 averaging of the RGB path gives.
                let right = 2 * u + 1;
                if n + 1 < ncam && right < width && right >= cams[n].col1 {
                    return Pixel::Blend(at(n), at(n + 1), 128);
                }
                Pixel::One(at(n))
            },
        );
        Ok(YuvPlan {
            width,
            height,
            inputs: inputs.to_vec(),
            columns: cams.iter().map(|c| (c.col0, c.col1)).collect(),
            luma,
            chroma,
            placeholder: rgb_to_ycbcr(options.placeholder),
            parallel: options.parallel,
        })
    }

    /// Panorama size `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Each camera's frame size and subsampling the plan was built for, in config order.
    pub fn inputs(&self) -> &[YuvInput] {
        &self.inputs
    }

    /// Output columns `start..end` filled by camera `n`.
    pub fn camera_columns(&self, n: usize) -> Option<std::ops::Range<u32>> {
        self.columns.get(n).map(|&(a, b)| a..b)
    }

    /// Whether [`YuvPlan::render`] splits rows across threads.
    pub fn parallel(&self) -> bool {
        self.parallel
    }

    /// Turns the row split across threads on or off (needs the `rayon` feature).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// Bytes of precomputed data the plan holds.
    pub fn memory_bytes(&self) -> usize {
        self.luma.memory_bytes() + self.chroma.memory_bytes()
    }

    /// A black 4:2:0 frame of the output size, to render into.
    pub fn new_output(&self) -> YuvFrame {
        YuvFrame::new(self.width, self.height, Subsampling::S420)
    }

    /// Renders one panorama into `out` (4:2:0, [`YuvPlan::output_size`]); `inputs[n]` is camera
    /// `n`'s frame, `None` for a missing frame (drawn as the placeholder tile). No allocation.
    pub fn render(&self, inputs: &[Option<&YuvFrame>], out: &mut YuvFrame) -> Result<()> {
        if inputs.len() != self.inputs.len() {
            return Err(StitchError::CameraCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        for (n, (&(size, sub), f)) in self.inputs.iter().zip(inputs).enumerate() {
            if let Some(f) = f
                && (f.size() != size || f.subsampling() != sub)
            {
                return Err(StitchError::ImageSize {
                    camera: n,
                    got_width: f.width(),
                    got_height: f.height(),
                    reason: format!(
                        "{:?} frame, the plan was built for {}x{} {sub:?}",
                        f.subsampling(),
                        size.0,
                        size.1
                    ),
                });
            }
        }
        if out.size() != (self.width, self.height) || out.subsampling() != Subsampling::S420 {
            return Err(StitchError::OutputSize {
                got_width: out.width(),
                got_height: out.height(),
                width: self.width,
                height: self.height,
            });
        }
        let luma_in = |n: usize| inputs.get(n).copied().flatten().map(|f| [f.planes().0]);
        let chroma_in = |n: usize| {
            inputs.get(n).copied().flatten().map(|f| {
                let (_, u, v) = f.planes();
                [u, v]
            })
        };
        let [py, pu, pv] = self.placeholder;
        let (y, u, v) = out.planes_mut();
        let parallel = self.parallel;
        let mut luma = move || self.luma.render(&luma_in, [y], [py], [0], parallel);
        let mut chroma = move || {
            self.chroma
                .render(&chroma_in, [u, v], [pu, pv], [128, 128], parallel)
        };
        #[cfg(feature = "rayon")]
        if parallel {
            rayon::join(luma, chroma);
            return Ok(());
        }
        luma();
        chroma();
        Ok(())
    }
}
