//! Temporal smoothing of landmarks with the One Euro filter, as MediaPipe's
//! `LandmarksSmoothingCalculator` does it for BlazePose.
//!
//! Each landmark coordinate (x, y, z, in pixels) has its own [`OneEuroFilter`]. Like MediaPipe,
//! speeds are measured in units of the person's size (the mean of the width and height of the
//! landmarks' bounding box), so the same settings work near and far from the camera. Visibility,
//! presence and the score pass through unchanged. Timestamps are in seconds (video time, not
//! wall-clock); a timestamp that does not increase returns the input unfiltered and leaves the
//! state untouched. Call [`LandmarkSmoother::reset`] when the person is lost.
//!
//! ```
//! use pose_core::pose::{Landmark, Pose};
//! use pose_core::smoothing::{LandmarkSmoother, OneEuroConfig};
//!
//! let mut smoother = LandmarkSmoother::new(OneEuroConfig::default());
//! let mut pose = Pose::default();
//! for (i, l) in pose.landmarks.iter_mut().enumerate() {
//!     *l = Landmark::new(100.0 + i as f32, 200.0 + 3.0 * i as f32, 0.0, 0.9, 0.9);
//! }
//! let first = smoother.smooth(&pose, 0.0);
//! assert_eq!(first, pose); // the first sample passes through
//! pose.landmarks[0].x += 2.0; // jitter of 2 px
//! let second = smoother.smooth(&pose, 1.0 / 30.0);
//! assert!(second.landmarks[0].x < pose.landmarks[0].x); // damped
//! ```

use serde::{Deserialize, Serialize};

use crate::pose::{NUM_LANDMARKS, Pose};

/// One Euro filter settings.
///
/// The default is MediaPipe's for pose landmarks (`pose_landmark_filtering.pbtxt`:
/// `min_cutoff 0.05`, `beta 80`, `derivate_cutoff 1`), with speeds in person sizes per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OneEuroConfig {
    /// Cutoff frequency (Hz) when the landmark is still: lower = smoother, more lag.
    pub min_cutoff: f64,
    /// How fast the cutoff grows with speed: higher = less lag on fast moves.
    pub beta: f64,
    /// Cutoff frequency (Hz) of the speed estimate.
    pub derivate_cutoff: f64,
    /// Sampling frequency (Hz) assumed before two timestamps are known.
    pub frequency: f64,
}

impl Default for OneEuroConfig {
    fn default() -> Self {
        Self {
            min_cutoff: 0.05,
            beta: 80.0,
            derivate_cutoff: 1.0,
            frequency: 30.0,
        }
    }
}

/// Exponential low-pass filter that remembers its last raw input.
#[derive(Debug, Clone, Copy, Default)]
struct LowPass {
    raw: Option<f64>,
    stored: f64,
}

impl LowPass {
    fn apply(&mut self, value: f64, alpha: f64) -> f64 {
        let out = match self.raw {
            Some(_) => alpha * value + (1.0 - alpha) * self.stored,
            None => value,
        };
        self.raw = Some(value);
        self.stored = out;
        out
    }
}

/// A One Euro filter for one scalar signal (Casiez et al. 2012, MediaPipe's variant).
///
/// ```
/// use pose_core::smoothing::{OneEuroConfig, OneEuroFilter};
/// let mut f = OneEuroFilter::new(OneEuroConfig::default());
/// assert_eq!(f.apply(0.0, 1.0, 10.0), 10.0);
/// let y = f.apply(0.1, 1.0, 11.0);
/// assert!(y > 10.0 && y < 11.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OneEuroFilter {
    config: OneEuroConfig,
    frequency: f64,
    last_time: Option<f64>,
    x: LowPass,
    dx: LowPass,
}

impl OneEuroFilter {
    /// A filter with no history.
    pub fn new(config: OneEuroConfig) -> Self {
        Self {
            config,
            frequency: config.frequency,
            last_time: None,
            x: LowPass::default(),
            dx: LowPass::default(),
        }
    }

    /// Filters `value` observed at `time` seconds. `value_scale` multiplies the speed estimate
    /// (MediaPipe passes 1 / object size so the speed is in object sizes per second).
    ///
    /// A `time` that is not after the previous one (or not finite) returns `value` unchanged and
    /// does not touch the state, as MediaPipe does. A non-finite `value` is returned as is.
    pub fn apply(&mut self, time: f64, value_scale: f64, value: f64) -> f64 {
        if !time.is_finite() || !value.is_finite() || self.last_time.is_some_and(|t| time <= t) {
            return value;
        }
        if let Some(last) = self.last_time {
            self.frequency = 1.0 / (time - last);
        }
        self.last_time = Some(time);
        let dvalue = match self.x.raw {
            Some(raw) => (value - raw) * value_scale * self.frequency,
            None => 0.0,
        };
        let edvalue = self
            .dx
            .apply(dvalue, self.alpha(self.config.derivate_cutoff));
        let cutoff = self.config.min_cutoff + self.config.beta * edvalue.abs();
        self.x.apply(value, self.alpha(cutoff))
    }

    /// Forgets the history (the next value passes through).
    pub fn reset(&mut self) {
        *self = Self::new(self.config);
    }

    fn alpha(&self, cutoff: f64) -> f64 {
        let te = 1.0 / self.frequency;
        let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
        1.0 / (1.0 + tau / te)
    }
}

/// Smallest person size (pixels) for which smoothing runs; below it the pose passes through
/// (MediaPipe's `min_allowed_object_scale`, here in pixels).
const MIN_OBJECT_SCALE: f64 = 1e-6;

/// One Euro filters for the x, y and z of all 33 landmarks of one tracked person.
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    config: OneEuroConfig,
    filters: Vec<[OneEuroFilter; 3]>,
}

impl LandmarkSmoother {
    /// A smoother with no history.
    pub fn new(config: OneEuroConfig) -> Self {
        Self {
            config,
            filters: vec![[OneEuroFilter::new(config); 3]; NUM_LANDMARKS],
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &OneEuroConfig {
        &self.config
    }

    /// Smooths `pose` observed at `time` seconds; visibility, presence and score are kept.
    pub fn smooth(&mut self, pose: &Pose, time: f64) -> Pose {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for l in pose
            .landmarks
            .iter()
            .filter(|l| l.x.is_finite() && l.y.is_finite())
        {
            x0 = x0.min(f64::from(l.x));
            y0 = y0.min(f64::from(l.y));
            x1 = x1.max(f64::from(l.x));
            y1 = y1.max(f64::from(l.y));
        }
        let scale = ((x1 - x0) + (y1 - y0)) / 2.0;
        if scale.is_nan() || scale < MIN_OBJECT_SCALE {
            return *pose;
        }
        let value_scale = 1.0 / scale;
        let mut out = *pose;
        for (l, f) in out.landmarks.iter_mut().zip(self.filters.iter_mut()) {
            l.x = f[0].apply(time, value_scale, f64::from(l.x)) as f32;
            l.y = f[1].apply(time, value_scale, f64::from(l.y)) as f32;
            l.z = f[2].apply(time, value_scale, f64::from(l.z)) as f32;
        }
        out
    }

    /// Forgets the history (call it when the person is lost).
    pub fn reset(&mut self) {
        self.filters
            .iter_mut()
            .flatten()
            .for_each(OneEuroFilter::reset);
    }
}

impl Default for LandmarkSmoother {
    fn default() -> Self {
        Self::new(OneEuroConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::Landmark;

    /// Deterministic noise in [-1, 1].
    fn noise(i: u32) -> f64 {
        let h = i
            .wrapping_mul(2_654_435_761)
            .rotate_left(13)
            .wrapping_mul(0x85eb_ca6b);
        f64::from(h) / f64::from(u32::MAX) * 2.0 - 1.0
    }

    fn run(
        f: &mut OneEuroFilter,
        signal: impl Fn(f64) -> f64,
        fps: f64,
        n: u32,
        amp: f64,
    ) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let t = f64::from(i) / fps;
                let clean = signal(t);
                let out = f.apply(t, 1.0 / 200.0, clean + amp * noise(i));
                (clean, out)
            })
            .collect()
    }

    #[test]
    fn still_signal_with_jitter_is_smoothed() {
        let mut f = OneEuroFilter::new(OneEuroConfig::default());
        // 1 px of jitter on a 200 px person, as BlazePose gives on a still person.
        let res = run(&mut f, |_| 500.0, 30.0, 120, 1.0);
        let raw_err: f64 = (60..120).map(|i| noise(i).abs()).sum::<f64>() / 60.0;
        let out_err: f64 = res[60..].iter().map(|(c, o)| (o - c).abs()).sum::<f64>() / 60.0;
        assert!(out_err < raw_err / 2.0, "raw {raw_err} filtered {out_err}");
    }

    #[test]
    fn fast_motion_has_little_lag() {
        // 400 px/s for a 200 px person = 2 sizes/s: the cutoff opens up and the output follows.
        let mut f = OneEuroFilter::new(OneEuroConfig::default());
        let res = run(&mut f, |t| 100.0 + 400.0 * t, 30.0, 60, 0.0);
        let (clean, out) = res[59];
        let lag_px = clean - out;
        assert!(
            (0.0..400.0 / 30.0).contains(&lag_px),
            "lag {lag_px} px, less than one frame of motion"
        );
        // A plain EMA with the still cutoff would lag by seconds.
        let mut slow = OneEuroFilter::new(OneEuroConfig {
            beta: 0.0,
            ..OneEuroConfig::default()
        });
        let res_slow = run(&mut slow, |t| 100.0 + 400.0 * t, 30.0, 60, 0.0);
        assert!(res_slow[59].0 - res_slow[59].1 > 10.0 * lag_px);
    }

    #[test]
    fn repeated_timestamp_passes_through_and_reset_forgets() {
        let mut f = OneEuroFilter::new(OneEuroConfig::default());
        assert_eq!(f.apply(1.0, 1.0, 10.0), 10.0);
        assert_eq!(f.apply(1.0, 1.0, 50.0), 50.0, "same time: unfiltered");
        assert_eq!(f.apply(0.5, 1.0, 50.0), 50.0, "time going back: unfiltered");
        let y = f.apply(1.1, 1.0, 20.0);
        assert!(y > 10.0 && y < 20.0, "state kept from t=1.0: {y}");
        f.reset();
        assert_eq!(f.apply(2.0, 1.0, 30.0), 30.0);
    }

    #[test]
    fn smoother_keeps_visibility_and_uses_the_person_size() {
        let mut pose = Pose::default();
        for (i, l) in pose.landmarks.iter_mut().enumerate() {
            *l = Landmark::new(
                300.0 + 5.0 * i as f32,
                100.0 + 10.0 * i as f32,
                -2.0,
                0.8,
                0.7,
            );
        }
        pose.score = 0.9;
        let mut s = LandmarkSmoother::default();
        assert_eq!(s.smooth(&pose, 0.0), pose);
        let mut moved = pose;
        moved.landmarks.iter_mut().for_each(|l| l.x += 1.0);
        moved.landmarks[3].visibility = 0.1;
        let out = s.smooth(&moved, 1.0 / 30.0);
        assert_eq!(out.landmarks[3].visibility, 0.1);
        assert_eq!(out.score, 0.9);
        assert!(
            out.landmarks
                .iter()
                .zip(&moved.landmarks)
                .all(|(o, m)| o.x < m.x && o.x > m.x - 1.0)
        );
        s.reset();
        assert_eq!(s.smooth(&moved, 0.5), moved);
        // A degenerate pose (all points equal) passes through.
        let mut dot = Pose::default();
        dot.landmarks.iter_mut().for_each(|l| l.x = 5.0);
        assert_eq!(LandmarkSmoother::default().smooth(&dot, 0.0), dot);
    }
}
