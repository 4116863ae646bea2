//! Bilinear affine warp of an RGB image with OpenCV's `warpAffine` semantics
//! (`INTER_LINEAR | WARP_INVERSE_MAP` on `CV_8UC3`), bit-exact with OpenCV 5.0 (the oracle's
//! version) for the 224- and 256-pixel-wide outputs of the pipeline.
//!
//! OpenCV 5 computes in `float`: the matrix is cast to `f32`; per output row
//! `mx = y*m1 + m2` (rounded), per pixel `sx = fma(x, m0, mx)`; the source cell is `floor(sx)`,
//! the weights the fractions; interpolation is `v0 = fma(ax, p01 - p00, p00)`,
//! `v1 = fma(ax, p11 - p10, p10)`, `v = fma(ay, v1 - v0, v0)`, rounded half to even and saturated.
//! The fused multiply-adds are evaluated exactly through `f64` (the operands' product fits in
//! 53 bits), so no FMA instruction is needed.

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

#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    // Exact: a*b has at most 48 significant bits; the sum is rounded once to f64 and then to f32,
    // which equals a single rounding whenever the exact sum fits in 53 bits (always here: the
    // operands are pixel values, weights in [0, 1) and coordinates of moderate size).
    (a as f64 * b as f64 + c as f64) as f32
}

/// Largest source coordinate treated as a number; beyond it the point is simply outside.
const COORD_LIMIT: f32 = 1.0e7;

/// Side of the output tiles the warp walks through.
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
    let mf = m.map(|v| v as f32);
    let sw = src.width() as i64;
    let sh = src.height() as i64;
    let data = src.data();
    let stride = sw as usize * 3;
    // Row terms, exactly as OpenCV rounds them (not fused).
    let row_terms: Vec<(f32, f32)> = (0..out_h)
        .map(|v| {
            let yf = v as f32;
            (yf * mf[1] + mf[2], yf * mf[4] + mf[5])
        })
        .collect();
    // Tiles keep the source reads of a rotated, downscaling crop within a small region (cache);
    // every pixel is computed exactly as in row order.
    let tiles = (0..out_h)
        .step_by(TILE)
        .flat_map(|v0| (0..out_w).step_by(TILE).map(move |u0| (v0, u0)));
    for (v0, u0) in tiles {
        for (v, &(mx, my)) in row_terms.iter().enumerate().skip(v0).take(TILE) {
            let row = &mut out[v * out_w * 3..(v + 1) * out_w * 3];
            for u in u0..(u0 + TILE).min(out_w) {
                let px = &mut row[u * 3..u * 3 + 3];
                let xf = u as f32;
                let sx = fma(xf, mf[0], mx);
                let sy = fma(xf, mf[3], my);
                if !(sx.abs() < COORD_LIMIT && sy.abs() < COORD_LIMIT) {
                    // NaN or absurdly far away: outside the image.
                    let p = match border {
                        Border::Constant => [0, 0, 0],
                        Border::Replicate => {
                            let cx = if sx > 0.0 { sw - 1 } else { 0 };
                            let cy = if sy > 0.0 { sh - 1 } else { 0 };
                            let i = cy as usize * stride + cx as usize * 3;
                            [data[i], data[i + 1], data[i + 2]]
                        }
                    };
                    px.copy_from_slice(&p);
                    continue;
                }
                let ix = floor_i64(sx);
                let iy = floor_i64(sy);
                // Exact: the coordinates are below 2^24 in magnitude.
                let ax = sx - ix as f32;
                let ay = sy - iy as f32;
                if ix >= 0 && iy >= 0 && ix + 1 < sw && iy + 1 < sh {
                    let i = iy as usize * stride + ix as usize * 3;
                    for (k, out) in px.iter_mut().enumerate() {
                        let p00 = data[i + k] as f32;
                        let p01 = data[i + 3 + k] as f32;
                        let p10 = data[i + stride + k] as f32;
                        let p11 = data[i + stride + 3 + k] as f32;
                        *out = interpolate(ax, ay, p00, p01, p10, p11);
                    }
                    continue;
                }
                match border {
                    Border::Constant => {
                        if ix < -1 || iy < -1 || ix >= sw || iy >= sh {
                            px.copy_from_slice(&[0, 0, 0]);
                            continue;
                        }
                        let fetch = |yy: i64, xx: i64, k: usize| -> f32 {
                            if xx >= 0 && yy >= 0 && xx < sw && yy < sh {
                                data[yy as usize * stride + xx as usize * 3 + k] as f32
                            } else {
                                0.0
                            }
                        };
                        for (k, out) in px.iter_mut().enumerate() {
                            *out = interpolate(
                                ax,
                                ay,
                                fetch(iy, ix, k),
                                fetch(iy, ix + 1, k),
                                fetch(iy + 1, ix, k),
                                fetch(iy + 1, ix + 1, k),
                            );
                        }
                    }
                    Border::Replicate => {
                        let x0 = ix.clamp(0, sw - 1) as usize * 3;
                        let x1 = (ix + 1).clamp(0, sw - 1) as usize * 3;
                        let y0 = iy.clamp(0, sh - 1) as usize * stride;
                        let y1 = (iy + 1).clamp(0, sh - 1) as usize * stride;
                        for (k, out) in px.iter_mut().enumerate() {
                            *out = interpolate(
                                ax,
                                ay,
                                data[y0 + x0 + k] as f32,
                                data[y0 + x1 + k] as f32,
                                data[y1 + x0 + k] as f32,
                                data[y1 + x1 + k] as f32,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// `floor` for |x| < COORD_LIMIT, with SSE2 instructions only (`f32::floor` is a libm call on
/// baseline x86-64).
#[inline(always)]
fn floor_i64(x: f32) -> i64 {
    let t = x as i64; // truncates toward zero
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

#[inline(always)]
fn interpolate(ax: f32, ay: f32, p00: f32, p01: f32, p10: f32, p11: f32) -> u8 {
    let v0 = fma(ax, p01 - p00, p00);
    let v1 = fma(ax, p11 - p10, p10);
    let v = fma(ay, v1 - v0, v0);
    // v is within [-0.5, 255.5] up to rounding: far inside the trick's range.
    round_ties_even(v).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_helpers_match_std() {
        for i in -4000..4000 {
            let x = i as f32 * 0.25 + 0.125 * (i % 3) as f32;
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
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
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
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
