//! The `score` CLI example, driven like the acceptance checks: fixture files in the old format,
//! exact output lines, and bad files that must fail naming the line.
//!
//! Uses the example binary `cargo test` builds next to this test (`target/<profile>/examples/score`).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[derive(serde::Deserialize)]
struct Fixture {
    dancer: Vec<Vec<f64>>,
    users: Vec<Vec<f64>>,
    expected_scores: Vec<f64>,
}

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

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pose-score-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_rows(path: &Path, rows: &[Vec<f64>]) {
    let text: String = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

fn fixture_files(dir: &Path) -> (Fixture, String, String) {
    let path = crate::support::shared("tools/baselines/score_fixture.json");
    let f: Fixture = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (d, u) = (dir.join("dancer.csv"), dir.join("user.csv"));
    write_rows(&d, &f.dancer);
    write_rows(&u, &f.users);
    (f, d.display().to_string(), u.display().to_string())
}

#[test]
fn seed_mode_prints_the_old_scores() {
    let dir = temp_dir("seed");
    let (f, d, u) = fixture_files(&dir);
    let out = run(&["--dancer", &d, "--user", &u, "--mode", "seed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), f.users.len() + 1);
    for (k, line) in lines[..f.users.len()].iter().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], k.to_string());
        let score: f64 = parts[1].parse().unwrap();
        assert!(
            (score - f.expected_scores[k]).abs() <= 1e-9,
            "{line} vs {}",
            f.expected_scores[k]
        );
        assert_eq!(
            parts[2],
            if f.expected_scores[k] < 0.15 {
                "CORRECT"
            } else {
                "NOT"
            },
            "{line}"
        );
    }
    assert_eq!(lines[f.users.len()], "rows=14 correct=11");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn robust_mode_scores_every_row() {
    let dir = temp_dir("robust");
    let (f, d, u) = fixture_files(&dir);
    let out = run(&[
        "--dancer",
        &d,
        "--user",
        &u,
        "--fps",
        "30",
        "--window-s",
        "0.5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), f.users.len() + 1);
    for line in &lines[..f.users.len()] {
        let parts: Vec<&str> = line.split(' ').collect();
        let score: f64 = parts[1].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{line}");
        assert!(parts[2] == "CORRECT" || parts[2] == "NOT", "{line}");
    }
    // The all-zero user row shows no body: NOT, and a note on stderr.
    assert_eq!(lines[9], "9 0.000000 NOT");
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 9: not enough of the body in view"));
    // x and y swapped (lying down) is not the dance.
    assert!(lines[11].ends_with(" NOT"), "{}", lines[11]);
    assert!(lines[f.users.len()].starts_with("rows=14 correct="));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_files_fail_naming_the_line() {
    let dir = temp_dir("bad");
    let (_, d, _) = fixture_files(&dir);
    let good = vec!["1"; 36].join(",");
    let cases = [
        (
            "columns.csv",
            format!("{good}\n{}\n", vec!["1"; 35].join(",")),
            "line 2: 35 columns, expected 36",
        ),
        (
            "number.csv",
            format!("{good}\n{good}\n{},x\n", vec!["1"; 35].join(",")),
            "line 3: field 36 is not a number",
        ),
        ("empty.csv", String::new(), "no keypoint rows (empty file)"),
    ];
    for mode in ["seed", "robust"] {
        for (name, text, message) in &cases {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let out = run(&[
                "--dancer",
                &d,
                "--user",
                path.to_str().unwrap(),
                "--mode",
                mode,
            ]);
            assert!(!out.status.success(), "{mode} {name}: should fail");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(message) && err.contains(name),
                "{mode} {name}: {err}"
            );
            assert!(out.stdout.is_empty(), "{mode} {name}: no partial output");
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
