//! Seed score, Rust vs the old Python loop, in the same run.
//!
//! ```text
//! cargo run --release --example score_bench [-- --repeats 30]
//! ```
//! Runs `tools/baselines/seed_score.py` (with `$POSECAM_PYTHON`, default
//! `.cache/venv/bin/python`, which has numpy and scikit-learn) on its deterministic poses
//! (214 / 1 000 / 10 000 dancer rows, one user row), times the Rust port on the very same rows,
//! checks both give the same score, and prints medians and ratios. The robust score's live
//! window (+-0.5 s at 30 fps) is timed alongside.
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use pose_score::{
    CosineMatcher, DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig, synthetic,
};

/// This thread's on-CPU time in seconds (Linux `schedstat`), to tell load from cost on a busy box.
fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}

/// Mean on-CPU seconds per call of `f` over `calls` calls (`NaN` where `schedstat` is missing).
fn cpu_per_call(mut f: impl FnMut(), calls: u32) -> f64 {
    let start = thread_cpu_s();
    for _ in 0..calls {
        f();
    }
    match (start, thread_cpu_s()) {
        (Some(a), Some(b)) => (b - a) / f64::from(calls),
        _ => f64::NAN,
    }
}

/// Median seconds per call of `f`, over `batches` batches sized to take ~2 ms each.
fn median_s(mut f: impl FnMut(), batches: usize) -> f64 {
    let t = Instant::now();
    let mut calls = 0u64;
    while t.elapsed().as_secs_f64() < 0.002 || calls < 3 {
        f();
        calls += 1;
    }
    let per_batch = calls.max(1);
    let mut v: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_secs_f64() / per_batch as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct PyRow {
    rows: usize,
    full_ms: f64,
    loop_ms: f64,
    score: f64,
}

fn field(line: &str, after: &str) -> Option<f64> {
    let rest = &line[line.find(after)? + after.len()..];
    rest.split_whitespace()
        .next()?
        .trim_end_matches(['|', ')'])
        .parse()
        .ok()
}

fn run_python(repeats: u32) -> anyhow::Result<(String, Vec<PyRow>)> {
    let python = std::env::var_os("POSECAM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| posecam_test_support::workspace_root().join(".cache/venv/bin/python"));
    let script = posecam_test_support::shared("tools/baselines/seed_score.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--repeats", &repeats.to_string()])
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !out.status.success() {
        bail!(
            "seed_score.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let version = text.lines().next().unwrap_or_default().to_owned();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("rows=")) {
        let parse = || -> Option<PyRow> {
            Some(PyRow {
                rows: field(line, "rows=")? as usize,
                full_ms: field(line, "loop): median")?,
                loop_ms: field(line, "pre-normalized): median")?,
                score: field(line, "score=")?,
            })
        };
        rows.push(parse().with_context(|| format!("unexpected line from seed_score.py: {line}"))?);
    }
    if rows.len() != 3 {
        bail!("expected 3 timing lines from seed_score.py, got:\n{text}");
    }
    Ok((version, rows))
}

fn main() -> anyhow::Result<()> {
    let mut repeats = 30u32;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeats" => repeats = args.next().context("--repeats needs a number")?.parse()?,
            other => bail!("unknown argument {other} (usage: score_bench [--repeats N])"),
        }
    }
    let (version, py) = run_python(repeats)?;
    println!("python baseline: {version}; seed_score.py --repeats {repeats}");
    let user = synthetic::bench_user();
    let scorer = Scorer::new(ScorerConfig::default())?;
    println!(
        "{:>6} | {:>11} {:>11} | {:>10} {:>11} {:>9} {:>10} | {:>8} {:>8} | {:>10} {:>11}",
        "rows",
        "py full ms",
        "py loop ms",
        "rs seed us",
        "(on-CPU us)",
        "rs ref us",
        "rs full us",
        "loop/rs",
        "full/rs",
        "robust us",
        "(on-CPU us)"
    );
    for p in &py {
        let rows = synthetic::make_dancer(p.rows);
        let matcher = CosineMatcher::from_rows(&rows)?;
        let hit = matcher.score(&user)?;
        if (hit.score - p.score).abs() > 1e-9 {
            bail!(
                "rows={}: Rust score {} differs from Python {}",
                p.rows,
                hit.score,
                p.score
            );
        }
        let mut scratch = Vec::new();
        let seed = median_s(
            || {
                black_box(matcher.score_with(black_box(&user), &mut scratch).ok());
            },
            31,
        );
        let seed_cpu = cpu_per_call(
            || {
                black_box(matcher.score_with(black_box(&user), &mut scratch).ok());
            },
            (2_000_000 / p.rows) as u32,
        );
        let reference = median_s(
            || {
                black_box(matcher.score_reference(black_box(&user)).ok());
            },
            15,
        );
        // Like the Python "full" figure: normalise the dance and the user, then scan.
        let full = median_s(
            || {
                let m = CosineMatcher::from_rows(black_box(&rows)).ok();
                black_box(m.map(|m| m.score(&user).ok()));
            },
            9,
        );
        let table = KeypointTable::from_rows(36, &rows)?;
        let track = DancerTrack::from_table(&scorer, &table, 30.0)?;
        let t = p.rows as f32 / 60.0;
        let robust = median_s(
            || {
                let pose = Pose::from_openpose_row(black_box(&user)).ok();
                black_box(
                    pose.map(|pose| scorer.score_at(&scorer.features(&pose), &track, t).ok()),
                );
            },
            31,
        );
        let robust_cpu = cpu_per_call(
            || {
                let pose = Pose::from_openpose_row(black_box(&user)).ok();
                black_box(
                    pose.map(|pose| scorer.score_at(&scorer.features(&pose), &track, t).ok()),
                );
            },
            20_000,
        );
        println!(
            "{:>6} | {:>11.3} {:>11.3} | {:>10.2} {:>11.2} {:>9.2} {:>10.1} | {:>7.0}x {:>7.0}x | {:>10.2} {:>11.2}",
            p.rows,
            p.full_ms,
            p.loop_ms,
            seed * 1e6,
            seed_cpu * 1e6,
            reference * 1e6,
            full * 1e6,
            p.loop_ms * 1e-3 / seed,
            p.full_ms * 1e-3 / full,
            robust * 1e6,
            robust_cpu * 1e6,
        );
    }
    println!(
        "loop/rs: Python loop over pre-normalised rows vs CosineMatcher::score (same rows, same score); \
         full/rs: Normalizer fit/transform + loop vs CosineMatcher::from_rows + score; \
         robust: one user frame from its 36 numbers, +-0.5 s window at 30 fps."
    );
    Ok(())
}
