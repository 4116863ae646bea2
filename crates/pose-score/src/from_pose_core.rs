//! From pose-core to the scorer in one call (feature `pose-core`): a [`pose_core::Pose`] becomes
//! a BlazePose-33 [`Pose`], the old project's 36-number row (through pose-core's one
//! BlazePose -> OpenPose-18 mapping, [`pose_core::Pose::to_openpose18`]), and a
//! [`pose_core::extract::PoseTrack`] a [`DancerTrack`]; for the view score, its world landmarks
//! a [`WorldPose`] and the track a [`ViewTrack`].

use crate::error::ScoreError;
use crate::keypoints::{Keypoint, Layout, Pose};
use crate::scorer::Scorer;
use crate::view::{ViewScorer, ViewTrack, WorldPose};
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

/// The 12 score joints of a pose-core pose in 3D (its world landmarks, metres, with the image
/// landmarks' visibilities) for the view score; `None` when the pose has no world landmarks.
///
/// ```
/// let found = pose_core::Pose::default();
/// assert!(pose_score::world_pose(&found).is_none());
/// let with_world = found.with_world([[0.0, 0.0, 0.0]; 33]);
/// assert!(pose_score::world_pose(&with_world).is_some());
/// ```
pub fn world_pose(pose: &pose_core::Pose) -> Option<WorldPose> {
    let world = pose.world.as_ref()?;
    let visibility = pose.landmarks.map(|l| l.visibility);
    WorldPose::from_blazepose(world, &visibility).ok()
}

impl ViewTrack {
    /// The dance of a pose-core track for the view score (world landmarks where the samples
    /// have them, the 2D fallback elsewhere), at the samples' times.
    ///
    /// # Errors
    /// As [`ViewTrack::new`] (an empty track, too many samples, times not increasing).
    ///
    /// ```
    /// use pose_core::extract::{PoseSample, PoseTrack};
    /// use pose_score::{ViewConfig, ViewScorer, ViewTrack};
    /// let samples = (0..30)
    ///     .map(|k| PoseSample { index: k, time: k as f64 / 30.0, frame_time: k as f64 / 30.0, pose: None })
    ///     .collect();
    /// let track = PoseTrack { fps: 30.0, width: 640, height: 480, source: None, samples };
    /// let scorer = ViewScorer::new(ViewConfig::default())?;
    /// assert_eq!(ViewTrack::from_pose_track(&scorer, &track)?.len(), 30);
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn from_pose_track(
        scorer: &ViewScorer,
        track: &pose_core::extract::PoseTrack,
    ) -> Result<Self, ScoreError> {
        let empty = pose_core::Pose::default();
        let (times, frames) = track
            .samples
            .iter()
            .map(|s| {
                let p = s.pose.as_ref().unwrap_or(&empty);
                let features = scorer.features(&Pose::from(p), world_pose(p).as_ref());
                (s.time as f32, features)
            })
            .unzip();
        ViewTrack::new(times, frames)
    }
}
