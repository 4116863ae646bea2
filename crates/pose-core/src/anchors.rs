//! The 2254 SSD anchors of the BlazePose detector (MediaPipe `SsdAnchorsCalculator` with the
//! options of `pose_detection_cpu.pbtxt`).

use std::sync::OnceLock;

/// Number of detector anchors.
pub const NUM_ANCHORS: usize = 2254;

/// One anchor: centre and size, normalised to the 224x224 detector input (w = h = 1 here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    /// Centre x in [0, 1].
    pub x: f32,
    /// Centre y in [0, 1].
    pub y: f32,
    /// Width (1.0: fixed anchor size).
    pub w: f32,
    /// Height (1.0: fixed anchor size).
    pub h: f32,
}

const STRIDES: [usize; 5] = [8, 16, 32, 32, 32];
const INPUT_SIZE: usize = 224;
const ANCHOR_OFFSET: f64 = 0.5;

/// The anchors, ordered by layer, row, column, anchor (computed once).
///
/// ```
/// let a = pose_core::anchors::anchors();
/// assert_eq!(a.len(), 2254);
/// assert_eq!((a[0].x, a[0].y), (0.5 / 28.0, 0.5 / 28.0));
/// ```
pub fn anchors() -> &'static [Anchor] {
    static ANCHORS: OnceLock<Vec<Anchor>> = OnceLock::new();
    ANCHORS.get_or_init(generate)
}

fn generate() -> Vec<Anchor> {
    // With fixed_anchor_size only the centres matter; each original layer contributes two anchors
    // per cell (aspect ratio 1.0 plus the interpolated-scale anchor), and layers of equal stride are
    // merged.
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    let mut layer = 0;
    while layer < STRIDES.len() {
        let mut last = layer;
        while last < STRIDES.len() && STRIDES[last] == STRIDES[layer] {
            last += 1;
        }
        let per_cell = 2 * (last - layer);
        let stride = STRIDES[layer];
        let fh = INPUT_SIZE.div_ceil(stride);
        let fw = fh;
        for row in 0..fh {
            for col in 0..fw {
                let x = ((col as f64 + ANCHOR_OFFSET) / fw as f64) as f32;
                let y = ((row as f64 + ANCHOR_OFFSET) / fh as f64) as f32;
                for _ in 0..per_cell {
                    out.push(Anchor {
                        x,
                        y,
                        w: 1.0,
                        h: 1.0,
                    });
                }
            }
        }
        layer = last;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_layout() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        // 28x28x2 first, then 14x14x2, then 7x7x6.
        assert_eq!(a[1], a[0]);
        assert_eq!(a[1568].x, (0.5f64 / 14.0) as f32);
        assert_eq!(a[1568 + 392].x, (0.5f64 / 7.0) as f32);
        assert_eq!(a[NUM_ANCHORS - 1].x, (6.5f64 / 7.0) as f32);
    }
}
