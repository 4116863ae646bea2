//! The precomputed panorama: for every output pixel, which camera pixels it blends and how.

use serde::{Deserialize, Serialize};

use crate::bilinear;
use crate::config::{Config, Limits, Rotation};
use crate::error::{Result, StitchError};
use crate::homography::Homography;
use crate::kernel::{self, Weights};
use crate::rgb::{RgbImage, RgbView};
use crate::sample::{CODE_BORDER, CODE_SPECIAL, Interleaved, Sample, Special};

/// Options of a [`Plan`] beyond the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanOptions {
    /// Width in pixels of the linear blend across each seam (0 = hard seams, like the old code).
    /// Each seam's blend is narrowed to the overlap the two neighbouring views actually have
    /// (columns beyond `back` of the left view, before `front` of the right view).
    pub feather: u32,
    /// Colour of the tile drawn for a camera whose frame is missing.
    pub placeholder: [u8; 3],
    /// Split the rows across rayon's thread pool (needs the `rayon` feature; ignored otherwise).
    pub parallel: bool,
    /// Size limits for the config and the input images.
    pub limits: Limits,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            feather: 0,
            placeholder: [40, 40, 40],
            parallel: false,
            limits: Limits::default(),
        }
    }
}

/// One camera's part of the plan.
#[derive(Debug, Clone)]
struct PlannedCamera {
    /// Size of the camera image as received (before rotation).
    input: (u32, u32),
    /// Output columns `col0..col1` this camera fills.
    col0: u32,
    col1: u32,
    /// Bytes per input row.
    stride: usize,
}

/// A panorama plan for one config and one set of camera image sizes.
///
/// Built once ([`Plan::new`]), then [`Plan::render`] fills a caller-provided buffer per frame,
/// reading each output pixel's precomputed source offset and sub-pixel weights (6 bytes per output
/// pixel plus a short list for the pixels on view borders and seams). Rotation, perspective warp,
/// crop and concatenation are one pass; the result equals OpenCV's `warpPerspective`
/// (`INTER_LINEAR`, `BORDER_CONSTANT`) + crop + `hconcat` of the old code.
///
/// ```
/// use cam_stitch::{Config, Plan, RgbImage};
/// let json = r#"{"camera":[
///   {"rotate":0,  "perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":40}},
///   {"rotate":180,"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":10,"back":64}}]}"#;
/// let config = Config::from_json_str(json)?;
/// let plan = Plan::new(&config, &[(64, 48), (64, 48)])?;
/// assert_eq!(plan.output_size(), (94, 48));
/// let cam0 = RgbImage::new(64, 48);
/// let mut out = plan.new_output();
/// // camera 1 has no frame: its part of the panorama is a placeholder tile
/// plan.render(&[Some(cam0.view()), None], &mut out)?;
/// assert_eq!(out.pixel(50, 10), Some([40, 40, 40]));
/// # Ok::<(), cam_stitch::StitchError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Plan {
    width: u32,
    height: u32,
    cameras: Vec<PlannedCamera>,
    weights: Weights,
    offsets: Vec<u32>,
    codes: Vec<u16>,
    specials: Vec<Special>,
    placeholder: [u8; 3],
    parallel: bool,
}

/// The 2x2 block of the unrotated `ow x oh` camera image that holds the rotated-image block at
/// `(sx, sy)`, and the sub-pixel position `(fx, fy)` (0..=32) of the sample inside it.
pub(crate) fn block_in_input(
    rotation: Rotation,
    ow: i64,
    oh: i64,
    sx: i64,
    sy: i64,
    alpha: u16,
) -> ((i64, i64), u32, u32) {
    let (ax, ay) = (i64::from(alpha & 31), i64::from(alpha >> 5));
    let o00 = bilinear::unrotate(rotation, ow, oh, sx, sy);
    let o10 = bilinear::unrotate(rotation, ow, oh, sx + 1, sy);
    let o01 = bilinear::unrotate(rotation, ow, oh, sx, sy + 1);
    let (dx, dy) = (
        (o10.0 - o00.0, o10.1 - o00.1),
        (o01.0 - o00.0, o01.1 - o00.1),
    );
    let tl = (
        o00.0 + dx.0.min(0) + dy.0.min(0),
        o00.1 + dx.1.min(0) + dy.1.min(0),
    );
    let fx = 32 * (o00.0 - tl.0) + ax * dx.0 + ay * dy.0;
    let fy = 32 * (o00.1 - tl.1) + ax * dx.1 + ay * dy.1;
    (tl, fx as u32, fy as u32)
}

/// Geometry of one camera used while planning.
pub(crate) struct CameraGeometry {
    pub(crate) inv: Homography,
    pub(crate) rotation: Rotation,
    pub(crate) input: (u32, u32),
    pub(crate) rotated: (u32, u32),
    pub(crate) block_w: u32,
}

impl CameraGeometry {
    /// The bilinear taps (unrotated-image byte offsets, OpenCV weights) of warped pixel `(x, y)`,
    /// only the neighbours inside the image (the others are the black border).
    fn sample(&self, cam: u16, x: u32, y: u32) -> Sample {
        let (sx, sy, alpha) = bilinear::sample_position(&self.inv, x, y, self.block_w);
        let w = bilinear::weights(usize::from(alpha));
        let (rw, rh) = (i64::from(self.rotated.0), i64::from(self.rotated.1));
        let (ow, oh) = (i64::from(self.input.0), i64::from(self.input.1));
        let mut s = Sample::new(cam);
        for (k, (dx, dy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
            let (xr, yr) = (i64::from(sx) + dx, i64::from(sy) + dy);
            if xr < 0 || yr < 0 || xr >= rw || yr >= rh || w[k] == 0 {
                continue;
            }
            let (xo, yo) = bilinear::unrotate(self.rotation, ow, oh, xr, yr);
            s.push(((yo * ow + xo) * 3) as u32, i32::from(w[k]));
        }
        s
    }
}

/// Validates `config` and the input sizes and computes each camera's geometry.
pub(crate) fn camera_geometry(
    config: &Config,
    input_sizes: &[(u32, u32)],
    options: &PlanOptions,
) -> Result<Vec<CameraGeometry>> {
    config.validate(&options.limits)?;
    if input_sizes.len() != config.camera.len() {
        return Err(StitchError::CameraCount {
            expected: config.camera.len(),
            got: input_sizes.len(),
        });
    }
    let mut geometry = Vec::with_capacity(config.camera.len());
    for (n, (cam, &(iw, ih))) in config.camera.iter().zip(input_sizes).enumerate() {
        let max = options.limits.max_side;
        if iw == 0 || ih == 0 || iw > max || ih > max {
            return Err(StitchError::ImageSize {
                camera: n,
                got_width: iw,
                got_height: ih,
                reason: format!("sides must be 1..={max} pixels"),
            });
        }
        let invalid = |reason: &str| StitchError::InvalidCamera {
            camera: n,
            field: "perspective.src",
            reason: reason.to_string(),
        };
        let m = Homography::for_perspective(&cam.perspective)
            .ok_or_else(|| invalid("the quad gives a singular perspective transform"))?;
        let inv = m
            .inverse()
            .ok_or_else(|| invalid("the perspective transform is not invertible"))?;
        let p = &cam.perspective;
        geometry.push(CameraGeometry {
            inv,
            rotation: cam.rotate,
            input: (iw, ih),
            rotated: cam.rotate.rotated_size(iw, ih),
            block_w: bilinear::invoker_block_width(p.width, p.height),
        });
    }
    Ok(geometry)
}

impl Plan {
    /// Plans the panorama for `config` and the camera image sizes `(width, height)` as received
    /// (before rotation), in config order, with default [`PlanOptions`].
    pub fn new(config: &Config, input_sizes: &[(u32, u32)]) -> Result<Plan> {
        Plan::with_options(config, input_sizes, &PlanOptions::default())
    }

    /// Plans the panorama with explicit options (feathering, placeholder colour, threads, limits).
    ///
    /// ```
    /// use cam_stitch::{Config, Plan, PlanOptions};
    /// let json = r#"{"camera":[
    ///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":0,"back":40}},
    ///   {"perspective":{"src":[[0,0],[0,48],[64,48],[64,0]],"width":64,"hight":48},"concat_x":{"front":24,"back":64}}]}"#;
    /// let config = Config::from_json_str(json)?;
    /// let options = PlanOptions { feather: 16, ..PlanOptions::default() };
    /// let plan = Plan::with_options(&config, &[(64, 48), (64, 48)], &options)?;
    /// assert_eq!(plan.output_size(), (80, 48));
    /// # Ok::<(), cam_stitch::StitchError>(())
    /// ```
    pub fn with_options(
        config: &Config,
        input_sizes: &[(u32, u32)],
        options: &PlanOptions,
    ) -> Result<Plan> {
        let geometry = camera_geometry(config, input_sizes, options)?;
        let (width, height) = config.output_size();
        let npix = width as usize * height as usize;
        let mut offsets = vec![0u32; npix];
        let mut codes = vec![CODE_BORDER; npix];
        let mut specials = Vec::new();
        let mut cameras = Vec::with_capacity(config.camera.len());
        let mut col0 = 0u32;
        for (n, (cam, g)) in config.camera.iter().zip(&geometry).enumerate() {
            let front = cam.concat_x.front;
            let col1 = col0 + (cam.concat_x.back - front);
            let (rw, rh) = (i64::from(g.rotated.0), i64::from(g.rotated.1));
            let (ow, oh) = (i64::from(g.input.0), i64::from(g.input.1));
            for y in 0..height {
                for c in col0..col1 {
                    let i = y as usize * width as usize + c as usize;
                    let xw = front + (c - col0);
                    let (sx, sy, alpha) = bilinear::sample_position(&g.inv, xw, y, g.block_w);
                    let (sx, sy) = (i64::from(sx), i64::from(sy));
                    let inside = sx >= 0 && sy >= 0 && sx + 1 < rw && sy + 1 < rh;
                    let block = inside.then(|| block_in_input(g.rotation, ow, oh, sx, sy, alpha));
                    // The fast path loads 8 bytes per block row: the last two bytes of the
                    // image have no slack, such blocks go through the special path.
                    let fast = block.filter(|((x, y), _, _)| (y + 1) * ow + x + 3 <= ow * oh);
                    if let Some((tl, fx, fy)) = fast {
                        offsets[i] = ((tl.1 * ow + tl.0) * 3) as u32;
                        codes[i] = kernel::pack(fx, fy);
                    } else if sx >= rw || sx + 1 < 0 || sy >= rh || sy + 1 < 0 {
                        codes[i] = CODE_BORDER;
                    } else {
                        offsets[i] = specials.len() as u32;
                        codes[i] = CODE_SPECIAL;
                        specials.push(Special {
                            a: g.sample(n as u16, xw, y),
                            ..Special::default()
                        });
                    }
                }
            }
            cameras.push(PlannedCamera {
                input: g.input,
                col0,
                col1,
                stride: g.input.0 as usize * 3,
            });
            col0 = col1;
        }

        if options.feather > 1 {
            for n in 0..config.camera.len().saturating_sub(1) {
                let (left, right) = (&config.camera[n], &config.camera[n + 1]);
                let (lc, rc) = (&cameras[n], &cameras[n + 1]);
                // Columns available on each side: beyond `back` of the left view and before
                // `front` of the right view, and not more than each crop is wide.
                let half = (options.feather / 2)
                    .min(left.perspective.width - left.concat_x.back)
                    .min(right.concat_x.front)
                    .min(lc.col1 - lc.col0)
                    .min(rc.col1 - rc.col0);
                if half == 0 {
                    continue;
                }
                let seam = rc.col0;
                let span = 2 * half;
                for y in 0..height {
                    for k in 0..span {
                        let c = seam - half + k;
                        // d: signed offset from the seam
                        let d = i64::from(k) - i64::from(half);
                        let xl = (i64::from(left.concat_x.back) + d) as u32;
                        let xr = (i64::from(right.concat_x.front) + d) as u32;
                        let t = ((2 * k + 1) * 256 / (2 * span)) as u16;
                        let i = y as usize * width as usize + c as usize;
                        offsets[i] = specials.len() as u32;
                        codes[i] = CODE_SPECIAL;
                        specials.push(Special {
                            a: geometry[n].sample(n as u16, xl, y),
                            b: geometry[n + 1].sample(n as u16 + 1, xr, y),
                            t: t.max(1),
                        });
                    }
                }
            }
        }

        Ok(Plan {
            width,
            height,
            cameras,
            weights: Weights::new(),
            offsets,
            codes,
            specials,
            placeholder: options.placeholder,
            parallel: options.parallel,
        })
    }

    /// Panorama size `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The camera image sizes `(width, height)` the plan was built for, in config order.
    pub fn input_sizes(&self) -> Vec<(u32, u32)> {
        self.cameras.iter().map(|c| c.input).collect()
    }

    /// Number of cameras.
    pub fn camera_count(&self) -> usize {
        self.cameras.len()
    }

    /// Output columns `start..end` filled by camera `n`.
    pub fn camera_columns(&self, n: usize) -> Option<std::ops::Range<u32>> {
        self.cameras.get(n).map(|c| c.col0..c.col1)
    }

    /// Whether [`Plan::render`] splits rows across threads.
    pub fn parallel(&self) -> bool {
        self.parallel
    }

    /// Turns the row split across threads on or off (needs the `rayon` feature).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// A black image of the output size, to render into.
    pub fn new_output(&self) -> RgbImage {
        RgbImage::new(self.width, self.height)
    }

    /// Bytes of precomputed data the plan holds.
    pub fn memory_bytes(&self) -> usize {
        self.offsets.len() * 4
            + self.codes.len() * 2
            + self.specials.len() * std::mem::size_of::<Special>()
    }

    /// Renders one panorama into `out` (which must have [`Plan::output_size`]); `inputs[n]` is
    /// camera `n`'s image as received, `None` for a missing frame (drawn as a placeholder tile).
    /// No allocation; rows are split across threads when [`Plan::parallel`] is set.
    pub fn render(&self, inputs: &[Option<RgbView<'_>>], out: &mut RgbImage) -> Result<()> {
        if out.size() != (self.width, self.height) {
            return Err(StitchError::OutputSize {
                got_width: out.width(),
                got_height: out.height(),
                width: self.width,
                height: self.height,
            });
        }
        self.render_into(inputs, out.as_mut_bytes())
    }

    /// Like [`Plan::render`], into a packed RGB byte slice of `width * height * 3` bytes.
    pub fn render_into(&self, inputs: &[Option<RgbView<'_>>], out: &mut [u8]) -> Result<()> {
        self.check_inputs(inputs)?;
        let row_bytes = self.width as usize * 3;
        if out.len() != row_bytes * self.height as usize {
            return Err(StitchError::BufferSize {
                len: out.len(),
                width: self.width,
                height: self.height,
                expected: row_bytes * self.height as usize,
            });
        }
        #[cfg(feature = "rayon")]
        if self.parallel {
            use rayon::prelude::*;
            let threads = rayon::current_num_threads().max(1);
            // A few chunks per thread for balance; rows are independent.
            let rows_per_chunk = (self.height as usize).div_ceil(threads * 4).max(1);
            out.par_chunks_mut(rows_per_chunk * row_bytes)
                .enumerate()
                .for_each(|(k, chunk)| self.render_rows(inputs, chunk, k * rows_per_chunk));
            return Ok(());
        }
        self.render_rows(inputs, out, 0);
        Ok(())
    }

    fn check_inputs(&self, inputs: &[Option<RgbView<'_>>]) -> Result<()> {
        if inputs.len() != self.cameras.len() {
            return Err(StitchError::CameraCount {
                expected: self.cameras.len(),
                got: inputs.len(),
            });
        }
        for (n, (cam, img)) in self.cameras.iter().zip(inputs).enumerate() {
            if let Some(img) = img
                && img.size() != cam.input
            {
                return Err(StitchError::ImageSize {
                    camera: n,
                    got_width: img.width(),
                    got_height: img.height(),
                    reason: format!("the plan was built for {}x{}", cam.input.0, cam.input.1),
                });
            }
        }
        Ok(())
    }

    /// Renders the rows starting at `y0` that fit in `out`.
    fn render_rows(&self, inputs: &[Option<RgbView<'_>>], out: &mut [u8], y0: usize) {
        let w = self.width as usize;
        for (r, row) in out.chunks_exact_mut(w * 3).enumerate() {
            let base = (y0 + r) * w;
            let offsets = &self.offsets[base..base + w];
            let codes = &self.codes[base..base + w];
            for (cam, input) in self.cameras.iter().zip(inputs) {
                let (c0, c1) = (cam.col0 as usize, cam.col1 as usize);
                let dst = &mut row[c0 * 3..c1 * 3];
                let (offs, cods) = (&offsets[c0..c1], &codes[c0..c1]);
                match input {
                    Some(img) => {
                        sample_run(
                            img.as_bytes(),
                            cam.stride,
                            &self.weights,
                            offs,
                            cods,
                            dst,
                            |s, d| self.special(s, inputs, d),
                        );
                    }
                    None => {
                        for ((d, &o), &code) in dst.chunks_exact_mut(3).zip(offs).zip(cods) {
                            if code & CODE_SPECIAL != 0 {
                                self.special(o, inputs, d);
                            } else {
                                d.copy_from_slice(&self.placeholder);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Evaluates a special pixel into `d` (3 bytes).
    fn special(&self, index: u32, inputs: &[Option<RgbView<'_>>], d: &mut [u8]) {
        let Some(sp) = self.specials.get(index as usize) else {
            return;
        };
        let input = |cam: usize| {
            inputs
                .get(cam)
                .copied()
                .flatten()
                .map(|img| Interleaved(img.as_bytes()))
        };
        d.copy_from_slice(&sp.eval(input, self.placeholder, [0; 3]));
    }
}

/// How many pixels ahead the hot loop prefetches its source block (96 measured faster than 16
/// and 48 on the hd set, 10-25 %; vga did not change).
const PREFETCH_AHEAD: usize = 96;

/// The hot loop: one run of output pixels from one camera. On x86-64 CPUs with AVX2 the run
/// goes through [`sample_run_avx2`] (two pixels per kernel call, bit-identical), else through
/// the SSE2 (or portable) kernel one pixel at a time.
#[inline]
fn sample_run(
    src: &[u8],
    stride: usize,
    weights: &Weights,
    offs: &[u32],
    codes: &[u16],
    dst: &mut [u8],
    mut special: impl FnMut(u32, &mut [u8]),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just checked to support AVX2, the feature `sample_run_avx2` is
        // compiled for; it touches memory only through the safe slices it is given.
        #[allow(unsafe_code)]
        return unsafe { sample_run_avx2(src, stride, weights, offs, codes, dst, special) };
    }
    let n = offs.len().min(codes.len()).min(dst.len() / 3);
    let cam = Source::new(src, stride, weights);
    for i in 0..n {
        // one prefetch per 4 pixels (their blocks mostly share cache lines)
        if i % 4 == 0
            && let Some(&ahead) = offs.get(i + PREFETCH_AHEAD)
        {
            weights.prefetch(src, ahead as usize, stride);
        }
        cam.one(offs[i], codes[i], dst, i, &mut special);
    }
}

/// One camera image as the hot loop reads it.
struct Source<'a> {
    src: &'a [u8],
    stride: usize,
    /// The largest block offset: the plan guarantees `o + stride + 8 <= src.len()` for every
    /// plain pixel (and `render` checked the image size); clamping to it lets the compiler drop
    /// the slice checks.
    limit: usize,
    weights: &'a Weights,
}

impl<'a> Source<'a> {
    #[inline(always)]
    fn new(src: &'a [u8], stride: usize, weights: &'a Weights) -> Self {
        let limit = src.len().saturating_sub(stride + 8);
        Source {
            src,
            stride,
            limit,
            weights,
        }
    }

    /// The 8 bytes of the block row at `min(o, limit) + add`, `add` 0 or `stride`.
    #[inline(always)]
    fn row(&self, o: u32, add: usize) -> [u8; 8] {
        let o = (o as usize).min(self.limit) + add;
        let mut r = [0u8; 8];
        r.copy_from_slice(&self.src[o..o + 8]);
        r
    }

    /// Output pixel `i` of a run (plain, black or special) into `dst[3i..]`.
    #[inline(always)]
    fn one(
        &self,
        o: u32,
        code: u16,
        dst: &mut [u8],
        i: usize,
        special: &mut impl FnMut(u32, &mut [u8]),
    ) {
        let d = i * 3;
        if code < CODE_BORDER {
            let px = self
                .weights
                .sample8(self.row(o, 0), self.row(o, self.stride), code);
            // 4-byte store (the 4th byte is overwritten by the next pixel) except for the
            // run's last pixel, where the slice ends.
            let px = px.to_le_bytes();
            match dst.get_mut(d..d + 4) {
                Some(d4) => d4.copy_from_slice(&px),
                None => dst[d..d + 3].copy_from_slice(&px[..3]),
            }
        } else if code == CODE_BORDER {
            dst[d..d + 3].fill(0);
        } else {
            special(o, &mut dst[d..d + 3]);
        }
    }
}

/// [`sample_run`] compiled for AVX2: pairs of plain pixels go through
/// [`Weights::sample8_pair_avx2`], the others one at a time ([`mixed_pair`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sample_run_avx2(
    src: &[u8],
    stride: usize,
    weights: &Weights,
    offs: &[u32],
    codes: &[u16],
    dst: &mut [u8],
    mut special: impl FnMut(u32, &mut [u8]),
) {
    let n = offs.len().min(codes.len()).min(dst.len() / 3);
    let (offs, codes) = (&offs[..n], &codes[..n]);
    let cam = Source::new(src, stride, weights);
    let limit = cam.limit;
    // The top and bottom rows of every plain block (offset clamped to `limit`) lie in these.
    let (Some(top), Some(bot)) = (
        src.get(..limit + 8),
        src.get(stride..).and_then(|s| s.get(..limit + 8)),
    ) else {
        for i in 0..n {
            cam.one(offs[i], codes[i], dst, i, &mut special);
        }
        return;
    };
    let row = |s: &[u8], o: u32| -> [u8; 8] {
        let o = (o as usize).min(limit);
        let mut r = [0u8; 8];
        r.copy_from_slice(&s[o..o + 8]);
        r
    };
    for (k, (o, c)) in offs.chunks_exact(2).zip(codes.chunks_exact(2)).enumerate() {
        let i = 2 * k;
        if k % 2 == 0
            && let Some(&ahead) = offs.get(i + PREFETCH_AHEAD)
        {
            weights.prefetch(src, ahead as usize, stride);
        }
        let (o, c) = ([o[0], o[1]], [c[0], c[1]]);
        if (c[0] | c[1]) < CODE_BORDER {
            let rows = [
                row(top, o[0]),
                row(bot, o[0]),
                row(top, o[1]),
                row(bot, o[1]),
            ];
            let [a, b] = weights.sample8_pair_avx2(rows, c);
            // both pixels' 6 bytes in one 8-byte store when the run has room (the last two
            // bytes are overwritten by the next pixel)
            let d = i * 3;
            let v = ((u64::from(a) & 0xff_ffff) | (u64::from(b) << 24)).to_le_bytes();
            match dst.get_mut(d..d + 8) {
                Some(d8) => d8.copy_from_slice(&v),
                None => dst[d..d + 6].copy_from_slice(&v[..6]),
            }
        } else {
            mixed_pair(&cam, o, c, dst, i, &mut special);
        }
    }
    if n % 2 == 1 {
        cam.one(offs[n - 1], codes[n - 1], dst, n - 1, &mut special);
    }
}

/// Pixels `i` and `i + 1` of a run when one is not plain (view borders and seams, rare): kept
/// out of the hot loop so that its registers stay free.
#[cfg(target_arch = "x86_64")]
#[cold]
#[inline(never)]
fn mixed_pair(
    cam: &Source<'_>,
    o: [u32; 2],
    c: [u16; 2],
    dst: &mut [u8],
    i: usize,
    special: &mut impl FnMut(u32, &mut [u8]),
) {
    cam.one(o[0], c[0], dst, i, special);
    cam.one(o[1], c[1], dst, i + 1, special);
}
