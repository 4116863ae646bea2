//! Seed mode against the old Python code's own output (`tools/baselines/score_fixture.json`,
//! written by `seed_score.py --write-fixture`).
#![allow(clippy::unwrap_used)]

mod support;

use pose_score::{COSINE_NO_MATCH, CosineMatcher, KeypointTable};

#[derive(serde::Deserialize)]
struct Fixture {
    threshold: f64,
    dancer: Vec<Vec<f64>>,
    users: Vec<Vec<f64>>,
    expected_scores: Vec<f64>,
    expected_correct: Vec<bool>,
}

fn fixture() -> Fixture {
    let path = crate::support::shared("tools/baselines/score_fixture.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

#[test]
fn equals_seed_score_py_within_1e_9() {
    let f = fixture();
    assert_eq!(f.threshold, pose_score::COSINE_CORRECT_BELOW);
    let dancer = KeypointTable::from_rows(36, &f.dancer).unwrap();
    assert_eq!(dancer.len(), 214);
    let m = CosineMatcher::new(&dancer).unwrap();
    assert_eq!(f.users.len(), f.expected_scores.len());
    for (k, u) in f.users.iter().enumerate() {
        let got = m.score(u).unwrap();
        let want = f.expected_scores[k];
        assert!(
            (got.score - want).abs() <= 1e-9,
            "user[{k}]: {} vs python {want}",
            got.score
        );
        assert_eq!(got.is_correct(), f.expected_correct[k], "user[{k}]");
        assert_eq!(
            got,
            m.score_reference(u).unwrap(),
            "user[{k}]: fast path vs reference loop"
        );
    }
    // The cases the baseline README spells out.
    assert_eq!(m.score(&f.users[8]).unwrap().row, Some(100));
    assert_eq!(m.score(&f.users[9]).unwrap().score, COSINE_NO_MATCH);
    assert!(!m.score(&f.users[11]).unwrap().is_correct());
    assert!(!m.score(&f.users[12]).unwrap().is_correct());
}

#[test]
fn all_zero_dancer_row_never_wins() {
    let f = fixture();
    // Row 17 of the fixture is all zeros: the old code's nan, skipped.
    assert!(f.dancer[17].iter().all(|v| *v == 0.0));
    let m = CosineMatcher::new(&KeypointTable::from_rows(36, &f.dancer).unwrap()).unwrap();
    for u in &f.users {
        assert_ne!(m.score(u).unwrap().row, Some(17));
    }
    let only_zero =
        CosineMatcher::new(&KeypointTable::from_rows(36, [[0.0; 36]]).unwrap()).unwrap();
    assert_eq!(only_zero.score(&f.users[0]).unwrap().score, COSINE_NO_MATCH);
}

#[test]
fn old_csv_round_trips_the_fixture() {
    let f = fixture();
    let dancer = KeypointTable::from_rows(36, &f.dancer).unwrap();
    let mut csv = Vec::new();
    dancer.write_csv(&mut csv).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(text.starts_with("320.931,92.829,"), "{}", &text[..40]);
    assert_eq!(text.lines().count(), 214);
    assert_eq!(
        KeypointTable::read_openpose_csv(csv.as_slice()).unwrap(),
        dancer
    );
}

#[test]
fn synthetic_rows_are_the_scripts_rows() {
    let f = fixture();
    let mut rows = pose_score::synthetic::make_dancer(214);
    rows[17] = [0.0; 36];
    for (i, (a, b)) in rows.iter().zip(&f.dancer).enumerate() {
        assert_eq!(&a[..], &b[..], "row {i}");
    }
    let mut rng = pose_score::synthetic::Lcg::new(777);
    for k in 0..8 {
        let u = pose_score::synthetic::make_pose(
            &mut rng,
            2.0 * std::f64::consts::PI * (k as f64 * 0.37),
        );
        assert_eq!(&u[..], &f.users[k][..], "user {k}");
    }
}
