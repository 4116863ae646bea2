//! The body segments the robust score compares, and the hints it gives about them.

use std::fmt;

use crate::keypoints::Joint;

/// Number of limbs compared.
pub const LIMB_COUNT: usize = 11;

/// A body segment, compared by its direction in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Limb {
    LeftUpperArm,
    LeftForearm,
    RightUpperArm,
    RightForearm,
    LeftThigh,
    LeftShin,
    RightThigh,
    RightShin,
    /// From the middle of the hips to the middle of the shoulders.
    Torso,
    /// From the right shoulder to the left shoulder (how the shoulders tilt and turn).
    Shoulders,
    /// From the right hip to the left hip.
    Hips,
}

impl Limb {
    /// Every limb, in index order (the order of per-limb arrays).
    pub const ALL: [Limb; LIMB_COUNT] = [
        Limb::LeftUpperArm,
        Limb::LeftForearm,
        Limb::RightUpperArm,
        Limb::RightForearm,
        Limb::LeftThigh,
        Limb::LeftShin,
        Limb::RightThigh,
        Limb::RightShin,
        Limb::Torso,
        Limb::Shoulders,
        Limb::Hips,
    ];

    /// Index in per-limb arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The same limb on the other side of the body (the torso is its own mirror).
    pub const fn mirrored(self) -> Limb {
        match self {
            Limb::LeftUpperArm => Limb::RightUpperArm,
            Limb::LeftForearm => Limb::RightForearm,
            Limb::RightUpperArm => Limb::LeftUpperArm,
            Limb::RightForearm => Limb::LeftForearm,
            Limb::LeftThigh => Limb::RightThigh,
            Limb::LeftShin => Limb::RightShin,
            Limb::RightThigh => Limb::LeftThigh,
            Limb::RightShin => Limb::LeftShin,
            Limb::Torso => Limb::Torso,
            Limb::Shoulders => Limb::Shoulders,
            Limb::Hips => Limb::Hips,
        }
    }

    /// The joints a limb goes from and to (`None` for the torso, which joins midpoints).
    /// The shoulder and hip lines go from the right side to the left side.
    pub const fn joints(self) -> Option<(Joint, Joint)> {
        use Joint::*;
        Some(match self {
            Limb::LeftUpperArm => (LeftShoulder, LeftElbow),
            Limb::LeftForearm => (LeftElbow, LeftWrist),
            Limb::RightUpperArm => (RightShoulder, RightElbow),
            Limb::RightForearm => (RightElbow, RightWrist),
            Limb::LeftThigh => (LeftHip, LeftKnee),
            Limb::LeftShin => (LeftKnee, LeftAnkle),
            Limb::RightThigh => (RightHip, RightKnee),
            Limb::RightShin => (RightKnee, RightAnkle),
            Limb::Shoulders => (RightShoulder, LeftShoulder),
            Limb::Hips => (RightHip, LeftHip),
            Limb::Torso => return None,
        })
    }

    /// True for the limbs on the person's left side.
    pub const fn is_left(self) -> bool {
        matches!(
            self,
            Limb::LeftUpperArm | Limb::LeftForearm | Limb::LeftThigh | Limb::LeftShin
        )
    }

    /// Words a page can show: "left upper arm", "torso", ...
    pub const fn name(self) -> &'static str {
        match self {
            Limb::LeftUpperArm => "left upper arm",
            Limb::LeftForearm => "left forearm",
            Limb::RightUpperArm => "right upper arm",
            Limb::RightForearm => "right forearm",
            Limb::LeftThigh => "left thigh",
            Limb::LeftShin => "left shin",
            Limb::RightThigh => "right thigh",
            Limb::RightShin => "right shin",
            Limb::Torso => "torso",
            Limb::Shoulders => "shoulders",
            Limb::Hips => "hips",
        }
    }

    /// True for the lines across the body (shoulders, hips), which have a side each end.
    pub const fn is_across(self) -> bool {
        matches!(self, Limb::Shoulders | Limb::Hips)
    }

    /// Its usual length in torso lengths (adult proportions), to tell a limb pointing towards
    /// the camera (shorter in the image, its direction unreliable) from one seen side-on.
    pub const fn typical_length(self) -> f32 {
        match self {
            Limb::LeftUpperArm | Limb::RightUpperArm => 0.65,
            Limb::LeftForearm | Limb::RightForearm => 0.55,
            Limb::LeftThigh | Limb::RightThigh => 0.9,
            Limb::LeftShin | Limb::RightShin => 0.85,
            Limb::Torso => 1.0,
            Limb::Shoulders => 0.75,
            Limb::Hips => 0.5,
        }
    }
}

impl fmt::Display for Limb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a limb, relative to the body (up = from hips to shoulders, out = away from
/// the body's middle), as the user would correct it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Issue {
    /// The limb points lower than the dancer's.
    TooLow,
    /// The limb points higher than the dancer's.
    TooHigh,
    /// The limb points further away from the body than the dancer's.
    TooFarOut,
    /// The limb points closer to the body than the dancer's.
    TooFarIn,
    /// The torso leans further to the person's left than the dancer's.
    LeansLeft,
    /// The torso leans further to the person's right than the dancer's.
    LeansRight,
    /// The shoulders or hips tilt with the person's left side higher than the dancer's.
    LeftSideHigh,
    /// The shoulders or hips tilt with the person's left side lower than the dancer's.
    LeftSideLow,
}

impl Issue {
    /// Words a page can show: "too low", ...
    pub const fn words(self) -> &'static str {
        match self {
            Issue::TooLow => "too low",
            Issue::TooHigh => "too high",
            Issue::TooFarOut => "too far out",
            Issue::TooFarIn => "too far in",
            Issue::LeansLeft => "leans too far left",
            Issue::LeansRight => "leans too far right",
            Issue::LeftSideHigh => "tilted, left side too high",
            Issue::LeftSideLow => "tilted, left side too low",
        }
    }
}

/// The user's worst limb and what is wrong with it, e.g. "left forearm too low".
///
/// ```
/// use pose_score::{Hint, Issue, Limb};
/// let h = Hint { limb: Limb::LeftForearm, issue: Issue::TooLow, score: 0.2 };
/// assert_eq!(h.to_string(), "left forearm too low");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hint {
    /// The user's limb (already swapped back when the comparison was mirrored).
    pub limb: Limb,
    /// What is wrong with it.
    pub issue: Issue,
    /// That limb's score, 0..=1.
    pub score: f32,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.limb, self.issue.words())
    }
}
