//! The pipeline's output types: [`Landmark`], [`LandmarkName`], [`Pose`], and the conversions to
//! COCO-17 and to the old project's OpenPose / tf-pose COCO-18 layout.
//!
//! Coordinates are image pixels (origin top-left, x right, y down); `z` is in the same pixel
//! units as x (MediaPipe's normalized z times the ROI size, like the golden JSON), smaller is
//! nearer the camera, origin roughly at the hips. `visibility` and `presence` are probabilities in
//! `[0, 1]`. "Left" and "right" are the person's own sides.
//!
//! ```
//! use pose_core::pose::{Landmark, LandmarkName, Pose};
//!
//! let mut pose = Pose::default();
//! pose.landmarks[LandmarkName::LeftShoulder.index()] = Landmark::new(120.0, 80.0, 0.0, 0.9, 0.9);
//! pose.landmarks[LandmarkName::RightShoulder.index()] = Landmark::new(80.0, 84.0, 0.0, 0.8, 0.9);
//! let op = pose.to_openpose18();
//! // Neck (part 1) is the midpoint of the shoulders; the nose (part 0) is invisible, so 0.
//! assert_eq!(&op[0..4], &[0.0, 0.0, 100.0, 82.0]);
//! ```

use serde::{Deserialize, Serialize};

/// Number of BlazePose landmarks in a [`Pose`].
pub const NUM_LANDMARKS: usize = 33;

/// Visibility below which a landmark counts as missing in the OpenPose-18 output (MediaPipe's
/// drawing utilities use the same 0.5).
pub const DEFAULT_MIN_VISIBILITY: f32 = 0.5;

/// One BlazePose landmark.
///
/// Serialized compactly as `[x, y, z, visibility, presence]` (the `pose` CLI's JSON format).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "[f32; 5]", into = "[f32; 5]")]
pub struct Landmark {
    /// Horizontal position in image pixels.
    pub x: f32,
    /// Vertical position in image pixels (down is positive).
    pub y: f32,
    /// Depth in pixel units (relative to the hips, smaller is nearer the camera).
    pub z: f32,
    /// Probability that the landmark is visible (not occluded), in `[0, 1]`.
    pub visibility: f32,
    /// Probability that the landmark is inside the image, in `[0, 1]`.
    pub presence: f32,
}

impl Landmark {
    /// A landmark from its five values.
    pub const fn new(x: f32, y: f32, z: f32, visibility: f32, presence: f32) -> Self {
        Self {
            x,
            y,
            z,
            visibility,
            presence,
        }
    }

    /// True when the position is finite and `visibility >= min_visibility` (NaN counts as not
    /// visible).
    ///
    /// ```
    /// use pose_core::pose::Landmark;
    /// assert!(Landmark::new(1.0, 2.0, 0.0, 0.7, 1.0).is_visible(0.5));
    /// assert!(!Landmark::new(1.0, 2.0, 0.0, 0.3, 1.0).is_visible(0.5));
    /// ```
    pub fn is_visible(&self, min_visibility: f32) -> bool {
        self.visibility >= min_visibility && self.x.is_finite() && self.y.is_finite()
    }
}

impl From<[f32; 5]> for Landmark {
    fn from(v: [f32; 5]) -> Self {
        Self::new(v[0], v[1], v[2], v[3], v[4])
    }
}

impl From<Landmark> for [f32; 5] {
    fn from(l: Landmark) -> Self {
        [l.x, l.y, l.z, l.visibility, l.presence]
    }
}

macro_rules! landmark_names {
    ($($variant:ident = $idx:literal, $name:literal;)*) => {
        /// The 33 BlazePose landmarks, in the model's output order (`as usize` is the index).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum LandmarkName {
            $(
                #[doc = concat!("`", $name, "` (index ", stringify!($idx), ").")]
                $variant = $idx,
            )*
        }

        impl LandmarkName {
            /// All 33 names in index order.
            pub const ALL: [LandmarkName; NUM_LANDMARKS] = [$(LandmarkName::$variant,)*];

            /// MediaPipe's snake_case name, e.g. `"left_shoulder"`.
            ///
            /// ```
            /// use pose_core::pose::LandmarkName;
            /// assert_eq!(LandmarkName::LeftShoulder.name(), "left_shoulder");
            /// ```
            pub const fn name(self) -> &'static str {
                match self {
                    $(LandmarkName::$variant => $name,)*
                }
            }
        }
    };
}

landmark_names! {
    Nose = 0, "nose";
    LeftEyeInner = 1, "left_eye_inner";
    LeftEye = 2, "left_eye";
    LeftEyeOuter = 3, "left_eye_outer";
    RightEyeInner = 4, "right_eye_inner";
    RightEye = 5, "right_eye";
    RightEyeOuter = 6, "right_eye_outer";
    LeftEar = 7, "left_ear";
    RightEar = 8, "right_ear";
    MouthLeft = 9, "mouth_left";
    MouthRight = 10, "mouth_right";
    LeftShoulder = 11, "left_shoulder";
    RightShoulder = 12, "right_shoulder";
    LeftElbow = 13, "left_elbow";
    RightElbow = 14, "right_elbow";
    LeftWrist = 15, "left_wrist";
    RightWrist = 16, "right_wrist";
    LeftPinky = 17, "left_pinky";
    RightPinky = 18, "right_pinky";
    LeftIndex = 19, "left_index";
    RightIndex = 20, "right_index";
    LeftThumb = 21, "left_thumb";
    RightThumb = 22, "right_thumb";
    LeftHip = 23, "left_hip";
    RightHip = 24, "right_hip";
    LeftKnee = 25, "left_knee";
    RightKnee = 26, "right_knee";
    LeftAnkle = 27, "left_ankle";
    RightAnkle = 28, "right_ankle";
    LeftHeel = 29, "left_heel";
    RightHeel = 30, "right_heel";
    LeftFootIndex = 31, "left_foot_index";
    RightFootIndex = 32, "right_foot_index";
}

impl LandmarkName {
    /// Index into [`Pose::landmarks`] (0..33).
    ///
    /// ```
    /// use pose_core::pose::LandmarkName;
    /// assert_eq!(LandmarkName::RightHip.index(), 24);
    /// ```
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name at `index`, `None` when `index >= 33`.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The name from MediaPipe's snake_case spelling.
    ///
    /// ```
    /// use pose_core::pose::LandmarkName;
    /// assert_eq!(LandmarkName::from_name("left_heel"), Some(LandmarkName::LeftHeel));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|n| n.name() == name)
    }

    /// The person's side: `Some(Side::Left)`, `Some(Side::Right)`, or `None` for the nose.
    pub const fn side(self) -> Option<Side> {
        let i = self as usize;
        if i == 0 {
            None
        } else if i <= 3 || (i >= 7 && i % 2 == 1) {
            Some(Side::Left)
        } else {
            Some(Side::Right)
        }
    }
}

impl std::fmt::Display for LandmarkName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A body side, from the person's own point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The person's left.
    Left,
    /// The person's right.
    Right,
}

/// MediaPipe's `POSE_CONNECTIONS`: the 35 skeleton edges (landmark index pairs) used for drawing.
pub const POSE_CONNECTIONS: [(usize, usize); 35] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 7),
    (0, 4),
    (4, 5),
    (5, 6),
    (6, 8),
    (9, 10),
    (11, 12),
    (11, 13),
    (13, 15),
    (15, 17),
    (15, 19),
    (15, 21),
    (17, 19),
    (12, 14),
    (14, 16),
    (16, 18),
    (16, 20),
    (16, 22),
    (18, 20),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (24, 26),
    (25, 27),
    (26, 28),
    (27, 29),
    (28, 30),
    (29, 31),
    (30, 32),
    (27, 31),
    (28, 32),
];

/// COCO-17 keypoint names, in COCO order.
pub const COCO17_NAMES: [&str; 17] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

/// BlazePose landmark index for each COCO-17 slot.
pub const COCO17_FROM_BLAZEPOSE: [usize; 17] = [
    0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28,
];

/// OpenPose / tf-pose COCO-18 part names, in the old project's order.
pub const COCO18_NAMES: [&str; 18] = [
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
];

/// Where a COCO-18 part comes from in BlazePose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coco18Source {
    /// One BlazePose landmark.
    Landmark(usize),
    /// The midpoint of two landmarks (x, y, z averaged; visibility = the smaller one).
    Midpoint(usize, usize),
}

/// BlazePose source of each COCO-18 part (Neck = midpoint of the shoulders 11 and 12).
pub const COCO18_FROM_BLAZEPOSE: [Coco18Source; 18] = {
    use Coco18Source::{Landmark as L, Midpoint as M};
    [
        L(0),
        M(11, 12),
        L(12),
        L(14),
        L(16),
        L(11),
        L(13),
        L(15),
        L(24),
        L(26),
        L(28),
        L(23),
        L(25),
        L(27),
        L(5),
        L(2),
        L(8),
        L(7),
    ]
};

/// A 2D keypoint of a converted skeleton (COCO-17 or COCO-18).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Keypoint {
    /// Horizontal position in image pixels.
    pub x: f32,
    /// Vertical position in image pixels.
    pub y: f32,
    /// Visibility probability in `[0, 1]`.
    pub visibility: f32,
}

/// BlazePose's 33 world landmarks: `[x, y, z]` in metres, origin between the hips, in
/// [`LandmarkName`] order (model output `Identity_4`, rotated by the ROI rotation like
/// MediaPipe's `WorldLandmarkProjectionCalculator`: x right, y down, z away from the camera, as
/// the image axes). Their visibility is the image landmark's.
pub type WorldLandmarks = [[f32; 3]; NUM_LANDMARKS];

/// One person's 33 landmarks and the pose score (the landmark model's pose presence, or the
/// detector score when no landmark model ran), with the 3D world landmarks when the model gave
/// them.
///
/// Serializes as `{"landmarks": [[x, y, z, visibility, presence], ... 33], "score": S,
/// "world": [[x, y, z], ... 33]}`; `"world"` is left out when absent, and JSON without it (files
/// written before it existed) still reads.
///
/// ```
/// use pose_core::pose::Pose;
/// let old = format!("{{\"landmarks\":[{}],\"score\":0.9}}", vec!["[1,2,0,0.9,0.9]"; 33].join(","));
/// let pose: Pose = serde_json::from_str(&old)?;
/// assert!(pose.world.is_none());
/// let with_world = pose.with_world([[0.1, -0.5, 0.0]; 33]);
/// let text = serde_json::to_string(&with_world)?;
/// assert!(text.contains("\"world\":[[0.1,-0.5,0.0],"));
/// assert_eq!(serde_json::from_str::<Pose>(&text)?, with_world);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// The 33 landmarks in [`LandmarkName`] order.
    #[serde(with = "landmark_array")]
    pub landmarks: [Landmark; NUM_LANDMARKS],
    /// Pose score in `[0, 1]`.
    pub score: f32,
    /// The 33 world landmarks in metres, when the landmark model gave them.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "world_array")]
    pub world: Option<WorldLandmarks>,
}

impl Default for Pose {
    /// All landmarks zero (invisible), score 0, no world landmarks.
    fn default() -> Self {
        Self {
            landmarks: [Landmark::default(); NUM_LANDMARKS],
            score: 0.0,
            world: None,
        }
    }
}

impl Pose {
    /// A pose from its landmarks and score (no world landmarks).
    pub const fn new(landmarks: [Landmark; NUM_LANDMARKS], score: f32) -> Self {
        Self {
            landmarks,
            score,
            world: None,
        }
    }

    /// The same pose with these world landmarks.
    pub const fn with_world(mut self, world: WorldLandmarks) -> Self {
        self.world = Some(world);
        self
    }

    /// The landmark called `name`.
    ///
    /// ```
    /// use pose_core::pose::{LandmarkName, Pose};
    /// let pose = Pose::default();
    /// assert_eq!(pose.landmark(LandmarkName::Nose).x, 0.0);
    /// ```
    pub fn landmark(&self, name: LandmarkName) -> &Landmark {
        &self.landmarks[name.index()]
    }

    /// The 17 COCO keypoints (order [`COCO17_NAMES`], mapping [`COCO17_FROM_BLAZEPOSE`]).
    pub fn to_coco17(&self) -> [Keypoint; 17] {
        COCO17_FROM_BLAZEPOSE.map(|i| {
            let l = &self.landmarks[i];
            Keypoint {
                x: l.x,
                y: l.y,
                visibility: l.visibility,
            }
        })
    }

    /// The 18 OpenPose parts (order [`COCO18_NAMES`], mapping [`COCO18_FROM_BLAZEPOSE`]); the
    /// Neck is the shoulders' midpoint with the smaller of their visibilities.
    pub fn to_coco18(&self) -> [Keypoint; 18] {
        COCO18_FROM_BLAZEPOSE.map(|src| match src {
            Coco18Source::Landmark(i) => {
                let l = &self.landmarks[i];
                Keypoint {
                    x: l.x,
                    y: l.y,
                    visibility: l.visibility,
                }
            }
            Coco18Source::Midpoint(a, b) => {
                let (a, b) = (&self.landmarks[a], &self.landmarks[b]);
                Keypoint {
                    x: (a.x + b.x) * 0.5,
                    y: (a.y + b.y) * 0.5,
                    visibility: a.visibility.min(b.visibility),
                }
            }
        })
    }

    /// The old project's 36 numbers: OpenPose-18 parts as `x0, y0, x1, y1, ...` in pixels, with
    /// `0, 0` for a missing part. "Missing" means visibility below [`DEFAULT_MIN_VISIBILITY`]
    /// (0.5), or a non-finite position; see [`Pose::to_openpose18_with`].
    pub fn to_openpose18(&self) -> [f32; 36] {
        self.to_openpose18_with(DEFAULT_MIN_VISIBILITY)
    }

    /// [`Pose::to_openpose18`] with an explicit visibility threshold: a part whose visibility is
    /// below `min_visibility` (for the Neck: either shoulder's) is written as `0, 0`.
    ///
    /// ```
    /// use pose_core::pose::{Landmark, Pose};
    /// let mut pose = Pose::default();
    /// pose.landmarks[0] = Landmark::new(10.0, 20.0, 0.0, 0.3, 1.0);
    /// assert_eq!(&pose.to_openpose18_with(0.5)[..2], &[0.0, 0.0]);
    /// assert_eq!(&pose.to_openpose18_with(0.2)[..2], &[10.0, 20.0]);
    /// ```
    pub fn to_openpose18_with(&self, min_visibility: f32) -> [f32; 36] {
        let mut out = [0.0f32; 36];
        for (k, kp) in self.to_coco18().iter().enumerate() {
            let present = kp.visibility >= min_visibility && kp.x.is_finite() && kp.y.is_finite();
            if present {
                out[2 * k] = kp.x;
                out[2 * k + 1] = kp.y;
            }
        }
        out
    }

    /// Axis-aligned box `(min_x, min_y, max_x, max_y)` of the landmarks with visibility at least
    /// `min_visibility`; `None` when there is none.
    pub fn bounding_box(&self, min_visibility: f32) -> Option<(f32, f32, f32, f32)> {
        let mut it = self
            .landmarks
            .iter()
            .filter(|l| l.is_visible(min_visibility));
        let first = it.next()?;
        Some(it.fold(
            (first.x, first.y, first.x, first.y),
            |(x0, y0, x1, y1), l| (x0.min(l.x), y0.min(l.y), x1.max(l.x), y1.max(l.y)),
        ))
    }
}

/// Serde for `[Landmark; 33]` (serde's array impls stop at 32): a sequence of exactly 33.
mod landmark_array {
    use super::{Landmark, NUM_LANDMARKS};
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &[Landmark; NUM_LANDMARKS],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(NUM_LANDMARKS)?;
        for l in v {
            t.serialize_element(l)?;
        }
        t.end()
    }

    struct V;

    impl<'de> Visitor<'de> for V {
        type Value = [Landmark; NUM_LANDMARKS];

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a sequence of {NUM_LANDMARKS} landmarks")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = [Landmark::default(); NUM_LANDMARKS];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(i, &self))?;
            }
            if seq.next_element::<Landmark>()?.is_some() {
                return Err(A::Error::invalid_length(NUM_LANDMARKS + 1, &self));
            }
            Ok(out)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[Landmark; NUM_LANDMARKS], D::Error> {
        d.deserialize_tuple(NUM_LANDMARKS, V)
    }
}

/// Serde for `Option<[[f32; 3]; 33]>`: `null`/absent or a sequence of exactly 33 `[x, y, z]`.
mod world_array {
    use super::{NUM_LANDMARKS, WorldLandmarks};
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &Option<WorldLandmarks>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(points) => {
                let mut t = s.serialize_tuple(NUM_LANDMARKS)?;
                for p in points {
                    t.serialize_element(p)?;
                }
                t.end()
            }
        }
    }

    struct Points;

    impl<'de> Visitor<'de> for Points {
        type Value = Option<WorldLandmarks>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "null or a sequence of {NUM_LANDMARKS} [x, y, z] points")
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = [[0.0f32; 3]; NUM_LANDMARKS];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(i, &self))?;
            }
            if seq.next_element::<[f32; 3]>()?.is_some() {
                return Err(A::Error::invalid_length(NUM_LANDMARKS + 1, &self));
            }
            Ok(Some(out))
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<WorldLandmarks>, D::Error> {
        d.deserialize_option(Points)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample_pose() -> Pose {
        let mut landmarks = [Landmark::default(); NUM_LANDMARKS];
        for (i, l) in landmarks.iter_mut().enumerate() {
            *l = Landmark::new(
                10.0 * i as f32,
                5.0 * i as f32 + 1.0,
                -(i as f32),
                0.9,
                0.95,
            );
        }
        Pose::new(landmarks, 0.8)
    }

    #[test]
    fn names_are_in_index_order_and_match_the_readme_table() {
        let expected = [
            "nose",
            "left_eye_inner",
            "left_eye",
            "left_eye_outer",
            "right_eye_inner",
            "right_eye",
            "right_eye_outer",
            "left_ear",
            "right_ear",
            "mouth_left",
            "mouth_right",
            "left_shoulder",
            "right_shoulder",
            "left_elbow",
            "right_elbow",
            "left_wrist",
            "right_wrist",
            "left_pinky",
            "right_pinky",
            "left_index",
            "right_index",
            "left_thumb",
            "right_thumb",
            "left_hip",
            "right_hip",
            "left_knee",
            "right_knee",
            "left_ankle",
            "right_ankle",
            "left_heel",
            "right_heel",
            "left_foot_index",
            "right_foot_index",
        ];
        for (i, n) in LandmarkName::ALL.iter().enumerate() {
            assert_eq!(n.index(), i);
            assert_eq!(n.name(), expected[i]);
            assert_eq!(LandmarkName::from_index(i), Some(*n));
            assert_eq!(LandmarkName::from_name(expected[i]), Some(*n));
            let side = n.side();
            if i == 0 {
                assert_eq!(side, None);
            } else if n.name().starts_with("left") || n.name() == "mouth_left" {
                assert_eq!(side, Some(Side::Left), "{n}");
            } else {
                assert_eq!(side, Some(Side::Right), "{n}");
            }
        }
        assert_eq!(LandmarkName::from_index(33), None);
        assert_eq!(
            serde_json::to_string(&LandmarkName::LeftFootIndex).unwrap(),
            "\"left_foot_index\""
        );
    }

    #[test]
    fn coco17_follows_the_mapping_by_name() {
        let pose = sample_pose();
        let coco = pose.to_coco17();
        for (k, name) in COCO17_NAMES.iter().enumerate() {
            let l = pose.landmark(LandmarkName::from_name(name).unwrap());
            assert_eq!(
                coco[k],
                Keypoint {
                    x: l.x,
                    y: l.y,
                    visibility: l.visibility
                },
                "{name}"
            );
        }
    }

    #[test]
    fn coco18_neck_is_the_shoulder_midpoint_and_parts_follow_the_table() {
        let mut pose = sample_pose();
        pose.landmarks[11].visibility = 0.7;
        pose.landmarks[12].visibility = 0.6;
        let c = pose.to_coco18();
        let ls = pose.landmark(LandmarkName::LeftShoulder);
        let rs = pose.landmark(LandmarkName::RightShoulder);
        assert_eq!(c[1].x, (ls.x + rs.x) / 2.0);
        assert_eq!(c[1].y, (ls.y + rs.y) / 2.0);
        assert_eq!(c[1].visibility, 0.6);
        // Map OpenPose names to BlazePose names: R/L prefix -> right_/left_.
        for (k, op) in COCO18_NAMES.iter().enumerate() {
            if *op == "Neck" {
                continue;
            }
            let bp = match *op {
                "Nose" => "nose".to_string(),
                _ => {
                    let (side, part) = op.split_at(1);
                    let side = if side == "R" { "right" } else { "left" };
                    format!("{side}_{}", part.to_lowercase())
                }
            };
            let l = pose.landmark(LandmarkName::from_name(&bp).unwrap());
            assert_eq!((c[k].x, c[k].y), (l.x, l.y), "{op} <- {bp}");
        }
    }

    #[test]
    fn openpose18_layout_and_missing_parts() {
        let mut pose = sample_pose();
        pose.landmarks[LandmarkName::LeftWrist.index()].visibility = 0.2; // LWrist = part 7
        pose.landmarks[LandmarkName::RightShoulder.index()].visibility = 0.49; // RShoulder + Neck
        pose.landmarks[LandmarkName::Nose.index()].x = f32::NAN;
        let op = pose.to_openpose18();
        assert_eq!(&op[0..2], &[0.0, 0.0], "nose NaN -> missing");
        assert_eq!(&op[2..4], &[0.0, 0.0], "neck uses min visibility");
        assert_eq!(&op[4..6], &[0.0, 0.0], "RShoulder");
        assert_eq!(&op[14..16], &[0.0, 0.0], "LWrist");
        assert_eq!(&op[10..12], &[110.0, 56.0], "LShoulder = landmark 11");
        assert_eq!(&op[34..36], &[70.0, 36.0], "LEar = landmark 7");
        let lenient = pose.to_openpose18_with(0.1);
        assert_eq!(&lenient[2..4], &[115.0, 58.5]);
    }

    #[test]
    fn serde_round_trip_uses_the_cli_shape() {
        let pose = sample_pose();
        let s = serde_json::to_string(&pose).unwrap();
        assert!(
            s.starts_with("{\"landmarks\":[[0.0,1.0,-0.0,0.9,0.95],[10.0,6.0,-1.0,0.9,0.95]"),
            "{s}"
        );
        let back: Pose = serde_json::from_str(&s).unwrap();
        assert_eq!(back, pose);
        let short = s.replacen("[0.0,1.0,-0.0,0.9,0.95],", "", 1);
        assert!(serde_json::from_str::<Pose>(&short).is_err());
    }

    #[test]
    fn world_landmarks_round_trip_and_are_optional() {
        let world: WorldLandmarks = std::array::from_fn(|i| {
            [
                0.01 * i as f32,
                -0.333_333_3 * i as f32,
                1.0 / (i as f32 + 3.0),
            ]
        });
        let pose = sample_pose().with_world(world);
        let s = serde_json::to_string(&pose).unwrap();
        assert!(
            s.contains(",\"world\":[[0.0,-0.0,0.33333334],[0.01,"),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<Pose>(&s).unwrap(), pose);
        // Absent and null both read as None; a pose without world writes no "world" key.
        let plain = serde_json::to_string(&sample_pose()).unwrap();
        assert!(!plain.contains("world"));
        assert_eq!(serde_json::from_str::<Pose>(&plain).unwrap().world, None);
        let null = plain.replacen('}', ",\"world\":null}", 1);
        assert_eq!(serde_json::from_str::<Pose>(&null).unwrap().world, None);
        // 32 or 34 points are refused.
        let short = s.replacen("[0.0,-0.0,0.33333334],", "", 1);
        assert!(serde_json::from_str::<Pose>(&short).is_err());
        let long = s.replacen(
            "[0.0,-0.0,0.33333334],",
            "[0.0,-0.0,0.33333334],[1,2,3],",
            1,
        );
        assert!(serde_json::from_str::<Pose>(&long).is_err());
    }

    #[test]
    fn connections_are_valid_and_symmetric() {
        for (a, b) in POSE_CONNECTIONS {
            assert!(a < NUM_LANDMARKS && b < NUM_LANDMARKS && a != b);
        }
        let bbox = sample_pose().bounding_box(0.5).unwrap();
        assert_eq!(bbox, (0.0, 1.0, 320.0, 161.0));
    }
}
