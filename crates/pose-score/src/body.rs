//! A pose reduced to the joints the score uses, centred on the hips and scaled by the torso.

use crate::keypoints::{Joint, Pose};

/// The 12 score joints of one person, visible ones only, centred on the middle of the hips and
/// divided by the torso length (hip middle to shoulder middle), so the same pose gives the same
/// body wherever the person stands and however far from the camera.
///
/// ```
/// use pose_score::{Body, Joint, Keypoint, Layout, Pose};
/// let mut pts = vec![Keypoint::new(0.0, 0.0, 0.0); 17];
/// pts[5] = Keypoint::new(110.0, 100.0, 1.0); // left shoulder
/// pts[6] = Keypoint::new(90.0, 100.0, 1.0); // right shoulder
/// pts[11] = Keypoint::new(108.0, 150.0, 1.0); // left hip
/// pts[12] = Keypoint::new(92.0, 150.0, 1.0); // right hip
/// let body = Body::from_pose(&Pose::new(Layout::Coco17, pts)?, 0.5);
/// assert_eq!(body.joint(Joint::LeftHip), Some([0.16, 0.0]));
/// assert_eq!(body.joint(Joint::LeftShoulder), Some([0.2, -1.0]));
/// assert_eq!(body.joint(Joint::LeftKnee), None);
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Body {
    joints: [Option<[f32; 2]>; 12],
    centre: [f32; 2],
    scale: f32,
    has_torso: bool,
}

impl Body {
    /// Takes the joints whose visibility is at least `visibility_threshold` (and whose
    /// coordinates are finite), centres and scales them. Without hips the centre is the middle of
    /// the shoulders; without a torso the scale is 1 (the score itself only uses directions).
    pub fn from_pose(pose: &Pose, visibility_threshold: f32) -> Self {
        let mut raw = [None; 12];
        for (slot, joint) in raw.iter_mut().zip(Joint::ALL) {
            let k = pose.joint(joint);
            if k.visibility >= visibility_threshold && k.x.is_finite() && k.y.is_finite() {
                *slot = Some([k.x, k.y]);
            }
        }
        let hips = midpoint(raw[Joint::LeftHip as usize], raw[Joint::RightHip as usize]);
        let shoulders = midpoint(
            raw[Joint::LeftShoulder as usize],
            raw[Joint::RightShoulder as usize],
        );
        let centre = hips.or(shoulders).unwrap_or([0.0, 0.0]);
        let torso = match (hips, shoulders) {
            (Some(h), Some(s)) => {
                Some((s[0] - h[0]).hypot(s[1] - h[1])).filter(|l| *l > 0.0 && l.is_finite())
            }
            _ => None,
        };
        let scale = torso.unwrap_or(1.0);
        let mut joints = [None; 12];
        for (out, r) in joints.iter_mut().zip(raw) {
            *out = r.map(|p| [(p[0] - centre[0]) / scale, (p[1] - centre[1]) / scale]);
        }
        Self {
            joints,
            centre,
            scale,
            has_torso: torso.is_some(),
        }
    }

    /// A joint in body units (origin at the hips, one torso length per unit), if visible.
    pub fn joint(&self, joint: Joint) -> Option<[f32; 2]> {
        self.joints[joint as usize]
    }

    /// Where the origin is in the image.
    pub fn centre(&self) -> [f32; 2] {
        self.centre
    }

    /// Image units per body unit (the torso length).
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The mirror image: x negated and left/right swapped, as a webcam preview shows the user.
    pub fn mirrored(&self) -> Self {
        let mut joints = [None; 12];
        for (i, j) in Joint::ALL.iter().enumerate() {
            // Joint::ALL alternates left, right: swap neighbours.
            let src = if i % 2 == 0 { i + 1 } else { i - 1 };
            joints[*j as usize] = self.joints[src].map(|p| [-p[0], p[1]]);
        }
        Self { joints, ..*self }
    }

    /// True when the scale is the torso length (hips and shoulders both in view).
    pub fn has_torso(&self) -> bool {
        self.has_torso
    }

    /// The middle of the hips (or of whichever hip is visible).
    pub fn hip_middle(&self) -> Option<[f32; 2]> {
        midpoint(self.joint(Joint::LeftHip), self.joint(Joint::RightHip))
    }

    /// The middle of the shoulders (or of whichever shoulder is visible).
    pub fn shoulder_middle(&self) -> Option<[f32; 2]> {
        midpoint(
            self.joint(Joint::LeftShoulder),
            self.joint(Joint::RightShoulder),
        )
    }
}

fn midpoint(a: Option<[f32; 2]>, b: Option<[f32; 2]>) -> Option<[f32; 2]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([(a[0] + b[0]) * 0.5, (a[1] + b[1]) * 0.5]),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::{Keypoint, Layout};

    #[test]
    fn mirror_swaps_sides_and_negates_x() {
        let mut pts = vec![Keypoint::new(0.0, 0.0, 0.0); 33];
        pts[11] = Keypoint::new(120.0, 100.0, 1.0); // left shoulder
        pts[23] = Keypoint::new(110.0, 150.0, 1.0); // left hip
        pts[24] = Keypoint::new(90.0, 150.0, 1.0); // right hip
        let body = Body::from_pose(
            &Pose::new(Layout::BlazePose33, pts).expect("33 points"),
            0.5,
        );
        let m = body.mirrored();
        assert_eq!(
            m.joint(Joint::RightShoulder),
            body.joint(Joint::LeftShoulder).map(|p| [-p[0], p[1]])
        );
        assert_eq!(m.joint(Joint::LeftShoulder), None);
        assert_eq!(m.mirrored(), body);
    }
}
