//! Plain keypoint types any pose source can fill: BlazePose-33, COCO-17 or OpenPose-18 points with
//! a visibility each, in image units (x right, y down, the same unit on both axes, e.g. pixels).

use crate::error::ScoreError;
use crate::table::check_values;

/// One keypoint: position in image units (x right, y down) and a visibility in [0, 1]
/// (a detector's confidence; 0 for a missing point).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Keypoint {
    /// Horizontal position (same unit as `y`, e.g. pixels).
    pub x: f32,
    /// Vertical position, growing downwards.
    pub y: f32,
    /// How sure the source is that the point is visible, 0..=1.
    pub visibility: f32,
}

impl Keypoint {
    /// A keypoint.
    pub const fn new(x: f32, y: f32, visibility: f32) -> Self {
        Self { x, y, visibility }
    }
}

/// The joints the robust score uses, common to every layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Joint {
    LeftShoulder,
    RightShoulder,
    LeftElbow,
    RightElbow,
    LeftWrist,
    RightWrist,
    LeftHip,
    RightHip,
    LeftKnee,
    RightKnee,
    LeftAnkle,
    RightAnkle,
}

impl Joint {
    /// Every joint, in index order.
    pub const ALL: [Joint; 12] = [
        Joint::LeftShoulder,
        Joint::RightShoulder,
        Joint::LeftElbow,
        Joint::RightElbow,
        Joint::LeftWrist,
        Joint::RightWrist,
        Joint::LeftHip,
        Joint::RightHip,
        Joint::LeftKnee,
        Joint::RightKnee,
        Joint::LeftAnkle,
        Joint::RightAnkle,
    ];
}

/// Which keypoint convention a pose uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// MediaPipe BlazePose, 33 landmarks (11/12 shoulders, 23/24 hips, ...).
    BlazePose33,
    /// COCO, 17 keypoints (5/6 shoulders, 11/12 hips, ...), e.g. MoveNet, YOLO-pose.
    Coco17,
    /// OpenPose COCO-18 (1 neck, 2/5 shoulders, 8/11 hips, ...), the old project's rows.
    OpenPose18,
}

impl Layout {
    /// Number of keypoints in this layout.
    pub const fn point_count(self) -> usize {
        match self {
            Layout::BlazePose33 => 33,
            Layout::Coco17 => 17,
            Layout::OpenPose18 => 18,
        }
    }

    /// Index of `joint` in this layout.
    pub const fn index(self, joint: Joint) -> usize {
        use Joint::*;
        // Order of Joint::ALL.
        let table: [usize; 12] = match self {
            Layout::BlazePose33 => [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28],
            Layout::Coco17 => [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
            Layout::OpenPose18 => [5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10],
        };
        table[match joint {
            LeftShoulder => 0,
            RightShoulder => 1,
            LeftElbow => 2,
            RightElbow => 3,
            LeftWrist => 4,
            RightWrist => 5,
            LeftHip => 6,
            RightHip => 7,
            LeftKnee => 8,
            RightKnee => 9,
            LeftAnkle => 10,
            RightAnkle => 11,
        }]
    }
}

/// One person's keypoints in a known layout.
///
/// ```
/// use pose_score::{Keypoint, Layout, Pose};
/// let pose = Pose::new(Layout::Coco17, vec![Keypoint::new(10.0, 20.0, 0.9); 17])?;
/// assert_eq!(pose.points().len(), 17);
/// assert!(Pose::new(Layout::Coco17, vec![Keypoint::default(); 33]).is_err());
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pose {
    layout: Layout,
    points: Vec<Keypoint>,
}

impl Pose {
    /// A pose; `points` must have exactly `layout.point_count()` entries.
    pub fn new(layout: Layout, points: Vec<Keypoint>) -> Result<Self, ScoreError> {
        if points.len() != layout.point_count() {
            return Err(ScoreError::RowLength {
                row: 0,
                expected: layout.point_count(),
                got: points.len(),
            });
        }
        Ok(Self { layout, points })
    }

    /// A pose whose point count is known to match its layout.
    #[cfg_attr(not(feature = "pose-core"), allow(dead_code))]
    pub(crate) fn from_parts(layout: Layout, points: Vec<Keypoint>) -> Self {
        debug_assert_eq!(points.len(), layout.point_count());
        Self { layout, points }
    }

    /// An old OpenPose-18 row of 36 numbers (x, y per part; a part at (0, 0) is missing and gets
    /// visibility 0, every other part visibility 1).
    ///
    /// ```
    /// use pose_score::{Layout, Pose};
    /// let mut row = [100.0f64; 36];
    /// row[0] = 0.0;
    /// row[1] = 0.0;
    /// let pose = Pose::from_openpose_row(&row)?;
    /// assert_eq!(pose.layout(), Layout::OpenPose18);
    /// assert_eq!(pose.points()[0].visibility, 0.0);
    /// assert_eq!(pose.points()[1].visibility, 1.0);
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn from_openpose_row(row: &[f64]) -> Result<Self, ScoreError> {
        if row.len() != 36 {
            return Err(ScoreError::RowLength {
                row: 0,
                expected: 36,
                got: row.len(),
            });
        }
        check_values(0, row)?;
        let points = row
            .chunks_exact(2)
            .map(|p| {
                let seen = p[0] != 0.0 || p[1] != 0.0;
                Keypoint::new(p[0] as f32, p[1] as f32, if seen { 1.0 } else { 0.0 })
            })
            .collect();
        Ok(Self {
            layout: Layout::OpenPose18,
            points,
        })
    }

    /// A row of `x, y, visibility` triples in `layout` (3 x `layout.point_count()` numbers).
    ///
    /// ```
    /// use pose_score::{Layout, Pose};
    /// let pose = Pose::from_xyv_row(Layout::Coco17, &[0.5f64; 51])?;
    /// assert_eq!(pose.points()[16].visibility, 0.5);
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn from_xyv_row(layout: Layout, row: &[f64]) -> Result<Self, ScoreError> {
        if row.len() != 3 * layout.point_count() {
            return Err(ScoreError::RowLength {
                row: 0,
                expected: 3 * layout.point_count(),
                got: row.len(),
            });
        }
        check_values(0, row)?;
        let points = row
            .chunks_exact(3)
            .map(|p| Keypoint::new(p[0] as f32, p[1] as f32, p[2] as f32))
            .collect();
        Ok(Self { layout, points })
    }

    /// A table row of any width this crate knows: 36 (OpenPose-18 x,y, 0 = missing),
    /// 51 (COCO-17 x,y,visibility) or 99 (BlazePose-33 x,y,visibility).
    pub fn from_row(row: &[f64]) -> Result<Self, ScoreError> {
        match row.len() {
            36 => Self::from_openpose_row(row),
            51 => Self::from_xyv_row(Layout::Coco17, row),
            99 => Self::from_xyv_row(Layout::BlazePose33, row),
            n => Err(ScoreError::RowLength {
                row: 0,
                expected: 36,
                got: n,
            }),
        }
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The keypoints, in layout order.
    pub fn points(&self) -> &[Keypoint] {
        &self.points
    }

    /// The keypoint of `joint`.
    pub fn joint(&self, joint: Joint) -> Keypoint {
        // A deserialised pose may be short: a missing point is simply not visible.
        self.points
            .get(self.layout.index(joint))
            .copied()
            .unwrap_or_default()
    }
}

/// Row widths [`Pose::from_row`] accepts.
pub const ROW_WIDTHS: [usize; 3] = [36, 51, 99];
