//! Bench example: prints stream-codec's throughput and its ratios against ffmpeg's `mpjpeg`
//! demuxer and the old Python client, measured in one run on the same bytes.
//!
//! ```text
//! cargo build --release -p stream-codec --examples
//! cargo run --release -p stream-codec --example mjpeg_bench [-- --quick] [--in-process]
//! ```
//! Needs ffmpeg, the shared data (POSECAM_SHARED) and the venv python at
//! `<workspace>/.cache/venv/bin/python`. Builds two ~200 MB streams in the temp directory (by
//! repeating recorded streams) for the whole-process comparison, and removes them at the end.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use stream_codec::{Decoder, Writer};
use support::{read, shared, workspace_root};

const STREAMS: [&str; 4] = ["esp32cam", "flask_relay", "mjpg_streamer", "quirky"];

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut out = 0;
    for _ in 0..runs {
        let t = Instant::now();
        out = std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    (best, out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Frames decoded from `data` pushed as one zero-copy `Bytes`.
fn decode_whole(data: &Bytes) -> usize {
    let mut d = Decoder::default();
    d.push_bytes(data.clone());
    d.finish();
    d.frames().filter(Result::is_ok).count()
}

/// Frames decoded from `data` pushed in copied chunks of `n` bytes (a socket read loop).
fn decode_chunks(data: &[u8], n: usize) -> usize {
    let mut d = Decoder::default();
    let mut count = 0;
    for c in data.chunks(n) {
        d.push(c);
        count += d.frames().filter(Result::is_ok).count();
    }
    d.finish();
    count + d.frames().filter(Result::is_ok).count()
}

fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

fn wall(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let d = t.elapsed();
    assert!(status.success(), "{cmd:?} failed");
    d
}

fn ffmpeg(file: &Path) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args([
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "error",
        "-f",
        "mpjpeg",
        "-i",
    ])
    .arg(file)
    .args(["-c", "copy", "-f", "null", "-"]);
    c
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 10 };
    println!(
        "stream-codec bench ({} runs best-of; whole-process: median of {})",
        runs,
        if quick { 3 } else { 7 }
    );

    // ---- in-process, data in memory -------------------------------------------------------
    println!("\n## in-process decode (data in memory; best of {runs})");
    println!(
        "{:<14} {:>7} {:>12} {:>22} {:>12} {:>13}",
        "stream", "frames", "stream GB/s", "x reps (~64 MB) GB/s", "1460 B GB/s", "65536 B GB/s"
    );
    let mut inproc = Vec::new();
    for name in STREAMS {
        let body = read(&shared(&format!("media/mjpeg/{name}.mjpeg")));
        let one = Bytes::from(body.clone());
        let (t_one, frames) = best_of(runs * 5, || decode_whole(&one));
        let reps = (64 << 20) / body.len() + 1;
        let data = Bytes::from(body.repeat(reps));
        let (t_whole, _) = best_of(runs, || decode_whole(&data));
        let (t_1460, _) = best_of(runs.min(5), || decode_chunks(&data, 1460));
        let (t_64k, _) = best_of(runs.min(5), || decode_chunks(&data, 65536));
        println!(
            "{name:<14} {frames:>7} {:>12.1} {:>22.1} {:>12.2} {:>13.2}",
            gbps(one.len(), t_one),
            gbps(data.len(), t_whole),
            gbps(data.len(), t_1460),
            gbps(data.len(), t_64k)
        );
        inproc.push((
            name,
            body.len(),
            gbps(one.len(), t_one),
            gbps(data.len(), t_1460),
        ));
    }
    println!(
        "goals: >= 10 GB/s with Content-Length (esp32cam, mjpg_streamer), >= 3 GB/s by delimiter scan (flask_relay)"
    );
    if std::env::args().any(|a| a == "--in-process") {
        return;
    }

    // ---- the old Python client ------------------------------------------------------------
    println!("\n## vs the old Python client (seed_client.py, 1024-byte chunks, parse only)");
    let python = workspace_root().join(".cache/venv/bin/python");
    let client = shared("tools/baselines/seed_client.py");
    let out = Command::new(&python)
        .arg(&client)
        .args(["--repeats", if quick { "1" } else { "3" }])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), client.display()));
    assert!(
        out.status.success(),
        "seed_client.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    println!(
        "{:<14} {:>12} {:>18} {:>10} {:>18} {:>10}",
        "stream", "python MB/s", "ours 1024 B MB/s", "ratio", "ours whole MB/s", "ratio"
    );
    for (name, len, whole, _) in &inproc {
        let Some(line) = text.lines().find(|l| l.starts_with(name)) else {
            continue;
        };
        let py: f64 = line
            .rsplit_once(", ")
            .and_then(|(_, r)| r.trim_end_matches(" MB/s").parse().ok())
            .unwrap_or(f64::NAN);
        let body = read(&shared(&format!("media/mjpeg/{name}.mjpeg")));
        assert_eq!(body.len(), *len);
        let (t, _) = best_of(runs, || decode_chunks(&body, 1024));
        let ours = body.len() as f64 / t.as_secs_f64() / 1e6;
        println!(
            "{name:<14} {py:>12.1} {ours:>18.0} {:>9.0}x {:>18.0} {:>9.0}x",
            ours / py,
            whole * 1e3,
            whole * 1e3 / py
        );
    }
    println!("goal: >= 100x");

    // ---- whole process vs ffmpeg ----------------------------------------------------------
    println!(
        "\n## whole process: mjpeg_split --quiet vs ffmpeg -f mpjpeg -i FILE -c copy -f null - (~200 MB)"
    );
    let split = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("mjpeg_split")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("mjpeg_split not built: cargo build --release -p stream-codec --examples")
        });
    let tmp = std::env::temp_dir();
    let mut files: Vec<PathBuf> = Vec::new();
    for (label, name) in [
        ("with Content-Length", "esp32cam"),
        ("without (delimiter scan)", "flask_relay"),
    ] {
        let body = read(&shared(&format!("media/mjpeg/{name}.mjpeg")));
        let file = tmp.join(format!("stream-codec-bench-{name}-200MB.mjpeg"));
        std::fs::write(&file, body.repeat((200 << 20) / body.len())).expect("write temp stream");
        files.push(file.clone());
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        // warm the page cache, then alternate the two programs
        wall(&mut ffmpeg(&file));
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..if quick { 3 } else { 7 } {
            ours.push(wall(Command::new(&split).arg("--quiet").arg(&file)));
            theirs.push(wall(&mut ffmpeg(&file)));
        }
        let (o, t) = (median(ours), median(theirs));
        println!(
            "{label:<26} {:.0} MB ({name} x{}): mjpeg_split {:>7.1} ms ({:.2} GB/s), ffmpeg {:>7.1} ms ({:.2} GB/s): {:.1}x",
            size as f64 / 1e6,
            (200 << 20) / body.len(),
            o.as_secs_f64() * 1e3,
            size as f64 / o.as_secs_f64() / 1e9,
            t.as_secs_f64() * 1e3,
            size as f64 / t.as_secs_f64() / 1e9,
            t.as_secs_f64() / o.as_secs_f64()
        );
    }
    for f in files {
        std::fs::remove_file(f).ok();
    }
    println!("goals: >= 1.5x with Content-Length, >= 3x without");

    // ---- writer fan-out ---------------------------------------------------------------------
    println!("\n## writer: one part for 1000 viewers");
    let meta = read(&shared("media/mjpeg/esp32cam.mjpeg"));
    let jpeg = &meta[..];
    let jpeg = &jpeg[jpeg.windows(2).position(|w| w == [0xFF, 0xD8]).unwrap_or(0)..];
    let jpeg = &jpeg[..jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xD9])
        .map_or(jpeg.len(), |p| p + 2)];
    let w = Writer::default();
    let (t_once, _) = best_of(runs * 10, || {
        let part = w.encode_part(jpeg, Some(Duration::from_millis(37_500)));
        let viewers: Vec<Bytes> = (0..1000).map(|_| part.clone()).collect();
        viewers.len()
    });
    let (t_each, _) = best_of(runs, || {
        let viewers: Vec<Bytes> = (0..1000)
            .map(|_| w.encode_part(jpeg, Some(Duration::from_millis(37_500))))
            .collect();
        viewers.len()
    });
    let part = w.encode_part(jpeg, None);
    let viewers: Vec<Bytes> = (0..1000).map(|_| part.clone()).collect();
    let distinct = {
        let mut p: Vec<usize> = viewers.iter().map(|v| v.as_ptr() as usize).collect();
        p.sort_unstable();
        p.dedup();
        p.len()
    };
    println!(
        "{} B JPEG: encode once + 1000 clones {:.1} us (1 buffer, {distinct} distinct data pointer(s) among 1000 viewers); \
         encode per viewer {:.1} us (1000 buffers, {:.1} MB copied): {:.0}x",
        jpeg.len(),
        t_once.as_secs_f64() * 1e6,
        t_each.as_secs_f64() * 1e6,
        1000.0 * part.len() as f64 / 1e6,
        t_each.as_secs_f64() / t_once.as_secs_f64()
    );
}
