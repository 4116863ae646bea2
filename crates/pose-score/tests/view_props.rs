//! Properties of the view-invariant score: the same 3D body turned about the vertical, scaled
//! and moved scores ~1; a mirror-image copy matches only with mirroring; without world landmarks
//! the 2D score answers and the result says so; the score is always in [0, 1].
#![allow(clippy::unwrap_used)]

use pose_score::{
    Joint, Keypoint, Layout, Limb, Mirror, Pose, ScoreBasis, ViewConfig, ViewScorer, ViewTrack,
    WorldPose,
};
use proptest::prelude::*;

/// A plausible body in metres (x right, y down, z away): shoulders and hips fixed, the other
/// joints anywhere within reach.
fn body() -> impl Strategy<Value = [[f32; 3]; 12]> {
    let limb = || (-0.6f32..0.6, -0.6f32..0.6, -0.6f32..0.6);
    (
        proptest::collection::vec(limb(), 8),
        0.3f32..0.45,
        0.2f32..0.35,
    )
        .prop_map(|(v, shoulders, hips)| {
            let at =
                |i: usize, base: [f32; 3]| [base[0] + v[i].0, base[1] + v[i].1, base[2] + v[i].2];
            let (ls, rs) = ([shoulders / 2.0, -0.5, 0.0], [-shoulders / 2.0, -0.5, 0.0]);
            let (lh, rh) = ([hips / 2.0, 0.0, 0.02], [-hips / 2.0, 0.0, -0.02]);
            let (le, re) = (at(0, ls), at(1, rs));
            let (lk, rk) = (at(4, lh), at(5, rh));
            [
                ls,
                rs,
                le,
                re,
                at(2, le),
                at(3, re),
                lh,
                rh,
                lk,
                rk,
                at(6, lk),
                at(7, rk),
            ]
        })
}

fn image_of(joints: &[[f32; 3]; 12]) -> Pose {
    let mut pts = vec![Keypoint::default(); 33];
    for (j, p) in Joint::ALL.iter().zip(joints) {
        pts[Layout::BlazePose33.index(*j)] =
            Keypoint::new(500.0 + 300.0 * p[0], 500.0 + 300.0 * p[1], 0.9);
    }
    Pose::new(Layout::BlazePose33, pts).unwrap()
}

fn scorer(mirror: Mirror) -> ViewScorer {
    ViewScorer::new(ViewConfig {
        mirror,
        ..ViewConfig::default()
    })
    .unwrap()
}

fn score(s: &ViewScorer, user: &[[f32; 3]; 12], dancer: &[[f32; 3]; 12]) -> f32 {
    let f = |j: &[[f32; 3]; 12]| s.features(&image_of(j), Some(&WorldPose::new(*j, [0.9; 12])));
    let r = s.compare(&f(user), &f(dancer)).unwrap();
    assert_eq!(r.basis, ScoreBasis::World);
    r.score.overall
}

/// Turned by `yaw` about the vertical, scaled by `k` and moved by `t`.
fn moved(p: &[[f32; 3]; 12], yaw: f32, k: f32, t: [f32; 3]) -> [[f32; 3]; 12] {
    let (s, c) = yaw.sin_cos();
    p.map(|q| {
        [
            k * (c * q[0] + s * q[2]) + t[0],
            k * q[1] + t[1],
            k * (-s * q[0] + c * q[2]) + t[2],
        ]
    })
}

/// The mirror image: x negated, left and right swapped (Joint::ALL alternates left, right).
fn mirror_image(p: &[[f32; 3]; 12]) -> [[f32; 3]; 12] {
    std::array::from_fn(|i| {
        let q = p[i ^ 1];
        [-q[0], q[1], q[2]]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn turning_scaling_and_moving_the_body_keeps_the_score(
        p in body(),
        yaw in -std::f32::consts::PI..std::f32::consts::PI,
        k in 0.3f32..3.0,
        t in (-2.0f32..2.0, -2.0f32..2.0, -2.0f32..5.0),
    ) {
        let s = scorer(Mirror::Off);
        let q = moved(&p, yaw, k, [t.0, t.1, t.2]);
        let v = score(&s, &q, &p);
        prop_assert!(v > 0.999, "{v}");
        // The torso frame removes any rotation, a camera looking down too.
        let (sn, cs) = (0.4f32).sin_cos();
        let tilted = q.map(|r| [r[0], cs * r[1] - sn * r[2], sn * r[1] + cs * r[2]]);
        prop_assert!(score(&s, &tilted, &p) > 0.999);
    }

    #[test]
    fn a_mirror_image_matches_with_mirroring(p in body(), yaw in -3.0f32..3.0) {
        let m = moved(&mirror_image(&p), yaw, 1.0, [0.0; 3]);
        prop_assert!(score(&scorer(Mirror::On), &m, &p) > 0.999);
        let either = score(&scorer(Mirror::Either), &m, &p);
        let off = score(&scorer(Mirror::Off), &m, &p);
        let penalty = ViewConfig::default().mirror_penalty;
        prop_assert!(either >= off && either > 0.999 - penalty, "{either} {off}");
        // The mirror image of the mirror image is the body itself.
        prop_assert!(score(&scorer(Mirror::Off), &mirror_image(&mirror_image(&p)), &p) > 0.999);
    }

    #[test]
    fn scores_are_in_range_and_limbs_are_the_users(a in body(), b in body(), either in any::<bool>()) {
        let s = scorer(if either { Mirror::Either } else { Mirror::Off });
        let f = |j: &[[f32; 3]; 12]| s.features(&image_of(j), Some(&WorldPose::new(*j, [0.9; 12])));
        let r = s.compare(&f(&a), &f(&b)).unwrap();
        prop_assert!((0.0..=1.0).contains(&r.score.overall));
        for l in Limb::ALL {
            if let Some(v) = r.score.limb(l) {
                prop_assert!((0.0..=1.0).contains(&v));
            }
        }
        if let Some(h) = r.score.hint {
            prop_assert!(h.score < s.config().hint_below);
        }
    }

    #[test]
    fn missing_world_landmarks_fall_back_to_2d_and_say_so(a in body(), b in body(), user_has in any::<bool>()) {
        let s = scorer(Mirror::Off);
        let with = |j: &[[f32; 3]; 12]| s.features(&image_of(j), Some(&WorldPose::new(*j, [0.9; 12])));
        let without = |j: &[[f32; 3]; 12]| s.features(&image_of(j), None);
        let (u, d) = if user_has { (with(&a), without(&b)) } else { (without(&a), with(&b)) };
        let r = s.compare(&u, &d).unwrap();
        prop_assert_eq!(r.basis, ScoreBasis::Image);
        let robust = s.fallback().score(&image_of(&a), &image_of(&b)).unwrap();
        prop_assert_eq!(r.score, robust);
        // The same in the time window.
        let track = ViewTrack::from_fps(vec![d; 5], 30.0).unwrap();
        let m = s.score_at(&u, &track, 0.07).unwrap();
        prop_assert_eq!(m.basis, ScoreBasis::Image);
        prop_assert_eq!(m.score.overall, robust.overall);
    }
}

#[test]
fn dtw_aligns_a_late_performance_from_another_angle() {
    let s = scorer(Mirror::Either);
    // A body moving its arms and legs over 3 s at 30 fps; the user does it 0.2 s late, seen
    // from behind and further away.
    let at = |i: usize| {
        let t = i as f32 * 0.15;
        let mut p = [[0.0f32; 3]; 12];
        p[0] = [0.18, -0.5, 0.0];
        p[1] = [-0.18, -0.5, 0.0];
        p[2] = [0.4, -0.5 + 0.25 * t.sin(), 0.1];
        p[3] = [-0.4, -0.5 - 0.25 * t.cos(), 0.1];
        p[4] = [0.6, -0.5 + 0.5 * t.sin(), 0.2 * t.cos()];
        p[5] = [-0.6, -0.5 - 0.5 * t.cos(), 0.2];
        p[6] = [0.1, 0.0, 0.0];
        p[7] = [-0.1, 0.0, 0.0];
        p[8] = [0.12, 0.45, -0.2 * t.sin()];
        p[9] = [-0.1, 0.45, 0.0];
        p[10] = [0.12, 0.9, 0.1];
        p[11] = [-0.1, 0.9, 0.2 * t.cos()];
        p
    };
    let f = |j: [[f32; 3]; 12]| s.features(&image_of(&j), Some(&WorldPose::new(j, [0.9; 12])));
    let track = ViewTrack::from_fps((0..90).map(|i| f(at(i))).collect(), 30.0).unwrap();
    let user: Vec<_> = (0..90)
        .map(|i| {
            f(moved(
                &at(i.max(6) - 6),
                std::f32::consts::PI,
                0.5,
                [0.0, 0.0, 3.0],
            ))
        })
        .collect();
    let a = s
        .align(&user, &track, &pose_score::AlignConfig::default())
        .unwrap();
    assert!(a.grade > 0.95, "{}", a.grade);
    assert!((a.lag_s - 0.2).abs() < 0.02, "{}", a.lag_s);
    // Live: the window finds the frame the user copies.
    let m = s.score_at(&user[45], &track, 1.5).unwrap();
    assert_eq!((m.frame, m.basis), (39, ScoreBasis::World));
    assert!(m.score.overall > 0.999 && !m.score.mirrored, "{m:?}");
}
