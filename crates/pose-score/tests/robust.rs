//! Robust mode on the old project's fixture poses (OpenPose-18 rows from `score_fixture.json`):
//! invariance, mirroring, missing keypoints, hints, windows and alignment.
#![allow(clippy::unwrap_used)]

mod support;

use pose_score::{
    AlignConfig, DancerTrack, Issue, Keypoint, KeypointTable, Layout, Limb, Mirror, Pose, Scorer,
    ScorerConfig,
};
use proptest::prelude::*;

fn dancer_rows() -> Vec<Vec<f64>> {
    #[derive(serde::Deserialize)]
    struct Fixture {
        dancer: Vec<Vec<f64>>,
    }
    static ROWS: std::sync::OnceLock<Vec<Vec<f64>>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        let path = crate::support::shared("tools/baselines/score_fixture.json");
        let f: Fixture = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f.dancer
    })
    .clone()
}

/// A fixture row with every part present (rows with 0-parts are skipped).
fn full_row(rows: &[Vec<f64>], k: usize) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.iter().all(|v| *v != 0.0))
        .nth(k)
        .unwrap()
        .clone()
}

fn scorer(mirror: Mirror) -> Scorer {
    Scorer::new(ScorerConfig {
        mirror,
        ..ScorerConfig::default()
    })
    .unwrap()
}

/// OpenPose-18 part index of the same part on the other side (neck and nose stay).
const OP_SWAP: [usize; 18] = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn invariant_to_scale_and_shift(k in 0usize..40, s in 0.2f64..5.0, dx in -500.0f64..500.0, dy in -500.0f64..500.0) {
        let rows = dancer_rows();
        let row = full_row(&rows, k);
        let moved: Vec<f64> = row.iter().enumerate().map(|(i, v)| v * s + if i % 2 == 0 { dx + 1000.0 } else { dy + 1000.0 }).collect();
        let sc = scorer(Mirror::Off);
        let r = sc.score(&Pose::from_openpose_row(&moved).unwrap(), &Pose::from_openpose_row(&row).unwrap()).unwrap();
        prop_assert!(r.overall > 0.999, "{}", r.overall);
        prop_assert!(r.hint.is_none());
    }
}

#[test]
fn mirrored_user_matches_only_with_mirroring() {
    let rows = dancer_rows();
    for k in 0..20 {
        let mut row = full_row(&rows, k);
        // Make the pose asymmetric: right forearm (elbow 3 -> wrist 4) straight up.
        row[8] = row[6];
        row[9] = row[7] - 60.0;
        // The user faces the dancer like a mirror: image flipped, left and right exchanged.
        let mut mirrored = vec![0.0; 36];
        for p in 0..18 {
            mirrored[2 * OP_SWAP[p]] = 640.0 - row[2 * p];
            mirrored[2 * OP_SWAP[p] + 1] = row[2 * p + 1];
        }
        let (user, dancer) = (
            Pose::from_openpose_row(&mirrored).unwrap(),
            Pose::from_openpose_row(&row).unwrap(),
        );
        let on = scorer(Mirror::On).score(&user, &dancer).unwrap();
        let either = scorer(Mirror::Either).score(&user, &dancer).unwrap();
        let off = scorer(Mirror::Off).score(&user, &dancer).unwrap();
        assert!(on.overall > 0.999 && on.mirrored, "{on:?}");
        assert_eq!(either.overall, on.overall);
        assert!(
            off.overall < on.overall - 0.05,
            "row {k}: off {} on {}",
            off.overall,
            on.overall
        );
    }
}

#[test]
fn missing_keypoints_are_left_out_and_too_few_is_out_of_view() {
    let rows = dancer_rows();
    let row = full_row(&rows, 3);
    let sc = scorer(Mirror::Off);
    let dancer = Pose::from_openpose_row(&row).unwrap();
    // Drop the left wrist (OpenPose 7): the left forearm is not compared, the rest still matches.
    let mut dropped = row.clone();
    dropped[14] = 0.0;
    dropped[15] = 0.0;
    let r = sc
        .score(&Pose::from_openpose_row(&dropped).unwrap(), &dancer)
        .unwrap();
    assert_eq!(r.limb(Limb::LeftForearm), None);
    assert!(r.limb(Limb::RightForearm).unwrap() > 0.999);
    assert!(r.overall > 0.999);
    // Only the head and shoulders: not a score.
    let mut head: Vec<f64> = row.clone();
    for p in [3, 4, 6, 7, 8, 9, 10, 11, 12, 13] {
        head[2 * p] = 0.0;
        head[2 * p + 1] = 0.0;
    }
    let e = sc
        .score(&Pose::from_openpose_row(&head).unwrap(), &dancer)
        .unwrap_err();
    // Only the shoulder line is left.
    assert_eq!(e.visible_limbs, 1);
    assert_eq!(
        e.to_string(),
        "not enough of the body in view (1 of 11 limbs, need 4)"
    );
}

#[test]
fn same_body_in_every_layout_matches() {
    let rows = dancer_rows();
    let row = full_row(&rows, 5);
    let op = Pose::from_openpose_row(&row).unwrap();
    let mut coco = vec![Keypoint::new(0.0, 0.0, 0.0); 17];
    let mut blaze = vec![Keypoint::new(0.0, 0.0, 0.0); 33];
    for j in pose_score::Joint::ALL {
        let k = op.joint(j);
        coco[Layout::Coco17.index(j)] = Keypoint::new(k.x, k.y, 0.9);
        blaze[Layout::BlazePose33.index(j)] = Keypoint::new(k.x, k.y, 0.8);
    }
    let sc = scorer(Mirror::Off);
    let coco = Pose::new(Layout::Coco17, coco).unwrap();
    let blaze = Pose::new(Layout::BlazePose33, blaze).unwrap();
    assert!(sc.score(&coco, &op).unwrap().overall > 0.9999);
    assert!(sc.score(&blaze, &coco).unwrap().overall > 0.9999);
    // Below the visibility threshold nothing is seen.
    let faint: Vec<Keypoint> = blaze
        .points()
        .iter()
        .map(|k| Keypoint {
            visibility: 0.2,
            ..*k
        })
        .collect();
    assert!(
        sc.score(&Pose::new(Layout::BlazePose33, faint).unwrap(), &coco)
            .is_err()
    );
}

#[test]
fn hints_name_the_limb_and_the_direction() {
    let rows = dancer_rows();
    let row = full_row(&rows, 7);
    let sc = scorer(Mirror::Off);
    let dancer = Pose::from_openpose_row(&row).unwrap();
    // Swing the right forearm (elbow 3 -> wrist 4) up to point straight up from the elbow.
    let mut up = row.clone();
    up[8] = row[6];
    up[9] = row[7] - 60.0;
    let r = sc
        .score(&Pose::from_openpose_row(&up).unwrap(), &dancer)
        .unwrap();
    let hint = r.hint.unwrap();
    assert_eq!(
        (hint.limb, hint.issue),
        (Limb::RightForearm, Issue::TooHigh),
        "{hint}"
    );
    assert_eq!(hint.to_string(), "right forearm too high");
    assert!(r.overall < 0.95 && r.overall > 0.8, "{}", r.overall);
    // Mirrored comparison names the user's own limb.
    let mut mirrored = vec![0.0; 36];
    for p in 0..18 {
        mirrored[2 * OP_SWAP[p]] = 640.0 - up[2 * p];
        mirrored[2 * OP_SWAP[p] + 1] = up[2 * p + 1];
    }
    let r = scorer(Mirror::On)
        .score(&Pose::from_openpose_row(&mirrored).unwrap(), &dancer)
        .unwrap();
    assert_eq!(r.hint.unwrap().to_string(), "left forearm too high");
}

#[test]
fn window_finds_the_frame_near_playback_time_only() {
    let rows = dancer_rows();
    let sc = scorer(Mirror::Off);
    let table = KeypointTable::from_rows(36, &rows).unwrap();
    let track = DancerTrack::from_table(&sc, &table, 30.0).unwrap();
    // The user copies dancer row 100 at playback time 100/30 + 0.2 s: found, 0.2 s early.
    let user = sc.features(&Pose::from_openpose_row(&rows[100]).unwrap());
    let m = sc.score_at(&user, &track, 100.0 / 30.0 + 0.2).unwrap();
    assert_eq!(m.frame, 100);
    assert!((m.offset_s + 0.2).abs() < 1e-4);
    assert!(m.score.overall > 0.9999);
    // Far from it, the same pose is only compared with other frames.
    let far = sc.score_at(&user, &track, 1.0).unwrap();
    assert!((25..=45).contains(&far.frame), "{}", far.frame);
}

#[test]
fn dtw_recovers_the_lag_and_grades() {
    let rows = dancer_rows();
    let sc = scorer(Mirror::Off);
    let table = KeypointTable::from_rows(36, &rows).unwrap();
    let track = DancerTrack::from_table(&sc, &table, 30.0).unwrap();
    // The user starts 9 frames (0.3 s) late and holds the last pose.
    let user: Vec<_> = (0..rows.len())
        .map(|i| sc.features(&Pose::from_openpose_row(&rows[i.saturating_sub(9)]).unwrap()))
        .collect();
    let a = sc.align(&user, &track, &AlignConfig::default()).unwrap();
    assert!((a.lag_s - 0.3).abs() < 0.04, "lag {}", a.lag_s);
    assert!(a.grade > 0.9, "grade {}", a.grade);
    // A different performance grades lower.
    let other: Vec<_> = (0..rows.len())
        .map(|i| sc.features(&Pose::from_openpose_row(&rows[(i * 7 + 50) % rows.len()]).unwrap()))
        .collect();
    let b = sc.align(&other, &track, &AlignConfig::default()).unwrap();
    assert!(b.grade < a.grade - 0.05, "{} vs {}", b.grade, a.grade);
    // Durations too different for the band.
    assert!(
        sc.align(&user[..50], &track, &AlignConfig::default())
            .is_err()
    );
}
