//! Landmark model input and post-processing: the rotated ROI crop (256x256, bilinear, replicate
//! border, `p/255`), decoding of the 39 raw landmarks (`/256`, sigmoid visibility and presence),
//! heatmap refinement (`RefineLandmarksFromHeatmapCalculator`, kernel 7, min confidence 0.5) and
//! projection back to image pixels (`LandmarkProjectionCalculator`).

use crate::frame::RgbFrame;
use crate::pose::{Landmark, NUM_LANDMARKS, Pose};
use crate::roi::Roi;
use crate::warp::{Border, roi_matrix, warp_affine_normalized_parallel};

/// Side of the landmark model's square input.
pub const LANDMARK_SIZE: usize = 256;
/// Landmarks in the model output (33 pose + 2 auxiliary + 4 unused).
pub const NUM_RAW_LANDMARKS: usize = 39;
/// Side of the heatmap.
pub const HEATMAP_SIZE: usize = 64;
/// Pose presence threshold (MediaPipe's `ThresholdingCalculator`).
pub const PRESENCE_THRESHOLD: f32 = 0.5;
const HEATMAP_KERNEL: usize = 7;
const HEATMAP_MIN_CONF: f64 = 0.5;

/// Fills `tensor` (256*256*3 floats, NHWC) with the landmark model input for `roi` (the warp
/// writes `p/255` directly, see [`warp_affine_normalized_parallel`]; `threads` row bands, 1 = the
/// calling thread only).
pub fn landmark_input(frame: &RgbFrame<'_>, roi: &Roi, threads: usize, tensor: &mut [f32]) {
    let m = roi_matrix(
        roi.cx,
        roi.cy,
        roi.size,
        roi.size,
        roi.rotation,
        LANDMARK_SIZE,
        LANDMARK_SIZE,
    );
    warp_affine_normalized_parallel(
        frame,
        &m,
        LANDMARK_SIZE,
        LANDMARK_SIZE,
        Border::Replicate,
        (1.0f64 / 255.0) as f32,
        0.0,
        threads,
        tensor,
    );
}

/// Raw outputs of the landmark model that the pipeline uses.
#[derive(Debug, Clone, Copy)]
pub struct RawLandmarks<'a> {
    /// `Identity`: 39 x (x, y, z, visibility logit, presence logit), 256-px crop units.
    pub landmarks: &'a [f32],
    /// `Identity_1`: pose presence probability.
    pub presence: f32,
    /// `Identity_3`: 64x64x39 heatmap logits (HWC); `None` skips refinement.
    pub heatmap: Option<&'a [f32]>,
    /// `Identity_4`: 39 x (x, y, z) world landmarks in metres; may be empty.
    pub world: &'a [f32],
}

/// The landmark model's result for one ROI, in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct LandmarkResult {
    /// The ROI the model ran on.
    pub roi: Roi,
    /// Pose presence probability (`Identity_1`).
    pub presence: f32,
    /// 33 refined landmarks: x, y, z (pixels), visibility, presence.
    pub landmarks: [[f64; 5]; NUM_LANDMARKS],
    /// The same before heatmap refinement.
    pub landmarks_no_refine: [[f64; 5]; NUM_LANDMARKS],
    /// Auxiliary landmarks 33 (hip centre) and 34 (alignment point), refined and projected.
    pub aux: [[f64; 5]; 2],
    /// 33 world landmarks (metres, hip-centred, rotated by the ROI rotation); zeros if absent.
    pub world: [[f64; 3]; NUM_LANDMARKS],
}

impl LandmarkResult {
    /// Whether the model sees a pose (`presence >= 0.5`).
    pub fn is_present(&self) -> bool {
        self.presence >= PRESENCE_THRESHOLD
    }

    /// The tracking ROI for the next frame (from auxiliary landmarks 33 and 34).
    pub fn next_roi(&self) -> Roi {
        Roi::from_points(
            [self.aux[0][0], self.aux[0][1]],
            [self.aux[1][0], self.aux[1][1]],
        )
    }

    /// The result as a [`Pose`] (score = pose presence), with the world landmarks unless the
    /// model gave none (all zero).
    pub fn to_pose(&self) -> Pose {
        let landmarks = self.landmarks.map(|l| Landmark {
            x: l[0] as f32,
            y: l[1] as f32,
            z: l[2] as f32,
            visibility: l[3] as f32,
            presence: l[4] as f32,
        });
        let pose = Pose::new(landmarks, self.presence);
        if self.world.iter().flatten().all(|v| *v == 0.0) {
            pose
        } else {
            pose.with_world(self.world.map(|p| p.map(|v| v as f32)))
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Heatmap refinement of normalised landmarks (in place): for each landmark, the 7x7 window
/// centred on the cell `(trunc(x*64), trunc(y*64))`, weights `sigmoid(heatmap)`; the landmark
/// moves to the weighted mean cell / 64 when the window's maximum weight is >= 0.5.
fn refine(norm: &mut [[f64; 5]; NUM_RAW_LANDMARKS], heatmap: &[f32]) {
    let (hm_w, hm_h) = (HEATMAP_SIZE as i64, HEATMAP_SIZE as i64);
    let off = (HEATMAP_KERNEL as i64 - 1) / 2;
    for (i, lm) in norm.iter_mut().enumerate() {
        let (xs, ys) = (lm[0] * hm_w as f64, lm[1] * hm_h as f64);
        if !(xs.is_finite() && ys.is_finite()) {
            continue;
        }
        // `as` truncates toward zero like C++'s int conversion.
        let (ccol, crow) = (xs.trunc() as i64, ys.trunc() as i64);
        if ccol < 0 || ccol >= hm_w || crow < 0 || crow >= hm_h {
            continue;
        }
        let (c0, c1) = ((ccol - off).max(0), (ccol + off + 1).min(hm_w));
        let (r0, r1) = ((crow - off).max(0), (crow + off + 1).min(hm_h));
        let (mut tot, mut sx, mut sy, mut max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for r in r0..r1 {
            for c in c0..c1 {
                let idx = (r * hm_w + c) as usize * NUM_RAW_LANDMARKS + i;
                let conf = sigmoid(heatmap[idx] as f64);
                tot += conf;
                sx += c as f64 * conf;
                sy += r as f64 * conf;
                max = max.max(conf);
            }
        }
        if max >= HEATMAP_MIN_CONF && tot > 0.0 {
            lm[0] = sx / hm_w as f64 / tot;
            lm[1] = sy / hm_h as f64 / tot;
        }
    }
}

fn project(norm: &[f64; 5], roi: &Roi) -> [f64; 5] {
    let [x, y] = roi.project(norm[0], norm[1]);
    [x, y, norm[2] * roi.size, norm[3], norm[4]]
}

/// Post-processes raw landmark outputs for `roi` (decode, refine, project).
///
/// # Panics
/// Never; short slices (not from the checked model) give zeros for the missing values.
pub fn postprocess(raw: &RawLandmarks<'_>, roi: &Roi) -> LandmarkResult {
    let size = LANDMARK_SIZE as f64;
    let get = |s: &[f32], i: usize| s.get(i).copied().unwrap_or(0.0) as f64;
    let mut norm = [[0.0f64; 5]; NUM_RAW_LANDMARKS];
    for (i, n) in norm.iter_mut().enumerate() {
        *n = [
            get(raw.landmarks, i * 5) / size,
            get(raw.landmarks, i * 5 + 1) / size,
            get(raw.landmarks, i * 5 + 2) / size,
            sigmoid(get(raw.landmarks, i * 5 + 3)),
            sigmoid(get(raw.landmarks, i * 5 + 4)),
        ];
    }
    let landmarks_no_refine = std::array::from_fn(|i| project(&norm[i], roi));
    let mut refined = norm;
    if let Some(hm) = raw.heatmap
        && hm.len() >= HEATMAP_SIZE * HEATMAP_SIZE * NUM_RAW_LANDMARKS
    {
        refine(&mut refined, hm);
    }
    let landmarks = std::array::from_fn(|i| project(&refined[i], roi));
    let aux = [
        project(&refined[NUM_LANDMARKS], roi),
        project(&refined[NUM_LANDMARKS + 1], roi),
    ];
    let (s, c) = roi.rotation.sin_cos();
    let world = std::array::from_fn(|i| {
        let (wx, wy, wz) = (
            get(raw.world, i * 3),
            get(raw.world, i * 3 + 1),
            get(raw.world, i * 3 + 2),
        );
        [c * wx - s * wy, s * wx + c * wy, wz]
    });
    LandmarkResult {
        roi: *roi,
        presence: raw.presence,
        landmarks,
        landmarks_no_refine,
        aux,
        world,
    }
}
