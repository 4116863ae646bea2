//! The `mjpeg_view` example as a real process against a loopback camera that is up for the first
//! half of the run and down for the second: frames > 0, one `t=` line a second, the final line's
//! format, exit 0 after `--seconds 3`.
//!
//! `cargo test` builds the example next to this test binary (`target/<profile>/examples/`).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Auth, Camera, Serve, sample_jpeg};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let p = dir.join("examples").join(name);
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build -p stream-codec --features tokio --example {name}` \
         (plain `cargo test -p stream-codec --features tokio` does)",
        p.display()
    );
    p
}

fn field(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} not a number in {line:?}"))
}

#[tokio::test]
async fn mjpeg_view_reads_and_survives_the_camera_going_down() {
    let cam = Camera::start(
        Serve::Live {
            jpeg: sample_jpeg(),
            fps: 25.0,
        },
        Auth::None,
    )
    .await;
    let url = cam.url_with("viewer:pa55word", "/stream");
    let start = Instant::now();
    let child = tokio::process::Command::new(example("mjpeg_view"))
        .args([url.as_str(), "--seconds", "3"])
        .kill_on_drop(true)
        .output();
    let down = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cam.stop();
    };
    let (out, ()) = tokio::join!(
        async { tokio::time::timeout(Duration::from_secs(20), child).await },
        down
    );
    let out = out.expect("exits within 20 s").expect("runs");
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 3, "{stdout}");
    let (last, ticks) = lines.split_last().unwrap();
    for (i, line) in ticks.iter().enumerate() {
        assert!(
            line.starts_with(&format!("t={} frames=", i + 1)),
            "{line:?}"
        );
        for f in ["frames", "fps", "bytes"] {
            field(line, f);
        }
    }
    assert!(last.starts_with("frames="), "{last:?}");
    let frames = field(last, "frames");
    let fps = field(last, "fps");
    let reconnects = field(last, "reconnects");
    let errors = field(last, "errors");
    assert!(frames >= 10.0, "{stdout}");
    assert!(fps > 3.0 && fps < 20.0, "{stdout}");
    assert!(reconnects >= 1.0 && errors >= 1.0, "{stdout}");
    // The first second saw ~25 frames and their bytes.
    assert!(field(ticks[0], "frames") >= 10.0, "{stdout}");
    assert!(
        field(ticks[0], "bytes") > 10.0 * sample_jpeg().len() as f64,
        "{stdout}"
    );
    // The password is never printed.
    assert!(
        !stdout.contains("pa55word") && !stderr.contains("pa55word"),
        "{stderr}"
    );
    assert!(
        stderr.contains("viewer:***@") || !stderr.contains("viewer:"),
        "{stderr}"
    );
}
