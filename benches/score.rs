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

criterion_group!(benches, bench, bench_view);
criterion_main!(benches);

/// A moving 3D body (metres, x right, y down, z away) at frame `i`: arms and legs swinging.
fn world_at(i: usize) -> pose_score::WorldPose {
    let t = i as f32 * 0.21;
    let (s, c) = (t.sin(), t.cos());
    let joints = [
        [0.2, -0.5, 0.0],
        [-0.2, -0.5, 0.0],
        [0.45, -0.5 + 0.2 * s, 0.1 * c],
        [-0.45, -0.5 - 0.2 * c, 0.1 * s],
        [0.7, -0.5 + 0.4 * s, 0.2 * c],
        [-0.7, -0.5 - 0.4 * c, 0.2 * s],
        [0.1, 0.0, 0.0],
        [-0.1, 0.0, 0.0],
        [0.12 + 0.1 * s, 0.45, -0.1 * c],
        [-0.1, 0.45, 0.1 * s],
        [0.12 + 0.15 * s, 0.9, 0.0],
        [-0.1, 0.9, 0.15 * c],
    ];
    pose_score::WorldPose::new(joints, [0.9; 12])
}

/// Group `score/view`: `view_window`, the view-invariant 3D score of one user pose (features
/// already computed) against a +-0.5 s window of the dancer at 30 fps (31 samples), mirror off and
/// either; goal <= 10 us (issue 18); `robust_window` on the same window as the baseline.
fn bench_view(c: &mut Criterion) {
    use pose_score::{Keypoint, Layout, Mirror, ViewConfig, ViewScorer, ViewTrack};
    let image = |i: usize| {
        let w = world_at(i);
        let mut pts = vec![Keypoint::default(); 33];
        for joint in &pose_score::Joint::ALL {
            let (p, v) = w.joint(*joint);
            pts[Layout::BlazePose33.index(*joint)] =
                Keypoint::new(300.0 + 200.0 * p[0], 300.0 + 200.0 * p[1], v);
        }
        Pose::new(Layout::BlazePose33, pts).expect("33 points")
    };
    let frames = 600;
    let t = 10.0;
    let mut g = c.benchmark_group("score/view");
    for mirror in [Mirror::Off, Mirror::Either] {
        let view = ViewScorer::new(ViewConfig {
            mirror,
            ..ViewConfig::default()
        })
        .expect("default config");
        let track = ViewTrack::from_fps(
            (0..frames)
                .map(|i| view.features(&image(i), Some(&world_at(i))))
                .collect(),
            30.0,
        )
        .expect("valid track");
        let user = view.features(&image(307), Some(&world_at(307)));
        assert_eq!(track.window(t, 0.5).len(), 31);
        g.bench_function(
            criterion::BenchmarkId::new("view_window", format!("{mirror:?}")),
            |b| b.iter(|| view.score_at(black_box(&user), &track, black_box(t))),
        );
        let robust = Scorer::new(ScorerConfig {
            mirror,
            ..ScorerConfig::default()
        })
        .expect("default config");
        let track = DancerTrack::new(&robust, &(0..frames).map(image).collect::<Vec<_>>(), 30.0)
            .expect("valid track");
        let user = robust.features(&image(307));
        g.bench_function(
            criterion::BenchmarkId::new("robust_window", format!("{mirror:?}")),
            |b| b.iter(|| robust.score_at(black_box(&user), &track, black_box(t))),
        );
    }
    g.finish();
}
