//! Quality of the two scores on real video: ROC AUC of the old cosine score (seed) and of the
//! robust per-limb score, on BlazePose keypoints of the Pose2Sim clips in
//! `../shared/media/pose2sim/` (synchronised cameras, 100 frames at 60 fps each).
//!
//! ```text
//! cargo run --release --example eval_score [-- --model lite|full|heavy] [--refresh]
//! ```
//! Keypoints are extracted once with pose-core (`Tracker`, video through OpenCV) and cached in
//! `.cache/eval_score/` (`--refresh` re-extracts). Pairs (user pose, dancer pose):
//! * positives: the same instant seen by cam01 and cam02 (both face the man); the same frame
//!   under a random scale and shift, mirrored (a webcam user copying like a mirror), or with 2-4
//!   keypoints dropped;
//! * negatives: instants at least 0.3 s apart (same camera, or cam01 vs cam02), and the other
//!   person at the same instant in the two-person set.
//!
//! Seed: `1 - cos` of the sklearn-normalised 36-number OpenPose-18 rows (lower = match);
//! robust: `Scorer` with mirroring `Either` (higher = match; "not enough of the body in view"
//! counts as 0). AUC = probability that a random positive scores better than a random negative.
use std::path::Path;

use anyhow::{Context, bail};
use pose_core::video::VideoReader;
use pose_core::{ModelKind, PoseConfig, RuntimeConfig, Tracker, TrackerConfig};
use pose_score::{Keypoint, Layout, Mirror, Pose, Scorer, ScorerConfig, SeedMatcher};

/// One person: 33 BlazePose landmarks as (x, y, visibility), image pixels.
type Person = Vec<[f32; 3]>;
/// One clip: per frame, the persons found (sorted left to right by hip position).
type Clip = Vec<Vec<Person>>;

const FPS: f64 = 60.0;
/// BlazePose index of the same landmark on the other side of the body.
const BLAZE_SWAP: [usize; 33] = [
    0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23, 26,
    25, 28, 27, 30, 29, 32, 31,
];

fn extract(video: &Path, persons: usize, model: ModelKind) -> anyhow::Result<Clip> {
    let config = PoseConfig {
        runtime: RuntimeConfig {
            model,
            ..Default::default()
        },
        max_poses: persons,
        ..Default::default()
    };
    let mut tracker = Tracker::new(config, TrackerConfig::default())?;
    let mut clip = Clip::new();
    for frame in VideoReader::open(video, FPS)? {
        let frame = frame?;
        let poses = tracker.process(&frame.as_frame()?, frame.time)?;
        let mut people: Vec<Person> = poses
            .iter()
            .map(|p| {
                p.landmarks
                    .iter()
                    .map(|l| [l.x, l.y, l.visibility])
                    .collect()
            })
            .collect();
        people.sort_by(|a, b| hip_x(a).total_cmp(&hip_x(b)));
        clip.push(people);
    }
    Ok(clip)
}

fn hip_x(p: &Person) -> f32 {
    (p[23][0] + p[24][0]) * 0.5
}

fn load_or_extract(
    set: &str,
    cam: &str,
    persons: usize,
    model: ModelKind,
    refresh: bool,
) -> anyhow::Result<Clip> {
    let video = posecam_test_support::shared(&format!("media/pose2sim/{set}/{cam}.mp4"));
    let dir = posecam_test_support::workspace_root().join(".cache/eval_score");
    let cache = dir.join(format!("{set}_{cam}_{model:?}.json").to_lowercase());
    if !refresh && let Ok(bytes) = std::fs::read(&cache) {
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", cache.display()));
    }
    let t = std::time::Instant::now();
    let clip = extract(&video, persons, model)
        .with_context(|| format!("extracting {}", video.display()))?;
    eprintln!(
        "extracted {} ({} frames) in {:.1} s",
        video.display(),
        clip.len(),
        t.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&cache, serde_json::to_vec(&clip)?)?;
    Ok(clip)
}

/// Deterministic pseudo-random numbers (xorshift), so every run evaluates the same pairs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// The old project's row: OpenPose-18 (x, y), neck = middle of the shoulders, 0 = missing.
fn openpose_row(p: &Person) -> [f64; 36] {
    const FROM: [usize; 18] = [
        0,
        usize::MAX,
        12,
        14,
        16,
        11,
        13,
        15,
        24,
        26,
        28,
        23,
        25,
        27,
        5,
        2,
        8,
        7,
    ];
    let seen = |i: usize| p[i][2] >= 0.5;
    let mut row = [0.0; 36];
    for (k, &i) in FROM.iter().enumerate() {
        let xy = if i == usize::MAX {
            (seen(11) && seen(12))
                .then(|| [(p[11][0] + p[12][0]) * 0.5, (p[11][1] + p[12][1]) * 0.5])
        } else {
            seen(i).then(|| [p[i][0], p[i][1]])
        };
        if let Some([x, y]) = xy {
            row[2 * k] = f64::from(x);
            row[2 * k + 1] = f64::from(y);
        }
    }
    row
}

fn robust_pose(p: &Person) -> anyhow::Result<Pose> {
    Ok(Pose::new(
        Layout::BlazePose33,
        p.iter().map(|k| Keypoint::new(k[0], k[1], k[2])).collect(),
    )?)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    CrossCamera,
    ScaleShift,
    Mirror,
    Dropped,
    Apart,
    ApartCrossCamera,
    OtherPerson,
}

impl Kind {
    fn positive(self) -> bool {
        matches!(
            self,
            Kind::CrossCamera | Kind::ScaleShift | Kind::Mirror | Kind::Dropped
        )
    }
}

struct Pair {
    kind: Kind,
    user: Person,
    dancer: Person,
}

fn transformed(p: &Person, kind: Kind, width: f32, rng: &mut Rng) -> Person {
    let mut q = p.clone();
    match kind {
        Kind::ScaleShift => {
            let s = (0.5 + 1.5 * rng.next()) as f32;
            let (dx, dy) = (
                (rng.next() * 600.0 - 300.0) as f32,
                (rng.next() * 600.0 - 300.0) as f32,
            );
            for k in &mut q {
                k[0] = k[0] * s + dx;
                k[1] = k[1] * s + dy;
            }
        }
        Kind::Mirror => {
            for (i, k) in q.iter_mut().enumerate() {
                let src = p[BLAZE_SWAP[i]];
                *k = [width - src[0], src[1], src[2]];
            }
        }
        Kind::Dropped => {
            // Drop 2-4 limb keypoints (shoulders .. ankles).
            let n = 2 + rng.below(3);
            for _ in 0..n {
                let i = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28][rng.below(12)];
                q[i] = [0.0, 0.0, 0.0];
            }
        }
        _ => {}
    }
    q
}

/// Mann-Whitney AUC: P(pos better than neg) + P(tie) / 2, "better" = larger `value`.
fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&v| (v, true))
        .chain(neg.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks i+1 ..= j
        rank_sum += avg_rank * all[i..j].iter().filter(|a| a.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

fn main() -> anyhow::Result<()> {
    let mut model = ModelKind::Full;
    let mut refresh = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => {
                model = match args.next().as_deref() {
                    Some("lite") => ModelKind::Lite,
                    Some("full") => ModelKind::Full,
                    Some("heavy") => ModelKind::Heavy,
                    other => bail!("--model lite|full|heavy, got {other:?}"),
                }
            }
            "--refresh" => refresh = true,
            other => bail!(
                "unknown argument {other} (usage: eval_score [--model lite|full|heavy] [--refresh])"
            ),
        }
    }
    let single: Vec<Clip> = ["cam01", "cam02", "cam03"]
        .iter()
        .map(|c| load_or_extract("single", c, 1, model, refresh))
        .collect::<anyhow::Result<_>>()?;
    let multi: Vec<Clip> = ["cam01", "cam02"]
        .iter()
        .map(|c| load_or_extract("multi", c, 2, model, refresh))
        .collect::<anyhow::Result<_>>()?;
    let width = 1080.0;
    let first = |clip: &Clip, t: usize| clip.get(t).and_then(|ps| ps.first()).cloned();
    let apart = (0.3 * FPS).round() as usize;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pairs = Vec::new();
    let frames = single.iter().map(Vec::len).min().unwrap_or(0);
    for t in 0..frames {
        if let (Some(a), Some(b)) = (first(&single[0], t), first(&single[1], t)) {
            pairs.push(Pair {
                kind: Kind::CrossCamera,
                user: b,
                dancer: a,
            });
        }
        for clip in &single {
            let Some(p) = first(clip, t) else { continue };
            for kind in [Kind::ScaleShift, Kind::Mirror, Kind::Dropped] {
                if t % 3 == kind as usize % 3 {
                    pairs.push(Pair {
                        kind,
                        user: transformed(&p, kind, width, &mut rng),
                        dancer: p.clone(),
                    });
                }
            }
            // Negatives: a random instant at least 0.3 s away, same camera and cam01 vs cam02.
            let far = |rng: &mut Rng| loop {
                let u = rng.below(frames);
                if u.abs_diff(t) >= apart {
                    break u;
                }
            };
            let u = far(&mut rng);
            if let Some(q) = first(clip, u) {
                pairs.push(Pair {
                    kind: Kind::Apart,
                    user: q,
                    dancer: p.clone(),
                });
            }
        }
        let u = (0..)
            .map(|_| rng.below(frames))
            .find(|u| u.abs_diff(t) >= apart)
            .unwrap_or(0);
        if let (Some(a), Some(b)) = (first(&single[0], t), first(&single[1], u)) {
            pairs.push(Pair {
                kind: Kind::ApartCrossCamera,
                user: b,
                dancer: a,
            });
        }
    }
    let mut two_person_frames = 0;
    for clip in &multi {
        for ps in clip {
            if let [a, b] = &ps[..] {
                two_person_frames += 1;
                pairs.push(Pair {
                    kind: Kind::OtherPerson,
                    user: b.clone(),
                    dancer: a.clone(),
                });
                pairs.push(Pair {
                    kind: Kind::OtherPerson,
                    user: a.clone(),
                    dancer: b.clone(),
                });
            }
        }
    }
    if pairs.iter().filter(|p| p.kind.positive()).count() < 50 {
        bail!(
            "too few pairs with a person in both poses ({}): extraction failed?",
            pairs.len()
        );
    }

    let robust = Scorer::new(ScorerConfig {
        mirror: Mirror::Either,
        ..ScorerConfig::default()
    })?;
    let as_seen = Scorer::new(ScorerConfig::default())?;
    let mut seed_s = Vec::new();
    let mut robust_s = Vec::new();
    let mut as_seen_s = Vec::new();
    for p in &pairs {
        let m = SeedMatcher::from_rows(&[openpose_row(&p.dancer)])?;
        seed_s.push(-m.score(&openpose_row(&p.user))?.score);
        let (u, d) = (robust_pose(&p.user)?, robust_pose(&p.dancer)?);
        robust_s.push(robust.score(&u, &d).map_or(0.0, |s| f64::from(s.overall)));
        as_seen_s.push(as_seen.score(&u, &d).map_or(0.0, |s| f64::from(s.overall)));
    }
    let select = |s: &[f64], f: &dyn Fn(Kind) -> bool| -> Vec<f64> {
        pairs
            .iter()
            .zip(s)
            .filter(|(p, _)| f(p.kind))
            .map(|(_, v)| *v)
            .collect()
    };
    let pos = |k: Kind| k.positive();
    let neg = |k: Kind| !k.positive();
    println!(
        "pose2sim, BlazePose {model:?}: single cam01/02/03 ({frames} frames each), multi cam01/02 ({two_person_frames} frames with two persons)"
    );
    let count = |k: Kind| pairs.iter().filter(|p| p.kind == k).count();
    println!(
        "pairs: positives {} (cross-camera {}, scale/shift {}, mirror {}, dropped {}), negatives {} (>= 0.3 s apart {}, apart cam01 vs cam02 {}, other person {})",
        pairs.iter().filter(|p| pos(p.kind)).count(),
        count(Kind::CrossCamera),
        count(Kind::ScaleShift),
        count(Kind::Mirror),
        count(Kind::Dropped),
        pairs.iter().filter(|p| neg(p.kind)).count(),
        count(Kind::Apart),
        count(Kind::ApartCrossCamera),
        count(Kind::OtherPerson),
    );
    println!(
        "{:<34} {:>8} {:>8} {:>10}",
        "ROC AUC", "seed", "robust", "as seen"
    );
    let row = |label: &str, fp: &dyn Fn(Kind) -> bool, fn_: &dyn Fn(Kind) -> bool| {
        println!(
            "{label:<34} {:>8.3} {:>8.3} {:>10.3}",
            auc(&select(&seed_s, fp), &select(&seed_s, fn_)),
            auc(&select(&robust_s, fp), &select(&robust_s, fn_)),
            auc(&select(&as_seen_s, fp), &select(&as_seen_s, fn_)),
        );
    };
    row("all positives vs all negatives", &pos, &neg);
    for k in [
        Kind::CrossCamera,
        Kind::ScaleShift,
        Kind::Mirror,
        Kind::Dropped,
    ] {
        row(&format!("  {k:?} vs all negatives"), &|x| x == k, &neg);
    }
    for k in [Kind::Apart, Kind::ApartCrossCamera, Kind::OtherPerson] {
        row(&format!("  all positives vs {k:?}"), &pos, &|x| x == k);
    }
    // The robust verdict (CORRECT from `correct_from`) on these pairs, and the best cut.
    let (rp, rn) = (select(&robust_s, &pos), select(&robust_s, &neg));
    let rate = |v: &[f64], cut: f64| {
        v.iter().filter(|&&x| x >= cut).count() as f64 / v.len().max(1) as f64
    };
    let cut = f64::from(robust.config().correct_from);
    let best = (0..=100)
        .map(|k| k as f64 / 100.0)
        .max_by(|a, b| (rate(&rp, *a) - rate(&rn, *a)).total_cmp(&(rate(&rp, *b) - rate(&rn, *b))))
        .unwrap_or(cut);
    println!(
        "robust CORRECT from {cut:.2}: {:.1} % of positives, {:.1} % of negatives; best cut on these pairs {best:.2} ({:.1} % / {:.1} %)",
        100.0 * rate(&rp, cut),
        100.0 * rate(&rn, cut),
        100.0 * rate(&rp, best),
        100.0 * rate(&rn, best),
    );
    println!(
        "robust: Scorer, mirror Either (default config otherwise); as seen: mirror Off; seed: -(1 - cos)."
    );
    Ok(())
}
