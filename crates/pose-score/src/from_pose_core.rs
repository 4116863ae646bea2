//! From pose-core to the scorer in one call (feature `pose-core`): a [`pose_core::Pose`] becomes
//! a BlazePose-33 [`Pose`], the old project's 36-number row (through pose-core's one
//! BlazePose -> OpenPose-18 mapping, [`pose_core::Pose::to_openpose18`]), and a
//! [`pose_core::extract::PoseTrack`] a [`DancerTrack`].

use crate::error::ScoreError;
use crate::keypoints::{Keypoint, Layout, Pose};
use crate::scorer::Scorer;
use crate::window::DancerTrack;

impl From<&pose_core::Pose> for Pose {
    /// The 33 BlazePose landmarks as `x, y, visibility` keypoints (image pixels).
    ///
    /// ```
    /// let mut found = pose_core::Pose::default();
    /// found.landmarks[11] = pose_core::Landmark::new(10.0, 20.0, 0.0, 0.9, 0.9);
    /// let pose = pose_score::Pose::from(&found);
    /// assert_eq!(pose.layout(), pose_score::Layout::BlazePose33);
    /// assert_eq!(pose.points()[11], pose_score::Keypoint::new(10.0, 20.0, 0.9));
    /// ```
    fn from(pose: &pose_core::Pose) -> Self {
        let points = pose
            .landmarks
            .iter()
            .map(|l| Keypoint::new(l.x, l.y, l.visibility))
            .collect();
        Pose::from_parts(Layout::BlazePose33, points)
    }
}

/// The old project's row of a pose-core pose: OpenPose-18 `x, y` pairs in pixels, `0, 0` for a
/// part seen with a visibility below 0.5 (the Neck: either shoulder), as the seed score
/// ([`crate::CosineMatcher`]) reads it.
///
/// ```
/// let mut found = pose_core::Pose::default();
/// found.landmarks[0] = pose_core::Landmark::new(10.0, 20.0, 0.0, 0.9, 0.9);
/// let row = pose_score::openpose_row(&found);
/// assert_eq!(&row[..4], &[10.0, 20.0, 0.0, 0.0]);
/// ```
pub fn openpose_row(pose: &pose_core::Pose) -> [f64; 36] {
    pose.to_openpose18().map(f64::from)
}

impl DancerTrack {
    /// The dance of a pose-core track (one sample per reference frame, at the track's rate); a
    /// sample without a person is a frame with nothing in view.
    ///
    /// # Errors
    /// As [`DancerTrack::from_features`] (an empty track, too many samples, a bad rate).
    ///
    /// ```
    /// use pose_core::extract::{PoseSample, PoseTrack};
    /// use pose_score::{DancerTrack, Scorer, ScorerConfig};
    /// let samples = (0..30)
    ///     .map(|k| PoseSample { index: k, time: k as f64 / 30.0, frame_time: k as f64 / 30.0, pose: None })
    ///     .collect();
    /// let track = PoseTrack { fps: 30.0, width: 640, height: 480, source: None, samples };
    /// let scorer = Scorer::new(ScorerConfig::default())?;
    /// let dance = DancerTrack::from_pose_track(&scorer, &track)?;
    /// assert_eq!((dance.len(), dance.fps()), (30, 30.0));
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn from_pose_track(
        scorer: &Scorer,
        track: &pose_core::extract::PoseTrack,
    ) -> Result<Self, ScoreError> {
        let empty = Pose::from(&pose_core::Pose::default());
        let frames = track
            .samples
            .iter()
            .map(|s| match &s.pose {
                Some(p) => scorer.features(&Pose::from(p)),
                None => scorer.features(&empty),
            })
            .collect();
        DancerTrack::from_features(frames, track.fps as f32)
    }
}
