//! What the RGB plan ([`crate::Plan`]) and the plane plans (the YCbCr path) share: the per-pixel
//! codes, and the general sample for the few pixels the hot loops do not take (view borders,
//! feathered seams), evaluated for any pixel kind (packed RGB, or `N` planes sampled together).
//!
//! The hot loops stay one per pixel kind (`plan::sample_run`, `plane::sample_run`): a packed RGB
//! pixel and a plane sample take different SIMD kernels (2 packed pixels of 3 channels per AVX2
//! step, 4-byte stores, vs 8 plane samples per step for `N` planes at once) and different table
//! layouts (RGB blocks reach 8 bytes per row, so the last pixels of an image are special).

use crate::bilinear::{COEF_BITS, ROUND};

/// Per-pixel code: a packed `fx`/`fy` below this value; this value itself is the border (black)
/// pixel of a view.
pub(crate) const CODE_BORDER: u16 = 0x4000;
/// Per-pixel code bit: the pixel's offset indexes the plan's [`Special`] list.
pub(crate) const CODE_SPECIAL: u16 = 0x8000;
/// The sum of the bilinear weights of a sample (`1 << COEF_BITS`).
const ONE: i32 = 1 << COEF_BITS;

/// Up to four weighted taps of one camera's image: offsets (of a pixel's first byte) and
/// fixed-point weights (`COEF_BITS`), only the taps inside the image.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub(crate) cam: u16,
    pub(crate) len: u8,
    pub(crate) taps: [(u32, i32); 4],
}

impl Sample {
    /// An empty sample of camera `cam`.
    pub(crate) fn new(cam: u16) -> Sample {
        Sample {
            cam,
            ..Sample::default()
        }
    }

    /// Adds a tap (at most four).
    pub(crate) fn push(&mut self, offset: u32, weight: i32) {
        if let Some(t) = self.taps.get_mut(usize::from(self.len)) {
            *t = (offset, weight);
            self.len += 1;
        }
    }
}

/// A pixel that is not a plain inside-the-image sample: partly outside a view (blended with the
/// border value, as OpenCV's `BORDER_CONSTANT`) or inside a feathered seam (two samples,
/// `t`/256 of `b`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Special {
    pub(crate) a: Sample,
    pub(crate) b: Sample,
    /// 0 = only `a`; else the weight of `b` in 1/256.
    pub(crate) t: u16,
}

/// How the `N` channels of a tap are read from one camera's input.
pub(crate) trait Pixels<const N: usize> {
    /// Channel `k` of the pixel whose first byte is at `offset` (0 outside the buffer).
    fn channel(&self, offset: u32, k: usize) -> u8;
}

/// Packed pixels: channel `k` at `offset + k` of one buffer (RGB).
pub(crate) struct Interleaved<'a>(pub(crate) &'a [u8]);

impl<const N: usize> Pixels<N> for Interleaved<'_> {
    #[inline]
    fn channel(&self, offset: u32, k: usize) -> u8 {
        self.0.get(offset as usize + k).copied().unwrap_or(0)
    }
}

/// `N` planes sharing their offsets (Y, or Cb and Cr): channel `k` at `offset` of plane `k`.
pub(crate) struct Planar<'a, const N: usize>(pub(crate) [&'a [u8]; N]);

impl<const N: usize> Pixels<N> for Planar<'_, N> {
    #[inline]
    fn channel(&self, offset: u32, k: usize) -> u8 {
        self.0
            .get(k)
            .and_then(|p| p.get(offset as usize))
            .copied()
            .unwrap_or(0)
    }
}

impl Special {
    /// The pixel's value: `input(cam)` reads camera `cam` (`None` = missing camera, whose
    /// samples show `placeholder`); taps outside a view read `border`.
    #[inline(never)]
    pub(crate) fn eval<const N: usize, P: Pixels<N>>(
        &self,
        input: impl Fn(usize) -> Option<P>,
        placeholder: [u8; N],
        border: [u8; N],
    ) -> [u8; N] {
        let eval = |s: &Sample| -> ([u8; N], bool) {
            match input(usize::from(s.cam)) {
                None => (placeholder, true),
                Some(px) => {
                    let taps = &s.taps[..usize::from(s.len).min(4)];
                    let inside: i32 = taps.iter().map(|t| t.1).sum();
                    let v = std::array::from_fn(|k| {
                        let mut acc = ROUND + (ONE - inside) * i32::from(border[k]);
                        for &(o, wt) in taps {
                            acc += wt * i32::from(px.channel(o, k));
                        }
                        (acc >> COEF_BITS).clamp(0, 255) as u8
                    });
                    (v, s.len > 0)
                }
            }
        };
        let (va, cov_a) = eval(&self.a);
        if self.t == 0 {
            return va;
        }
        let (vb, cov_b) = eval(&self.b);
        match (cov_a, cov_b) {
            (true, false) => va,
            (false, true) => vb,
            _ => {
                let t = u32::from(self.t);
                std::array::from_fn(|k| {
                    (((256 - t) * u32::from(va[k]) + t * u32::from(vb[k]) + 128) >> 8) as u8
                })
            }
        }
    }
}
