//! Quality of the scores on real video across camera angles: ROC AUC of the old cosine score
//! (seed), the robust 2D per-limb score and the view-invariant 3D score (BlazePose world
//! landmarks), on the Pose2Sim clips in `../shared/media/pose2sim/` (synchronised cameras,
//! 100 frames at 60 fps each).
//!
//! ```text
//! cargo run --release --example eval_score [-- --model lite|full|heavy] [--refresh]
//! ```
//! Poses (image landmarks and world landmarks) are extracted once with pose-core (`Tracker`,
//! video through OpenCV) and cached in `target/eval_score/` (`--refresh` re-extracts).
//!
//! **Camera pairs** (the main table): single cam01-cam02, cam01-cam03, cam02-cam03 (cam03 films
//! the man from behind), multi cam01-cam02 for each of the two persons (matched across cameras by
//! position: the one standing nearer the camera, lowest ankles, is the same person in both).
//! User = the second camera, dancer = the first. Positives: the same instant; negatives: every
//! pair of instants >= 0.3 s apart. Nothing is tuned on the pair reported: the view score's
//! settings (frame, tolerance, visibility weighting) and its CORRECT cut are chosen on the single
//! set for the multi pairs and on the multi set for the single pairs.
//!
//! **Augmented pairs** (a separate table, they are easy): a frame against itself scaled and
//! shifted, mirrored (image and world landmarks), or with 2-4 joints dropped, against instants
//! >= 0.3 s apart of the same camera.
//!
//! Seed: `1 - cos` of the sklearn-normalised 36-number OpenPose-18 rows (lower = match); robust:
//! `Scorer` (mirror either / off); view: `ViewScorer` (mirror off / either). "Not enough of the
//! body in view" counts as 0. AUC = probability that a random positive scores better than a
//! random negative.
use std::path::Path;

use anyhow::{Context, bail};
use pose_core::video::VideoReader;
use pose_core::{ModelKind, PoseConfig, RuntimeConfig, Tracker, TrackerConfig};
use pose_score::{
    BodyFrame, Keypoint, LIMB_COUNT, Layout, Limb, Mirror, Pose, Scorer, ScorerConfig, SeedMatcher,
    ViewConfig, ViewScorer, WorldPose,
};

/// One person as pose-core found them: 33 landmarks (image pixels, visibility) and the 33
/// world landmarks (metres) when the model gave them.
type Person = pose_core::Pose;
/// One clip: per frame, the persons found (sorted by how near the camera they stand: lowest
/// ankles first, the same order in every camera).
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
        let mut people: Vec<Person> = poses.into_iter().collect();
        people.sort_by(|a, b| ankle_y(b).total_cmp(&ankle_y(a)));
        clip.push(people);
    }
    Ok(clip)
}

/// The lower ankle's image y: the person nearer the camera stands lower in the frame (in both
/// two-person cameras the woman is in front), which matches persons across cameras by position.
fn ankle_y(p: &Person) -> f32 {
    p.landmarks[27].y.max(p.landmarks[28].y)
}

fn load_or_extract(
    set: &str,
    cam: &str,
    persons: usize,
    model: ModelKind,
    refresh: bool,
) -> anyhow::Result<Clip> {
    let video = posecam_test_support::shared(&format!("media/pose2sim/{set}/{cam}.mp4"));
    // Under target/: `.cache` may be the read-only shared set-up cache.
    let dir = posecam_test_support::workspace_root().join("target/eval_score");
    let cache = dir.join(format!("{set}_{cam}_{model:?}_poses.json").to_lowercase());
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

/// The old project's row: OpenPose-18 (x, y), neck = middle of the shoulders, 0 = missing.
fn openpose_row(p: &Person) -> [f64; 36] {
    let mut row = [0.0; 36];
    for (k, v) in p.to_openpose18_with(0.5).iter().enumerate() {
        row[k] = f64::from(*v);
    }
    row
}

fn image_pose(p: &Person) -> anyhow::Result<Pose> {
    Ok(Pose::new(
        Layout::BlazePose33,
        p.landmarks
            .iter()
            .map(|k| Keypoint::new(k.x, k.y, k.visibility))
            .collect(),
    )?)
}

fn world_pose(p: &Person) -> anyhow::Result<Option<WorldPose>> {
    let vis: Vec<f32> = p.landmarks.iter().map(|l| l.visibility).collect();
    p.world
        .map(|w| WorldPose::from_blazepose(&w, &vis))
        .transpose()
        .map_err(Into::into)
}

/// An augmented copy of `p`: scaled and shifted in the image, mirrored, or with joints dropped.
fn augmented(p: &Person, kind: Aug, width: f32, rng: &mut Rng) -> Person {
    let mut q = *p;
    match kind {
        Aug::ScaleShift => {
            let s = (0.5 + 1.5 * rng.next()) as f32;
            let (dx, dy) = (
                (rng.next() * 600.0 - 300.0) as f32,
                (rng.next() * 600.0 - 300.0) as f32,
            );
            for k in &mut q.landmarks {
                k.x = k.x * s + dx;
                k.y = k.y * s + dy;
            }
        }
        Aug::Mirror => {
            for (i, k) in q.landmarks.iter_mut().enumerate() {
                let src = p.landmarks[BLAZE_SWAP[i]];
                *k = pose_core::Landmark {
                    x: width - src.x,
                    ..src
                };
            }
            if let (Some(w), Some(pw)) = (&mut q.world, &p.world) {
                for (i, k) in w.iter_mut().enumerate() {
                    let src = pw[BLAZE_SWAP[i]];
                    *k = [-src[0], src[1], src[2]];
                }
            }
        }
        Aug::Dropped => {
            let n = 2 + rng.below(3);
            for _ in 0..n {
                let i = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28][rng.below(12)];
                q.landmarks[i].visibility = 0.0;
            }
        }
    }
    q
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Aug {
    ScaleShift,
    Mirror,
    Dropped,
}

/// A set of (user, dancer) comparisons with their truth.
struct Cases {
    name: String,
    set: &'static str,
    /// Persons, indexed by the pairs.
    persons: Vec<Person>,
    /// (user, dancer, positive).
    pairs: Vec<(usize, usize, bool)>,
}

/// Frames >= 0.3 s apart are negatives.
const APART_FRAMES: usize = 18;

/// The pairs of one camera pair: user = camera `b`, dancer = camera `a`, person slot `who`.
fn camera_pair(
    name: String,
    set: &'static str,
    a: &Clip,
    b: &Clip,
    who: usize,
    need: usize,
) -> Cases {
    let pick = |clip: &Clip, t: usize| {
        clip.get(t)
            .filter(|ps| ps.len() >= need)
            .and_then(|ps| ps.get(who))
            .copied()
    };
    let frames = a.len().min(b.len());
    let mut persons = Vec::new();
    let mut da = vec![None; frames];
    let mut ub = vec![None; frames];
    for t in 0..frames {
        if let Some(p) = pick(a, t) {
            persons.push(p);
            da[t] = Some(persons.len() - 1);
        }
        if let Some(p) = pick(b, t) {
            persons.push(p);
            ub[t] = Some(persons.len() - 1);
        }
    }
    let mut pairs = Vec::new();
    for (t, d) in da.iter().enumerate() {
        for (u, us) in ub.iter().enumerate() {
            if let (Some(d), Some(us)) = (*d, *us)
                && (t == u || t.abs_diff(u) >= APART_FRAMES)
            {
                pairs.push((us, d, t == u));
            }
        }
    }
    Cases {
        name,
        set,
        persons,
        pairs,
    }
}

/// Augmented positives of one camera against its own instants >= 0.3 s apart.
fn augmented_cases(name: &str, clip: &Clip, kind: Aug, width: f32, rng: &mut Rng) -> Cases {
    let mut persons = Vec::new();
    let mut pairs = Vec::new();
    let idx: Vec<Option<usize>> = clip
        .iter()
        .map(|ps| {
            ps.first().map(|p| {
                persons.push(*p);
                persons.len() - 1
            })
        })
        .collect();
    for (t, d) in idx.iter().enumerate() {
        let Some(d) = *d else { continue };
        persons.push(augmented(&persons[d], kind, width, rng));
        pairs.push((persons.len() - 1, d, true));
        // Four negatives per frame: other instants of the same camera.
        for _ in 0..4 {
            let u = (0..)
                .map(|_| rng.below(idx.len()))
                .find(|u| u.abs_diff(t) >= APART_FRAMES)
                .unwrap_or(0);
            if let Some(us) = idx[u] {
                pairs.push((us, d, false));
            }
        }
    }
    Cases {
        name: format!("{name} {kind:?}"),
        set: "single",
        persons,
        pairs,
    }
}

/// Scores of every pair of `cases` (higher = more alike).
trait Method {
    fn scores(&self, cases: &Cases) -> anyhow::Result<Vec<f64>>;
}

struct Seed;

impl Method for Seed {
    fn scores(&self, cases: &Cases) -> anyhow::Result<Vec<f64>> {
        let rows: Vec<[f64; 36]> = cases.persons.iter().map(openpose_row).collect();
        cases
            .pairs
            .iter()
            .map(|&(u, d, _)| {
                let m = SeedMatcher::from_rows(&[rows[d]])?;
                Ok(-m.score(&rows[u])?.score)
            })
            .collect()
    }
}

impl Method for Scorer {
    fn scores(&self, cases: &Cases) -> anyhow::Result<Vec<f64>> {
        let f: Vec<_> = cases
            .persons
            .iter()
            .map(|p| image_pose(p).map(|pose| self.features(&pose)))
            .collect::<anyhow::Result<_>>()?;
        Ok(cases
            .pairs
            .iter()
            .map(|&(u, d, _)| {
                self.compare(&f[u], &f[d])
                    .map_or(0.0, |s| f64::from(s.overall))
            })
            .collect())
    }
}

impl Method for ViewScorer {
    fn scores(&self, cases: &Cases) -> anyhow::Result<Vec<f64>> {
        let f: Vec<_> = cases
            .persons
            .iter()
            .map(|p| Ok(self.features(&image_pose(p)?, world_pose(p)?.as_ref())))
            .collect::<anyhow::Result<_>>()?;
        Ok(cases
            .pairs
            .iter()
            .map(|&(u, d, _)| {
                self.compare(&f[u], &f[d])
                    .map_or(0.0, |s| f64::from(s.score.overall))
            })
            .collect())
    }
}

fn split(cases: &Cases, s: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (&(_, _, p), &v) in cases.pairs.iter().zip(s) {
        if p { pos.push(v) } else { neg.push(v) }
    }
    (pos, neg)
}

fn case_auc(cases: &Cases, s: &[f64]) -> f64 {
    let (p, n) = split(cases, s);
    auc(&p, &n)
}

fn rate(v: &[f64], cut: f64) -> f64 {
    v.iter().filter(|&&x| x >= cut).count() as f64 / v.len().max(1) as f64
}

/// The candidate settings of the view score that are tuned (on the other set).
fn view_grid(mirror: Mirror) -> Vec<ViewConfig> {
    let mut grid = Vec::new();
    for frame in [BodyFrame::Torso, BodyFrame::Upright] {
        for tolerance_deg in [20.0, 30.0, 45.0] {
            for visibility_power in [0.0, 0.5, 1.0] {
                for across in [0.0, 1.0] {
                    let mut limb_weights = [1.0; LIMB_COUNT];
                    for limb in [Limb::Torso, Limb::Shoulders, Limb::Hips] {
                        limb_weights[limb.index()] = across;
                    }
                    let penalties: &[f32] = match mirror {
                        Mirror::Either => &[0.0, 0.05, 0.1],
                        _ => &[0.0],
                    };
                    for &mirror_penalty in penalties {
                        grid.push(ViewConfig {
                            frame,
                            tolerance_deg,
                            visibility_power,
                            limb_weights,
                            mirror,
                            mirror_penalty,
                            ..ViewConfig::default()
                        });
                    }
                }
            }
        }
    }
    grid
}

fn describe(c: &ViewConfig) -> String {
    format!(
        "{:?} frame, tolerance {} deg, visibility^{}, torso/shoulder/hip lines x{}, mirror penalty {}",
        c.frame,
        c.tolerance_deg,
        c.visibility_power,
        c.limb_weights[Limb::Hips.index()],
        c.mirror_penalty
    )
}

/// The grid setting with the best worst-pair AUC on `cases`, and the CORRECT cut that best
/// separates their positives from their negatives (max TPR - FPR).
fn tune(grid: &[ViewConfig], cases: &[&Cases]) -> anyhow::Result<(ViewConfig, f64)> {
    let mut best: Option<(f64, ViewConfig, f64)> = None;
    for config in grid {
        let scorer = ViewScorer::new(config.clone())?;
        let mut worst = f64::INFINITY;
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for c in cases {
            let s = scorer.scores(c)?;
            worst = worst.min(case_auc(c, &s));
            let (p, n) = split(c, &s);
            pos.extend(p);
            neg.extend(n);
        }
        if best.as_ref().is_none_or(|(b, _, _)| worst > *b) {
            let cut = (0..=100)
                .map(|k| k as f64 / 100.0)
                .max_by(|a, b| {
                    (rate(&pos, *a) - rate(&neg, *a)).total_cmp(&(rate(&pos, *b) - rate(&neg, *b)))
                })
                .unwrap_or(0.7);
            best = Some((worst, config.clone(), cut));
        }
    }
    let (_, config, cut) = best.context("empty grid")?;
    Ok((config, cut))
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

    let mut pairs = Vec::new();
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        pairs.push(camera_pair(
            format!("single cam0{}-cam0{}", a + 1, b + 1),
            "single",
            &single[a],
            &single[b],
            0,
            1,
        ));
    }
    for (who, name) in [(0, "woman (nearer)"), (1, "man")] {
        pairs.push(camera_pair(
            format!("multi cam01-cam02, {name}"),
            "multi",
            &multi[0],
            &multi[1],
            who,
            2,
        ));
    }
    for c in &pairs {
        let pos = c.pairs.iter().filter(|p| p.2).count();
        if pos < 30 {
            bail!(
                "{}: only {pos} instants with the person in both cameras: extraction failed?",
                c.name
            );
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut augs = Vec::new();
    for (k, clip) in single.iter().enumerate() {
        for kind in [Aug::ScaleShift, Aug::Mirror, Aug::Dropped] {
            augs.push(augmented_cases(
                &format!("single cam0{}", k + 1),
                clip,
                kind,
                1080.0,
                &mut rng,
            ));
        }
    }

    // Tune the view score on one set, report it on the other.
    let mut tuned = Vec::new();
    for mirror in [Mirror::Off, Mirror::Either] {
        let grid = view_grid(mirror);
        let on = |set: &str| pairs.iter().filter(|c| c.set == set).collect::<Vec<_>>();
        let (for_multi, cut_multi) = tune(&grid, &on("single"))?;
        let (for_single, cut_single) = tune(&grid, &on("multi"))?;
        println!(
            "view, mirror {mirror:?}: tuned on single -> {} (CORRECT from {cut_multi:.2}); tuned on multi -> {} (CORRECT from {cut_single:.2})",
            describe(&for_multi),
            describe(&for_single),
        );
        tuned.push((mirror, for_single, cut_single, for_multi, cut_multi));
    }
    let robust_either = Scorer::new(ScorerConfig {
        mirror: Mirror::Either,
        ..ScorerConfig::default()
    })?;
    let robust_off = Scorer::new(ScorerConfig::default())?;
    let default_view = ViewScorer::new(ViewConfig::default())?;

    println!();
    println!(
        "pose2sim, BlazePose {model:?}: ROC AUC per camera pair (positives: same instant; negatives: instants >= 0.3 s apart)"
    );
    println!();
    println!(
        "| pair | pos / neg | seed | robust either | robust off | view off* | view either* | view default |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rates = Vec::new();
    for c in &pairs {
        let mut cols = vec![
            case_auc(c, &Seed.scores(c)?),
            case_auc(c, &robust_either.scores(c)?),
            case_auc(c, &robust_off.scores(c)?),
        ];
        for (mirror, for_single, cut_single, for_multi, cut_multi) in &tuned {
            let (config, cut) = if c.set == "single" {
                (for_single, cut_single)
            } else {
                (for_multi, cut_multi)
            };
            let scorer = ViewScorer::new(config.clone())?;
            let s = scorer.scores(c)?;
            cols.push(case_auc(c, &s));
            let (p, n) = split(c, &s);
            rates.push((
                c.name.clone(),
                *mirror,
                *cut,
                rate(&p, *cut),
                rate(&n, *cut),
            ));
        }
        let s = default_view.scores(c)?;
        cols.push(case_auc(c, &s));
        let (p, n) = split(c, &s);
        let cut = f64::from(default_view.config().correct_from);
        rates.push((
            c.name.clone(),
            default_view.config().mirror,
            cut,
            rate(&p, cut),
            rate(&n, cut),
        ));
        let pos = c.pairs.iter().filter(|p| p.2).count();
        println!(
            "| {} | {pos} / {} | {} |",
            c.name,
            c.pairs.len() - pos,
            cols.iter()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    println!();
    println!(
        "\\* settings and CORRECT cut tuned on the other set (single <-> multi); view default: `ViewConfig::default()` (mirror either), chosen on both sets."
    );
    println!();
    println!(
        "View score verdicts (CORRECT from the cut tuned on the other set; last: the default config):"
    );
    println!();
    println!("| pair | mirror | CORRECT from | same instant CORRECT | >= 0.3 s apart CORRECT |");
    println!("|---|---|---|---|---|");
    for (k, (name, mirror, cut, p, n)) in rates.iter().enumerate() {
        let label = if k % 3 == 2 {
            format!("{mirror:?} (default config)")
        } else {
            format!("{mirror:?}")
        };
        println!(
            "| {name} | {label} | {cut:.2} | {:.1} % | {:.1} % |",
            100.0 * p,
            100.0 * n
        );
    }
    println!();
    println!(
        "Augmented pairs (same camera; negatives: 4 random instants >= 0.3 s apart per frame), ROC AUC:"
    );
    println!();
    println!(
        "| augmentation | seed | robust either | robust off | view off | view default (either) |"
    );
    println!("|---|---|---|---|---|---|");
    let view_off = ViewScorer::new(ViewConfig {
        mirror: Mirror::Off,
        ..ViewConfig::default()
    })?;
    for c in &augs {
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            c.name,
            case_auc(c, &Seed.scores(c)?),
            case_auc(c, &robust_either.scores(c)?),
            case_auc(c, &robust_off.scores(c)?),
            case_auc(c, &view_off.scores(c)?),
            case_auc(c, &default_view.scores(c)?),
        );
    }
    Ok(())
}
