//! The view-invariant score: the body's configuration in 3D (BlazePose world landmarks),
//! compared in the body's own frame, so the camera's position does not matter.
//!
//! Each pose is turned into limb directions in a frame attached to the body ([`BodyFrame`]):
//! translation and scale drop out (only directions are compared) and so does the rotation
//! between the two bodies (the frame turns with the torso). The limb directions are then compared
//! as the robust score compares them in the image (`cos²(err/2)^p`, per limb, weighted), with
//! each limb's weight taken from the visibility of its ends in both poses. Mirroring works as in
//! the robust score. When either pose has no world landmarks, the comparison falls back to the
//! 2D robust score of the image keypoints, and the result says so ([`ScoreBasis::Image`]).

use std::fmt;

use crate::align::{AlignConfig, Alignment, dtw_align};
use crate::error::ScoreError;
use crate::keypoints::{Joint, Layout, Pose};
use crate::limb::{Hint, Issue, LIMB_COUNT, Limb};
use crate::scorer::{
    Mirror, OutOfView, PoseFeatures, PoseScore, Scorer, ScorerConfig, check_limb_config,
    half_cos_squared, pow_lanes, tolerance_exponent,
};
use crate::window::MAX_TRACK_FRAMES;

/// Lanes per limb array: [`LIMB_COUNT`] rounded up to a multiple of 4.
const SLOTS: usize = LIMB_COUNT.div_ceil(4) * 4;

/// One person's 12 score joints in 3D (e.g. BlazePose world landmarks, metres) with a
/// visibility each.
///
/// Axes as the image's: x right, y down, z away from the camera (BlazePose's world landmarks);
/// any unit, any origin.
///
/// ```
/// use pose_score::{Joint, WorldPose};
/// let points = [[0.0f32, 0.0, 0.0]; 33];
/// let visibility = [0.9f32; 33];
/// let pose = WorldPose::from_blazepose(&points, &visibility)?;
/// assert_eq!(pose.joint(Joint::LeftWrist), ([0.0, 0.0, 0.0], 0.9));
/// assert!(WorldPose::from_blazepose(&points[..17], &visibility).is_err());
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct WorldPose {
    joints: [[f32; 3]; 12],
    visibility: [f32; 12],
}

impl WorldPose {
    /// A pose from its joints in [`Joint::ALL`] order; a joint with a non-finite coordinate or
    /// visibility gets visibility 0.
    pub fn new(joints: [[f32; 3]; 12], visibility: [f32; 12]) -> Self {
        let mut visibility = visibility;
        for (v, p) in visibility.iter_mut().zip(&joints) {
            if !(v.is_finite() && p.iter().all(|c| c.is_finite())) {
                *v = 0.0;
            }
        }
        Self { joints, visibility }
    }

    /// The 12 score joints from BlazePose's 33 world landmarks and the 33 image landmarks'
    /// visibilities.
    ///
    /// # Errors
    /// [`ScoreError::RowLength`] when either slice does not have 33 entries.
    pub fn from_blazepose(points: &[[f32; 3]], visibility: &[f32]) -> Result<Self, ScoreError> {
        for len in [points.len(), visibility.len()] {
            if len != 33 {
                return Err(ScoreError::RowLength {
                    row: 0,
                    expected: 33,
                    got: len,
                });
            }
        }
        let index = |j: Joint| Layout::BlazePose33.index(j);
        Ok(Self::new(
            Joint::ALL.map(|j| points[index(j)]),
            Joint::ALL.map(|j| visibility[index(j)]),
        ))
    }

    /// A joint's position and visibility.
    pub fn joint(&self, joint: Joint) -> ([f32; 3], f32) {
        (self.joints[joint as usize], self.visibility[joint as usize])
    }
}

/// The frame the limbs are expressed in before they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFrame {
    /// Up = from the hips to the shoulders, left = the shoulder and hip lines made square to
    /// it: the full rotation between the bodies is removed (a torso lean is not compared, the
    /// limbs relative to the torso are).
    #[default]
    Torso,
    /// Up = the camera's up (-y), left = the shoulder and hip lines turned level: only the
    /// rotation about the vertical is removed (a torso lean is compared, a camera looking down
    /// or up is not corrected).
    Upright,
}

/// Settings of the view-invariant score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ViewConfig {
    /// The frame limbs are compared in (default [`BodyFrame::Torso`]).
    pub frame: BodyFrame,
    /// A joint is used from this visibility on (default 0: BlazePose places hidden joints too).
    pub min_visibility: f32,
    /// A limb's weight in one pose is `min(visibility of its ends)^visibility_power` (default
    /// 0.25; 0 = visibility ignored); the comparison multiplies the two poses' weights. Mild on
    /// purpose: BlazePose places hidden joints well in 3D (power 1 lowered the Pose2Sim AUCs by
    /// 0.01-0.08), while a joint outside the frame (visibility near 0) should count less.
    pub visibility_power: f32,
    /// Fewest limbs compared for a score (default 4 of 11); fewer gives [`OutOfView`].
    pub min_limbs: u32,
    /// The angle error, in degrees, at which a limb scores 0.5 (default 30).
    pub tolerance_deg: f32,
    /// Mirroring (default [`Mirror::Either`]: BlazePose swaps the body's sides in some frames,
    /// seen from the side or behind, which only the mirrored comparison recovers).
    pub mirror: Mirror,
    /// With [`Mirror::Either`], the mirrored comparison's score is lowered by this much (default
    /// 0.05), so it wins only when clearly better than the comparison as seen.
    pub mirror_penalty: f32,
    /// Weight of each limb, in [`Limb::ALL`] order (default 1 for the arms and legs, 0 for the
    /// torso, shoulder and hip lines: in the torso frame they are nearly fixed, and weighting
    /// them lowered the AUC on every Pose2Sim camera pair).
    pub limb_weights: [f32; LIMB_COUNT],
    /// Overall score from which a pose counts as correct (default 0.6: the cut that best
    /// separated the same instant from instants >= 0.3 s apart on the Pose2Sim camera pairs).
    pub correct_from: f32,
    /// A limb scoring below this gets a hint (default 0.5).
    pub hint_below: f32,
    /// Live matching looks at dancer frames within this many seconds (default 0.5).
    pub window_s: f32,
    /// The 2D robust score used when world landmarks are missing (its `mirror` and `window_s`
    /// are replaced by these).
    pub fallback: ScorerConfig,
}

impl Default for ViewConfig {
    fn default() -> Self {
        let mut limb_weights = [1.0; LIMB_COUNT];
        for limb in [Limb::Torso, Limb::Shoulders, Limb::Hips] {
            limb_weights[limb.index()] = 0.0;
        }
        Self {
            frame: BodyFrame::Torso,
            min_visibility: 0.0,
            visibility_power: 0.25,
            min_limbs: 4,
            tolerance_deg: 30.0,
            mirror: Mirror::Either,
            mirror_penalty: 0.05,
            limb_weights,
            correct_from: 0.6,
            hint_below: 0.5,
            window_s: 0.5,
            fallback: ScorerConfig::default(),
        }
    }
}

/// What a score was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreBasis {
    /// Both poses' 3D world landmarks (the view-invariant score).
    World,
    /// The image keypoints (the 2D robust score): a pose had no world landmarks.
    Image,
}

impl fmt::Display for ScoreBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScoreBasis::World => "3D world landmarks",
            ScoreBasis::Image => "2D image keypoints (no world landmarks)",
        })
    }
}

/// One pose reduced to what the view score compares: per limb a unit direction in the body's
/// frame (left, up, forward) and a weight, plus the 2D features for the fallback. Compute once
/// per frame with [`ViewScorer::features`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ViewFeatures {
    left: [f32; SLOTS],
    up: [f32; SLOTS],
    forward: [f32; SLOTS],
    weight: [f32; SLOTS],
    mask: u16,
    world: bool,
    image: PoseFeatures,
}

impl ViewFeatures {
    /// True when the pose had world landmarks (else only the 2D fallback is available).
    pub fn has_world(&self) -> bool {
        self.world
    }

    /// Number of limbs visible in 3D (0 without world landmarks).
    pub fn visible_limbs(&self) -> u32 {
        self.mask.count_ones()
    }

    /// The unit direction of `limb` in the body's frame as `[left, up, forward]`, if known.
    pub fn direction(&self, limb: Limb) -> Option<[f32; 3]> {
        let i = limb.index();
        (self.mask & (1 << i) != 0).then_some([self.left[i], self.up[i], self.forward[i]])
    }

    /// The 2D features the fallback compares.
    pub fn image(&self) -> &PoseFeatures {
        &self.image
    }

    /// The mirror image: left and right swapped, the left axis reversed.
    pub fn mirrored(&self) -> Self {
        let mut m = Self {
            mask: 0,
            image: self.image.mirrored(),
            ..*self
        };
        for limb in Limb::ALL {
            let (i, src) = (limb.index(), limb.mirrored().index());
            // Reflected positions with swapped labels: (-left, up, forward) for a limb, and a
            // right-to-left line also swaps its ends: (left, -up, -forward).
            (m.left[i], m.up[i], m.forward[i]) = if limb.is_across() {
                (self.left[src], -self.up[src], -self.forward[src])
            } else {
                (-self.left[src], self.up[src], self.forward[src])
            };
            m.weight[i] = self.weight[src];
            if self.mask & (1 << src) != 0 {
                m.mask |= 1 << i;
            }
        }
        m
    }
}

/// The user's features in one orientation.
#[derive(Debug, Clone, Copy)]
struct Oriented {
    features: ViewFeatures,
    mirrored: bool,
    /// Taken off this orientation's score.
    penalty: f32,
}

/// The view score of one comparison: the robust score's result and what it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewScore {
    /// Overall, per-limb scores, verdict and hint (limbs and hint are the user's own, the hint's
    /// directions taken in the dancer's body frame).
    pub score: PoseScore,
    /// 3D, or the 2D fallback.
    pub basis: ScoreBasis,
}

/// The best dancer sample for a user frame within the window (view score).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewMatch {
    /// Index of the dancer sample that matched best.
    pub frame: usize,
    /// That sample's time minus the playback time, in seconds (negative: the user is late).
    pub offset_s: f32,
    /// The score against it.
    pub score: PoseScore,
    /// 3D, or the 2D fallback.
    pub basis: ScoreBasis,
}

/// The dancer's performance for the view score: [`ViewFeatures`] per sample, with its time.
///
/// ```
/// use pose_score::{ViewFeatures, ViewTrack};
/// let track = ViewTrack::from_fps(vec![ViewFeatures::default(); 60], 30.0)?;
/// assert_eq!(track.window(1.0, 0.1), 27..34);
/// assert_eq!(track.window(1.01, 0.0), 30..31, "window 0: the nearest sample");
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ViewTrack {
    times: Vec<f32>,
    frames: Vec<ViewFeatures>,
}

impl ViewTrack {
    /// A track of samples at the given times (seconds, increasing).
    ///
    /// # Errors
    /// [`ScoreError::Config`] for times that are not finite and increasing or a length
    /// mismatch, [`ScoreError::TooLarge`] above [`MAX_TRACK_FRAMES`].
    pub fn new(times: Vec<f32>, frames: Vec<ViewFeatures>) -> Result<Self, ScoreError> {
        if frames.len() > MAX_TRACK_FRAMES {
            return Err(ScoreError::TooLarge {
                what: "dancer frames",
                got: frames.len(),
                limit: MAX_TRACK_FRAMES,
            });
        }
        if times.len() != frames.len() {
            return Err(ScoreError::Config(format!(
                "{} times for {} frames",
                times.len(),
                frames.len()
            )));
        }
        if times.iter().any(|t| !t.is_finite()) || times.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ScoreError::Config(
                "sample times must be finite and increasing".to_owned(),
            ));
        }
        Ok(Self { times, frames })
    }

    /// A track of samples at a fixed rate (sample `i` at `i / fps` seconds).
    ///
    /// # Errors
    /// [`ScoreError::Config`] for an fps outside (0, 1000], [`ScoreError::TooLarge`] as
    /// [`ViewTrack::new`].
    pub fn from_fps(frames: Vec<ViewFeatures>, fps: f32) -> Result<Self, ScoreError> {
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(ScoreError::Config(format!("fps {fps} is not in (0, 1000]")));
        }
        let times = (0..frames.len()).map(|i| i as f32 / fps).collect();
        Self::new(times, frames)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The samples' features.
    pub fn frames(&self) -> &[ViewFeatures] {
        &self.frames
    }

    /// The samples' times in seconds.
    pub fn times(&self) -> &[f32] {
        &self.times
    }

    /// The samples within `window_s` seconds of `t_s`; when there is none (a window of 0, a
    /// gap, a time past either end), the nearest sample.
    pub fn window(&self, t_s: f32, window_s: f32) -> std::ops::Range<usize> {
        if self.times.is_empty() {
            return 0..0;
        }
        let t = if t_s.is_finite() { t_s } else { 0.0 };
        let w = if window_s.is_finite() {
            window_s.max(0.0)
        } else {
            0.0
        };
        let lo = self.times.partition_point(|&s| s < t - w);
        let hi = self.times.partition_point(|&s| s <= t + w);
        if lo < hi {
            return lo..hi;
        }
        // `lo` is the first sample after the window; the one before it may be nearer.
        let after = lo.min(self.times.len() - 1);
        let nearest = match lo.checked_sub(1) {
            Some(before) if (t - self.times[before]).abs() <= (self.times[after] - t).abs() => {
                before
            }
            _ => after,
        };
        nearest..nearest + 1
    }
}

/// The view-invariant scorer.
///
/// ```
/// use pose_score::{Keypoint, Layout, Limb, Pose, ViewConfig, ViewScorer, WorldPose, ScoreBasis};
/// // A T-pose in metres (x right, y down, z away from the camera), facing the camera.
/// let mut world = [[0.0f32, 0.0, 0.0]; 33];
/// let mut set = |i: usize, p: [f32; 3]| world[i] = p;
/// set(11, [0.2, -0.5, 0.0]); set(12, [-0.2, -0.5, 0.0]); // shoulders (left is image-right)
/// set(13, [0.5, -0.5, 0.0]); set(14, [-0.5, -0.5, 0.0]); // elbows
/// set(15, [0.8, -0.5, 0.0]); set(16, [-0.8, -0.5, 0.0]); // wrists
/// set(23, [0.1, 0.0, 0.0]); set(24, [-0.1, 0.0, 0.0]); // hips
/// set(25, [0.1, 0.45, 0.0]); set(26, [-0.1, 0.45, 0.0]); // knees
/// set(27, [0.1, 0.9, 0.0]); set(28, [-0.1, 0.9, 0.0]); // ankles
/// let visible = [0.9f32; 33];
/// // The image keypoints (pixels), for the 2D fallback.
/// let pixels = world.iter().map(|p| Keypoint::new(300.0 + 200.0 * p[0], 300.0 + 200.0 * p[1], 0.9));
/// let image = Pose::new(Layout::BlazePose33, pixels.collect())?;
/// let dancer = WorldPose::from_blazepose(&world, &visible)?;
/// // The user does it facing away from the camera, with the left forearm hanging down.
/// let mut back: Vec<[f32; 3]> = world.iter().map(|p| [-p[0], p[1], -p[2]]).collect();
/// back[15] = [-0.5, -0.2, 0.0];
/// let user = WorldPose::from_blazepose(&back, &visible)?;
///
/// let scorer = ViewScorer::new(ViewConfig::default())?;
/// let d = scorer.features(&image, Some(&dancer));
/// let s = scorer.compare(&scorer.features(&image, Some(&user)), &d).expect("in view");
/// assert_eq!(s.basis, ScoreBasis::World);
/// assert!(s.score.limb(Limb::RightForearm).expect("seen") > 0.99, "the camera angle is gone");
/// assert!(s.score.limb(Limb::LeftForearm).expect("seen") < 0.2);
/// assert_eq!(s.score.hint.expect("one limb is off").to_string(), "left forearm too low");
/// // Without world landmarks the 2D score answers, and says so.
/// let s = scorer.compare(&scorer.features(&image, None), &d).expect("in view");
/// assert_eq!(s.basis, ScoreBasis::Image);
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ViewScorer {
    config: ViewConfig,
    exponent: u32,
    fallback: Scorer,
}

impl ViewScorer {
    /// A scorer; checks the configuration.
    ///
    /// # Errors
    /// [`ScoreError::Config`] naming the value out of range.
    pub fn new(config: ViewConfig) -> Result<Self, ScoreError> {
        let c = &config;
        check_limb_config(c.tolerance_deg, &c.limb_weights, c.min_limbs, c.window_s)?;
        if !(c.visibility_power.is_finite() && (0.0..=16.0).contains(&c.visibility_power)) {
            return Err(ScoreError::Config(format!(
                "visibility_power {} is not in 0..=16",
                c.visibility_power
            )));
        }
        if !(c.mirror_penalty.is_finite() && (0.0..=1.0).contains(&c.mirror_penalty)) {
            return Err(ScoreError::Config(format!(
                "mirror_penalty {} is not in 0..=1",
                c.mirror_penalty
            )));
        }
        if !c.min_visibility.is_finite() {
            return Err(ScoreError::Config(
                "min_visibility must be finite".to_owned(),
            ));
        }
        let fallback = Scorer::new(ScorerConfig {
            mirror: c.mirror,
            window_s: c.window_s,
            ..c.fallback.clone()
        })?;
        Ok(Self {
            exponent: tolerance_exponent(c.tolerance_deg),
            config,
            fallback,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ViewConfig {
        &self.config
    }

    /// The 2D scorer used when world landmarks are missing.
    pub fn fallback(&self) -> &Scorer {
        &self.fallback
    }

    /// What the score compares of a pose: its image keypoints (for the fallback) and, when
    /// known, its 3D joints.
    pub fn features(&self, image: &Pose, world: Option<&WorldPose>) -> ViewFeatures {
        let mut f = ViewFeatures {
            image: self.fallback.features(image),
            ..ViewFeatures::default()
        };
        if let Some(w) = world {
            self.fill_world(&mut f, w);
        }
        f
    }

    fn fill_world(&self, f: &mut ViewFeatures, pose: &WorldPose) {
        use Joint::*;
        let c = &self.config;
        let seen = |j: Joint| {
            let (p, v) = pose.joint(j);
            (v >= c.min_visibility && v > 0.0).then_some((p, v))
        };
        // The frame comes from the four torso joints, whatever their visibility: BlazePose
        // places them on every body it finds.
        let at = |j: Joint| pose.joint(j).0;
        let half = |a: [f32; 3], b: [f32; 3]| {
            [
                (a[0] + b[0]) * 0.5,
                (a[1] + b[1]) * 0.5,
                (a[2] + b[2]) * 0.5,
            ]
        };
        let hips = half(at(LeftHip), at(RightHip));
        let shoulders = half(at(LeftShoulder), at(RightShoulder));
        let across = add(
            sub(at(LeftShoulder), at(RightShoulder)),
            sub(at(LeftHip), at(RightHip)),
        );
        let up = match c.frame {
            BodyFrame::Torso => unit3(sub(shoulders, hips)),
            BodyFrame::Upright => Some([0.0, -1.0, 0.0]),
        };
        let Some(up) = up else { return };
        let Some(left) = unit3(sub(across, scale(up, dot(across, up)))) else {
            return;
        };
        let forward = cross(left, up);
        for limb in Limb::ALL {
            let ends = match limb.joints() {
                Some((a, b)) => seen(a).zip(seen(b)),
                None => {
                    let both = |l, r| {
                        seen(l)
                            .zip(seen(r))
                            .map(|((a, va), (b, vb))| (half(a, b), va.min(vb)))
                    };
                    both(LeftHip, RightHip).zip(both(LeftShoulder, RightShoulder))
                }
            };
            let Some(((a, va), (b, vb))) = ends else {
                continue;
            };
            let v = sub(b, a);
            let Some(d) = unit3([dot(v, left), dot(v, up), dot(v, forward)]) else {
                continue;
            };
            let vis = va.min(vb).clamp(0.0, 1.0);
            let w = if c.visibility_power == 0.0 {
                1.0
            } else {
                vis.powf(c.visibility_power)
            };
            let i = limb.index();
            (f.left[i], f.up[i], f.forward[i]) = (d[0], d[1], d[2]);
            f.weight[i] = c.limb_weights[i] * w;
            f.mask |= 1 << i;
        }
        f.world = true;
    }

    /// The user's features as compared: as seen and/or mirrored (`true`), with what is taken
    /// off the score of each.
    fn orientations(&self, user: &ViewFeatures) -> ([Oriented; 2], usize) {
        let as_seen = Oriented {
            features: *user,
            mirrored: false,
            penalty: 0.0,
        };
        let mirrored = Oriented {
            features: user.mirrored(),
            mirrored: true,
            penalty: 0.0,
        };
        match self.config.mirror {
            Mirror::Off => ([as_seen, as_seen], 1),
            Mirror::On => ([mirrored, as_seen], 1),
            Mirror::Either => (
                [
                    as_seen,
                    Oriented {
                        penalty: self.config.mirror_penalty,
                        ..mirrored
                    },
                ],
                2,
            ),
        }
    }

    /// Weighted sums of one 3D comparison: `(sum w s, sum w, limbs compared)`.
    #[inline]
    fn quick(&self, u: &ViewFeatures, d: &ViewFeatures) -> (f32, f32, u32) {
        let x: [f32; SLOTS] = std::array::from_fn(|l| {
            half_cos_squared(
                u.left[l] * d.left[l] + u.up[l] * d.up[l] + u.forward[l] * d.forward[l],
            )
        });
        let s = pow_lanes(x, self.exponent);
        let mut num = 0.0f32;
        let mut den = 0.0f32;
        for ((s, uw), dw) in s.iter().zip(&u.weight).zip(&d.weight) {
            let w = uw * dw;
            num += w * s;
            den += w;
        }
        (num, den, (u.mask & d.mask).count_ones())
    }

    /// The overall score of one oriented comparison, `None` when too little was compared; and
    /// how many limbs were.
    #[inline]
    fn quick_score(&self, u: &ViewFeatures, d: &ViewFeatures) -> (Option<f32>, u32, ScoreBasis) {
        if u.world && d.world {
            let (num, den, count) = self.quick(u, d);
            let ok = count >= self.config.min_limbs && den > 0.0;
            (ok.then(|| num / den), count, ScoreBasis::World)
        } else {
            let q = self.fallback.quick(&u.image, &d.image);
            (
                q.score(self.fallback.config().min_limbs),
                q.count,
                ScoreBasis::Image,
            )
        }
    }

    /// Compares two poses' features (mirroring as configured).
    ///
    /// # Errors
    /// [`OutOfView`] when fewer than `min_limbs` limbs could be compared.
    pub fn compare(
        &self,
        user: &ViewFeatures,
        dancer: &ViewFeatures,
    ) -> Result<ViewScore, OutOfView> {
        let (candidates, n) = self.orientations(user);
        let mut best: Option<(f32, usize)> = None;
        let mut seen = 0;
        for (k, o) in candidates[..n].iter().enumerate() {
            let (s, count, _) = self.quick_score(&o.features, dancer);
            seen = seen.max(count);
            if let Some(s) = s.map(|s| s - o.penalty)
                && best.is_none_or(|(b, _)| s > b)
            {
                best = Some((s, k));
            }
        }
        let (_, k) = best.ok_or(OutOfView {
            visible_limbs: seen,
            needed: self.needed(user, dancer),
        })?;
        Ok(self.detail(&candidates[k], dancer))
    }

    fn needed(&self, u: &ViewFeatures, d: &ViewFeatures) -> u32 {
        if u.world && d.world {
            self.config.min_limbs
        } else {
            self.fallback.config().min_limbs
        }
    }

    /// Live scoring: the user's frame against every dancer sample within `config().window_s`
    /// of the playback time `t_s` (the nearest sample when none is), keeping the best.
    ///
    /// # Errors
    /// [`OutOfView`] when no sample could be compared with enough limbs.
    pub fn score_at(
        &self,
        user: &ViewFeatures,
        track: &ViewTrack,
        t_s: f32,
    ) -> Result<ViewMatch, OutOfView> {
        let range = track.window(t_s, self.config.window_s);
        let (candidates, n) = self.orientations(user);
        let mut best: Option<(f32, usize, usize)> = None;
        let mut seen = 0;
        for (k, o) in candidates[..n].iter().enumerate() {
            for (j, d) in track.frames()[range.clone()].iter().enumerate() {
                let (s, count, _) = self.quick_score(&o.features, d);
                seen = seen.max(count);
                if let Some(s) = s.map(|s| s - o.penalty)
                    && best.is_none_or(|(b, _, _)| s > b)
                {
                    best = Some((s, k, range.start + j));
                }
            }
        }
        let needed = if user.world {
            self.config.min_limbs
        } else {
            self.fallback.config().min_limbs
        };
        let (_, k, frame) = best.ok_or(OutOfView {
            visible_limbs: seen,
            needed,
        })?;
        let s = self.detail(&candidates[k], &track.frames()[frame]);
        Ok(ViewMatch {
            frame,
            offset_s: track.times()[frame] - t_s,
            score: s.score,
            basis: s.basis,
        })
    }

    /// Offline: aligns the user's whole performance (one [`ViewFeatures`] per frame at
    /// `config.user_fps`) with the dancer's track by dynamic time warping, as
    /// [`Scorer::align`] does with the robust score (the dancer's samples taken at the track's
    /// mean rate).
    ///
    /// # Errors
    /// As [`Scorer::align`].
    pub fn align(
        &self,
        user: &[ViewFeatures],
        track: &ViewTrack,
        config: &AlignConfig,
    ) -> Result<Alignment, ScoreError> {
        let fps = match track.times() {
            [first, .., last] if last > first => (track.len() - 1) as f32 / (last - first),
            _ => 1.0,
        };
        let mirrored = || user.iter().map(ViewFeatures::mirrored).collect::<Vec<_>>();
        let candidates: Vec<(Vec<ViewFeatures>, f32)> = match self.config.mirror {
            Mirror::Off => vec![(user.to_vec(), 0.0)],
            Mirror::On => vec![(mirrored(), 0.0)],
            Mirror::Either => vec![
                (user.to_vec(), 0.0),
                (mirrored(), self.config.mirror_penalty),
            ],
        };
        let score = |i: usize, j: usize| -> Option<f32> {
            candidates
                .iter()
                .filter_map(|(c, penalty)| {
                    self.quick_score(&c[i], &track.frames()[j])
                        .0
                        .map(|s| s - penalty)
                })
                .fold(None, |b: Option<f32>, s| Some(b.map_or(s, |b| b.max(s))))
        };
        dtw_align(user.len(), track.len(), fps, config, score)
    }

    /// The full result for one (already oriented) user pose against one dancer pose.
    fn detail(&self, oriented: &Oriented, d: &ViewFeatures) -> ViewScore {
        let (u, mirrored) = (&oriented.features, oriented.mirrored);
        if !(u.world && d.world) {
            let mut score = self.fallback.detail(&u.image, &d.image, mirrored);
            if oriented.penalty > 0.0 {
                score.overall = (score.overall - oriented.penalty).max(0.0);
                score.correct = score.overall >= self.fallback.config().correct_from;
            }
            return ViewScore {
                score,
                basis: ScoreBasis::Image,
            };
        }
        let (num, den, _) = self.quick(u, d);
        let overall = if den > 0.0 {
            (num / den - oriented.penalty).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut limbs = [None; LIMB_COUNT];
        let mut worst: Option<(Limb, f32)> = None;
        for limb in Limb::ALL {
            let l = limb.index();
            if (u.mask & d.mask) & (1 << l) == 0 {
                continue;
            }
            let cos = u.left[l] * d.left[l] + u.up[l] * d.up[l] + u.forward[l] * d.forward[l];
            let s = pow_lanes([half_cos_squared(cos)], self.exponent)[0];
            let own = if mirrored { limb.mirrored() } else { limb };
            limbs[own.index()] = Some(s);
            if u.weight[l] > 0.0 && s < self.config.hint_below && worst.is_none_or(|(_, w)| s < w) {
                worst = Some((limb, s));
            }
        }
        let hint = worst.map(|(limb, s)| {
            let l = limb.index();
            // In the dancer's body frame: up is the dancer's up, left the dancer's left.
            let vertical = u.up[l] - d.up[l];
            let towards_left = u.left[l] - d.left[l];
            let issue = if limb == Limb::Torso {
                if (towards_left > 0.0) != mirrored {
                    Issue::LeansLeft
                } else {
                    Issue::LeansRight
                }
            } else if limb.is_across() {
                // The line runs right to left: its left end higher means it points up.
                if (vertical > 0.0) != mirrored {
                    Issue::LeftSideHigh
                } else {
                    Issue::LeftSideLow
                }
            } else {
                let outward = if limb.is_left() {
                    towards_left
                } else {
                    -towards_left
                };
                if vertical.abs() >= outward.abs() {
                    if vertical < 0.0 {
                        Issue::TooLow
                    } else {
                        Issue::TooHigh
                    }
                } else if outward > 0.0 {
                    Issue::TooFarOut
                } else {
                    Issue::TooFarIn
                }
            };
            Hint {
                limb: if mirrored { limb.mirrored() } else { limb },
                issue,
                score: s,
            }
        });
        ViewScore {
            score: PoseScore {
                overall,
                limbs,
                mirrored,
                correct: overall >= self.config.correct_from,
                hint,
            },
            basis: ScoreBasis::World,
        }
    }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn add(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn scale(a: [f32; 3], k: f32) -> [f32; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit3(v: [f32; 3]) -> Option<[f32; 3]> {
    let n = dot(v, v).sqrt();
    (n > 1e-6 && n.is_finite()).then(|| scale(v, 1.0 / n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::Keypoint;

    /// A standing person facing the camera, arms out, in metres (x right, y down, z away).
    fn t_pose() -> [[f32; 3]; 12] {
        [
            [0.2, -0.5, 0.0],   // left shoulder
            [-0.2, -0.5, 0.0],  // right shoulder
            [0.5, -0.5, 0.0],   // left elbow
            [-0.5, -0.5, 0.0],  // right elbow
            [0.8, -0.5, 0.05],  // left wrist
            [-0.8, -0.5, 0.05], // right wrist
            [0.1, 0.0, 0.0],    // left hip
            [-0.1, 0.0, 0.0],   // right hip
            [0.12, 0.45, -0.1], // left knee
            [-0.1, 0.45, 0.0],  // right knee
            [0.12, 0.9, 0.0],   // left ankle
            [-0.1, 0.9, 0.05],  // right ankle
        ]
    }

    fn image() -> Pose {
        Pose::new(Layout::BlazePose33, vec![Keypoint::new(1.0, 2.0, 0.9); 33]).expect("33")
    }

    fn features(s: &ViewScorer, joints: [[f32; 3]; 12]) -> ViewFeatures {
        s.features(&image(), Some(&WorldPose::new(joints, [0.9; 12])))
    }

    #[test]
    fn turned_person_scores_one_and_a_changed_limb_gets_a_hint() {
        let s = ViewScorer::new(ViewConfig::default()).expect("config");
        let dancer = features(&s, t_pose());
        // Seen from the side: rotated 90 degrees about the vertical.
        let side = t_pose().map(|p| [p[2], p[1], -p[0]]);
        let r = s.compare(&features(&s, side), &dancer).expect("in view");
        assert!(r.score.overall > 0.999, "{r:?}");
        assert!(r.score.correct && r.score.hint.is_none());
        // The right forearm raised (the wrist above the elbow).
        let mut up = t_pose();
        up[Joint::RightWrist as usize] = [-0.5, -0.8, 0.0];
        let r = s.compare(&features(&s, up), &dancer).expect("in view");
        let hint = r.score.hint.expect("hint");
        assert_eq!(hint.to_string(), "right forearm too high");
        assert!(r.score.limb(Limb::RightForearm).expect("seen") < 0.2);
    }

    #[test]
    fn mirroring_swaps_sides_and_is_its_own_inverse() {
        let s = ViewScorer::new(ViewConfig::default()).expect("config");
        let f = features(&s, t_pose());
        assert_eq!(f.mirrored().mirrored(), f);
        let m = f.mirrored();
        let (l, r) = (
            f.direction(Limb::LeftForearm).expect("seen"),
            m.direction(Limb::RightForearm).expect("seen"),
        );
        assert_eq!(r, [-l[0], l[1], l[2]]);
        // A mirror-image copy (x negated, sides swapped) only matches with mirroring on.
        let mut lifted = t_pose();
        lifted[Joint::LeftWrist as usize] = [0.5, -0.8, 0.0];
        let swap = |p: [[f32; 3]; 12]| {
            std::array::from_fn(|i| {
                let q = p[i ^ 1];
                [-q[0], q[1], q[2]]
            })
        };
        let dancer = features(&s, lifted);
        let copy = features(&s, swap(lifted));
        let with = |mirror| {
            let scorer = ViewScorer::new(ViewConfig {
                mirror,
                ..ViewConfig::default()
            })
            .expect("config");
            scorer.compare(&copy, &dancer).expect("in view").score
        };
        let off = with(Mirror::Off);
        assert!(off.overall < 0.9 && !off.mirrored, "{off:?}");
        let on = with(Mirror::On);
        assert!(on.overall > 0.999 && on.mirrored, "{on:?}");
        // Either: the mirrored reading wins, less the mirror penalty.
        let either = with(Mirror::Either);
        assert!(either.mirrored && (either.overall - (on.overall - 0.05)).abs() < 1e-6);
    }

    #[test]
    fn missing_world_falls_back_to_the_image_and_says_so() {
        let s = ViewScorer::new(ViewConfig::default()).expect("config");
        let with = features(&s, t_pose());
        let without = s.features(&image(), None);
        assert!(with.has_world() && !without.has_world());
        // All image points coincide: the 2D score sees no limbs.
        let e = s.compare(&without, &with).expect_err("no limbs in 2D");
        assert_eq!(e.visible_limbs, 0);
        let track = ViewTrack::from_fps(vec![with; 3], 30.0).expect("track");
        assert!(s.score_at(&without, &track, 0.0).is_err());
        let m = s.score_at(&with, &track, 0.04).expect("3D");
        assert_eq!(
            (m.frame, m.basis),
            (0, ScoreBasis::World),
            "all equal: the first"
        );
        assert!((m.offset_s + 0.04).abs() < 1e-6);
    }

    #[test]
    fn window_is_by_time_and_falls_back_to_the_nearest() {
        let f = ViewFeatures::default();
        let t = ViewTrack::new(vec![0.0, 0.1, 0.5, 0.6], vec![f; 4]).expect("track");
        assert_eq!(t.window(0.28, 0.1), 1..2, "in the gap: the nearest");
        assert_eq!(t.window(0.31, 0.0), 2..3);
        assert_eq!(t.window(0.55, 0.05), 2..4);
        assert_eq!(t.window(-5.0, 0.5), 0..1);
        assert_eq!(t.window(9.0, 0.5), 3..4);
        assert_eq!(t.window(f32::NAN, f32::NAN), 0..1);
        assert!(ViewTrack::new(vec![0.0, 0.0], vec![f; 2]).is_err());
        assert!(ViewTrack::new(vec![0.0], vec![f; 2]).is_err());
        assert!(ViewTrack::from_fps(vec![], 0.0).is_err());
        assert_eq!(
            ViewTrack::from_fps(vec![], 30.0)
                .expect("empty")
                .window(1.0, 1.0),
            0..0
        );
    }

    #[test]
    fn config_is_checked() {
        for bad in [
            ViewConfig {
                tolerance_deg: 0.0,
                ..ViewConfig::default()
            },
            ViewConfig {
                min_limbs: 12,
                ..ViewConfig::default()
            },
            ViewConfig {
                visibility_power: f32::NAN,
                ..ViewConfig::default()
            },
            ViewConfig {
                window_s: -1.0,
                ..ViewConfig::default()
            },
        ] {
            assert!(ViewScorer::new(bad).is_err());
        }
    }
}
