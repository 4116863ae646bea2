//! OpenCV's fixed-point bilinear sampling (`INTER_LINEAR`, `INTER_BITS = 5`,
//! `INTER_REMAP_COEF_BITS = 15`): sample positions and weights.

use crate::config::Rotation;
use crate::homography::Homography;

/// Sub-pixel bits of a sample position (`INTER_BITS`).
pub(crate) const INTER_BITS: u32 = 5;
/// Sub-pixel steps per pixel (`INTER_TAB_SIZE`).
pub(crate) const TAB_SIZE: i32 = 1 << INTER_BITS;
/// Fixed-point bits of a bilinear weight (`INTER_REMAP_COEF_BITS`).
pub(crate) const COEF_BITS: u32 = 15;
/// Rounding term added before the final shift.
pub(crate) const ROUND: i32 = 1 << (COEF_BITS - 1);

/// Bilinear weights `[w00, w01, w10, w11]` for sub-pixel index `alpha = fy * 32 + fx`, in the
/// order (x, y), (x+1, y), (x, y+1), (x+1, y+1), exactly as OpenCV's `initInterTab2D(INTER_LINEAR,
/// fixpt)` builds them, including its quirk for `alpha == 0`: `saturate_cast<short>(32768)` gives
/// 32767 and the correction of the sum lands on `w11`, so the weights are `[32767, 0, 0, 1]`.
pub(crate) fn weights(alpha: usize) -> [i16; 4] {
    let (fy, fx) = ((alpha / 32) as f32, (alpha % 32) as f32);
    let scale = 1.0f32 / TAB_SIZE as f32;
    let (x, y) = (fx * scale, fy * scale);
    let tab_y = [1.0 - y, y];
    let tab_x = [1.0 - x, x];
    let mut w = [0i16; 4];
    let mut sum = 0i32;
    for k1 in 0..2 {
        for k2 in 0..2 {
            let v = tab_y[k1] * tab_x[k2] * 32768.0;
            let s = v.round().clamp(-32768.0, 32767.0) as i16;
            w[k1 * 2 + k2] = s;
            sum += i32::from(s);
        }
    }
    if sum != 32768 {
        // OpenCV searches a 2x2 window starting at (1, 1) of a 2x2 kernel: only w11 is inside
        // this entry, the others are the (still zero) next entry, so w11 takes the difference.
        w[3] = (i32::from(w[3]) - (sum - 32768)) as i16;
    }
    w
}

/// Maps a pixel of the rotated image back to the unrotated camera image of size `ow x oh`.
pub(crate) fn unrotate(rotation: Rotation, ow: i64, oh: i64, xr: i64, yr: i64) -> (i64, i64) {
    match rotation {
        Rotation::None => (xr, yr),
        Rotation::Half => (ow - 1 - xr, oh - 1 - yr),
        Rotation::Clockwise90 => (yr, oh - 1 - xr),
        Rotation::Clockwise270 => (ow - 1 - yr, xr),
    }
}

/// The sample position OpenCV's `WarpPerspectiveInvoker` computes for destination pixel
/// `(x, y)` with the dst->src matrix `m`: `(X, Y)` in 1/32 pixel, as `(sx, sy, alpha)` with
/// `sx = X >> 5`, `sy = Y >> 5` (saturated to `i16`) and `alpha = (Y & 31) * 32 + (X & 31)`.
///
/// `block_w` is the invoker's block width: OpenCV evaluates `X0 + M0 * x1` with `X0` taken at
/// the block's first column, which we repeat for bit-equal rounding.
pub(crate) fn sample_position(m: &Homography, x: u32, y: u32, block_w: u32) -> (i32, i32, u16) {
    let m = &m.m;
    let xb = x - x % block_w;
    let x1 = f64::from(x - xb);
    let (xb, yf) = (f64::from(xb), f64::from(y));
    let x0 = m[0] * xb + m[1] * yf + m[2];
    let y0 = m[3] * xb + m[4] * yf + m[5];
    let w0 = m[6] * xb + m[7] * yf + m[8];
    let w = w0 + m[6] * x1;
    let w = if w != 0.0 {
        f64::from(TAB_SIZE) / w
    } else {
        0.0
    };
    let fx = ((x0 + m[0] * x1) * w).clamp(f64::from(i32::MIN), f64::from(i32::MAX));
    let fy = ((y0 + m[3] * x1) * w).clamp(f64::from(i32::MIN), f64::from(i32::MAX));
    let xi = round_half_even(fx);
    let yi = round_half_even(fy);
    let sx = (xi >> INTER_BITS).clamp(i32::from(i16::MIN), i32::from(i16::MAX));
    let sy = (yi >> INTER_BITS).clamp(i32::from(i16::MIN), i32::from(i16::MAX));
    let alpha = ((yi & (TAB_SIZE - 1)) * TAB_SIZE + (xi & (TAB_SIZE - 1))) as u16;
    (sx, sy, alpha)
}

/// `cvRound`/`saturate_cast<int>(double)`: round half to even (the SSE conversion); NaN becomes
/// `i32::MAX` as OpenCV's `std::max(INT_MIN, std::min(INT_MAX, NaN))` does.
fn round_half_even(v: f64) -> i32 {
    if v.is_nan() {
        return i32::MAX;
    }
    v.round_ties_even() as i32
}

/// The block width of OpenCV's `WarpPerspectiveInvoker` for a `width x height` destination.
pub(crate) fn invoker_block_width(width: u32, height: u32) -> u32 {
    const BLOCK_SZ: u32 = 32;
    let bh0 = (BLOCK_SZ / 2).min(height).max(1);
    (BLOCK_SZ * BLOCK_SZ / bh0).min(width).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_match_opencv_quirk() {
        assert_eq!(weights(0), [32767, 0, 0, 1]);
        for a in 1..1024 {
            let w = weights(a);
            assert_eq!(
                w.iter().map(|&v| i32::from(v)).sum::<i32>(),
                32768,
                "alpha {a}"
            );
            assert!(w.iter().all(|&v| v >= 0));
        }
        // fx = 16 (half a pixel in x), fy = 0
        assert_eq!(weights(16), [16384, 16384, 0, 0]);
    }
}
