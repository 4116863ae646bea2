//! The per-pixel bilinear kernel of the hot loop.
//!
//! OpenCV's fixed-point weights are separable: `w = 32 * (32 - fx)(32 - fy)` etc., so
//! `(Σ w·p + 2^14) >> 15 == ((32 - fy)·top + fy·bottom + 512) >> 10` with
//! `top = (32 - fx)·p00 + fx·p01` (the `alpha == 0` quirk weights `[32767, 0, 0, 1]` give the
//! same result). `fx`, `fy` (0..=32) are the sub-pixel position inside the 2x2 block of the
//! *unrotated* camera image, so rotations need no extra work here.

/// Packs `fx`, `fy` (0..=32) into the 12 low bits of a pixel code.
pub(crate) fn pack(fx: u32, fy: u32) -> u16 {
    (fx | (fy << 6)) as u16
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn unpack(code: u16) -> (i32, i32) {
    (i32::from(code & 63), i32::from((code >> 6) & 63))
}

/// Portable kernel: `top`/`bot` are the two rows of the 2x2 block (6 bytes each, RGBRGB).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
pub(crate) fn sample_scalar(top: &[u8], bot: &[u8], code: u16) -> [u8; 3] {
    let (fx, fy) = unpack(code);
    let (gx, gy) = (32 - fx, 32 - fy);
    std::array::from_fn(|c| {
        let t = gx * i32::from(top[c]) + fx * i32::from(top[c + 3]);
        let b = gx * i32::from(bot[c]) + fx * i32::from(bot[c + 3]);
        ((gy * t + fy * b + 512) >> 10) as u8
    })
}

/// Precomputed weight vectors for the SSE2 kernel.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    /// By `fx`: `[32-fx; 3], [fx; 3], 0, 0` (16-bit lanes); 64 entries so that a 6-bit index
    /// needs no bounds check (entries above 32 are never used).
    wx: [safe_arch::m128i; 64],
    /// By `fy`: `[32-fy, fy]` four times.
    wy: [safe_arch::m128i; 64],
    /// By `fx`: the bytes `[32-fx, fx]` eight times (the AVX2 kernel's `pmaddubsw` operand).
    wxb: [safe_arch::m128i; 64],
}

#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone)]
pub(crate) struct Weights;

impl Weights {
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn new() -> Weights {
        use safe_arch::m128i;
        Weights {
            wx: std::array::from_fn(|f| {
                let f = f.min(32);
                let (g, f) = ((32 - f) as i16, f as i16);
                m128i::from([g, g, g, f, f, f, 0, 0])
            }),
            wy: std::array::from_fn(|f| {
                let f = f.min(32);
                let (g, f) = ((32 - f) as i16, f as i16);
                m128i::from([g, f, g, f, g, f, g, f])
            }),
            wxb: std::array::from_fn(|f| {
                let f = f.min(32);
                let (g, f) = ((32 - f) as i8, f as i8);
                m128i::from([g, f, g, f, g, f, g, f, g, f, g, f, g, f, g, f])
            }),
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn new() -> Weights {
        Weights
    }

    /// The kernel on 8-byte rows (the 2x2 block plus 2 bytes that get weight 0); returns
    /// `r | g << 8 | b << 16` (the top byte is garbage).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(crate) fn sample8(&self, top: [u8; 8], bot: [u8; 8], code: u16) -> u32 {
        use safe_arch::*;
        let (fx, fy) = ((code & 63) as usize, ((code >> 6) & 63) as usize);
        let (wx, wy) = (self.wx[fx], self.wy[fy]);
        let z = zeroed_m128i();
        let v = set_i64_m128i(i64::from_le_bytes(bot), i64::from_le_bytes(top));
        let t = mul_i16_keep_low_m128i(unpack_low_i8_m128i(v, z), wx);
        let b = mul_i16_keep_low_m128i(unpack_high_i8_m128i(v, z), wx);
        // lanes 0..3: (32-fx)·p00 + fx·p01 per channel
        let t = add_i16_m128i(t, byte_shr_imm_u128_m128i::<6>(t));
        let b = add_i16_m128i(b, byte_shr_imm_u128_m128i::<6>(b));
        let s = mul_i16_horizontal_add_m128i(unpack_low_i16_m128i(t, b), wy);
        let s = shr_imm_i32_m128i::<10>(add_i32_m128i(s, set_splat_i32_m128i(512)));
        let p = pack_i16_to_u8_m128i(pack_i32_to_i16_m128i(s, z), z);
        get_i32_from_m128i_s(p) as u32
    }

    /// The kernel for two pixels at once on AVX2, one pixel per 128-bit lane (same arithmetic,
    /// bit-identical to [`Weights::sample8`]): a byte shuffle pairs each channel's left and
    /// right neighbour of the top and bottom row (`[p_c, p_c+3]`), `pmaddubsw` with
    /// `[32-fx, fx]` gives the rows' horizontal blends `t_c`, `b_c` (at most 32·255, no
    /// saturation), `pmaddwd` with `[32-fy, fy]` the vertical one, then `+512 >> 10`.
    /// `rows` are the 8-byte block rows `[top0, bot0, top1, bot1]`; returns both pixels as
    /// `r | g << 8 | b << 16`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn sample8_pair_avx2(&self, rows: [[u8; 8]; 4], codes: [u16; 2]) -> [u32; 2] {
        use std::arch::x86_64::*;
        let [t0, b0, t1, b1] = rows.map(i64::from_le_bytes);
        let v = _mm256_set_epi64x(b1, t1, b0, t0);
        let (fx0, fy0) = ((codes[0] & 63) as usize, ((codes[0] >> 6) & 63) as usize);
        let (fx1, fy1) = ((codes[1] & 63) as usize, ((codes[1] >> 6) & 63) as usize);
        let wx = _mm256_set_m128i(self.wxb[fx1].0, self.wxb[fx0].0);
        let wy = _mm256_set_m128i(self.wy[fy1].0, self.wy[fy0].0);
        // per lane: bytes (top p0, p3), (bot p0, p3), (top p1, p4), (bot p1, p4), ... , zeros
        #[rustfmt::skip]
        let pairs = _mm256_setr_epi8(
            0, 3, 8, 11, 1, 4, 9, 12, 2, 5, 10, 13, -1, -1, -1, -1,
            0, 3, 8, 11, 1, 4, 9, 12, 2, 5, 10, 13, -1, -1, -1, -1,
        );
        // [t0, b0, t1, b1, t2, b2, 0, 0] (i16) per lane
        let tb = _mm256_maddubs_epi16(_mm256_shuffle_epi8(v, pairs), wx);
        let s = _mm256_madd_epi16(tb, wy);
        let s = _mm256_srli_epi32::<10>(_mm256_add_epi32(s, _mm256_set1_epi32(512)));
        // the low byte of each 32-bit result (all are 0..=255)
        #[rustfmt::skip]
        let bytes = _mm256_setr_epi8(
            0, 4, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
            0, 4, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        );
        let p = _mm256_shuffle_epi8(s, bytes);
        [
            _mm_cvtsi128_si32(_mm256_castsi256_si128(p)) as u32,
            _mm_cvtsi128_si32(_mm256_extracti128_si256::<1>(p)) as u32,
        ]
    }

    /// Hints the CPU to fetch the 2x2 block at byte offset `o` (a no-op off x86-64).
    #[inline(always)]
    pub(crate) fn prefetch(&self, src: &[u8], o: usize, stride: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(b) = src.get(o) {
                safe_arch::prefetch_t0(b);
            }
            if let Some(b) = src.get(o + stride) {
                safe_arch::prefetch_t0(b);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (src, o, stride);
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    pub(crate) fn sample8(&self, top: [u8; 8], bot: [u8; 8], code: u16) -> u32 {
        let [r, g, b] = sample_scalar(&top, &bot, code);
        u32::from_le_bytes([r, g, b, 0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_equals_scalar_and_opencv_weights() {
        let w = Weights::new();
        let mut s = 0x1234_5678_9abc_def1u64;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let top = s.to_le_bytes();
            let bot = s
                .rotate_left(29)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes();
            let (fx, fy) = ((s >> 40) as u32 % 33, (s >> 50) as u32 % 33);
            let code = pack(fx, fy);
            let a = sample_scalar(&top, &bot, code);
            let v = w.sample8(top, bot, code).to_le_bytes();
            assert_eq!(a, [v[0], v[1], v[2]]);
            if fx < 32 && fy < 32 {
                let ow = crate::bilinear::weights((fy * 32 + fx) as usize).map(i32::from);
                for c in 0..3 {
                    let sum = ow[0] * i32::from(top[c])
                        + ow[1] * i32::from(top[c + 3])
                        + ow[2] * i32::from(bot[c])
                        + ow[3] * i32::from(bot[c + 3]);
                    assert_eq!(i32::from(a[c]), (sum + 16384) >> 15, "fx {fx} fy {fy}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_pair_equals_sse_and_scalar() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: the AVX2 kernel is not used here, nothing to compare");
            return;
        }
        let w = Weights::new();
        let mut s = 0x0dd_ba11_cafe_f00du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // every (fx, fy) in 0..=32 for each pixel of the pair, random pixels
        for f in 0..33 * 33 {
            let (fx, fy) = ((f % 33) as u32, (f / 33) as u32);
            let rows: [[u8; 8]; 4] = std::array::from_fn(|_| next().to_le_bytes());
            let r = next();
            let other = pack((r % 33) as u32, ((r >> 8) % 33) as u32);
            let codes = [pack(fx, fy), other];
            // SAFETY: the CPU was just checked to support AVX2.
            #[allow(unsafe_code)]
            let got = unsafe { w.sample8_pair_avx2(rows, codes) };
            for (k, &g) in got.iter().enumerate() {
                let (top, bot) = (rows[2 * k], rows[2 * k + 1]);
                let want = sample_scalar(&top, &bot, codes[k]);
                let sse = w.sample8(top, bot, codes[k]).to_le_bytes();
                assert_eq!(&g.to_le_bytes()[..3], want, "pixel {k} codes {codes:?}");
                assert_eq!(&sse[..3], want, "pixel {k} codes {codes:?}");
            }
        }
    }
}
