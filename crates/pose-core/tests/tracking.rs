//! Video mode on real frames: the detector runs on the first frame, the next frame is tracked from
//! the landmarks (no detector), a frame without a person drops the track; multi-person tracking
//! keeps both persons of the two-person frame. Few model runs (debug builds stay fast).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pose_core::smoothing::OneEuroConfig;
use pose_core::{ModelKind, PoseConfig, RgbImage, RuntimeConfig, Tracker, TrackerConfig};

fn frame(name: &str) -> RgbImage {
    RgbImage::open(posecam_test_support::shared(&format!(
        "models/golden/frames/{name}.jpg"
    )))
    .expect("decode golden frame")
}

fn config(max_poses: usize) -> PoseConfig {
    PoseConfig {
        runtime: RuntimeConfig {
            model: ModelKind::Lite,
            ..Default::default()
        },
        max_poses,
        ..Default::default()
    }
}

#[test]
fn single_person_tracks_then_loses() {
    let person = frame("p2s_single_cam01_f060");
    let empty = frame("no_person_p2s_cam01_f000_crop");
    let mut tracker = Tracker::new(
        config(1),
        TrackerConfig {
            smoothing: Some(OneEuroConfig::default()),
            ..Default::default()
        },
    )
    .expect("models");

    let first = tracker
        .process_tracked(&person.as_frame(), 0.0)
        .expect("run");
    assert!(tracker.detector_ran());
    assert_eq!(first.len(), 1);
    assert!(!first[0].tracked);

    let second = tracker
        .process_tracked(&person.as_frame(), 1.0 / 30.0)
        .expect("run");
    assert!(!tracker.detector_ran(), "second frame must be tracked");
    assert_eq!(second.len(), 1);
    assert!(second[0].tracked);
    assert_eq!(second[0].id, first[0].id);
    // Same image, ROI from the landmarks instead of the detector: nearly the same pose.
    let mut d: Vec<f32> = first[0]
        .pose
        .landmarks
        .iter()
        .zip(&second[0].pose.landmarks)
        .map(|(a, b)| (a.x - b.x).hypot(a.y - b.y))
        .collect();
    d.sort_by(f32::total_cmp);
    assert!(d[16] < 5.0, "median landmark move {} px", d[16]);

    let third = tracker.process(&empty.as_frame(), 2.0 / 30.0).expect("run");
    assert!(third.is_empty());
    assert!(tracker.detector_ran(), "lost track: detector must run");
    assert!(tracker.tracks().is_empty());
}

#[test]
fn two_persons_tracked() {
    let two = frame("p2s_multi_cam01_f050");
    let mut tracker = Tracker::new(config(2), TrackerConfig::default()).expect("models");
    let first = tracker.process_tracked(&two.as_frame(), 0.0).expect("run");
    assert_eq!(first.len(), 2);
    let second = tracker.process_tracked(&two.as_frame(), 0.04).expect("run");
    assert!(!tracker.detector_ran(), "both persons tracked: no detector");
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|t| t.tracked));
    let ids: Vec<u64> = second.iter().map(|t| t.id).collect();
    assert_eq!(ids, first.iter().map(|t| t.id).collect::<Vec<_>>());
}
