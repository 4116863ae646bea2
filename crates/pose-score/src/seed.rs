//! The old project's score, exactly: sklearn-normalised 36-number rows, minimum over the whole
//! dance of `1 - cos`, "correct" below 0.15.

use crate::error::ScoreError;
use crate::normalizer::Normalizer;
use crate::table::{KeypointTable, SEED_COLUMNS, check_values};

/// The old project's threshold: a score below it printed "CORRECT STEPS".
pub const SEED_THRESHOLD: f64 = 0.15;

/// The score the old code starts from and returns when no dancer row gives a number (an all-zero
/// user row, or a dance with only all-zero rows).
pub const SEED_NO_MATCH: f64 = 100.0;

/// Dancer rows scanned together; their values are stored column by column so the scan is plain
/// `acc[i] += col[i] * u` over lanes, which the compiler vectorises.
const LANES: usize = 32;

/// `LANES` dancer rows, column by column, and which lanes are padding.
#[derive(Debug, Clone)]
struct Block {
    cols: [[f32; LANES]; SEED_COLUMNS],
    pad: [bool; LANES],
}

/// One user row matched against the whole dance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedMatch {
    /// `min over dancer rows of 1 - cos` (the old `findCosineSimilarity_1`), or
    /// [`SEED_NO_MATCH`] when no row gives a number.
    pub score: f64,
    /// The first dancer row reaching that minimum, if any.
    pub row: Option<usize>,
}

impl SeedMatch {
    /// The old verdict: `score < 0.15`.
    pub fn is_correct(&self) -> bool {
        self.score < SEED_THRESHOLD
    }
}

/// The dancer's rows, prepared once: normalised (f64, for the exact result), their norms, and a
/// compact f32 copy of their deviation from the mean row used to find the few candidate rows.
///
/// The result is the old code's, not an approximation: the f32 scan only discards rows whose
/// score provably cannot be the minimum (the bound is the f32 rounding error of a 36-term dot
/// product), and the remaining rows are scored with the old formula in f64.
///
/// ```
/// use pose_score::{SeedMatcher, SEED_NO_MATCH};
/// let mut dancer = vec![[0.0f64; 36]; 3];
/// for (i, row) in dancer.iter_mut().enumerate() {
///     for (k, v) in row.iter_mut().enumerate() {
///         *v = 100.0 + (k * (i + 1)) as f64;
///     }
/// }
/// let m = SeedMatcher::from_rows(&dancer)?;
/// let hit = m.score(&dancer[1])?;
/// assert!(hit.score.abs() < 1e-12 && hit.row == Some(1) && hit.is_correct());
/// assert_eq!(m.score(&[0.0; 36])?.score, SEED_NO_MATCH);
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SeedMatcher {
    rows: usize,
    normed: Vec<f64>,
    norms: Vec<f64>,
    blocks: Vec<Block>,
    slots: Vec<u32>,
    max_residual: f64,
}

impl SeedMatcher {
    /// Prepares the dancer rows of a 36-column table.
    pub fn new(table: &KeypointTable) -> Result<Self, ScoreError> {
        if table.columns() != SEED_COLUMNS {
            return Err(ScoreError::RowLength {
                row: 0,
                expected: SEED_COLUMNS,
                got: table.columns(),
            });
        }
        Self::build(table.as_flat())
    }

    /// Prepares the dancer rows given as arrays.
    pub fn from_rows(rows: &[[f64; SEED_COLUMNS]]) -> Result<Self, ScoreError> {
        Self::build(rows.as_flattened())
    }

    fn build(flat: &[f64]) -> Result<Self, ScoreError> {
        let rows = flat.len() / SEED_COLUMNS;
        if rows > u32::MAX as usize {
            return Err(ScoreError::TooLarge {
                what: "dancer rows",
                got: rows,
                limit: u32::MAX as usize,
            });
        }
        for (i, row) in flat.chunks_exact(SEED_COLUMNS).enumerate() {
            check_values(i, row)?;
        }
        let mut normed = flat.to_vec();
        Normalizer.transform_flat(&mut normed, SEED_COLUMNS);
        let norms: Vec<f64> = normed
            .chunks_exact(SEED_COLUMNS)
            .map(Normalizer::norm)
            .collect();
        let valid: Vec<usize> = (0..rows).filter(|&i| norms[i] != 0.0).collect();
        let mut mean = [0.0f64; SEED_COLUMNS];
        for &i in &valid {
            for (m, v) in mean
                .iter_mut()
                .zip(&normed[i * SEED_COLUMNS..][..SEED_COLUMNS])
            {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= valid.len().max(1) as f64;
        }
        let nblocks = valid.len().div_ceil(LANES);
        let mut blocks = vec![
            Block {
                cols: [[0.0; LANES]; SEED_COLUMNS],
                pad: [true; LANES]
            };
            nblocks
        ];
        let mut slots = vec![u32::MAX; nblocks * LANES];
        let mut max_residual = 0.0f64;
        for (s, &i) in valid.iter().enumerate() {
            let row = &normed[i * SEED_COLUMNS..][..SEED_COLUMNS];
            let mut r2 = 0.0;
            for k in 0..SEED_COLUMNS {
                let r = row[k] - mean[k];
                r2 += r * r;
                blocks[s / LANES].cols[k][s % LANES] = r as f32;
            }
            max_residual = max_residual.max(r2.sqrt());
            slots[s] = i as u32;
            blocks[s / LANES].pad[s % LANES] = false;
        }
        Ok(Self {
            rows,
            normed,
            norms,
            blocks,
            slots,
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
    pub fn score(&self, user: &[f64]) -> Result<SeedMatch, ScoreError> {
        let mut scratch = Vec::new();
        self.score_with(user, &mut scratch)
    }

    /// [`score`](Self::score) reusing a scratch buffer (no allocation once it has grown).
    pub fn score_with(
        &self,
        user: &[f64],
        scratch: &mut Vec<f32>,
    ) -> Result<SeedMatch, ScoreError> {
        let (un, nc) = match prepare_user(user)? {
            Some(u) => u,
            None => {
                return Ok(SeedMatch {
                    score: SEED_NO_MATCH,
                    row: None,
                });
            }
        };
        if self.blocks.is_empty() {
            return Ok(SeedMatch {
                score: SEED_NO_MATCH,
                row: None,
            });
        }
        let mut uf = [0.0f32; SEED_COLUMNS];
        for (f, v) in uf.iter_mut().zip(&un) {
            *f = *v as f32;
        }
        // Every entry is overwritten by `scan`: no need to clear.
        scratch.resize(self.blocks.len() * (LANES + 1), 0.0);
        let (approx, block_max) = scratch.split_at_mut(self.blocks.len() * LANES);
        scan(&self.blocks, &uf, approx, block_max);
        let best = f64::from(block_max.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        // |approx - exact| <= (n + 2) * 2^-24 * |r| * |u| for n = 36 terms (|u| = 1), plus the f64
        // noise of the exact formula; twice that separates rows that cannot win.
        let margin = 2.0 * (40.0 * f64::from(f32::EPSILON) * 0.5 * self.max_residual + 1e-12);
        let floor = best - margin;
        let mut out = SeedMatch {
            score: SEED_NO_MATCH,
            row: None,
        };
        for (b, &m) in block_max.iter().enumerate() {
            if f64::from(m) < floor {
                continue;
            }
            for (s, &a) in approx[b * LANES..][..LANES].iter().enumerate() {
                let i = self.slots[b * LANES + s];
                if f64::from(a) >= floor && i != u32::MAX {
                    let i = i as usize;
                    let d = self.exact(i, &un, nc);
                    if d < out.score {
                        out = SeedMatch {
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
    pub fn score_reference(&self, user: &[f64]) -> Result<SeedMatch, ScoreError> {
        let (un, nc) = match prepare_user(user)? {
            Some(u) => u,
            None => {
                return Ok(SeedMatch {
                    score: SEED_NO_MATCH,
                    row: None,
                });
            }
        };
        let mut out = SeedMatch {
            score: SEED_NO_MATCH,
            row: None,
        };
        for i in 0..self.rows {
            let d = self.exact(i, &un, nc);
            if d < out.score {
                out = SeedMatch {
                    score: d,
                    row: Some(i),
                };
            }
        }
        Ok(out)
    }

    /// `1 - a / (sqrt(b) * sqrt(c))` for dancer row `i` (NaN for an all-zero row).
    fn exact(&self, i: usize, un: &[f64; SEED_COLUMNS], nc: f64) -> f64 {
        let row = &self.normed[i * SEED_COLUMNS..][..SEED_COLUMNS];
        let a: f64 = row.iter().zip(un).map(|(x, y)| x * y).sum();
        1.0 - a / (self.norms[i] * nc)
    }
}

/// The user's row normalised, and `sqrt(sum(u*u))` of the normalised row; `None` for all zeros.
fn prepare_user(user: &[f64]) -> Result<Option<([f64; SEED_COLUMNS], f64)>, ScoreError> {
    let row: &[f64; SEED_COLUMNS] = user.try_into().map_err(|_| ScoreError::RowLength {
        row: 0,
        expected: SEED_COLUMNS,
        got: user.len(),
    })?;
    check_values(0, row)?;
    let mut un = *row;
    Normalizer.transform_row(&mut un);
    let nc = Normalizer::norm(&un);
    Ok((nc != 0.0).then_some((un, nc)))
}

/// Dot products of every block's rows with `u` (into `approx`, padding lanes -inf) and each
/// block's maximum (into `block_max`); on x86-64 with AVX2 and FMA, the same code compiled for
/// them (8 lanes per instruction instead of 4).
fn scan(blocks: &[Block], u: &[f32; SEED_COLUMNS], approx: &mut [f32], block_max: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU was just checked to support AVX2 and FMA, the features `scan_avx2`
        // is compiled for; it touches memory only through the safe slices it is given.
        #[allow(unsafe_code)]
        unsafe {
            scan_avx2(blocks, u, approx, block_max)
        };
        return;
    }
    scan_generic::<false>(blocks, u, approx, block_max);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scan_avx2(blocks: &[Block], u: &[f32; SEED_COLUMNS], approx: &mut [f32], block_max: &mut [f32]) {
    scan_generic::<true>(blocks, u, approx, block_max);
}

#[inline(always)]
fn scan_generic<const FMA: bool>(
    blocks: &[Block],
    u: &[f32; SEED_COLUMNS],
    approx: &mut [f32],
    block_max: &mut [f32],
) {
    for ((block, out), bmax) in blocks
        .iter()
        .zip(approx.chunks_exact_mut(LANES))
        .zip(block_max)
    {
        let mut acc = [0.0f32; LANES];
        for (col, &uk) in block.cols.iter().zip(u) {
            for (a, c) in acc.iter_mut().zip(col) {
                *a = if FMA { c.mul_add(uk, *a) } else { *a + c * uk };
            }
        }
        let mut m = f32::NEG_INFINITY;
        for ((o, a), pad) in out.iter_mut().zip(acc).zip(block.pad) {
            let v = if pad { f32::NEG_INFINITY } else { a };
            *o = v;
            m = if v > m { v } else { m };
        }
        *bmax = m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pose() -> impl Strategy<Value = [f64; SEED_COLUMNS]> {
        // Pixel coordinates with some parts missing (0, 0), like OpenPose rows.
        proptest::array::uniform18((0.0f64..640.0, 0.0f64..480.0, 0u8..10)).prop_map(|parts| {
            let mut row = [0.0; SEED_COLUMNS];
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
                dancer[0] = [0.0; SEED_COLUMNS];
            }
            let m = SeedMatcher::from_rows(&dancer).expect("finite");
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
    fn near_duplicate_rows_pick_the_true_minimum() {
        // Rows that differ far below f32 resolution: the exact pass must still decide.
        let base: [f64; SEED_COLUMNS] = std::array::from_fn(|k| 100.0 + k as f64 * 7.0);
        let rows: Vec<[f64; SEED_COLUMNS]> = (0..50)
            .map(|i| {
                let mut r = base;
                r[3] += 0.01 * (25.0 - i as f64).abs();
                r
            })
            .collect();
        let m = SeedMatcher::from_rows(&rows).expect("finite");
        let hit = m.score(&base).expect("36 values");
        assert_eq!(hit, m.score_reference(&base).expect("36 values"));
        assert_eq!(hit.row, Some(25));
    }

    #[test]
    fn rejects_bad_rows() {
        assert!(matches!(
            SeedMatcher::from_rows(&[[0.0; 36]])
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
            SeedMatcher::from_rows(&[r]),
            Err(ScoreError::BadValue {
                row: 0,
                index: 4,
                ..
            })
        ));
    }
}
