//! Dancer extraction end to end: the bundled dancer clip through the video reader and the Tracker
//! into the old CSV and the rich track, as the `extract` example does.
#![cfg(feature = "video")]
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use pose_core::extract::{ExtractOptions, PoseTrack, extract_video};
use pose_core::{LandmarkName, ModelKind, PoseConfig, RuntimeConfig, Tracker, TrackerConfig};

#[test]
fn dancer_clip_gives_one_row_per_sample_with_the_dancer_in_each() {
    let video = crate::support::testdata("dancer.mp4"); // 540x960, 3.333 s at 30 fps
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model: ModelKind::Lite,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut tracker = Tracker::new(config, TrackerConfig::default()).unwrap();
    let track = extract_video(&video, 10.0, &ExtractOptions::quiet(), |frame| {
        let poses = tracker.process(&frame.as_frame()?, frame.time)?;
        Ok(poses.into_iter().next())
    })
    .unwrap();
    assert_eq!(track.samples.len(), 34); // ceil(3.333 x 10); round() = 33, within +-1
    assert_eq!((track.width, track.height, track.fps), (540, 960, 10.0));
    assert_eq!(track.source.as_deref(), Some("dancer.mp4"));
    assert!(
        track.samples.iter().all(|s| s.pose.is_some()),
        "the dancer is in every frame"
    );

    // The clip plays forwards then backwards: sample k and 33 - k show nearly the same frame
    // (source frames 3k and 99 - 3k at 30 fps: within one 30 fps frame of each other).
    let hip = |k: usize| {
        let p = track.samples[k].pose.unwrap();
        let l = p.landmark(LandmarkName::LeftHip);
        (l.x, l.y)
    };
    for k in [0, 5, 10] {
        let (a, b) = (hip(k), hip(33 - k));
        let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        assert!(
            d < 25.0,
            "sample {k} vs {}: left hip {a:?} vs {b:?}",
            33 - k
        );
    }

    // Old CSV: 34 rows of 36 integers, shoulders and hips present, Neck between the shoulders.
    let mut csv = Vec::new();
    track.write_openpose_csv(&mut csv, 0.5).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert_eq!(text.lines().count(), 34);
    assert!(
        text.lines()
            .all(|l| l.split(',').filter(|c| c.parse::<i32>().is_ok()).count() == 36)
    );
    for row in old_rows(&csv) {
        let (neck, rsho, lsho) = ((row[2], row[3]), (row[4], row[5]), (row[10], row[11]));
        assert!(
            rsho.0 > 0.0 && lsho.0 > 0.0 && row[16] > 0.0 && row[22] > 0.0,
            "{row:?}"
        );
        assert!((neck.0 - (rsho.0 + lsho.0) / 2.0).abs() <= 1.0, "{row:?}");
        assert!((neck.1 - (rsho.1 + lsho.1) / 2.0).abs() <= 1.0, "{row:?}");
        assert!(row.iter().step_by(2).all(|&x| (0.0..540.0).contains(&x)));
        assert!(
            row.iter()
                .skip(1)
                .step_by(2)
                .all(|&y| (0.0..960.0).contains(&y))
        );
    }

    // Every pose has its world landmarks, hip-centred, in metres.
    for pose in track.samples.iter().flat_map(|s| s.pose) {
        let world = pose.world.expect("world landmarks");
        let hip = [0, 1, 2].map(|k| (world[23][k] + world[24][k]) / 2.0);
        assert!(hip.iter().all(|v| v.abs() < 0.05), "{hip:?}");
        let ankles = [0, 1, 2].map(|k| (world[27][k] + world[28][k]) / 2.0);
        let d = (0..3)
            .map(|k| (ankles[k] - world[0][k]).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!((0.8..2.2).contains(&d), "nose to ankles {d} m");
    }

    // The rich track reloads exactly from both formats (the CSV has no world landmarks).
    let dir = std::env::temp_dir().join(format!("pose-core-extract-video-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut without_world = track.clone();
    for s in &mut without_world.samples {
        if let Some(p) = &mut s.pose {
            p.world = None;
        }
    }
    for (name, expected) in [("dancer.json", &track), ("dancer.csv", &without_world)] {
        track.save(dir.join(name)).unwrap();
        assert_eq!(
            &PoseTrack::load(dir.join(name)).unwrap(),
            expected,
            "{name}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The numbers of the old `dancer_keyp_list.csv` (pose-score holds the library reader; pose-core
/// does not depend on it, so that the two crates publish in order).
fn old_rows(csv: &[u8]) -> Vec<Vec<f64>> {
    std::str::from_utf8(csv)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|c| c.trim().parse().unwrap()).collect())
        .collect()
}

#[test]
fn reference_tracks_are_extracted_once_then_loaded_from_the_cache() {
    let video = support::testdata("dancer.mp4");
    let dir = std::env::temp_dir().join(format!("pose-core-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = pose_core::load_or_extract(&video, Some(10.0), ModelKind::Lite, &dir).unwrap();
    assert!(!first.from_cache);
    assert_eq!(first.tracks.len(), 1);
    let track = &first.tracks[0];
    assert_eq!((track.fps, track.width, track.height), (10.0, 540, 960));
    assert!(track.samples.len() >= 33 && track.samples.iter().all(|s| s.pose.is_some()));
    let name = first
        .file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.ends_with("-lite-10fps.json") && name.len() == 64 + 16,
        "{name}"
    );
    let again = pose_core::load_or_extract(&video, Some(10.0), ModelKind::Lite, &dir).unwrap();
    assert!(again.from_cache);
    assert_eq!(again.tracks, first.tracks);
    // Two people asked for, one in the video: the second track is empty, in its own file.
    let two =
        pose_core::load_or_extract_people(&video, Some(10.0), ModelKind::Lite, 2, &dir).unwrap();
    assert_eq!(two.tracks.len(), 2);
    assert_eq!(two.tracks[0].samples.len(), track.samples.len());
    assert!(two.tracks[1].samples.iter().all(|s| s.pose.is_none()));
    assert_ne!(two.file, first.file);
    // A damaged cache file is extracted again.
    std::fs::write(&first.file, b"{not json").unwrap();
    let redone = pose_core::load_or_extract(&video, Some(10.0), ModelKind::Lite, &dir).unwrap();
    assert!(!redone.from_cache);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cached_reference_tracks_carry_world_landmarks() {
    let video = support::testdata("dancer.mp4");
    let dir = std::env::temp_dir().join(format!("pose-core-world-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = pose_core::load_or_extract(&video, Some(5.0), ModelKind::Lite, &dir).unwrap();
    let poses = || {
        first.tracks[0]
            .samples
            .iter()
            .filter_map(|s| s.pose.as_ref())
    };
    assert!(poses().count() > 10 && poses().all(|p| p.world.is_some()));
    // A file written before poses carried world landmarks is extracted again.
    let mut old = first.tracks[0].clone();
    for s in &mut old.samples {
        if let Some(p) = &mut s.pose {
            p.world = None;
        }
    }
    old.save(&first.file).unwrap();
    let again = pose_core::load_or_extract(&video, Some(5.0), ModelKind::Lite, &dir).unwrap();
    assert!(!again.from_cache);
    assert_eq!(again.tracks, first.tracks);
    let _ = std::fs::remove_dir_all(&dir);
}
