//! The `score` CLI's view mode on real tracks (pose-core `extract --json` of two Pose2Sim
//! cameras, `tests/data/`): exact output lines, the time window, mirroring, the 2D fallback when
//! world landmarks are missing, and bad files.
//!
//! Uses the example binary `cargo test` builds next to this test (`target/<profile>/examples/score`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("score{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test -p pose-score` (which builds the examples)",
        bin.display()
    );
    bin
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pose-score-view-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

/// The `ROW SCORE VERDICT` lines (checked for shape) and the `rows= correct=` counts.
fn parse(out: &Output) -> (Vec<(f64, bool)>, usize, usize) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (last, rows) = lines.split_last().unwrap();
    let mut scores = Vec::new();
    for (k, line) in rows.iter().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], k.to_string(), "{line}");
        assert_eq!(parts[1].split('.').nth(1).map(str::len), Some(6), "{line}");
        let score: f64 = parts[1].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{line}");
        assert!(parts[2] == "CORRECT" || parts[2] == "NOT", "{line}");
        scores.push((score, parts[2] == "CORRECT"));
    }
    let counts: Vec<usize> = last
        .split(' ')
        .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(
        *last,
        format!("rows={} correct={}", counts[0], counts[1]),
        "{last}"
    );
    assert_eq!(counts[0], scores.len());
    assert_eq!(counts[1], scores.iter().filter(|s| s.1).count());
    (scores, counts[0], counts[1])
}

#[test]
fn front_and_back_cameras_of_the_same_moves_score_correct() {
    let (front, back) = (
        data("pose2sim_single_cam01.json"),
        data("pose2sim_single_cam03.json"),
    );
    for mirror in ["off", "either"] {
        for window in ["0.5", "0"] {
            let out = run(&[
                "--dancer",
                &front,
                "--user",
                &back,
                "--mode",
                "view",
                "--window-s",
                window,
                "--mirror",
                mirror,
            ]);
            let (_, rows, correct) = parse(&out);
            assert_eq!(rows, 50);
            assert!(
                correct >= 40,
                "mirror {mirror}, window {window}: {correct} of 50 correct"
            );
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // A track against itself: every row 1.
    let out = run(&["--dancer", &front, "--user", &front, "--mode", "view"]);
    let (scores, _, correct) = parse(&out);
    assert_eq!(correct, 50);
    assert!(scores.iter().all(|s| s.0 > 0.999_99), "{scores:?}");
}

#[test]
fn other_instants_score_not_and_the_window_reaches_them() {
    let dir = temp_dir("reversed");
    // The dancer's poses in reverse order, times unchanged: user sample i meets the pose of
    // instant 49 - i.
    let mut track: Value =
        serde_json::from_slice(&std::fs::read(data("pose2sim_single_cam01.json")).unwrap())
            .unwrap();
    let samples = track["samples"].as_array_mut().unwrap();
    let poses: Vec<Value> = samples.iter().map(|s| s["pose"].clone()).rev().collect();
    for (s, p) in samples.iter_mut().zip(poses) {
        s["pose"] = p;
    }
    let reversed = dir.join("reversed.json");
    std::fs::write(&reversed, serde_json::to_vec(&track).unwrap()).unwrap();
    let back = data("pose2sim_single_cam03.json");
    let out = run(&[
        "--dancer",
        reversed.to_str().unwrap(),
        "--user",
        &back,
        "--mode",
        "view",
        "--window-s",
        "0",
    ]);
    let (scores, _, _) = parse(&out);
    // Rows >= 9 samples (0.3 s) from the middle meet an instant >= 0.3 s away.
    let far: Vec<bool> = scores
        .iter()
        .enumerate()
        .filter(|(i, _)| (2 * *i as i64 - 49).abs() >= 18)
        .map(|(_, s)| s.1)
        .collect();
    let wrong = far.iter().filter(|c| **c).count();
    assert!(
        wrong * 3 <= far.len(),
        "{wrong} of {} far instants CORRECT",
        far.len()
    );
    // A window covering the whole track finds the right instant again.
    let out = run(&[
        "--dancer",
        reversed.to_str().unwrap(),
        "--user",
        &back,
        "--mode",
        "view",
        "--window-s",
        "2",
    ]);
    let (_, _, correct) = parse(&out);
    assert!(correct >= 40, "{correct}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn tracks_without_world_landmarks_fall_back_to_2d_and_say_so() {
    let dir = temp_dir("old");
    let mut track: Value =
        serde_json::from_slice(&std::fs::read(data("pose2sim_single_cam01.json")).unwrap())
            .unwrap();
    for s in track["samples"].as_array_mut().unwrap() {
        s["pose"].as_object_mut().unwrap().remove("world");
    }
    // One sample without a person.
    track["samples"][3]["pose"] = Value::Null;
    let old = dir.join("old.json");
    std::fs::write(&old, serde_json::to_vec(&track).unwrap()).unwrap();
    let front = data("pose2sim_single_cam01.json");
    let out = run(&[
        "--dancer",
        &front,
        "--user",
        old.to_str().unwrap(),
        "--mode",
        "view",
    ]);
    let (scores, rows, correct) = parse(&out);
    assert_eq!(rows, 50);
    assert_eq!(scores[3], (0.0, false));
    assert!(correct >= 45, "the same camera in 2D: {correct}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 3: no person"), "{err}");
    assert!(
        err.contains("note: 49 of 50 rows scored from 2D image keypoints (no world landmarks)"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_track_files_fail_naming_the_file() {
    let dir = temp_dir("bad");
    let front = data("pose2sim_single_cam01.json");
    let cases = [
        ("text.json", "not json".to_owned(), "not a pose track"),
        ("empty.json", r#"{"samples": []}"#.to_owned(), "no samples"),
        (
            "short.json",
            r#"{"samples": [{"time": 0, "pose": {"landmarks": [[1, 2, 0, 1, 1]]}}]}"#.to_owned(),
            "sample 0: row 0: expected 33 values, got 1",
        ),
        (
            "order.json",
            std::fs::read_to_string(&front)
                .unwrap()
                .replacen("\"time\":0.0", "\"time\":9.0", 1),
            "sample times must be finite and increasing",
        ),
    ];
    for (name, text, message) in &cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        for (dancer, user) in [(p, front.as_str()), (front.as_str(), p)] {
            let out = run(&["--dancer", dancer, "--user", user, "--mode", "view"]);
            let err = String::from_utf8_lossy(&out.stderr);
            if *name == "order.json" && user == p {
                // User samples are scored one by one, at their own times.
                assert!(out.status.success(), "{err}");
                continue;
            }
            assert!(!out.status.success(), "{name}: should fail");
            assert!(err.contains(message) && err.contains(name), "{name}: {err}");
            assert!(out.stdout.is_empty(), "{name}: no partial output");
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
