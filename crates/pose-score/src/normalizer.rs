//! Row-wise L2 normalisation with scikit-learn's `Normalizer(norm="l2")` semantics.

/// scikit-learn's `Normalizer()` (L2): each row is divided by its Euclidean length; a row whose
/// length is zero is left unchanged (all zeros), as sklearn's `_handle_zeros_in_scale` does.
///
/// ```
/// use pose_score::Normalizer;
/// let mut row = [3.0, 4.0];
/// Normalizer.transform_row(&mut row);
/// assert_eq!(row, [0.6, 0.8]);
/// let mut zero = [0.0, 0.0];
/// Normalizer.transform_row(&mut zero);
/// assert_eq!(zero, [0.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalizer;

impl Normalizer {
    /// The Euclidean length of `row` (sklearn's `row_norms`).
    pub fn norm(row: &[f64]) -> f64 {
        row.iter().map(|v| v * v).sum::<f64>().sqrt()
    }

    /// Normalises one row in place; returns the length it had.
    pub fn transform_row(&self, row: &mut [f64]) -> f64 {
        let n = Self::norm(row);
        if n != 0.0 {
            for v in row.iter_mut() {
                *v /= n;
            }
        }
        n
    }

    /// Normalises every `columns`-wide row of a flat row-major buffer in place.
    pub fn transform_flat(&self, values: &mut [f64], columns: usize) {
        for row in values.chunks_exact_mut(columns.max(1)) {
            self.transform_row(row);
        }
    }
}
