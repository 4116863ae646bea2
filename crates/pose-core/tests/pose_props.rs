//! Property tests: drawing never panics and only touches pixels near the skeleton; the rich
//! track files and the pose JSON round-trip arbitrary values exactly; the OpenPose-18 conversion
//! follows its table for arbitrary poses.
#![allow(clippy::unwrap_used, missing_docs)]

use pose_core::draw::{DrawStyle, draw_pose};
use pose_core::extract::{PoseSample, PoseTrack};
use pose_core::pose::{COCO18_FROM_BLAZEPOSE, Coco18Source, NUM_LANDMARKS};
use pose_core::{Landmark, Pose};
use proptest::prelude::*;

fn any_coord() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        8 => -50.0f32..250.0,
        1 => prop::num::f32::ANY,
    ]
}

fn landmark(coord: impl Strategy<Value = f32> + Clone) -> impl Strategy<Value = Landmark> {
    (
        coord.clone(),
        coord.clone(),
        coord,
        0.0f32..=1.0,
        0.0f32..=1.0,
    )
        .prop_map(|(x, y, z, v, p)| Landmark::new(x, y, z, v, p))
}

fn pose(coord: impl Strategy<Value = f32> + Clone) -> impl Strategy<Value = Pose> {
    (
        prop::collection::vec(landmark(coord), NUM_LANDMARKS),
        0.0f32..=1.0,
    )
        .prop_map(|(l, s)| Pose::new(l.try_into().unwrap(), s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn drawing_stays_near_the_landmarks(p in pose(any_coord()), w in 1u32..160, h in 1u32..160) {
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let style = DrawStyle { thickness: Some(2), point_radius: Some(3), ..DrawStyle::default() };
        draw_pose(&mut rgb, w, h, &p, &style).unwrap();
        // Every changed pixel lies within the dot radius (+1) of the finite landmarks' box.
        let finite: Vec<_> = p.landmarks.iter().filter(|l| l.x.is_finite() && l.y.is_finite()).collect();
        let (x0, x1) = finite.iter().fold((f32::MAX, f32::MIN), |(a, b), l| (a.min(l.x), b.max(l.x)));
        let (y0, y1) = finite.iter().fold((f32::MAX, f32::MIN), |(a, b), l| (a.min(l.y), b.max(l.y)));
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            if px != [0, 0, 0] {
                let (x, y) = ((i as u32 % w) as f32 + 0.5, (i as u32 / w) as f32 + 0.5);
                prop_assert!(x >= x0 - 4.0 && x <= x1 + 4.0 && y >= y0 - 4.0 && y <= y1 + 4.0);
            }
        }
    }

    #[test]
    fn openpose18_follows_the_table(p in pose(-50.0f32..250.0), thr in 0.0f32..=1.0) {
        let op = p.to_openpose18_with(thr);
        for (k, src) in COCO18_FROM_BLAZEPOSE.iter().enumerate() {
            let (x, y, v) = match *src {
                Coco18Source::Landmark(i) => (p.landmarks[i].x, p.landmarks[i].y, p.landmarks[i].visibility),
                Coco18Source::Midpoint(a, b) => {
                    let (a, b) = (p.landmarks[a], p.landmarks[b]);
                    ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0, a.visibility.min(b.visibility))
                }
            };
            let expected = if v >= thr { [x, y] } else { [0.0, 0.0] };
            prop_assert_eq!([op[2 * k], op[2 * k + 1]], expected);
        }
    }

    #[test]
    fn track_files_round_trip(
        poses in prop::collection::vec(prop::option::of(pose(-1e6f32..1e6)), 0..6),
        fps in 0.5f64..120.0,
    ) {
        let samples = poses
            .into_iter()
            .enumerate()
            .map(|(k, pose)| PoseSample { index: k, time: k as f64 / fps, frame_time: k as f64 / fps + 1e-3, pose })
            .collect();
        let track = PoseTrack { fps, width: 640, height: 480, source: Some("a b.mp4".into()), samples };
        let mut csv = Vec::new();
        track.write_csv(&mut csv).unwrap();
        prop_assert_eq!(&PoseTrack::read_csv(&csv[..]).unwrap(), &track);
        let mut json = Vec::new();
        track.write_json(&mut json).unwrap();
        prop_assert_eq!(&PoseTrack::read_json(&json[..]).unwrap(), &track);
        let mut old = Vec::new();
        track.write_openpose_csv(&mut old, 0.5).unwrap();
        let rows = old_rows(&old);
        prop_assert_eq!(rows.len(), track.samples.len());
        for row in rows {
            prop_assert!(row.iter().step_by(2).all(|&x| (0.0..640.0).contains(&x)));
            prop_assert!(row.iter().skip(1).step_by(2).all(|&y| (0.0..480.0).contains(&y)));
        }
    }
}

/// The numbers of the old `dancer_keyp_list.csv` (pose-score holds the library reader; pose-core
/// does not depend on it, so that the two crates publish in order).
fn old_rows(csv: &[u8]) -> Vec<Vec<f64>> {
    if csv.is_empty() {
        return Vec::new();
    }
    std::str::from_utf8(csv)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|c| c.trim().parse().unwrap()).collect())
        .collect()
}
