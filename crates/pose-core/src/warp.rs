//! Bilinear affine warp of an RGB image with OpenCV's `warpAffine` semantics
//! (`INTER_LINEAR | WARP_INVERSE_MAP` on `CV_8UC3`), bit-exact with OpenCV 5.0 (the oracle's
//! version) for the 224- and 256-pixel-wide outputs of the pipeline.
//!
//! OpenCV 5 computes in `float`: the matrix is cast to `f32`; per output row
//! `mx = y*m1 + m2` (rounded), per pixel `sx = fma(x, m0, mx)`; the source cell is `floor(sx)`,
//! the weights the fractions; interpolation is `v0 = fma(ax, p01 - p00, p00)`,
//! `v1 = fma(ax, p11 - p10, p10)`, `v = fma(ay, v1 - v0, v0)`, rounded half to even and saturated.
//!
//! The output is walked in 16x16 tiles, 16 pixels of a row at a time: their coordinates, then
//! the source loads (independent, so many cache misses are in flight at once: a rotated crop of
//! a 1080x1920 frame reads scattered rows), then the interpolation, all branch-free so that it
//! vectorises. [`warp_affine_normalized`] writes the model's float tensor directly.
//!
//! On x86-64 CPUs with AVX2 and FMA (detected at run time) the kernel is compiled with them and
//! the fused multiply-adds are the `vfmadd` instruction, as OpenCV's `v_fma`; elsewhere they are
//! evaluated exactly through `f64` (the product of two `f32` fits in 53 bits), so both paths give
//! the same bytes (unit test `block_kernel_and_fma_paths_match_the_pixel_reference`). This is the
//! crate's only `unsafe`: the call of the AVX2+FMA function after the feature check. Measured on
//! the golden 1080x1920 frame (`examples/warp_bench.rs`): landmark crop + tensor 0.9 ms with
//! AVX2+FMA, 1.65 ms portable (the former scalar version: 6.5-11 ms, cache-miss bound).

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::frame::RgbFrame;

/// What the warp reads outside the source image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black (0) outside the image (`BORDER_CONSTANT`, used for the detector's letterbox).
    Constant,
    /// The nearest edge pixel (`BORDER_REPLICATE`, used for the landmark crop).
    Replicate,
}

/// A 2x3 matrix `[a, b, c, d, e, f]` mapping an output pixel `(u, v)` to the source point
/// `(a*u + b*v + c, d*u + e*v + f)`.
pub type Affine = [f64; 6];

/// The matrix that samples the rotated rectangle centred on `(cx, cy)` with side lengths `w`, `h`
/// and `rotation` (radians, clockwise on screen) into an `out_w` x `out_h` image: output pixel
/// `(u, v)` reads `c + R * ((u/out_w - 0.5) * w, (v/out_h - 0.5) * h)`. Same floating-point
/// expression as the reference's `roi_to_tensor_matrix`.
///
/// ```
/// let m = pose_core::warp::roi_matrix(50.0, 40.0, 100.0, 80.0, 0.0, 100, 80);
/// assert_eq!(m, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
/// ```
pub fn roi_matrix(
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
    rotation: f64,
    out_w: usize,
    out_h: usize,
) -> Affine {
    let (s, c) = rotation.sin_cos();
    let (ow, oh) = (out_w as f64, out_h as f64);
    [
        c * w / ow,
        -s * h / oh,
        cx - 0.5 * c * w + 0.5 * s * h,
        s * w / ow,
        c * h / oh,
        cy - 0.5 * s * w - 0.5 * c * h,
    ]
}

/// A fused multiply-add `a * b + c` with a single rounding, as OpenCV's `v_fma`.
trait Fma {
    fn fma(a: f32, b: f32, c: f32) -> f32;
    /// `floor` for |x| < [`COORD_LIMIT`].
    fn floor(x: f32) -> f32;
}

/// Portable: evaluated through `f64`. Exact: `a*b` has at most 48 significant bits; the sum is
/// rounded once to f64 and then to f32, which equals a single rounding whenever the exact sum
/// fits in 53 bits (always here: the operands are pixel values, weights in [0, 1) and
/// coordinates of moderate size).
struct FmaViaF64;

impl Fma for FmaViaF64 {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        (a as f64 * b as f64 + c as f64) as f32
    }
    #[inline(always)]
    fn floor(x: f32) -> f32 {
        floor_i32(x) as f32
    }
}

/// The FMA instruction (`vfmadd`): only inlined into functions compiled with `fma` enabled.
#[cfg(target_arch = "x86_64")]
struct FmaInstruction;

#[cfg(target_arch = "x86_64")]
impl Fma for FmaInstruction {
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn floor(x: f32) -> f32 {
        // `vroundps` with AVX.
        x.floor()
    }
}

/// Where the warp puts an output value (an integer-valued `f32` in [0, 255]).
trait Output {
    type Elem: Copy;
    fn convert(&self, v: f32) -> Self::Elem;
}

/// Bytes, as `warpAffine` returns them.
struct Bytes;

impl Output for Bytes {
    type Elem = u8;
    #[inline(always)]
    fn convert(&self, v: f32) -> u8 {
        v as u8
    }
}

/// `byte as f32 * scale + offset` (two roundings, no FMA: numpy's
/// `img.astype(float32) * scale + offset`).
struct Normalized {
    scale: f32,
    offset: f32,
}

impl Output for Normalized {
    type Elem = f32;
    #[inline(always)]
    fn convert(&self, v: f32) -> f32 {
        v * self.scale + self.offset
    }
}

/// Largest source coordinate treated as a number; beyond it the point is simply outside.
const COORD_LIMIT: f32 = 1.0e7;

/// Side of the output tiles the warp walks through; also the number of pixels computed together.
const TILE: usize = 16;

/// Warps `src` into `out` (`out_w * out_h * 3` bytes, RGB).
///
/// # Panics
/// Never for valid frames; `out` must hold `out_w * out_h * 3` bytes (checked with an assert as it
/// is an internal buffer).
///
/// ```
/// use pose_core::{RgbFrame, warp::{warp_affine, Border}};
/// let src = RgbFrame::new(2, 1, &[0, 0, 0, 200, 100, 50])?;
/// let mut out = [0u8; 3];
/// // One output pixel sampling halfway between the two source pixels.
/// warp_affine(&src, &[1.0, 0.0, 0.5, 0.0, 1.0, 0.0], 1, 1, Border::Replicate, &mut out);
/// assert_eq!(out, [100, 50, 25]);
/// # Ok::<(), pose_core::Error>(())
/// ```
pub fn warp_affine(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    out_h: usize,
    border: Border,
    out: &mut [u8],
) {
    assert_eq!(out.len(), out_w * out_h * 3, "warp output buffer size");
    dispatch(src, m, out_w, 0..out_h, border, &Bytes, out);
}

/// [`warp_affine`] straight into a float tensor (`out_w * out_h * 3`, HWC): each warped byte `p`
/// becomes `p as f32 * scale + offset` (rounded after the product and after the sum, as numpy's
/// `astype(np.float32) * scale + offset`), without an intermediate byte image.
///
/// # Panics
/// Never for valid frames; `out` must hold `out_w * out_h * 3` floats.
///
/// ```
/// use pose_core::{RgbFrame, warp::{warp_affine_normalized, Border}};
/// let src = RgbFrame::new(2, 1, &[0, 0, 0, 200, 100, 50])?;
/// let mut out = [0f32; 3];
/// let m = [1.0, 0.0, 0.5, 0.0, 1.0, 0.0];
/// warp_affine_normalized(&src, &m, 1, 1, Border::Replicate, 2.0 / 255.0, -1.0, &mut out);
/// assert_eq!(out, [100.0 * (2.0f32 / 255.0) - 1.0, 50.0 * (2.0f32 / 255.0) - 1.0, 25.0 * (2.0f32 / 255.0) - 1.0]);
/// # Ok::<(), pose_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn warp_affine_normalized(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    out_h: usize,
    border: Border,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    warp_affine_normalized_parallel(src, m, out_w, out_h, border, scale, offset, 1, out);
}

/// [`warp_affine_normalized`] on `threads` threads: the calling thread and `threads - 1` helpers
/// from rayon's pool take bands of 16 output rows in turn until none is left (so a helper that a
/// busy machine schedules late costs at most one band); the same result. `threads <= 1` runs on
/// the calling thread only.
///
/// # Panics
/// Never for valid frames; `out` must hold `out_w * out_h * 3` floats.
///
/// ```
/// use pose_core::{RgbFrame, warp::{warp_affine_normalized, warp_affine_normalized_parallel, Border}};
/// let data: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
/// let src = RgbFrame::new(64, 48, &data)?;
/// let m = [0.7, 0.2, 3.0, -0.2, 0.7, 9.0];
/// let (mut a, mut b) = (vec![0f32; 40 * 40 * 3], vec![0f32; 40 * 40 * 3]);
/// warp_affine_normalized(&src, &m, 40, 40, Border::Replicate, 1.0 / 255.0, 0.0, &mut a);
/// warp_affine_normalized_parallel(&src, &m, 40, 40, Border::Replicate, 1.0 / 255.0, 0.0, 2, &mut b);
/// assert_eq!(a, b);
/// # Ok::<(), pose_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn warp_affine_normalized_parallel(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    out_h: usize,
    border: Border,
    scale: f32,
    offset: f32,
    threads: usize,
    out: &mut [f32],
) {
    assert_eq!(out.len(), out_w * out_h * 3, "warp output buffer size");
    let output = Normalized { scale, offset };
    if threads <= 1 || out_h <= TILE || out_w == 0 {
        dispatch(src, m, out_w, 0..out_h, border, &output, out);
        return;
    }
    let bands: Vec<Mutex<&mut [f32]>> = out.chunks_mut(TILE * out_w * 3).map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(band) = bands.get(i) else { break };
            // Each band is taken exactly once (the counter), so the lock is never contended.
            let mut part = band.lock().unwrap_or_else(|e| e.into_inner());
            let rows = i * TILE..i * TILE + part.len() / (out_w * 3);
            dispatch(src, m, out_w, rows, border, &output, &mut part);
        }
    };
    rayon::in_place_scope(|scope| {
        for _ in 1..threads.min(bands.len()) {
            scope.spawn(|_| work());
        }
        work();
    });
}

/// Runs the warp with the FMA instruction when the CPU has it (bit-identical results, the
/// portable path emulates it exactly).
fn dispatch<O: Output>(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    rows: Range<usize>,
    border: Border,
    output: &O,
    out: &mut [O::Elem],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: `warp_avx2_fma` is a safe function whose only requirement is that the CPU
        // supports the AVX2 and FMA instruction sets it is compiled for; both were detected at
        // run time just above.
        #[allow(unsafe_code)]
        unsafe {
            warp_avx2_fma(src, m, out_w, rows, border, output, out)
        };
        return;
    }
    warp::<FmaViaF64, O>(src, m, out_w, rows, border, output, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn warp_avx2_fma<O: Output>(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    rows: Range<usize>,
    border: Border,
    output: &O,
    out: &mut [O::Elem],
) {
    warp::<FmaInstruction, O>(src, m, out_w, rows, border, output, out);
}

/// The source image as the kernel sees it.
#[derive(Clone, Copy)]
struct Source<'a> {
    data: &'a [u8],
    /// Width and height in pixels (each < 2^31, `RgbFrame` limits them far below).
    w: i32,
    h: i32,
    /// Bytes per row.
    stride: usize,
    border: Border,
}

#[inline(always)]
fn warp<F: Fma, O: Output>(
    src: &RgbFrame<'_>,
    m: &Affine,
    out_w: usize,
    rows: Range<usize>,
    border: Border,
    output: &O,
    out: &mut [O::Elem],
) {
    let mf = m.map(|v| v as f32);
    let source = Source {
        data: src.data(),
        w: src.width() as i32,
        h: src.height() as i32,
        stride: src.width() as usize * 3,
        border,
    };
    // Tiles keep the source reads of a rotated, downscaling crop within a small region (cache);
    // every pixel is computed exactly as in row order.
    for v0 in rows.clone().step_by(TILE) {
        for u0 in (0..out_w).step_by(TILE) {
            let n = TILE.min(out_w - u0);
            for v in v0..(v0 + TILE).min(rows.end) {
                // Row terms, exactly as OpenCV rounds them (not fused).
                let yf = v as f32;
                let (mx, my) = (yf * mf[1] + mf[2], yf * mf[4] + mf[5]);
                let i = (v - rows.start) * out_w + u0;
                let row = &mut out[i * 3..(i + n) * 3];
                segment::<F, O>(&source, &mf, mx, my, u0, row, output);
            }
        }
    }
}

/// Output pixels `u0..u0 + row.len() / 3` of one row (at most [`TILE`]), computed as a block: the
/// coordinates, then the source loads (independent, so many are in flight at once), then the
/// interpolation.
#[inline(always)]
fn segment<F: Fma, O: Output>(
    src: &Source<'_>,
    mf: &[f32; 6],
    mx: f32,
    my: f32,
    u0: usize,
    row: &mut [O::Elem],
    output: &O,
) {
    let mut sx = [0f32; TILE];
    let mut sy = [0f32; TILE];
    for j in 0..TILE {
        let xf = (u0 + j) as f32;
        sx[j] = F::fma(xf, mf[0], mx);
        sy[j] = F::fma(xf, mf[3], my);
    }
    // All lanes, also those past `n` (a conservative, vectorised test).
    let regular = sx.iter().zip(&sy).fold(true, |ok, (x, y)| {
        ok & (x.abs() < COORD_LIMIT) & (y.abs() < COORD_LIMIT)
    });
    if !regular {
        // NaN or absurdly far away: pixel by pixel.
        for (j, px) in row.chunks_exact_mut(3).enumerate() {
            let p = pixel::<F>(src, sx[j], sy[j]);
            for (o, &v) in px.iter_mut().zip(&p) {
                *o = output.convert(v as f32);
            }
        }
        return;
    }
    // Source cells and weights, branch-free so that it vectorises (the lanes past `n` compute
    // harmless values that are not stored). Exact: the coordinates are below 2^24 in magnitude.
    let (wf, hf) = (src.w as f32, src.h as f32);
    let inside = |c: f32, len: f32| if c >= 0.0 && c < len { 1.0 } else { 0.0 };
    // Replicate border: the nearest edge pixel; for the constant border the clamped pixel is
    // loaded and then multiplied by 0.
    let clamp = |c: f32, len: f32| c.max(0.0).min(len - 1.0) as i32;
    let mut ax = [0f32; TILE];
    let mut ay = [0f32; TILE];
    // Byte offsets of the top-left and bottom-left neighbours (< 2^31: `RgbFrame` limits the
    // image to 16384^2), and the shift (bits) from a left neighbour to its right one: 24, or 0
    // where the border clamps both to the same pixel.
    let mut o0 = [0i32; TILE];
    let mut o1 = [0i32; TILE];
    let mut shift = [0u64; TILE];
    // Constant border: 1.0 where a neighbour is inside the image, 0.0 where it reads black
    // (exact multipliers); 1.0 for the replicate border.
    let constant = src.border == Border::Constant;
    let mut w00 = [1f32; TILE];
    let mut w01 = [1f32; TILE];
    let mut w10 = [1f32; TILE];
    let mut w11 = [1f32; TILE];
    let stride = src.stride as i32;
    for j in 0..TILE {
        let fx = F::floor(sx[j]);
        let fy = F::floor(sy[j]);
        ax[j] = sx[j] - fx;
        ay[j] = sy[j] - fy;
        let (wx0, wx1) = (inside(fx, wf), inside(fx + 1.0, wf));
        let (wy0, wy1) = (inside(fy, hf), inside(fy + 1.0, hf));
        if constant {
            w00[j] = wy0 * wx0;
            w01[j] = wy0 * wx1;
            w10[j] = wy1 * wx0;
            w11[j] = wy1 * wx1;
        }
        let (c0, c1) = (clamp(fx, wf), clamp(fx + 1.0, wf));
        let (r0, r1) = (clamp(fy, hf) * stride, clamp(fy + 1.0, hf) * stride);
        o0[j] = r0 + c0 * 3;
        o1[j] = r1 + c0 * 3;
        shift[j] = ((c1 - c0) * 24) as u64;
    }
    // Both neighbours in a row with one 8-byte load per lane and row (the loads are
    // independent, so many are in flight at once); the channels are then unpacked and
    // converted together.
    let mut q0 = [0u64; TILE];
    let mut q1 = [0u64; TILE];
    let data = src.data;
    for j in 0..TILE {
        q0[j] = load_pair(data, o0[j] as usize);
        q1[j] = load_pair(data, o1[j] as usize);
    }
    // Unpack, weigh (constant border) and interpolate channel by channel, in registers.
    let mut res = [[0f32; TILE]; 3];
    for (k, res) in res.iter_mut().enumerate() {
        let sk = 8 * k as u64;
        for j in 0..TILE {
            let byte = |q: u64, s: u64| ((q >> s) as u32 & 0xff) as f32;
            let p00 = byte(q0[j], sk) * w00[j];
            let p01 = byte(q0[j], sk + shift[j]) * w01[j];
            let p10 = byte(q1[j], sk) * w10[j];
            let p11 = byte(q1[j], sk + shift[j]) * w11[j];
            res[j] = interpolate::<F>(ax[j], ay[j], p00, p01, p10, p11);
        }
    }
    for (j, px) in row.chunks_exact_mut(3).enumerate() {
        for (k, o) in px.iter_mut().enumerate() {
            *o = output.convert(res[k][j]);
        }
    }
}

/// The eight bytes from offset `i` (two RGB pixels and two bytes of the next), little-endian;
/// zeros past the end of the image.
#[inline(always)]
fn load_pair(data: &[u8], i: usize) -> u64 {
    match data.get(i..i + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => {
            let mut b = [0u8; 8];
            let tail = data.get(i..).unwrap_or_default();
            b[..tail.len().min(8)].copy_from_slice(&tail[..tail.len().min(8)]);
            u64::from_le_bytes(b)
        }
    }
}

/// One output pixel from its source point, for any coordinates (NaN, far outside).
fn pixel<F: Fma>(src: &Source<'_>, sx: f32, sy: f32) -> [u8; 3] {
    let (sw, sh) = (src.w as i64, src.h as i64);
    let (data, stride) = (src.data, src.stride);
    if !(sx.abs() < COORD_LIMIT && sy.abs() < COORD_LIMIT) {
        return match src.border {
            Border::Constant => [0, 0, 0],
            Border::Replicate => {
                let cx = if sx > 0.0 { sw - 1 } else { 0 };
                let cy = if sy > 0.0 { sh - 1 } else { 0 };
                let i = cy as usize * stride + cx as usize * 3;
                [data[i], data[i + 1], data[i + 2]]
            }
        };
    }
    let ix = floor_i32(sx) as i64;
    let iy = floor_i32(sy) as i64;
    let ax = sx - ix as f32;
    let ay = sy - iy as f32;
    let fetch = |yy: i64, xx: i64, k: usize| -> f32 {
        let inside = xx >= 0 && yy >= 0 && xx < sw && yy < sh;
        match src.border {
            _ if inside => data[yy as usize * stride + xx as usize * 3 + k] as f32,
            Border::Constant => 0.0,
            Border::Replicate => {
                data[yy.clamp(0, sh - 1) as usize * stride + xx.clamp(0, sw - 1) as usize * 3 + k]
                    as f32
            }
        }
    };
    std::array::from_fn(|k| {
        interpolate::<F>(
            ax,
            ay,
            fetch(iy, ix, k),
            fetch(iy, ix + 1, k),
            fetch(iy + 1, ix, k),
            fetch(iy + 1, ix + 1, k),
        ) as u8
    })
}

/// `floor` for |x| < COORD_LIMIT, with SSE2 instructions only (`f32::floor` is a libm call on
/// baseline x86-64); vectorises.
#[inline(always)]
fn floor_i32(x: f32) -> i32 {
    let t = x as i32; // truncates toward zero
    if (t as f32) > x { t - 1 } else { t }
}

/// Round half to even for |v| < 2^22 (the default FP rounding mode does it when adding and
/// removing 1.5 * 2^23), without the libm call `f32::round_ties_even` compiles to on baseline
/// x86-64.
#[inline(always)]
fn round_ties_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC) - MAGIC
}

/// Bilinear interpolation as OpenCV 5 does it, rounded half to even and saturated: an
/// integer-valued float in [0, 255].
#[inline(always)]
fn interpolate<F: Fma>(ax: f32, ay: f32, p00: f32, p01: f32, p10: f32, p11: f32) -> f32 {
    let v0 = F::fma(ax, p01 - p00, p00);
    let v1 = F::fma(ax, p11 - p10, p10);
    let v = F::fma(ay, v1 - v0, v0);
    // v is within [-0.5, 255.5] up to rounding: far inside the trick's range.
    round_ties_even(v).clamp(0.0, 255.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_helpers_match_std() {
        for i in -4000..4000 {
            let x = i as f32 * 0.25 + 0.125 * (i % 3) as f32;
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
            assert_eq!(round_ties_even(x), x.round_ties_even(), "{x}");
        }
        for x in [
            0.5f32,
            1.5,
            2.5,
            254.5,
            -0.5,
            1e6 + 0.5,
            -1e6 - 0.5,
            0.49999997,
        ] {
            assert_eq!(round_ties_even(x), x.round_ties_even(), "{x}");
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
        }
    }

    /// The warp pixel by pixel through [`pixel`] with the portable FMA: the reference for the
    /// block kernel and the FMA-instruction path.
    fn reference(src: &RgbFrame<'_>, m: &Affine, w: usize, h: usize, border: Border) -> Vec<u8> {
        let mf = m.map(|v| v as f32);
        let source = Source {
            data: src.data(),
            w: src.width() as i32,
            h: src.height() as i32,
            stride: src.width() as usize * 3,
            border,
        };
        let mut out = Vec::with_capacity(w * h * 3);
        for v in 0..h {
            let yf = v as f32;
            let (mx, my) = (yf * mf[1] + mf[2], yf * mf[4] + mf[5]);
            for u in 0..w {
                let xf = u as f32;
                let sx = FmaViaF64::fma(xf, mf[0], mx);
                let sy = FmaViaF64::fma(xf, mf[3], my);
                out.extend(pixel::<FmaViaF64>(&source, sx, sy));
            }
        }
        out
    }

    #[test]
    fn block_kernel_and_fma_paths_match_the_pixel_reference() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (sw, sh) = (41u32, 29u32);
        let data: Vec<u8> = (0..sw * sh * 3).map(|_| (rand() * 256.0) as u8).collect();
        let src = RgbFrame::new(sw, sh, &data).expect("frame");
        let (w, h) = (37, 21); // not multiples of the tile: partial tiles too
        for case in 0..400 {
            let scale = 0.05 + 3.0 * rand();
            let rot = (rand() - 0.5) * 7.0;
            let (s, c) = rot.sin_cos();
            let mut m = [
                c * scale,
                -s * scale,
                (rand() - 0.3) * 60.0,
                s * scale,
                c * scale,
                (rand() - 0.3) * 40.0,
            ];
            match case % 40 {
                0 => m[2] = f64::NAN,
                1 => m[5] = 1e9,
                2 => m[0] = -1e12,
                3 => m = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                // The last pixels of the image (the 8-byte loads run past its end).
                4 => m = [1.0, 0.0, sw as f64 - 30.5, 0.0, 1.0, sh as f64 - 15.0],
                _ => {}
            }
            for border in [Border::Constant, Border::Replicate] {
                let want = reference(&src, &m, w, h, border);
                let mut got = vec![0u8; w * h * 3];
                warp_affine(&src, &m, w, h, border, &mut got);
                assert_eq!(got, want, "case {case} {border:?} {m:?}");
                let mut portable = vec![0u8; w * h * 3];
                warp::<FmaViaF64, Bytes>(&src, &m, w, 0..h, border, &Bytes, &mut portable);
                assert_eq!(portable, want, "portable, case {case} {border:?} {m:?}");
                let mut tensor = vec![0f32; w * h * 3];
                let (scale, offset) = ((2.0f64 / 255.0) as f32, -1.0);
                warp_affine_normalized(&src, &m, w, h, border, scale, offset, &mut tensor);
                let mut banded = vec![0f32; w * h * 3];
                let threads = 1 + case % 3;
                warp_affine_normalized_parallel(
                    &src,
                    &m,
                    w,
                    h,
                    border,
                    scale,
                    offset,
                    threads,
                    &mut banded,
                );
                assert_eq!(banded, tensor, "{threads} bands, case {case}");
                for (t, &b) in tensor.iter().zip(&want) {
                    assert_eq!(*t, b as f32 * scale + offset, "normalized, case {case}");
                }
            }
        }
    }

    #[test]
    fn identity_copies() {
        let data: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let src = RgbFrame::new(4, 3, &data).expect("frame");
        let mut out = vec![0u8; data.len()];
        warp_affine(
            &src,
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            4,
            3,
            Border::Constant,
            &mut out,
        );
        assert_eq!(out, data);
    }

    #[test]
    fn borders() {
        let data = [10u8, 20, 30, 40, 50, 60];
        let src = RgbFrame::new(2, 1, &data).expect("frame");
        let mut out = [0u8; 6];
        // Two pixels far left of the image.
        let m = [1.0, 0.0, -10.0, 0.0, 1.0, 0.0];
        warp_affine(&src, &m, 2, 1, Border::Constant, &mut out);
        assert_eq!(out, [0; 6]);
        warp_affine(&src, &m, 2, 1, Border::Replicate, &mut out);
        assert_eq!(out, [10, 20, 30, 10, 20, 30]);
        // Half a pixel left of the first: constant border blends with black.
        warp_affine(
            &src,
            &[1.0, 0.0, -0.5, 0.0, 1.0, 0.0],
            1,
            1,
            Border::Constant,
            &mut out[..3],
        );
        assert_eq!(&out[..3], &[5, 10, 15]);
        // NaN matrix: no panic.
        warp_affine(&src, &[f64::NAN; 6], 2, 1, Border::Replicate, &mut out);
    }
}
