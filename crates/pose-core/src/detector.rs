//! The BlazePose person detector: letterboxed input tensor, box and keypoint decoding against the
//! SSD anchors, sigmoid scores, weighted non-maximum suppression and letterbox removal
//! (MediaPipe's `pose_detection_cpu.pbtxt`). Decoding runs in `f64` in the same order as the
//! reference, so the stage is reproducible to ~1e-9 px.

use crate::anchors::{NUM_ANCHORS, anchors};
use crate::frame::RgbFrame;
use crate::warp::{Border, roi_matrix, warp_affine_normalized_parallel};

/// Side of the detector's square input.
pub const DETECTOR_SIZE: usize = 224;
/// Numbers per anchor in the regressor output.
pub const NUM_COORDS: usize = 12;
/// MediaPipe's `score_clipping_thresh`.
const SCORE_CLIP: f64 = 100.0;
/// `x_scale = y_scale = w_scale = h_scale`.
const DET_SCALE: f64 = 224.0;

/// Detector decoding options.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    /// Minimum sigmoid score of an anchor (MediaPipe: 0.5).
    pub min_score: f64,
    /// IoU above which a box joins the cluster of the current best (MediaPipe: 0.3).
    pub nms_iou: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            min_score: 0.5,
            nms_iou: 0.3,
        }
    }
}

/// One person detection in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Sigmoid score of the best anchor of the cluster.
    pub score: f64,
    /// Box `[x_min, y_min, width, height]` (roughly the head; unused downstream).
    pub box_xywh: [f64; 4],
    /// Keypoints: 0 mid-hip, 1 full-body size/rotation point, 2 mid-shoulder, 3 upper-body point.
    pub keypoints: [[f64; 2]; 4],
    /// Number of anchors averaged into it.
    pub num_merged: usize,
    /// Index of the best anchor.
    pub anchor: usize,
}

/// The letterbox of a frame: padding `[left, top, right, bottom]` as fractions of the padded
/// square, and the square's centre and side in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// `[left, top, right, bottom]` fractions.
    pub padding: [f64; 4],
    /// Centre x of the square (pixels).
    pub cx: f64,
    /// Centre y of the square (pixels).
    pub cy: f64,
    /// Side of the square (pixels).
    pub side: f64,
}

impl Letterbox {
    /// The letterbox of a `width` x `height` image.
    ///
    /// ```
    /// let lb = pose_core::detector::Letterbox::new(1080, 1920);
    /// assert_eq!(lb.padding, [0.21875, 0.0, 0.21875, 0.0]);
    /// ```
    pub fn new(width: u32, height: u32) -> Self {
        let (w, h) = (width as f64, height as f64);
        let (side, padding) = if height > width {
            let p = (1.0 - w / h) / 2.0;
            (h, [p, 0.0, p, 0.0])
        } else {
            let p = (1.0 - h / w) / 2.0;
            (w, [0.0, p, 0.0, p])
        };
        Self {
            padding,
            cx: w / 2.0,
            cy: h / 2.0,
            side,
        }
    }
}

/// Fills `tensor` (224*224*3 floats, NHWC) with the detector input: the letterboxed frame, bilinear,
/// black border, `p * 2/255 - 1` (the warp writes the floats directly, see
/// [`warp_affine_normalized_parallel`] on `threads` row bands; 1 = the calling thread only).
pub fn detector_input(frame: &RgbFrame<'_>, threads: usize, tensor: &mut [f32]) -> Letterbox {
    let lb = Letterbox::new(frame.width(), frame.height());
    let m = roi_matrix(
        lb.cx,
        lb.cy,
        lb.side,
        lb.side,
        0.0,
        DETECTOR_SIZE,
        DETECTOR_SIZE,
    );
    warp_affine_normalized_parallel(
        frame,
        &m,
        DETECTOR_SIZE,
        DETECTOR_SIZE,
        Border::Constant,
        (2.0f64 / 255.0) as f32,
        -1.0,
        threads,
        tensor,
    );
    lb
}

/// A decoded candidate, normalised to the padded square.
#[derive(Debug, Clone)]
struct Candidate {
    score: f64,
    anchor: usize,
    xmin: f64,
    ymin: f64,
    w: f64,
    h: f64,
    kps: [[f64; 2]; 4],
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Highest anchor score (sigmoid of the clipped logit) of a raw score output.
pub fn max_score(raw_scores: &[f32]) -> f64 {
    raw_scores
        .iter()
        .map(|&s| sigmoid((s as f64).clamp(-SCORE_CLIP, SCORE_CLIP)))
        .fold(0.0, f64::max)
}

/// Number of anchors whose score reaches `min_score` (the input of the suppression).
pub fn count_candidates(raw_scores: &[f32], min_score: f64) -> usize {
    raw_scores
        .iter()
        .filter(|&&s| sigmoid((s as f64).clamp(-SCORE_CLIP, SCORE_CLIP)) >= min_score)
        .count()
}

fn decode(raw_boxes: &[f32], raw_scores: &[f32], min_score: f64) -> Vec<Candidate> {
    let anchors = anchors();
    let mut out = Vec::new();
    for (i, (&logit, b)) in raw_scores
        .iter()
        .zip(raw_boxes.chunks_exact(NUM_COORDS))
        .enumerate()
        .take(NUM_ANCHORS)
    {
        let score = sigmoid((logit as f64).clamp(-SCORE_CLIP, SCORE_CLIP));
        // (NaN scores are skipped too.)
        if score.partial_cmp(&min_score).is_none_or(|o| o.is_lt()) {
            continue;
        }
        let a = anchors[i];
        let (ax, ay, aw, ah) = (a.x as f64, a.y as f64, a.w as f64, a.h as f64);
        let b: [f64; NUM_COORDS] = std::array::from_fn(|k| b[k] as f64);
        let xc = b[0] / DET_SCALE * aw + ax;
        let yc = b[1] / DET_SCALE * ah + ay;
        let w = b[2] / DET_SCALE * aw;
        let h = b[3] / DET_SCALE * ah;
        let kps = std::array::from_fn(|k| {
            [
                b[4 + 2 * k] / DET_SCALE * aw + ax,
                b[5 + 2 * k] / DET_SCALE * ah + ay,
            ]
        });
        out.push(Candidate {
            score,
            anchor: i,
            xmin: xc - w / 2.0,
            ymin: yc - h / 2.0,
            w,
            h,
            kps,
        });
    }
    out
}

fn iou(a: &Candidate, b: &Candidate) -> f64 {
    let x0 = a.xmin.max(b.xmin);
    let y0 = a.ymin.max(b.ymin);
    let x1 = (a.xmin + a.w).min(b.xmin + b.w);
    let y1 = (a.ymin + a.h).min(b.ymin + b.h);
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let inter = (x1 - x0) * (y1 - y0);
    let union = a.w * a.h + b.w * b.h - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// MediaPipe's weighted NMS: clusters around the best remaining candidate; box corners and
/// keypoints are score-weighted means, the score is the best one's.
fn weighted_nms(mut cands: Vec<Candidate>, iou_thresh: f64) -> Vec<(Candidate, usize)> {
    // Stable sort by descending score (ties keep anchor order).
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    let mut remained = cands;
    while let Some(top) = remained.first().cloned() {
        let (group, rest): (Vec<Candidate>, Vec<Candidate>) = remained
            .into_iter()
            .partition(|d| iou(d, &top) > iou_thresh);
        if group.is_empty() {
            // Only possible with NaN boxes: drop the top one and go on.
            remained = rest.into_iter().skip(1).collect();
            continue;
        }
        let mut tot = 0.0;
        let (mut xmin, mut ymin, mut xmax, mut ymax) = (0.0, 0.0, 0.0, 0.0);
        let mut kps = [[0.0f64; 2]; 4];
        for d in &group {
            tot += d.score;
        }
        for d in &group {
            xmin += d.xmin * d.score;
            ymin += d.ymin * d.score;
            xmax += (d.xmin + d.w) * d.score;
            ymax += (d.ymin + d.h) * d.score;
            for (k, kp) in kps.iter_mut().enumerate() {
                kp[0] += d.kps[k][0] * d.score;
                kp[1] += d.kps[k][1] * d.score;
            }
        }
        let (xmin, ymin, xmax, ymax) = (xmin / tot, ymin / tot, xmax / tot, ymax / tot);
        for kp in &mut kps {
            kp[0] /= tot;
            kp[1] /= tot;
        }
        out.push((
            Candidate {
                score: top.score,
                anchor: top.anchor,
                xmin,
                ymin,
                w: xmax - xmin,
                h: ymax - ymin,
                kps,
            },
            group.len(),
        ));
        remained = rest;
    }
    out
}

/// Decodes raw detector outputs (`raw_boxes`: 2254*12, `raw_scores`: 2254 logits) into detections
/// in image pixels, best first.
///
/// ```
/// use pose_core::detector::{decode_detections, DetectorConfig, Letterbox};
/// let boxes = vec![0.0f32; 2254 * 12];
/// let scores = vec![-5.0f32; 2254];
/// let lb = Letterbox::new(640, 480);
/// assert!(decode_detections(&boxes, &scores, &lb, 640, 480, &DetectorConfig::default()).is_empty());
/// ```
pub fn decode_detections(
    raw_boxes: &[f32],
    raw_scores: &[f32],
    letterbox: &Letterbox,
    width: u32,
    height: u32,
    config: &DetectorConfig,
) -> Vec<Detection> {
    let cands = decode(raw_boxes, raw_scores, config.min_score);
    let [l, t, r, b] = letterbox.padding;
    let (sx, sy) = (1.0 - l - r, 1.0 - t - b);
    let (w, h) = (width as f64, height as f64);
    weighted_nms(cands, config.nms_iou)
        .into_iter()
        .map(|(d, n)| Detection {
            score: d.score,
            box_xywh: [
                (d.xmin - l) / sx * w,
                (d.ymin - t) / sy * h,
                d.w / sx * w,
                d.h / sy * h,
            ],
            keypoints: d.kps.map(|k| [(k[0] - l) / sx * w, (k[1] - t) / sy * h]),
            num_merged: n,
            anchor: d.anchor,
        })
        .collect()
}
