//! The robust score: limb directions compared as angles, visibility-masked, optionally mirrored.

use std::fmt;

use crate::body::Body;
use crate::error::ScoreError;
use crate::keypoints::Pose;
use crate::limb::{Hint, Issue, LIMB_COUNT, Limb};

/// Whether the user is compared as seen, as a mirror image, or both (best wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mirror {
    /// Compare as seen: the user's left arm with the dancer's left arm.
    #[default]
    Off,
    /// Compare the mirror image: the user copies the dancer like a mirror (webcam habit).
    On,
    /// Try both, keep the better.
    Either,
}

/// Settings of the robust score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ScorerConfig {
    /// A keypoint counts as visible from this visibility on (default 0.5).
    pub visibility_threshold: f32,
    /// Fewest limbs visible in both poses for a score (default 4 of 11); fewer gives
    /// [`OutOfView`].
    pub min_limbs: u32,
    /// The angle error, in degrees, at which a limb scores 0.5 (default 20); a limb scores
    /// `cos²(err/2)^p`, a bell in the angle error.
    pub tolerance_deg: f32,
    /// How much a limb that looks shorter than usual (pointing towards the camera, so its
    /// direction in the image is unreliable) counts: its weight is multiplied by
    /// `min(length / typical length, 1)^foreshortening` in each pose (default 2; 0 = off).
    pub foreshortening: f32,
    /// Mirroring (default off).
    pub mirror: Mirror,
    /// Weight of each limb in the overall score, in [`Limb::ALL`] order (default all 1).
    pub limb_weights: [f32; LIMB_COUNT],
    /// Overall score from which a pose counts as correct (default 0.7).
    pub correct_from: f32,
    /// A limb scoring below this gets a hint (default 0.5).
    pub hint_below: f32,
    /// Live matching looks at dancer frames within this many seconds of the playback time
    /// (default 0.5).
    pub window_s: f32,
}

impl Default for ScorerConfig {
    fn default() -> Self {
        Self {
            visibility_threshold: 0.5,
            min_limbs: 4,
            tolerance_deg: 20.0,
            foreshortening: 2.0,
            mirror: Mirror::Off,
            limb_weights: [1.0; LIMB_COUNT],
            correct_from: 0.7,
            hint_below: 0.5,
            window_s: 0.5,
        }
    }
}

/// "Not enough of the body in view": too few limbs visible to give a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutOfView {
    /// Limbs visible (in the user's pose, or in both poses when comparing).
    pub visible_limbs: u32,
    /// Limbs needed.
    pub needed: u32,
}

impl fmt::Display for OutOfView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not enough of the body in view ({} of {LIMB_COUNT} limbs, need {})",
            self.visible_limbs, self.needed
        )
    }
}

impl std::error::Error for OutOfView {}

/// Lanes per limb array: [`LIMB_COUNT`] rounded up to a multiple of 4.
const SLOTS: usize = LIMB_COUNT.div_ceil(4) * 4;

/// One pose reduced to what the score compares: a unit direction and a weight per limb, plus
/// the body's up and left directions for hints. Compute once per frame with
/// [`Scorer::features`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoseFeatures {
    // Limb by limb, one array per component (SLOTS >= LIMB_COUNT, the rest zero): the
    // comparison loop then runs over whole vectors.
    dx: [f32; SLOTS],
    dy: [f32; SLOTS],
    weight: [f32; SLOTS],
    mask: u16,
    up: [f32; 2],
    left: [f32; 2],
}

impl PoseFeatures {
    /// Number of limbs visible.
    pub fn visible_limbs(&self) -> u32 {
        self.mask.count_ones()
    }

    /// True when `limb` is visible.
    pub fn is_visible(&self, limb: Limb) -> bool {
        self.mask & (1 << limb.index()) != 0
    }

    /// The unit direction of `limb` in the image (x right, y down), if visible.
    pub fn direction(&self, limb: Limb) -> Option<[f32; 2]> {
        self.is_visible(limb)
            .then_some([self.dx[limb.index()], self.dy[limb.index()]])
    }

    /// The mirror image (x negated, left and right limbs swapped).
    pub fn mirrored(&self) -> Self {
        let mut m = Self {
            mask: 0,
            up: [-self.up[0], self.up[1]],
            left: [self.left[0], -self.left[1]],
            ..*self
        };
        for limb in Limb::ALL {
            let src = limb.mirrored().index();
            // Mirroring negates x; a right-to-left line also swaps its ends.
            let i = limb.index();
            (m.dx[i], m.dy[i]) = if limb.is_across() {
                (self.dx[src], -self.dy[src])
            } else {
                (-self.dx[src], self.dy[src])
            };
            m.weight[limb.index()] = self.weight[src];
            if self.mask & (1 << src) != 0 {
                m.mask |= 1 << limb.index();
            }
        }
        m
    }
}

/// The robust score of one user pose against one dancer pose.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PoseScore {
    /// Weighted mean of the limb scores over the limbs visible in both poses, 0..=1.
    pub overall: f32,
    /// Each of the user's limbs ([`Limb::ALL`] order), `None` where not visible in both.
    pub limbs: [Option<f32>; LIMB_COUNT],
    /// Whether the best comparison was the mirrored one.
    pub mirrored: bool,
    /// `overall >= correct_from`.
    pub correct: bool,
    /// The worst limb, when it scores below `hint_below`.
    pub hint: Option<Hint>,
}

impl PoseScore {
    /// The score of one limb of the user, if it was compared.
    pub fn limb(&self, limb: Limb) -> Option<f32> {
        self.limbs[limb.index()]
    }
}

/// The robust scorer: turns poses into [`PoseFeatures`] and compares them.
///
/// ```
/// use pose_score::{Keypoint, Layout, Limb, Pose, Scorer, ScorerConfig};
/// // A COCO-17 person with arms out sideways, and the same person with the left forearm down.
/// let mut pts = vec![Keypoint::new(0.0, 0.0, 0.0); 17];
/// let mut set = |i: usize, x: f32, y: f32| pts[i] = Keypoint::new(x, y, 0.9);
/// set(5, 120.0, 100.0); set(6, 80.0, 100.0); // shoulders (left is image-right: facing us)
/// set(7, 150.0, 100.0); set(8, 50.0, 100.0); // elbows
/// set(9, 180.0, 100.0); set(10, 20.0, 100.0); // wrists
/// set(11, 112.0, 160.0); set(12, 88.0, 160.0); // hips
/// set(13, 114.0, 210.0); set(14, 86.0, 210.0); // knees
/// set(15, 115.0, 260.0); set(16, 85.0, 260.0); // ankles
/// let dancer = Pose::new(Layout::Coco17, pts.clone())?;
/// pts[9] = Keypoint::new(150.0, 130.0, 0.9); // left wrist hangs down
/// let user = Pose::new(Layout::Coco17, pts)?;
///
/// let scorer = Scorer::new(ScorerConfig::default())?;
/// let same = scorer.score(&dancer, &dancer).expect("whole body in view");
/// assert!(same.overall > 0.999 && same.correct);
/// let s = scorer.score(&user, &dancer).expect("whole body in view");
/// assert!(s.limb(Limb::LeftForearm).expect("visible") < 0.1);
/// assert_eq!(s.hint.expect("one limb is off").to_string(), "left forearm too low");
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Scorer {
    config: ScorerConfig,
    exponent: u32,
}

impl Scorer {
    /// A scorer; checks the configuration.
    pub fn new(config: ScorerConfig) -> Result<Self, ScoreError> {
        let c = &config;
        check_limb_config(c.tolerance_deg, &c.limb_weights, c.min_limbs, c.window_s)?;
        if !(c.foreshortening.is_finite() && (0.0..=16.0).contains(&c.foreshortening)) {
            return Err(ScoreError::Config(format!(
                "foreshortening {} is not in 0..=16",
                c.foreshortening
            )));
        }
        if !c.visibility_threshold.is_finite() {
            return Err(ScoreError::Config(
                "visibility_threshold must be finite".to_owned(),
            ));
        }
        Ok(Self {
            exponent: tolerance_exponent(c.tolerance_deg),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ScorerConfig {
        &self.config
    }

    /// What the score compares of `pose`.
    pub fn features(&self, pose: &Pose) -> PoseFeatures {
        self.features_of(&Body::from_pose(pose, self.config.visibility_threshold))
    }

    /// What the score compares of a [`Body`].
    pub fn features_of(&self, body: &Body) -> PoseFeatures {
        use crate::keypoints::Joint::*;
        let mut f = PoseFeatures::default();
        for limb in Limb::ALL {
            let ends = match limb.joints() {
                Some((a, b)) => body.joint(a).zip(body.joint(b)),
                None => body.hip_middle().zip(body.shoulder_middle()),
            };
            if let Some((a, b)) = ends
                && let Some((d, len)) = unit_and_length([b[0] - a[0], b[1] - a[1]])
            {
                // Body units are torso lengths (when the torso is in view).
                let seen = if body.has_torso() {
                    (len / limb.typical_length()).min(1.0)
                } else {
                    1.0
                };
                let shortening = if self.config.foreshortening == 0.0 {
                    1.0
                } else {
                    seen.powf(self.config.foreshortening)
                };
                f.dx[limb.index()] = d[0];
                f.dy[limb.index()] = d[1];
                f.weight[limb.index()] = self.config.limb_weights[limb.index()] * shortening;
                f.mask |= 1 << limb.index();
            }
        }
        f.up = f.direction(Limb::Torso).unwrap_or([0.0, -1.0]);
        let side = |l, r| match (body.joint(l), body.joint(r)) {
            (Some(a), Some(b)) => unit([a[0] - b[0], a[1] - b[1]]),
            _ => None,
        };
        f.left = side(LeftShoulder, RightShoulder)
            .or_else(|| side(LeftHip, RightHip))
            .unwrap_or([-f.up[1], f.up[0]]);
        f
    }

    /// Compares two poses (mirroring as configured).
    pub fn score(&self, user: &Pose, dancer: &Pose) -> Result<PoseScore, OutOfView> {
        self.compare(&self.features(user), &self.features(dancer))
    }

    /// Compares two poses' features (mirroring as configured).
    pub fn compare(
        &self,
        user: &PoseFeatures,
        dancer: &PoseFeatures,
    ) -> Result<PoseScore, OutOfView> {
        let candidates = self.orientations(user);
        let mut best: Option<(f32, usize)> = None;
        let mut seen = 0;
        for (k, (u, _)) in candidates.iter().enumerate() {
            let q = self.quick(u, dancer);
            seen = seen.max(q.count);
            if let Some(s) = q.score(self.config.min_limbs)
                && best.is_none_or(|(b, _)| s > b)
            {
                best = Some((s, k));
            }
        }
        match best {
            Some((_, k)) => Ok(self.detail(&candidates[k].0, dancer, candidates[k].1)),
            None => Err(OutOfView {
                visible_limbs: seen,
                needed: self.config.min_limbs,
            }),
        }
    }

    /// Checks that the user shows enough limbs to be scored at all.
    pub fn check_in_view(&self, user: &PoseFeatures) -> Result<(), OutOfView> {
        let visible = user.visible_limbs();
        if visible < self.config.min_limbs {
            return Err(OutOfView {
                visible_limbs: visible,
                needed: self.config.min_limbs,
            });
        }
        Ok(())
    }

    /// The user's features as compared: as seen and/or mirrored; `true` marks the mirrored one.
    pub(crate) fn orientations(&self, user: &PoseFeatures) -> Vec<(PoseFeatures, bool)> {
        match self.config.mirror {
            Mirror::Off => vec![(*user, false)],
            Mirror::On => vec![(user.mirrored(), true)],
            Mirror::Either => vec![(*user, false), (user.mirrored(), true)],
        }
    }

    /// The overall score without the per-limb detail (the hot loop of window matching).
    #[inline]
    pub(crate) fn quick(&self, u: &PoseFeatures, d: &PoseFeatures) -> Quick {
        let x: [f32; SLOTS] =
            std::array::from_fn(|l| half_cos_squared(u.dx[l] * d.dx[l] + u.dy[l] * d.dy[l]));
        let s = pow_lanes(x, self.exponent);
        let mut num = 0.0f32;
        let mut den = 0.0f32;
        for ((s, uw), dw) in s.iter().zip(&u.weight).zip(&d.weight) {
            let w = uw * dw;
            num += w * s;
            den += w;
        }
        Quick {
            num,
            den,
            count: (u.mask & d.mask).count_ones(),
        }
    }

    /// The full result for one (already oriented) user pose against one dancer pose.
    pub(crate) fn detail(&self, u: &PoseFeatures, d: &PoseFeatures, mirrored: bool) -> PoseScore {
        let q = self.quick(u, d);
        let overall = if q.den > 0.0 {
            (q.num / q.den).clamp(0.0, 1.0)
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
            let s = pow_lanes(
                [half_cos_squared(u.dx[l] * d.dx[l] + u.dy[l] * d.dy[l])],
                self.exponent,
            )[0];
            let own = if mirrored { limb.mirrored() } else { limb };
            limbs[own.index()] = Some(s);
            if u.weight[l] > 0.0 && s < self.config.hint_below && worst.is_none_or(|(_, w)| s < w) {
                worst = Some((limb, s));
            }
        }
        let hint = worst.map(|(limb, s)| {
            let l = limb.index();
            let delta = [u.dx[l] - d.dx[l], u.dy[l] - d.dy[l]];
            let vertical = delta[0] * d.up[0] + delta[1] * d.up[1];
            let towards_left = delta[0] * d.left[0] + delta[1] * d.left[1];
            let issue = if limb == Limb::Torso {
                // Mirrored, the dancer's left is the user's right.
                if (towards_left > 0.0) != mirrored {
                    Issue::LeansLeft
                } else {
                    Issue::LeansRight
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
        PoseScore {
            overall,
            limbs,
            mirrored,
            correct: overall >= self.config.correct_from,
            hint,
        }
    }
}

/// Sums of one comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quick {
    pub(crate) num: f32,
    pub(crate) den: f32,
    pub(crate) count: u32,
}

impl Quick {
    /// The overall score, when enough limbs were compared.
    #[inline]
    pub(crate) fn score(&self, min_limbs: u32) -> Option<f32> {
        (self.count >= min_limbs && self.den > 0.0).then(|| self.num / self.den)
    }
}

/// The power `p` with `cos²(tol/2)^p = 0.5`: a limb `tolerance_deg` off scores 0.5.
/// The checks the robust and the view scorer share: tolerance, limb weights, minimum limbs, window.
pub(crate) fn check_limb_config(
    tolerance_deg: f32,
    limb_weights: &[f32; LIMB_COUNT],
    min_limbs: u32,
    window_s: f32,
) -> Result<(), ScoreError> {
    if !(tolerance_deg > 0.0 && tolerance_deg < 180.0) {
        return Err(ScoreError::Config(format!(
            "tolerance_deg {tolerance_deg} is not in (0, 180)"
        )));
    }
    if limb_weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(ScoreError::Config(
            "limb_weights must be finite and >= 0".to_owned(),
        ));
    }
    if min_limbs == 0 || min_limbs as usize > LIMB_COUNT {
        return Err(ScoreError::Config(format!(
            "min_limbs {min_limbs} is not in 1..={LIMB_COUNT}"
        )));
    }
    if !(window_s.is_finite() && window_s >= 0.0) {
        return Err(ScoreError::Config(format!(
            "window_s {window_s} must be finite and >= 0"
        )));
    }
    Ok(())
}

pub(crate) fn tolerance_exponent(tolerance_deg: f32) -> u32 {
    let half = (tolerance_deg.to_radians() * 0.5).cos();
    (0.5f32.ln() / (half * half).ln())
        .round()
        .clamp(1.0, 4096.0) as u32
}

/// `cos²(θ/2)` from `cos θ`; to the power `p` it is the limb score: 1 for the same direction,
/// 0.5 at the tolerance, 0 when opposite.
#[inline]
pub(crate) fn half_cos_squared(cos: f32) -> f32 {
    (0.5 + 0.5 * cos).clamp(0.0, 1.0)
}

/// `x^p` lane by lane by repeated squaring: the same steps for every lane, so the compiler
/// vectorises it (and one lane alone gives exactly the value it has in a whole array).
#[inline]
pub(crate) fn pow_lanes<const N: usize>(x: [f32; N], p: u32) -> [f32; N] {
    let mut result = [1.0f32; N];
    let mut base = x;
    let mut e = p;
    while e > 0 {
        if e & 1 == 1 {
            for (r, b) in result.iter_mut().zip(&base) {
                *r *= b;
            }
        }
        for b in &mut base {
            *b *= *b;
        }
        e >>= 1;
    }
    result
}

fn unit(v: [f32; 2]) -> Option<[f32; 2]> {
    unit_and_length(v).map(|(d, _)| d)
}

fn unit_and_length(v: [f32; 2]) -> Option<([f32; 2], f32)> {
    let n = v[0].hypot(v[1]);
    (n > 1e-6 && n.is_finite()).then(|| ([v[0] / n, v[1] / n], n))
}
