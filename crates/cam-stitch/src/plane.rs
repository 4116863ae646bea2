//! Single-channel plane plans: the sampling tables of one 8-bit plane of the panorama (the Y
//! plane at full resolution, or the Cb/Cr planes at chroma resolution), and their render loop.
//!
//! The geometry (which camera, which 2x2 block, which sub-pixel position) comes from a closure
//! given to [`PlanePlan::build`]; this module only stores it compactly (a byte offset and a packed
//! `fx`/`fy` code per pixel, like [`crate::Plan`]) and samples it. One table can drive several
//! planes at once when they share their geometry (Cb and Cr), hence the `N` planes of
//! [`PlanePlan::render`].

use crate::kernel;
use crate::sample::{CODE_BORDER, CODE_SPECIAL, Planar, Sample, Special};

/// A 2x2 block of one camera's (unrotated) plane and the sub-pixel position inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    /// Camera index.
    pub cam: u16,
    /// Top-left pixel of the block in the camera's plane (may lie outside it).
    pub x: i64,
    /// Top-left row.
    pub y: i64,
    /// Sub-pixel position inside the block, `0..=32` (32 = on the right/bottom pixel).
    pub fx: u32,
    /// Vertical sub-pixel position, `0..=32`.
    pub fy: u32,
}

/// What one output pixel shows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pixel {
    /// A bilinear sample of one camera.
    One(Block),
    /// `(256 - t) / 256` of the first plus `t / 256` of the second (seams).
    Blend(Block, Block, u16),
}

/// Size and row stride of one camera's input plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneInput {
    /// Plane width and height in samples (the region that holds image data).
    pub size: (u32, u32),
    /// Bytes per row of the plane buffer (`>= size.0`).
    pub stride: usize,
}

/// The sampling table of one panorama plane.
#[derive(Debug, Clone)]
pub(crate) struct PlanePlan {
    width: u32,
    #[cfg_attr(not(feature = "rayon"), allow(dead_code))]
    height: u32,
    inputs: Vec<PlaneInput>,
    /// Output columns `col0..col1` of each camera.
    cols: Vec<(u32, u32)>,
    offsets: Vec<u32>,
    codes: Vec<u16>,
    specials: Vec<Special>,
}

impl PlanePlan {
    /// Builds the table of a `width x height` plane: camera `n` fills the columns `cols[n]`
    /// (in order, covering the row), reading `inputs[n]`; `locate(n, x, y)` gives what the
    /// pixel `(x, y)` of camera `n`'s columns shows.
    pub fn build(
        width: u32,
        height: u32,
        inputs: Vec<PlaneInput>,
        cols: Vec<(u32, u32)>,
        mut locate: impl FnMut(usize, u32, u32) -> Pixel,
    ) -> PlanePlan {
        let npix = width as usize * height as usize;
        let mut offsets = vec![0u32; npix];
        let mut codes = vec![CODE_BORDER; npix];
        let mut specials = Vec::new();
        for (n, &(c0, c1)) in cols.iter().enumerate() {
            for y in 0..height {
                for x in c0..c1 {
                    let i = y as usize * width as usize + x as usize;
                    match locate(n, x, y) {
                        Pixel::One(b) => {
                            let inp = &inputs[usize::from(b.cam)];
                            let (pw, ph) = (i64::from(inp.size.0), i64::from(inp.size.1));
                            if b.x >= 0 && b.y >= 0 && b.x + 1 < pw && b.y + 1 < ph {
                                offsets[i] = (b.y * inp.stride as i64 + b.x) as u32;
                                codes[i] = kernel::pack(b.fx, b.fy);
                            } else {
                                let s = sample(&inputs, &b);
                                if s.len > 0 {
                                    offsets[i] = specials.len() as u32;
                                    codes[i] = CODE_SPECIAL;
                                    specials.push(Special {
                                        a: s,
                                        ..Special::default()
                                    });
                                }
                            }
                        }
                        Pixel::Blend(a, b, t) => {
                            offsets[i] = specials.len() as u32;
                            codes[i] = CODE_SPECIAL;
                            specials.push(Special {
                                a: sample(&inputs, &a),
                                b: sample(&inputs, &b),
                                t: t.clamp(1, 255),
                            });
                        }
                    }
                }
            }
        }
        PlanePlan {
            width,
            height,
            inputs,
            cols,
            offsets,
            codes,
            specials,
        }
    }

    /// Bytes of precomputed data.
    pub fn memory_bytes(&self) -> usize {
        self.offsets.len() * 4
            + self.codes.len() * 2
            + self.specials.len() * std::mem::size_of::<Special>()
    }

    /// Renders `N` planes that share this table: `inputs[n]` holds camera `n`'s `N` planes
    /// (`None` = missing camera, drawn as `placeholder`), `outs` the `N` output planes of
    /// `width * height` bytes; samples outside a camera's plane read `border`.
    ///
    /// The caller checks that every input plane holds `stride * size.1` bytes and every output
    /// `width * height` bytes (the hot loop clamps offsets instead of failing).
    pub fn render<'a, const N: usize, F>(
        &self,
        inputs: &F,
        outs: [&mut [u8]; N],
        placeholder: [u8; N],
        border: [u8; N],
        parallel: bool,
    ) where
        F: Fn(usize) -> Option<[&'a [u8]; N]> + Sync,
    {
        #[cfg(feature = "rayon")]
        if parallel {
            let threads = rayon::current_num_threads().max(1);
            let min_rows = (self.height as usize).div_ceil(threads * 4).max(1);
            self.render_split(
                inputs,
                outs,
                0,
                self.height as usize,
                min_rows,
                placeholder,
                border,
            );
            return;
        }
        let _ = parallel;
        self.render_rows(inputs, outs, 0, placeholder, border);
    }

    /// Splits the rows `y0..y0 + rows` in halves across rayon's pool down to `min_rows`.
    #[cfg(feature = "rayon")]
    #[allow(clippy::too_many_arguments)]
    fn render_split<'a, const N: usize, F>(
        &self,
        inputs: &F,
        outs: [&mut [u8]; N],
        y0: usize,
        rows: usize,
        min_rows: usize,
        placeholder: [u8; N],
        border: [u8; N],
    ) where
        F: Fn(usize) -> Option<[&'a [u8]; N]> + Sync,
    {
        if rows <= min_rows {
            self.render_rows(inputs, outs, y0, placeholder, border);
            return;
        }
        let mid = rows / 2;
        let at = mid * self.width as usize;
        let mut halves = outs.map(|o| {
            let at = at.min(o.len());
            o.split_at_mut(at)
        });
        let top: [&mut [u8]; N] = std::array::from_fn(|k| std::mem::take(&mut halves[k].0));
        let bottom: [&mut [u8]; N] = std::array::from_fn(|k| std::mem::take(&mut halves[k].1));
        rayon::join(
            || self.render_split(inputs, top, y0, mid, min_rows, placeholder, border),
            || {
                self.render_split(
                    inputs,
                    bottom,
                    y0 + mid,
                    rows - mid,
                    min_rows,
                    placeholder,
                    border,
                )
            },
        );
    }

    /// Renders the rows starting at `y0` that fit in `outs`.
    fn render_rows<'a, const N: usize, F>(
        &self,
        inputs: &F,
        mut outs: [&mut [u8]; N],
        y0: usize,
        placeholder: [u8; N],
        border: [u8; N],
    ) where
        F: Fn(usize) -> Option<[&'a [u8]; N]> + Sync,
    {
        let w = self.width as usize;
        let rows = outs.iter().map(|o| o.len() / w.max(1)).min().unwrap_or(0);
        for r in 0..rows {
            let base = (y0 + r) * w;
            let (Some(offsets), Some(codes)) = (
                self.offsets.get(base..base + w),
                self.codes.get(base..base + w),
            ) else {
                return;
            };
            for (n, (&(c0, c1), inp)) in self.cols.iter().zip(&self.inputs).enumerate() {
                let (c0, c1) = (c0 as usize, c1 as usize);
                let mut dst = outs.each_mut().map(|o| &mut o[r * w + c0..r * w + c1]);
                let (offs, cods) = (&offsets[c0..c1], &codes[c0..c1]);
                match inputs(n) {
                    Some(src) => sample_run(src, inp.stride, offs, cods, &mut dst, border, |s| {
                        self.special(s, inputs, placeholder, border)
                    }),
                    None => {
                        for (i, (&o, &code)) in offs.iter().zip(cods).enumerate() {
                            let v = if code & CODE_SPECIAL != 0 {
                                self.special(o, inputs, placeholder, border)
                            } else {
                                placeholder
                            };
                            for (d, v) in dst.iter_mut().zip(v) {
                                d[i] = v;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Evaluates special pixel `index`.
    fn special<'a, const N: usize, F>(
        &self,
        index: u32,
        inputs: &F,
        placeholder: [u8; N],
        border: [u8; N],
    ) -> [u8; N]
    where
        F: Fn(usize) -> Option<[&'a [u8]; N]>,
    {
        match self.specials.get(index as usize) {
            Some(sp) => sp.eval(|cam| inputs(cam).map(Planar), placeholder, border),
            None => border,
        }
    }
}

/// The weighted taps of block `b` that lie inside its camera's plane (zero weights dropped).
fn sample(inputs: &[PlaneInput], b: &Block) -> Sample {
    let mut s = Sample::new(b.cam);
    let Some(inp) = inputs.get(usize::from(b.cam)) else {
        return s;
    };
    let (pw, ph) = (i64::from(inp.size.0), i64::from(inp.size.1));
    let (fx, fy) = (b.fx.min(32) as i32, b.fy.min(32) as i32);
    let wx = [32 - fx, fx];
    let wy = [32 - fy, fy];
    for (dy, &wyv) in wy.iter().enumerate() {
        for (dx, &wxv) in wx.iter().enumerate() {
            let (x, y) = (b.x + dx as i64, b.y + dy as i64);
            let w = 32 * wxv * wyv;
            if w == 0 || x < 0 || y < 0 || x >= pw || y >= ph {
                continue;
            }
            s.push((y * inp.stride as i64 + x) as u32, w);
        }
    }
    s
}

/// The hot loop: one run of output pixels from one camera, `N` planes with shared offsets.
///
/// Runs of 8 plain pixels go through the SSE2 kernel ([`sample8`]); border and special pixels
/// (view edges, seams) and the run's tail through the scalar one.
#[inline]
fn sample_run<const N: usize>(
    src: [&[u8]; N],
    stride: usize,
    offs: &[u32],
    codes: &[u16],
    dst: &mut [&mut [u8]; N],
    border: [u8; N],
    mut special: impl FnMut(u32) -> [u8; N],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just checked to support AVX2, the feature `sample_run_avx2` is
        // compiled for; it touches memory only through the safe slices it is given.
        #[allow(unsafe_code)]
        return unsafe { sample_run_avx2(src, stride, offs, codes, dst, border, special) };
    }
    run_loop::<N, false, _>(
        src,
        stride,
        offs,
        codes,
        dst,
        border,
        &mut special,
        |c8| *c8,
        |plane, o8, c8| sample8(plane, stride, o8, c8),
    );
}

/// How many pixels ahead the AVX2 loop prefetches its source blocks (measured on the hd set).
#[cfg(target_arch = "x86_64")]
const PREFETCH_AHEAD: usize = 96;

/// [`sample_run`] compiled for AVX2: runs of 8 plain pixels go through [`sample8_avx2`], with
/// the weights computed once for all planes, and the source blocks prefetched ahead.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sample_run_avx2<const N: usize>(
    src: [&[u8]; N],
    stride: usize,
    offs: &[u32],
    codes: &[u16],
    dst: &mut [&mut [u8]; N],
    border: [u8; N],
    mut special: impl FnMut(u32) -> [u8; N],
) {
    run_loop::<N, true, _>(
        src,
        stride,
        offs,
        codes,
        dst,
        border,
        &mut special,
        |c8| weights8_avx2(c8),
        |plane, o8, w| sample8_avx2(plane, stride, o8, *w),
    );
}

/// The run loop both kernels share: 8 output pixels at a time; when all 8 are plain, `weigh`
/// turns their codes into the kernel's weights once and `kernel` samples each plane, else (view
/// borders, seams) and for the run's tail the scalar [`sample_one`]. `PREFETCH`: fetch the
/// source blocks [`PREFETCH_AHEAD`] pixels ahead.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn run_loop<const N: usize, const PREFETCH: bool, W>(
    src: [&[u8]; N],
    stride: usize,
    offs: &[u32],
    codes: &[u16],
    dst: &mut [&mut [u8]; N],
    border: [u8; N],
    special: &mut impl FnMut(u32) -> [u8; N],
    mut weigh: impl FnMut(&[u16; 8]) -> W,
    mut kernel: impl FnMut(&[u8], &[usize; 8], &W) -> [u8; 8],
) {
    let n = dst
        .iter()
        .map(|d| d.len())
        .min()
        .unwrap_or(0)
        .min(offs.len())
        .min(codes.len());
    // The plan guarantees `o + stride + 2 <= len` for every plain pixel and the caller checked
    // the plane sizes; clamping to that bound lets the compiler drop most slice checks.
    let limit = src
        .iter()
        .map(|s| s.len())
        .min()
        .unwrap_or(0)
        .saturating_sub(stride + 2);
    let mut i = 0;
    while i + 8 <= n {
        #[cfg(target_arch = "x86_64")]
        if PREFETCH && let Some(&ahead) = offs.get(i + PREFETCH_AHEAD) {
            for plane in src {
                for at in [ahead as usize, ahead as usize + stride] {
                    if let Some(b) = plane.get(at) {
                        safe_arch::prefetch_t0(b);
                    }
                }
            }
        }
        let c8: [u16; 8] = std::array::from_fn(|j| codes[i + j]);
        if c8.iter().fold(0, |a, &c| a | c) < CODE_BORDER {
            let o8: [usize; 8] = std::array::from_fn(|j| (offs[i + j] as usize).min(limit));
            let w = weigh(&c8);
            for k in 0..N {
                let plane = src[k].get(..limit + stride + 2).unwrap_or(src[k]);
                let v = kernel(plane, &o8, &w);
                dst[k][i..i + 8].copy_from_slice(&v);
            }
        } else {
            for j in i..i + 8 {
                sample_one(
                    src, stride, limit, offs[j], codes[j], dst, j, border, special,
                );
            }
        }
        i += 8;
    }
    for j in i..n {
        sample_one(
            src, stride, limit, offs[j], codes[j], dst, j, border, special,
        );
    }
}

/// The weights of eight plain pixels for [`sample8_avx2`], one pixel per 32-bit lane: the bytes
/// `[32-fx, fx, 32-fx, fx]` and the 16-bit `[32-fy, fy]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn weights8_avx2(c: &[u16; 8]) -> [std::arch::x86_64::__m256i; 2] {
    use std::arch::x86_64::*;
    let c = c.map(|v| v as i16);
    let codes = _mm256_cvtepu16_epi32(_mm_setr_epi16(
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
    ));
    let m63 = _mm256_set1_epi32(63);
    let k32 = _mm256_set1_epi32(32);
    let fx = _mm256_and_si256(codes, m63);
    let fy = _mm256_and_si256(_mm256_srli_epi32::<6>(codes), m63);
    // (32 - fx) | fx << 8 = 32 + 255·fx (fx <= 32: no borrow), in both 16-bit halves
    let wx = _mm256_add_epi32(k32, _mm256_sub_epi32(_mm256_slli_epi32::<8>(fx), fx));
    let wx = _mm256_or_si256(wx, _mm256_slli_epi32::<16>(wx));
    // (32 - fy) | fy << 16
    let wy = _mm256_add_epi32(k32, _mm256_sub_epi32(_mm256_slli_epi32::<16>(fy), fy));
    [wx, wy]
}

/// Eight plain pixels of one plane on AVX2, bit-identical to [`sample8`]: each 32-bit lane
/// holds one pixel's bytes `[p00, p01, p10, p11]`; `pmaddubsw` with `[32-fx, fx]` gives the
/// rows' horizontal blends (at most 32·255), `pmaddwd` with `[32-fy, fy]` the vertical one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn sample8_avx2(
    s: &[u8],
    stride: usize,
    o: &[usize; 8],
    w: [std::arch::x86_64::__m256i; 2],
) -> [u8; 8] {
    use std::arch::x86_64::*;
    let Some(lim) = s.len().checked_sub(stride + 2) else {
        return [0; 8];
    };
    let (top, bot) = (&s[..lim + 2], &s[stride..stride + lim + 2]);
    let pair = |row: &[u8], at: usize| -> u32 {
        let mut p = [0u8; 2];
        p.copy_from_slice(&row[at..at + 2]);
        u32::from(u16::from_le_bytes(p))
    };
    let quad = |at: usize| -> i32 {
        let at = at.min(lim);
        (pair(top, at) | (pair(bot, at) << 16)) as i32
    };
    let v = _mm256_setr_epi32(
        quad(o[0]),
        quad(o[1]),
        quad(o[2]),
        quad(o[3]),
        quad(o[4]),
        quad(o[5]),
        quad(o[6]),
        quad(o[7]),
    );
    let tb = _mm256_maddubs_epi16(v, w[0]);
    let r = _mm256_madd_epi16(tb, w[1]);
    let r = _mm256_srli_epi32::<10>(_mm256_add_epi32(r, _mm256_set1_epi32(512)));
    // the low byte of each lane: 4 bytes per 128-bit lane, then the two lanes' words side by side
    #[rustfmt::skip]
    let low = _mm256_setr_epi8(
        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    );
    let p = _mm256_shuffle_epi8(r, low);
    let p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    (_mm_cvtsi128_si64(_mm256_castsi256_si128(p)) as u64).to_le_bytes()
}

/// One pixel of any kind (plain, border, special) into `dst[..][i]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sample_one<const N: usize>(
    src: [&[u8]; N],
    stride: usize,
    limit: usize,
    o: u32,
    code: u16,
    dst: &mut [&mut [u8]; N],
    i: usize,
    border: [u8; N],
    special: &mut impl FnMut(u32) -> [u8; N],
) {
    if code < CODE_BORDER {
        let (fx, fy) = (u32::from(code & 63), u32::from((code >> 6) & 63));
        let (gx, gy) = (32 - fx, 32 - fy);
        let o = (o as usize).min(limit);
        for k in 0..N {
            let s = src[k];
            let t = gx * u32::from(s[o]) + fx * u32::from(s[o + 1]);
            let b = gx * u32::from(s[o + stride]) + fx * u32::from(s[o + stride + 1]);
            dst[k][i] = ((gy * t + fy * b + 512) >> 10) as u8;
        }
    } else if code == CODE_BORDER {
        for k in 0..N {
            dst[k][i] = border[k];
        }
    } else {
        let v = special(o);
        for k in 0..N {
            dst[k][i] = v[k];
        }
    }
}

/// Eight plain pixels of one plane: `o[j]` is the (clamped) offset of pixel `j`'s 2x2 block,
/// `c[j]` its packed `fx`/`fy`. Same arithmetic as the scalar loop (and as [`crate::Plan`]):
/// `((32 - fy)·top + fy·bottom + 512) >> 10` with `top = (32 - fx)·p00 + fx·p01`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sample8(s: &[u8], stride: usize, o: &[usize; 8], c: &[u16; 8]) -> [u8; 8] {
    use safe_arch::*;
    if s.len() < stride + 2 {
        return [0; 8];
    }
    let o = o.map(|v| v.min(s.len() - stride - 2));
    let z = zeroed_m128i();
    let codes = m128i::from(c.map(|v| v as i16));
    let m63 = set_splat_i16_m128i(63);
    let k32 = set_splat_i16_m128i(32);
    let fx = bitand_m128i(codes, m63);
    let fy = bitand_m128i(shr_imm_u16_m128i::<6>(codes), m63);
    let (gx, gy) = (sub_i16_m128i(k32, fx), sub_i16_m128i(k32, fy));
    let (wx_lo, wx_hi) = (unpack_low_i16_m128i(gx, fx), unpack_high_i16_m128i(gx, fx));
    let (wy_lo, wy_hi) = (unpack_low_i16_m128i(gy, fy), unpack_high_i16_m128i(gy, fy));
    let (top, bot) = (gather8(s, &o, 0), gather8(s, &o, stride));
    let t = pack_i32_to_i16_m128i(
        mul_i16_horizontal_add_m128i(unpack_low_i8_m128i(top, z), wx_lo),
        mul_i16_horizontal_add_m128i(unpack_high_i8_m128i(top, z), wx_hi),
    );
    let b = pack_i32_to_i16_m128i(
        mul_i16_horizontal_add_m128i(unpack_low_i8_m128i(bot, z), wx_lo),
        mul_i16_horizontal_add_m128i(unpack_high_i8_m128i(bot, z), wx_hi),
    );
    let round = set_splat_i32_m128i(512);
    let v_lo = mul_i16_horizontal_add_m128i(unpack_low_i16_m128i(t, b), wy_lo);
    let v_hi = mul_i16_horizontal_add_m128i(unpack_high_i16_m128i(t, b), wy_hi);
    let v_lo = shr_imm_i32_m128i::<10>(add_i32_m128i(v_lo, round));
    let v_hi = shr_imm_i32_m128i::<10>(add_i32_m128i(v_hi, round));
    let v = pack_i16_to_u8_m128i(pack_i32_to_i16_m128i(v_lo, v_hi), z);
    get_i64_from_m128i_s(v).to_le_bytes()
}

/// The byte pairs `s[o[j] + add..o[j] + add + 2]` of eight pixels in one vector (the callers
/// clamped `o[j] + add + 2 <= s.len()`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn gather8(s: &[u8], o: &[usize; 8], add: usize) -> safe_arch::m128i {
    use safe_arch::*;
    let pair = |at: usize| -> i32 {
        s.get(at..at + 2)
            .map_or(0, |p| i32::from(u16::from_le_bytes([p[0], p[1]])))
    };
    let v = zeroed_m128i();
    let v = insert_i16_from_i32_m128i::<0>(v, pair(o[0] + add));
    let v = insert_i16_from_i32_m128i::<1>(v, pair(o[1] + add));
    let v = insert_i16_from_i32_m128i::<2>(v, pair(o[2] + add));
    let v = insert_i16_from_i32_m128i::<3>(v, pair(o[3] + add));
    let v = insert_i16_from_i32_m128i::<4>(v, pair(o[4] + add));
    let v = insert_i16_from_i32_m128i::<5>(v, pair(o[5] + add));
    let v = insert_i16_from_i32_m128i::<6>(v, pair(o[6] + add));
    insert_i16_from_i32_m128i::<7>(v, pair(o[7] + add))
}

/// Portable version of the 8-pixel kernel.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn sample8(s: &[u8], stride: usize, o: &[usize; 8], c: &[u16; 8]) -> [u8; 8] {
    std::array::from_fn(|j| {
        let (fx, fy) = (u32::from(c[j] & 63), u32::from((c[j] >> 6) & 63));
        let px = |at: usize| u32::from(s.get(at).copied().unwrap_or(0));
        let t = (32 - fx) * px(o[j]) + fx * px(o[j] + 1);
        let b = (32 - fx) * px(o[j] + stride) + fx * px(o[j] + stride + 1);
        (((32 - fy) * t + fy * b + 512) >> 10) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_eight_pixel_kernel_equals_sse() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: the AVX2 kernel is not used here, nothing to compare");
            return;
        }
        let stride = 41;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // full byte range, with runs of 0 and 255
        let plane: Vec<u8> = (0..stride * 24)
            .map(|_| match next() % 4 {
                0 => 0,
                1 => 255,
                _ => next() as u8,
            })
            .collect();
        for round in 0..3000 {
            let o: [usize; 8] = std::array::from_fn(|_| (next() % (stride as u64 * 22)) as usize);
            let c: [u16; 8] = std::array::from_fn(|j| {
                // every (fx, fy) pair in the first rounds, random ones after
                let f = (round * 8 + j) as u64;
                let f = if f < 33 * 33 { f } else { next() % (33 * 33) };
                kernel::pack((f % 33) as u32, (f / 33) as u32)
            });
            let want = sample8(&plane, stride, &o, &c);
            // SAFETY: the CPU was just checked to support AVX2.
            #[allow(unsafe_code)]
            let got = unsafe { sample8_avx2(&plane, stride, &o, weights8_avx2(&c)) };
            assert_eq!(got, want, "offsets {o:?} codes {c:?}");
        }
    }

    #[test]
    fn eight_pixel_kernel_equals_scalar() {
        let stride = 37;
        let plane: Vec<u8> = (0..stride * 20).map(|v| (v * 7919 % 251) as u8).collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut o = [0usize; 8];
            let mut c = [0u16; 8];
            for j in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                o[j] = (seed % (stride as u64 * 18)) as usize;
                c[j] = kernel::pack((seed >> 20) as u32 % 33, (seed >> 30) as u32 % 33);
            }
            let v = sample8(&plane, stride, &o, &c);
            for j in 0..8 {
                let (fx, fy) = (u32::from(c[j] & 63), u32::from((c[j] >> 6) & 63));
                let p = |at: usize| u32::from(plane[at]);
                let t = (32 - fx) * p(o[j]) + fx * p(o[j] + 1);
                let b = (32 - fx) * p(o[j] + stride) + fx * p(o[j] + stride + 1);
                assert_eq!(u32::from(v[j]), ((32 - fy) * t + fy * b + 512) >> 10);
            }
        }
    }

    /// A 4x3 output that samples a 5x4 plane at fixed sub-pixel offsets, with one pixel
    /// partly outside (bottom-right) and one fully outside.
    #[test]
    fn samples_blocks_borders_and_blends() {
        let input = PlaneInput {
            size: (5, 4),
            stride: 6,
        };
        let plane: Vec<u8> = (0..24).map(|v| (v * 10) as u8).collect();
        let plan = PlanePlan::build(4, 3, vec![input], vec![(0, 4)], |_, x, y| {
            let b = |x: i64, y: i64, fx, fy| Block {
                cam: 0,
                x,
                y,
                fx,
                fy,
            };
            match (x, y) {
                (3, 2) => Pixel::One(b(4, 3, 16, 16)), // 1 of 4 taps inside
                (2, 2) => Pixel::One(b(9, 9, 0, 0)),   // outside
                (1, 2) => Pixel::Blend(b(0, 0, 0, 0), b(1, 0, 0, 0), 128),
                _ => Pixel::One(b(i64::from(x), i64::from(y), 16, 0)),
            }
        });
        let mut out = vec![0u8; 12];
        plan.render(&|_| Some([plane.as_slice()]), [&mut out], [40], [7], false);
        // plain: halfway between (x, y) and (x + 1, y)
        assert_eq!(out[0], 5);
        assert_eq!(out[4 + 2], ((6 + 2) * 10 + (6 + 3) * 10) / 2);
        // blend of pixel (0,0) = 0 and (1,0) = 10
        assert_eq!(out[8 + 1], 5);
        assert_eq!(out[8 + 2], 7, "outside reads the border");
        // a quarter of pixel (4,3) = 220 and three quarters of the border 7
        assert_eq!(out[8 + 3], ((220 + 3 * 7) as f64 / 4.0).round() as u8);
        let mut missing = vec![0u8; 12];
        plan.render(&|_| None::<[&[u8]; 1]>, [&mut missing], [40], [7], false);
        assert!(missing.iter().all(|&v| v == 40));
    }
}
