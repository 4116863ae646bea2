//! Video mode on real frames: the detector runs on the first frame, the next frame is tracked from
//! the landmarks (no detector), a frame without a person drops the track; multi-person tracking
//! keeps both persons of the two-person frame. Few model runs (debug builds stay fast).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use pose_core::smoothing::OneEuroConfig;
use pose_core::{ModelKind, PoseConfig, RgbImage, RuntimeConfig, Tracker, TrackerConfig};

fn frame(name: &str) -> RgbImage {
    RgbImage::open(crate::support::shared(&format!(
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

#[test]
fn pooled_estimators_serve_several_streams_like_own_trackers() {
    use pose_core::{EstimatorPool, TrackState};
    use std::sync::Arc;
    use std::time::Duration;

    let person = frame("p2s_single_cam01_f060");
    let pool = Arc::new(EstimatorPool::new(config(1), 2).expect("models"));
    assert_eq!((pool.loaded(), pool.size()), (1, 2));

    // Two streams on one pool give what a tracker with its own estimator gives.
    let mut own = Tracker::new(config(1), TrackerConfig::default()).expect("models");
    let mut streams = [
        TrackState::new(TrackerConfig::default()),
        TrackState::new(TrackerConfig::default()),
    ];
    for k in 0..2 {
        let t = f64::from(k) / 30.0;
        let expected = own.process(&person.as_frame(), t).expect("run");
        for state in &mut streams {
            let got = state
                .process(pool.get().expect("estimator"), &person.as_frame(), t)
                .expect("run");
            assert_eq!(got, expected);
            assert_eq!(state.detector_ran(), k == 0);
        }
    }
    assert_eq!(pool.loaded(), 1, "one stream at a time needs one estimator");

    // Two lent out at once: a second is loaded; a third request waits for a return.
    let a = pool.get().expect("first");
    let b = pool.get().expect("second");
    assert_eq!(pool.loaded(), 2);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            let e = pool.get().expect("third, after a return");
            tx.send(e.config().max_poses).expect("send");
        })
    };
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the pool is full: the third request must wait"
    );
    drop(a);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10))
            .expect("served after a return"),
        1
    );
    waiter.join().expect("waiter");
    drop(b);
    assert_eq!(pool.loaded(), 2);
}
