//! Live matching: the user's frame against the dancer's frames near the playback time.

use crate::error::ScoreError;
use crate::keypoints::Pose;
use crate::scorer::{OutOfView, PoseFeatures, PoseScore, Scorer};
use crate::table::KeypointTable;

/// Most dancer frames a track may hold (10 h at 60 fps).
pub const MAX_TRACK_FRAMES: usize = 2_160_000;

/// The dancer's performance, prepared once: one [`PoseFeatures`] per frame at a fixed rate.
#[derive(Debug, Clone)]
pub struct DancerTrack {
    fps: f32,
    frames: Vec<PoseFeatures>,
}

impl DancerTrack {
    /// A track from the dancer's poses, one per frame at `fps` frames per second.
    pub fn new<'a>(
        scorer: &Scorer,
        poses: impl IntoIterator<Item = &'a Pose>,
        fps: f32,
    ) -> Result<Self, ScoreError> {
        let frames = poses.into_iter().map(|p| scorer.features(p)).collect();
        Self::from_features(frames, fps)
    }

    /// A track from rows of a keypoint table (see [`Pose::from_row`] for the widths).
    pub fn from_table(
        scorer: &Scorer,
        table: &KeypointTable,
        fps: f32,
    ) -> Result<Self, ScoreError> {
        let frames = table
            .rows()
            .enumerate()
            .map(|(i, r)| {
                Pose::from_row(r)
                    .map(|p| scorer.features(&p))
                    .map_err(|e| match e {
                        ScoreError::RowLength { expected, got, .. } => ScoreError::RowLength {
                            row: i,
                            expected,
                            got,
                        },
                        other => other,
                    })
            })
            .collect::<Result<_, _>>()?;
        Self::from_features(frames, fps)
    }

    /// A track from features already computed.
    pub fn from_features(frames: Vec<PoseFeatures>, fps: f32) -> Result<Self, ScoreError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(ScoreError::Config(format!("fps {fps} is not in (0, 1000]")));
        }
        if frames.len() > MAX_TRACK_FRAMES {
            return Err(ScoreError::TooLarge {
                what: "dancer frames",
                got: frames.len(),
                limit: MAX_TRACK_FRAMES,
            });
        }
        Ok(Self { fps, frames })
    }

    /// Frames per second.
    pub fn fps(&self) -> f32 {
        self.fps
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames' features.
    pub fn frames(&self) -> &[PoseFeatures] {
        &self.frames
    }

    /// The frames within `window_s` seconds of `t_s` (clamped to the track; a time past either
    /// end looks at the nearest frames).
    pub fn window(&self, t_s: f32, window_s: f32) -> std::ops::Range<usize> {
        if self.frames.is_empty() {
            return 0..0;
        }
        let last = (self.frames.len() - 1) as f32;
        let t = if t_s.is_finite() { t_s * self.fps } else { 0.0 };
        let w = window_s.max(0.0) * self.fps;
        let lo = (t - w).ceil().clamp(0.0, last);
        let hi = (t + w).floor().clamp(lo, last);
        lo as usize..hi as usize + 1
    }
}

/// The best dancer frame for a user frame, within the window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowMatch {
    /// Index of the dancer frame that matched best.
    pub frame: usize,
    /// That frame's time minus the playback time, in seconds (negative: the user is late).
    pub offset_s: f32,
    /// The score against that frame.
    pub score: PoseScore,
}

impl Scorer {
    /// Live scoring: compares the user's frame with every dancer frame within
    /// `config().window_s` of the playback time `t_s` and keeps the best.
    ///
    /// ```
    /// use pose_score::{DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig};
    /// // Dancer rows in the old 36-number format, 30 fps; the user copies frame 12.
    /// let row = |i: usize| -> Vec<f64> {
    ///     (0..36).map(|k| 100.0 + (k as f64) * 3.0 + ((k * i) % 29) as f64 * 2.0).collect()
    /// };
    /// let table = KeypointTable::from_rows(36, (0..60).map(row))?;
    /// let scorer = Scorer::new(ScorerConfig::default())?;
    /// let track = DancerTrack::from_table(&scorer, &table, 30.0)?;
    /// let user = scorer.features(&Pose::from_openpose_row(&row(12))?);
    /// let m = scorer.score_at(&user, &track, 0.5).expect("whole body in view");
    /// assert_eq!(m.frame, 12);
    /// assert!(m.score.overall > 0.999);
    /// assert!((m.offset_s - (12.0 / 30.0 - 0.5)).abs() < 1e-6);
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn score_at(
        &self,
        user: &PoseFeatures,
        track: &DancerTrack,
        t_s: f32,
    ) -> Result<WindowMatch, OutOfView> {
        self.check_in_view(user)?;
        let range = track.window(t_s, self.config().window_s);
        let min_limbs = self.config().min_limbs;
        let candidates = self.orientations(user);
        let mut best: Option<(f32, usize, usize)> = None;
        let mut seen = 0;
        for (k, (u, _)) in candidates.iter().enumerate() {
            for (j, d) in track.frames()[range.clone()].iter().enumerate() {
                let q = self.quick(u, d);
                seen = seen.max(q.count);
                if let Some(s) = q.score(min_limbs)
                    && best.is_none_or(|(b, _, _)| s > b)
                {
                    best = Some((s, k, range.start + j));
                }
            }
        }
        let (_, k, frame) = best.ok_or(OutOfView {
            visible_limbs: seen,
            needed: min_limbs,
        })?;
        let (u, mirrored) = &candidates[k];
        Ok(WindowMatch {
            frame,
            offset_s: frame as f32 / track.fps() - t_s,
            score: self.detail(u, &track.frames()[frame], *mirrored),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::ScorerConfig;

    #[test]
    fn window_bounds() {
        let track =
            DancerTrack::from_features(vec![PoseFeatures::default(); 100], 10.0).expect("valid");
        assert_eq!(track.window(1.0, 0.5), 5..16);
        assert_eq!(track.window(0.0, 0.5), 0..6);
        assert_eq!(track.window(9.9, 0.5), 94..100);
        assert_eq!(track.window(50.0, 0.5), 99..100);
        assert_eq!(track.window(-3.0, 0.5), 0..1);
        assert_eq!(track.window(f32::NAN, 0.0), 0..1);
        assert!(DancerTrack::from_features(vec![], 0.0).is_err());
    }

    #[test]
    fn empty_user_is_out_of_view() {
        let scorer = Scorer::new(ScorerConfig::default()).expect("default config");
        let track =
            DancerTrack::from_features(vec![PoseFeatures::default(); 3], 30.0).expect("valid");
        let e = scorer
            .score_at(&PoseFeatures::default(), &track, 0.0)
            .expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "not enough of the body in view (0 of 11 limbs, need 4)"
        );
    }
}
