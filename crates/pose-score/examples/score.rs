//! Scores a user's keypoint rows against a dancer's, one line per user row.
//!
//! ```text
//! cargo run --release -p pose-score --example score -- --dancer DANCER.csv --user USER.csv \
//!     [--mode seed|robust|view] [--fps F] [--window-s S] [--mirror off|on|either]
//! ```
//!
//! Prints `ROW SCORE CORRECT|NOT` per user row (ROW counts from 0), then `rows=N correct=C`.
//! * `seed`: the old score (both files: the old 36-column `dancer_keyp_list.csv`), min over the
//!   whole dance of `1 - cos`, CORRECT below 0.15; `--fps`/`--window-s` do not apply.
//! * `robust` (default): per-limb angle score in [0, 1], CORRECT from 0.7; user row `i` is at
//!   time `i / fps` and is compared with the dancer rows within `--window-s` of it (default
//!   30 fps, +-0.5 s). Rows may be 36 numbers (OpenPose-18, 0 = missing), 51 (COCO-17 x,y,v) or
//!   99 (BlazePose-33 x,y,v). A row showing too little of the body scores 0 (NOT), with a note
//!   on stderr.
//!
//! * `view`: the view-invariant score (3D, BlazePose world landmarks; [`pose_score::ViewScorer`]),
//!   CORRECT from its `correct_from`. Both files are tracks written by pose-core's
//!   `extract --json` (`{"fps", "samples": [{"time", "pose": {"landmarks", "world"}}]}`); user
//!   sample `i` (at its own `time`) is compared with the dancer samples within `--window-s` of
//!   that time (`0`: the nearest one). `--mirror` defaults to `either` here: BlazePose swaps
//!   the body's sides in some frames seen from the side or behind. A pose without world landmarks is scored in 2D (noted on
//!   stderr); a sample without a person scores 0 (NOT). `--fps` does not apply.
//!
//! A bad file (wrong column count, a non-number, no rows) exits with status 1 and names the line.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use pose_score::{
    DancerTrack, Keypoint, KeypointTable, Layout, MAX_TRACK_FRAMES, Mirror, Pose, ROW_WIDTHS,
    SEED_COLUMNS, ScoreBasis, Scorer, ScorerConfig, SeedMatcher, TableLimits, ViewConfig,
    ViewFeatures, ViewScorer, ViewTrack, WorldPose,
};

#[derive(Parser)]
#[command(about = "Score a user's keypoint rows against a dancer's")]
struct Args {
    /// The dancer's rows (CSV, no header).
    #[arg(long)]
    dancer: PathBuf,
    /// The user's rows (CSV, no header).
    #[arg(long)]
    user: PathBuf,
    /// Which score.
    #[arg(long, value_enum, default_value_t = Mode::Robust)]
    mode: Mode,
    /// Frame rate of both files' rows (robust mode; view mode reads the tracks' times).
    #[arg(long, default_value_t = 30.0)]
    fps: f32,
    /// Half-width of the live matching window in seconds (robust and view modes).
    #[arg(long = "window-s", default_value_t = 0.5)]
    window_s: f32,
    /// Compare the user as seen, mirrored, or both (robust and view modes; default off in
    /// robust mode, either in view mode).
    #[arg(long, value_enum)]
    mirror: Option<MirrorArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Seed,
    Robust,
    View,
}

#[derive(Clone, Copy, ValueEnum)]
enum MirrorArg {
    Off,
    On,
    Either,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path, widths: &[usize]) -> Result<KeypointTable, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    KeypointTable::read_csv(
        std::io::BufReader::new(file),
        widths,
        TableLimits::default(),
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: &Args) -> Result<(), String> {
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let (rows, correct) = match args.mode {
        Mode::Seed => seed(args, &mut out)?,
        Mode::Robust => robust(args, &mut out)?,
        Mode::View => view(args, &mut out)?,
    };
    writeln!(out, "rows={rows} correct={correct}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}

fn seed(args: &Args, out: &mut impl Write) -> Result<(usize, usize), String> {
    let dancer = read(&args.dancer, &[SEED_COLUMNS])?;
    let user = read(&args.user, &[SEED_COLUMNS])?;
    let matcher = SeedMatcher::new(&dancer).map_err(|e| e.to_string())?;
    let mut scratch = Vec::new();
    let mut correct = 0;
    for (i, row) in user.rows().enumerate() {
        let m = matcher
            .score_with(row, &mut scratch)
            .map_err(|e| e.to_string())?;
        correct += usize::from(m.is_correct());
        writeln!(
            out,
            "{i} {} {}",
            python_repr(m.score),
            verdict(m.is_correct())
        )
        .map_err(|e| e.to_string())?;
    }
    Ok((user.len(), correct))
}

/// `--mirror`, else `default`.
fn mirror(args: &Args, default: Mirror) -> Mirror {
    match args.mirror {
        None => default,
        Some(MirrorArg::Off) => Mirror::Off,
        Some(MirrorArg::On) => Mirror::On,
        Some(MirrorArg::Either) => Mirror::Either,
    }
}

fn robust(args: &Args, out: &mut impl Write) -> Result<(usize, usize), String> {
    let dancer = read(&args.dancer, &ROW_WIDTHS)?;
    let user = read(&args.user, &ROW_WIDTHS)?;
    let mirror = mirror(args, Mirror::Off);
    let scorer = Scorer::new(ScorerConfig {
        window_s: args.window_s,
        mirror,
        ..ScorerConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let track = DancerTrack::from_table(&scorer, &dancer, args.fps).map_err(|e| e.to_string())?;
    let mut correct = 0;
    for (i, row) in user.rows().enumerate() {
        let pose =
            Pose::from_row(row).map_err(|e| format!("{}: row {i}: {e}", args.user.display()))?;
        let features = scorer.features(&pose);
        let (score, ok) = match scorer.score_at(&features, &track, i as f32 / args.fps) {
            Ok(m) => (m.score.overall, m.score.correct),
            Err(out_of_view) => {
                eprintln!("row {i}: {out_of_view}");
                (0.0, false)
            }
        };
        correct += usize::from(ok);
        writeln!(out, "{i} {score:.6} {}", verdict(ok)).map_err(|e| e.to_string())?;
    }
    Ok((user.len(), correct))
}

/// Largest track file read, in bytes.
const MAX_TRACK_BYTES: u64 = 1 << 30;

/// The parts of pose-core's track JSON (`PoseTrack`) the view mode reads.
#[derive(serde::Deserialize)]
struct Track {
    samples: Vec<Sample>,
}

#[derive(serde::Deserialize)]
struct Sample {
    time: f64,
    pose: Option<TrackPose>,
}

#[derive(serde::Deserialize)]
struct TrackPose {
    /// 33 x `[x, y, z, visibility, presence]`.
    landmarks: Vec<[f32; 5]>,
    /// 33 x `[x, y, z]` metres, when the model gave them.
    #[serde(default)]
    world: Option<Vec<[f32; 3]>>,
}

fn read_track(path: &Path) -> Result<Track, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    if len > MAX_TRACK_BYTES {
        return Err(format!("{name}: {len} bytes, more than {MAX_TRACK_BYTES}"));
    }
    let track: Track = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| format!("{name}: not a pose track: {e}"))?;
    if track.samples.is_empty() {
        return Err(format!("{name}: no samples"));
    }
    if track.samples.len() > MAX_TRACK_FRAMES {
        return Err(format!(
            "{name}: {} samples, more than {MAX_TRACK_FRAMES}",
            track.samples.len()
        ));
    }
    Ok(track)
}

/// The view scorer's features of one track sample (`None`: no person).
fn view_features(
    scorer: &ViewScorer,
    pose: Option<&TrackPose>,
    path: &Path,
    i: usize,
) -> Result<Option<ViewFeatures>, String> {
    let Some(pose) = pose else { return Ok(None) };
    let bad = |e: pose_score::ScoreError| format!("{}: sample {i}: {e}", path.display());
    let image = Pose::new(
        Layout::BlazePose33,
        pose.landmarks
            .iter()
            .map(|l| Keypoint::new(l[0], l[1], l[3]))
            .collect(),
    )
    .map_err(bad)?;
    let world = match &pose.world {
        Some(w) => {
            let visibility: Vec<f32> = pose.landmarks.iter().map(|l| l[3]).collect();
            Some(WorldPose::from_blazepose(w, &visibility).map_err(bad)?)
        }
        None => None,
    };
    Ok(Some(scorer.features(&image, world.as_ref())))
}

fn view(args: &Args, out: &mut impl Write) -> Result<(usize, usize), String> {
    let scorer = ViewScorer::new(ViewConfig {
        window_s: args.window_s,
        mirror: mirror(args, ViewConfig::default().mirror),
        ..ViewConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let dancer = read_track(&args.dancer)?;
    let user = read_track(&args.user)?;
    let mut times = Vec::with_capacity(dancer.samples.len());
    let mut frames = Vec::with_capacity(dancer.samples.len());
    for (i, s) in dancer.samples.iter().enumerate() {
        times.push(s.time as f32);
        frames.push(view_features(&scorer, s.pose.as_ref(), &args.dancer, i)?.unwrap_or_default());
    }
    let track =
        ViewTrack::new(times, frames).map_err(|e| format!("{}: {e}", args.dancer.display()))?;
    // Score everything first: a bad sample fails the run with no partial output.
    let mut lines = Vec::with_capacity(user.samples.len());
    let (mut correct, mut in_2d) = (0, 0);
    for (i, s) in user.samples.iter().enumerate() {
        let (score, ok) = match view_features(&scorer, s.pose.as_ref(), &args.user, i)? {
            None => {
                eprintln!("row {i}: no person");
                (0.0, false)
            }
            Some(features) => match scorer.score_at(&features, &track, s.time as f32) {
                Ok(m) => {
                    in_2d += usize::from(m.basis == ScoreBasis::Image);
                    (m.score.overall, m.score.correct)
                }
                Err(out_of_view) => {
                    eprintln!("row {i}: {out_of_view}");
                    (0.0, false)
                }
            },
        };
        correct += usize::from(ok);
        lines.push(format!("{i} {score:.6} {}", verdict(ok)));
    }
    if in_2d > 0 {
        eprintln!(
            "note: {in_2d} of {} rows scored from {} (a pose had no world landmarks)",
            user.samples.len(),
            ScoreBasis::Image
        );
    }
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    Ok((user.samples.len(), correct))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "CORRECT" } else { "NOT" }
}

/// Formats like Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4
/// and from 1e16 on.
fn python_repr(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        // Rust writes 1e-5 / 2.5e16; Python writes 1e-05 / 2.5e+16.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else if v.fract() == 0.0 && a < 1e16 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}
