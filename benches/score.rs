//! Scoring speed (pose-score): one user row against 214 / 1 000 / 10 000 dancer rows.
//!
//! `cargo bench --bench score`. Groups `score/<rows>`:
//! * `seed`: the old score, exactly (f32 prefilter + f64 on the candidates);
//! * `seed_reference`: the same result by the plain f64 loop over every row;
//! * `robust_window`: the robust score of one user frame (features already computed) within
//!   +-0.5 s of the playback time (31 dancer frames at 30 fps);
//! * `robust_frame`: the same from the raw 36-number row (pose + features + window).
//!
//! The old Python loop's figure comes from `cargo run --release --example score_bench`, which
//! runs `tools/baselines/seed_score.py` and the Rust port in the same run and prints the ratio.
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pose_score::{DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig, SeedMatcher, synthetic};

fn bench(c: &mut Criterion) {
    let user = synthetic::bench_user();
    let scorer = Scorer::new(ScorerConfig::default()).expect("default config");
    for n in [214usize, 1000, 10_000] {
        let rows = synthetic::make_dancer(n);
        let matcher = SeedMatcher::from_rows(&rows).expect("finite rows");
        let table = KeypointTable::from_rows(36, &rows).expect("finite rows");
        let track = DancerTrack::from_table(&scorer, &table, 30.0).expect("valid track");
        let t = (n as f32 / 30.0) * 0.5;
        let features = scorer.features(&Pose::from_openpose_row(&user).expect("36 values"));

        let mut g = c.benchmark_group(format!("score/{n}"));
        let mut scratch = Vec::new();
        g.bench_function(BenchmarkId::new("seed", n), |b| {
            b.iter(|| {
                matcher
                    .score_with(black_box(&user), &mut scratch)
                    .expect("36 values")
            })
        });
        g.bench_function(BenchmarkId::new("seed_reference", n), |b| {
            b.iter(|| {
                matcher
                    .score_reference(black_box(&user))
                    .expect("36 values")
            })
        });
        g.bench_function(BenchmarkId::new("robust_window", n), |b| {
            b.iter(|| scorer.score_at(black_box(&features), &track, black_box(t)))
        });
        g.bench_function(BenchmarkId::new("robust_frame", n), |b| {
            b.iter(|| {
                let pose = Pose::from_openpose_row(black_box(&user)).expect("36 values");
                scorer.score_at(&scorer.features(&pose), &track, black_box(t))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
