//! The old project's score, exactly: sklearn-normalised 36-number rows, minimum over the whole
//! dance of `1 - cos`, "correct" below 0.15.

use crate::error::ScoreError;
use crate::normalizer::Normalizer;
use crate::table::{KeypointTable, OPENPOSE_ROW_VALUES, check_values};

/// The old project's threshold: a score below it printed "CORRECT STEPS".
pub const COSINE_CORRECT_BELOW: f64 = 0.15;

/// The score the old code starts from and returns when no dancer row gives a number (an all-zero
/// user row, or a dance with only all-zero rows).
pub const COSINE_NO_MATCH: f64 = 100.0;

/// Dancer rows scanned together.
const LANES: usize = 16;

/// Column pairs of a row: the scan multiplies two 16-bit columns and adds them in one step
/// (`pmaddwd`), so a block stores, for each pair of columns, the two values of every lane side
/// by side.
const PAIRS: usize = OPENPOSE_ROW_VALUES / 2;

/// Full scale of the 16-bit copies: a dancer residual row of the largest length, and the user's
/// unit row, both become vectors of length at most about 32 767, so every partial dot product
/// (Cauchy-Schwarz) stays below 2^30 and fits an `i32` with room to spare.
const FULL_SCALE: f64 = 32_767.0;

/// Lanes in one 256-bit register of 16-bit column pairs.
const HALF: usize = LANES / 2;

/// `LANES` dancer rows, 16-bit, column pair by column pair: `pairs[p][h]` holds lanes
/// `h*8 .. h*8+8`, each as `col 2p, col 2p+1` side by side (the `pmaddwd` operand layout).
#[derive(Debug, Clone)]
struct Block {
    pairs: [[[i16; 2 * HALF]; 2]; PAIRS],
}

/// One user row matched against the whole dance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineMatch {
    /// `min over dancer rows of 1 - cos` (the old `findCosineSimilarity_1`), or
    /// [`COSINE_NO_MATCH`] when no row gives a number.
    pub score: f64,
    /// The first dancer row reaching that minimum, if any.
    pub row: Option<usize>,
}

impl CosineMatch {
    /// The old verdict: `score < 0.15`.
    pub fn is_correct(&self) -> bool {
        self.score < COSINE_CORRECT_BELOW
    }
}

/// The dancer's rows, prepared once: normalised (f64, for the exact result), their norms, and a
/// compact 16-bit copy of their deviation from the mean row (72 bytes per row, so 10 000 rows
/// stay in a 1 MiB L2 cache) used to find the few candidate rows.
///
/// The result is the old code's, not an approximation: the 16-bit scan only discards rows whose
/// score provably cannot be the minimum (the bound is the rounding error of the two 16-bit
/// copies), and the remaining rows are scored with the old formula in f64.
///
/// ```
/// use pose_score::{CosineMatcher, COSINE_NO_MATCH};
/// let mut dancer = vec![[0.0f64; 36]; 3];
/// for (i, row) in dancer.iter_mut().enumerate() {
///     for (k, v) in row.iter_mut().enumerate() {
///         *v = 100.0 + (k * (i + 1)) as f64;
///     }
/// }
/// let m = CosineMatcher::from_rows(&dancer)?;
/// let hit = m.score(&dancer[1])?;
/// assert!(hit.score.abs() < 1e-12 && hit.row == Some(1) && hit.is_correct());
/// assert_eq!(m.score(&[0.0; 36])?.score, COSINE_NO_MATCH);
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CosineMatcher {
    rows: usize,
    normed: Vec<f64>,
    norms: Vec<f64>,
    blocks: Vec<Block>,
    /// Dancer row of each lane (`u32::MAX` for padding in the last block).
    slots: Vec<u32>,
    /// Rows with a non-zero norm (the lanes in use).
    valid: usize,
    /// Largest residual length; the 16-bit rows are `residual * FULL_SCALE / max_residual`.
    max_residual: f64,
}

impl CosineMatcher {
    /// Prepares the dancer rows of a 36-column table.
    pub fn new(table: &KeypointTable) -> Result<Self, ScoreError> {
        if table.columns() != OPENPOSE_ROW_VALUES {
            return Err(ScoreError::RowLength {
                row: 0,
                expected: OPENPOSE_ROW_VALUES,
                got: table.columns(),
            });
        }
        Self::build(table.as_flat())
    }

    /// Prepares the dancer rows given as arrays.
    pub fn from_rows(rows: &[[f64; OPENPOSE_ROW_VALUES]]) -> Result<Self, ScoreError> {
        Self::build(rows.as_flattened())
    }

    fn build(flat: &[f64]) -> Result<Self, ScoreError> {
        let rows = flat.len() / OPENPOSE_ROW_VALUES;
        if rows > u32::MAX as usize {
            return Err(ScoreError::TooLarge {
                what: "dancer rows",
                got: rows,
                limit: u32::MAX as usize,
            });
        }
        for (i, row) in flat.chunks_exact(OPENPOSE_ROW_VALUES).enumerate() {
            check_values(i, row)?;
        }
        let mut normed = flat.to_vec();
        Normalizer.transform_flat(&mut normed, OPENPOSE_ROW_VALUES);
        let norms: Vec<f64> = normed
            .chunks_exact(OPENPOSE_ROW_VALUES)
            .map(Normalizer::norm)
            .collect();
        let valid: Vec<usize> = (0..rows).filter(|&i| norms[i] != 0.0).collect();
        let mut mean = [0.0f64; OPENPOSE_ROW_VALUES];
        for &i in &valid {
            for (m, v) in mean
                .iter_mut()
                .zip(&normed[i * OPENPOSE_ROW_VALUES..][..OPENPOSE_ROW_VALUES])
            {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= valid.len().max(1) as f64;
        }
        let mut residuals = vec![0.0f64; valid.len() * OPENPOSE_ROW_VALUES];
        let mut max_residual = 0.0f64;
        for (r, &i) in residuals.chunks_exact_mut(OPENPOSE_ROW_VALUES).zip(&valid) {
            let row = &normed[i * OPENPOSE_ROW_VALUES..][..OPENPOSE_ROW_VALUES];
            for ((r, v), m) in r.iter_mut().zip(row).zip(&mean) {
                *r = v - m;
            }
            max_residual = max_residual.max(Normalizer::norm(r));
        }
        // Every residual row shorter than FULL_SCALE once scaled; all-equal rows give zeros.
        let scale = if max_residual > 0.0 {
            FULL_SCALE / max_residual
        } else {
            0.0
        };
        let nblocks = valid.len().div_ceil(LANES);
        let mut blocks = vec![
            Block {
                pairs: [[[0; 2 * HALF]; 2]; PAIRS]
            };
            nblocks
        ];
        let mut slots = vec![u32::MAX; nblocks * LANES];
        for (s, (r, &i)) in residuals
            .chunks_exact(OPENPOSE_ROW_VALUES)
            .zip(&valid)
            .enumerate()
        {
            let block = &mut blocks[s / LANES];
            let lane = s % LANES;
            for (k, v) in r.iter().enumerate() {
                block.pairs[k / 2][lane / HALF][2 * (lane % HALF) + k % 2] = quantize(v * scale);
            }
            slots[s] = i as u32;
        }
        Ok(Self {
            rows,
            normed,
            norms,
            blocks,
            slots,
            valid: valid.len(),
            max_residual,
        })
    }

    /// Number of dancer rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when there are no dancer rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Scores one user row (36 numbers) against every dancer row.
    pub fn score(&self, user: &[f64]) -> Result<CosineMatch, ScoreError> {
        let mut scratch = Vec::new();
        self.score_with(user, &mut scratch)
    }

    /// [`score`](Self::score) reusing a scratch buffer (no allocation once it has grown).
    pub fn score_with(
        &self,
        user: &[f64],
        scratch: &mut Vec<i32>,
    ) -> Result<CosineMatch, ScoreError> {
        let (un, nc) = match prepare_user(user)? {
            Some(u) => u,
            None => {
                return Ok(CosineMatch {
                    score: COSINE_NO_MATCH,
                    row: None,
                });
            }
        };
        if self.blocks.is_empty() {
            return Ok(CosineMatch {
                score: COSINE_NO_MATCH,
                row: None,
            });
        }
        // The user's unit row at full scale, and what rounding it to 16 bits cost.
        let mut uq = [0i16; OPENPOSE_ROW_VALUES];
        let mut err_u2 = 0.0f64;
        let mut abs_u1 = 0.0f64;
        for (q, v) in uq.iter_mut().zip(&un) {
            let x = v / nc * FULL_SCALE;
            *q = quantize(x);
            err_u2 += (f64::from(*q) - x).powi(2);
            abs_u1 += x.abs();
        }
        // Every entry is overwritten by `scan`: no need to clear.
        scratch.resize(self.blocks.len() * LANES, 0);
        let best = f64::from(scan(&self.blocks, &uq, self.valid, scratch));
        // With q_r = A r + e_r (|e_r| <= 1/2 per value, |A r| <= FULL_SCALE) and q_u = B u + e_u,
        // |q_r . q_u - A B r . u| <= |A r| |e_u| + |B u|_1 / 2 + 36 / 4. Two such errors (the
        // best row's and a candidate's) plus the f64 noise of the exact formula separate the rows
        // that cannot win.
        let err = FULL_SCALE * err_u2.sqrt() + 0.5 * abs_u1 + 9.0;
        let ab = if self.max_residual > 0.0 {
            FULL_SCALE * FULL_SCALE / self.max_residual
        } else {
            0.0
        };
        let floor = best - (2.0 * err + 1e-12 * ab + 1.0);
        let mut out = CosineMatch {
            score: COSINE_NO_MATCH,
            row: None,
        };
        // Integers at or above `floor` (which may lie below every i32: then all rows qualify).
        let floor_q = floor.ceil().max(f64::from(i32::MIN)) as i32;
        for (b, lanes) in scratch.chunks_exact(LANES).enumerate() {
            if !lanes.iter().fold(false, |any, &a| any | (a >= floor_q)) {
                continue;
            }
            for (s, &a) in lanes.iter().enumerate() {
                let i = self.slots[b * LANES + s];
                if a >= floor_q && i != u32::MAX {
                    let i = i as usize;
                    let d = self.exact(i, &un, nc);
                    if d < out.score {
                        out = CosineMatch {
                            score: d,
                            row: Some(i),
                        };
                    }
                }
            }
        }
        Ok(out)
    }

    /// The straightforward loop (every row, in order, with the old formula): the reference the
    /// fast path is tested against, and the "plain Rust port" figure in the bench.
    pub fn score_reference(&self, user: &[f64]) -> Result<CosineMatch, ScoreError> {
        let (un, nc) = match prepare_user(user)? {
            Some(u) => u,
            None => {
                return Ok(CosineMatch {
                    score: COSINE_NO_MATCH,
                    row: None,
                });
            }
        };
        let mut out = CosineMatch {
            score: COSINE_NO_MATCH,
            row: None,
        };
        for i in 0..self.rows {
            let d = self.exact(i, &un, nc);
            if d < out.score {
                out = CosineMatch {
                    score: d,
                    row: Some(i),
                };
            }
        }
        Ok(out)
    }

    /// `1 - a / (sqrt(b) * sqrt(c))` for dancer row `i` (NaN for an all-zero row).
    fn exact(&self, i: usize, un: &[f64; OPENPOSE_ROW_VALUES], nc: f64) -> f64 {
        let row = &self.normed[i * OPENPOSE_ROW_VALUES..][..OPENPOSE_ROW_VALUES];
        let a: f64 = row.iter().zip(un).map(|(x, y)| x * y).sum();
        1.0 - a / (self.norms[i] * nc)
    }
}

/// The user's row normalised, and `sqrt(sum(u*u))` of the normalised row; `None` for all zeros.
fn prepare_user(user: &[f64]) -> Result<Option<([f64; OPENPOSE_ROW_VALUES], f64)>, ScoreError> {
    let row: &[f64; OPENPOSE_ROW_VALUES] = user.try_into().map_err(|_| ScoreError::RowLength {
        row: 0,
        expected: OPENPOSE_ROW_VALUES,
        got: user.len(),
    })?;
    check_values(0, row)?;
    let mut un = *row;
    Normalizer.transform_row(&mut un);
    let nc = Normalizer::norm(&un);
    Ok((nc != 0.0).then_some((un, nc)))
}

/// `x` rounded to the nearest 16-bit integer (callers keep |x| <= 32 767.5).
fn quantize(x: f64) -> i16 {
    x.round().clamp(-32_767.0, 32_767.0) as i16
}

/// Dot products of every block's 16-bit rows with `u` (into `approx`, padding lanes after the
/// `valid` rows set to `i32::MIN`) and their maximum: `vpmaddwd` on x86-64 CPUs with AVX2, plain
/// Rust elsewhere.
fn scan(blocks: &[Block], u: &[i16; OPENPOSE_ROW_VALUES], valid: usize, approx: &mut [i32]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just checked to support AVX2, the feature `scan_avx2` is compiled
        // for; it touches memory only through the safe slices it is given.
        #[allow(unsafe_code)]
        return unsafe { scan_avx2(blocks, u, valid, approx) };
    }
    scan_portable(blocks, u, approx);
    finish(valid, approx)
}

/// Marks the padding lanes and returns the largest dot product.
#[inline(always)]
fn finish(valid: usize, approx: &mut [i32]) -> i32 {
    if let Some(pad) = approx.get_mut(valid..) {
        pad.fill(i32::MIN);
    }
    approx.iter().copied().fold(i32::MIN, i32::max)
}

/// `[u0, u1]` of every column pair as one 32-bit word, the operand `pmaddwd` multiplies each
/// lane's pair with.
#[cfg(target_arch = "x86_64")]
fn pair_words(u: &[i16; OPENPOSE_ROW_VALUES]) -> [i32; PAIRS] {
    std::array::from_fn(|p| i32::from(u[2 * p] as u16) | (i32::from(u[2 * p + 1] as u16) << 16))
}

/// The scan on AVX2: per block and half, 18 `vpmaddwd` + `vpaddd`. Sums cannot overflow: both
/// vectors are at most about 32 767 long (see [`FULL_SCALE`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_avx2(
    blocks: &[Block],
    u: &[i16; OPENPOSE_ROW_VALUES],
    valid: usize,
    approx: &mut [i32],
) -> i32 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_madd_epi16, _mm256_set1_epi32, _mm256_setzero_si256,
    };
    let words = pair_words(u);
    let mut up = [_mm256_setzero_si256(); PAIRS];
    for (v, &w) in up.iter_mut().zip(&words) {
        *v = _mm256_set1_epi32(w);
    }
    for (block, out) in blocks.iter().zip(approx.chunks_exact_mut(LANES)) {
        let mut acc = [_mm256_setzero_si256(); 2];
        for (pair, &w) in block.pairs.iter().zip(&up) {
            for (a, half) in acc.iter_mut().zip(pair) {
                let v: __m256i = bytemuck::cast(*half);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(v, w));
            }
        }
        let lanes: [i32; LANES] = bytemuck::cast(acc);
        out.copy_from_slice(&lanes);
    }
    finish(valid, approx)
}

/// The scan in plain Rust (other CPUs): per lane, `sum of a0*u0 + a1*u1` in `i32`.
fn scan_portable(blocks: &[Block], u: &[i16; OPENPOSE_ROW_VALUES], approx: &mut [i32]) {
    for (block, out) in blocks.iter().zip(approx.chunks_exact_mut(LANES)) {
        let mut acc = [0i32; LANES];
        for (p, pair) in block.pairs.iter().enumerate() {
            let (u0, u1) = (i32::from(u[2 * p]), i32::from(u[2 * p + 1]));
            for (lane, a) in acc.iter_mut().enumerate() {
                let v = &pair[lane / HALF][2 * (lane % HALF)..];
                *a = a.wrapping_add(i32::from(v[0]) * u0 + i32::from(v[1]) * u1);
            }
        }
        out.copy_from_slice(&acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pose() -> impl Strategy<Value = [f64; OPENPOSE_ROW_VALUES]> {
        // Pixel coordinates with some parts missing (0, 0), like OpenPose rows.
        proptest::array::uniform18((0.0f64..640.0, 0.0f64..480.0, 0u8..10)).prop_map(|parts| {
            let mut row = [0.0; OPENPOSE_ROW_VALUES];
            for (k, (x, y, drop)) in parts.into_iter().enumerate() {
                if drop != 0 {
                    row[2 * k] = x;
                    row[2 * k + 1] = y;
                }
            }
            row
        })
    }

    proptest! {
        #[test]
        fn fast_path_equals_reference(
            dancer in proptest::collection::vec(pose(), 1..40),
            user in pose(),
            copy in any::<prop::sample::Index>(),
            zero_row in any::<bool>(),
        ) {
            let mut dancer = dancer;
            if zero_row {
                dancer[0] = [0.0; OPENPOSE_ROW_VALUES];
            }
            let m = CosineMatcher::from_rows(&dancer).expect("finite");
            let r = m.score_reference(&user).expect("36 values");
            let f = m.score(&user).expect("36 values");
            prop_assert_eq!(r, f);
            // An exact copy of a dancer row is found.
            let c = copy.get(&dancer);
            let hit = m.score(c).expect("36 values");
            let reference = m.score_reference(c).expect("36 values");
            prop_assert_eq!(hit, reference);
        }
    }

    #[test]
    fn simd_and_portable_scans_agree() {
        let rows = crate::synthetic::make_dancer(1000);
        let m = CosineMatcher::from_rows(&rows).expect("finite");
        let mut rng = crate::synthetic::Lcg::new(7);
        for k in 0..20 {
            let user = crate::synthetic::make_pose(&mut rng, k as f64 * 0.37);
            let (un, nc) = prepare_user(&user).expect("36").expect("non-zero");
            let uq: [i16; OPENPOSE_ROW_VALUES] =
                std::array::from_fn(|i| quantize(un[i] / nc * FULL_SCALE));
            let mut a = vec![0; m.blocks.len() * LANES];
            let mut b = a.clone();
            let best = scan(&m.blocks, &uq, m.valid, &mut a);
            scan_portable(&m.blocks, &uq, &mut b);
            assert_eq!(best, finish(m.valid, &mut b));
            assert_eq!(a, b);
            assert_eq!(
                m.score(&user).expect("36"),
                m.score_reference(&user).expect("36")
            );
        }
    }

    #[test]
    fn near_duplicate_rows_pick_the_true_minimum() {
        // Rows that differ far below f32 resolution: the exact pass must still decide.
        let base: [f64; OPENPOSE_ROW_VALUES] = std::array::from_fn(|k| 100.0 + k as f64 * 7.0);
        let rows: Vec<[f64; OPENPOSE_ROW_VALUES]> = (0..50)
            .map(|i| {
                let mut r = base;
                r[3] += 0.01 * (25.0 - i as f64).abs();
                r
            })
            .collect();
        let m = CosineMatcher::from_rows(&rows).expect("finite");
        let hit = m.score(&base).expect("36 values");
        assert_eq!(hit, m.score_reference(&base).expect("36 values"));
        assert_eq!(hit.row, Some(25));
    }

    #[test]
    fn rejects_bad_rows() {
        assert!(matches!(
            CosineMatcher::from_rows(&[[0.0; 36]])
                .expect("zeros are fine")
                .score(&[1.0; 35]),
            Err(ScoreError::RowLength {
                expected: 36,
                got: 35,
                ..
            })
        ));
        let mut r = [1.0; 36];
        r[4] = f64::NAN;
        assert!(matches!(
            CosineMatcher::from_rows(&[r]),
            Err(ScoreError::BadValue {
                row: 0,
                index: 4,
                ..
            })
        ));
    }
}
