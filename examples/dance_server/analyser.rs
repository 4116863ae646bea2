//! The real analyser: pose-core (JPEG decode, BlazePose in tracking mode) and pose-score (live
//! score in a window around the playback time, DTW alignment for the final grade).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use pose_core::draw::{DrawStyle, draw_pose};
use pose_core::extract::PoseTrack;
use pose_core::{
    EstimatorPool, ModelKind, PoseConfig, RgbImage, RuntimeConfig, TrackState, TrackerConfig,
};
use pose_score::{
    AlignConfig, DancerTrack, Keypoint, Layout, Limb, Mirror, PoseFeatures, Scorer, ScorerConfig,
};

use crate::app::{AppState, ServerConfig};
use crate::dancer;
use crate::engine::{AnalyseError, Analyser, AnalyserFactory, Analysis, Frame};
use crate::protocol::{DancerInfo, FrameResult, Hello, LimbReply, PROTOCOL_VERSION, Summary};

/// Largest frame accepted, in pixels per side (a small JPEG may declare a huge image).
pub const MAX_FRAME_SIDE: u32 = 4096;
/// Rate the session is resampled to for the DTW alignment.
const ALIGN_FPS: f32 = 15.0;
/// A resampled instant takes the nearest scored frame within this many seconds, else counts as
/// "not in view".
const ALIGN_NEAREST_S: f64 = 0.5;

/// `--model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// BlazePose lite (fastest).
    Lite,
    /// BlazePose full.
    Full,
    /// BlazePose heavy (slow).
    Heavy,
}

impl ModelArg {
    /// The pose-core model.
    pub fn kind(self) -> ModelKind {
        match self {
            ModelArg::Lite => ModelKind::Lite,
            ModelArg::Full => ModelKind::Full,
            ModelArg::Heavy => ModelKind::Heavy,
        }
    }
}

/// The dancer, prepared once and shared by every client.
struct Shared {
    scorer: Scorer,
    track: DancerTrack,
    /// One estimator per worker, shared by every client (loaded once, not per connection).
    pool: EstimatorPool,
}

/// One client's pipeline.
struct DanceAnalyser {
    shared: Arc<Shared>,
    /// This client's tracks; each frame runs on an estimator of the shared pool.
    tracker: TrackState,
    born: Instant,
    /// (dancer time, features) of every frame scored in this session.
    history: Vec<(f64, PoseFeatures)>,
    score_sum: f64,
    scored: u64,
    correct: u64,
    frames: u64,
}

/// A pose-core pose as pose-score keypoints.
fn score_pose(pose: &pose_core::Pose) -> pose_score::Pose {
    let points = pose
        .landmarks
        .iter()
        .map(|l| Keypoint::new(l.x, l.y, l.visibility))
        .collect();
    // 33 points always: the layout check cannot fail.
    pose_score::Pose::new(Layout::BlazePose33, points)
        .unwrap_or_else(|_| unreachable!("33 BlazePose landmarks"))
}

/// The limb as BlazePose bones, for drawing.
fn limb_bones(limb: Limb) -> Vec<[usize; 2]> {
    match limb.joints() {
        Some((a, b)) => vec![[Layout::BlazePose33.index(a), Layout::BlazePose33.index(b)]],
        // The torso: the body's sides (shoulders and hips are limbs of their own).
        None => vec![[11, 23], [12, 24]],
    }
}

fn limb_key(limb: Limb) -> String {
    limb.name().replace(' ', "_")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Letter grade of a DTW grade in `[0, 1]`.
pub fn letter(grade: f32) -> &'static str {
    match grade {
        g if g >= 0.9 => "S",
        g if g >= 0.8 => "A",
        g if g >= 0.65 => "B",
        g if g >= 0.5 => "C",
        _ => "D",
    }
}

fn ms_since(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

fn bad_jpeg(message: String) -> AnalyseError {
    AnalyseError {
        code: "bad_jpeg",
        message,
    }
}

impl DanceAnalyser {
    fn decode(jpeg: &[u8]) -> Result<RgbImage, AnalyseError> {
        let (w, h) =
            image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
                .into_dimensions()
                .map_err(|e| bad_jpeg(format!("JPEG header: {e}")))?;
        if w > MAX_FRAME_SIDE || h > MAX_FRAME_SIDE {
            return Err(AnalyseError {
                code: "too_large",
                message: format!("frame of {w}x{h} pixels, more than {MAX_FRAME_SIDE} a side"),
            });
        }
        RgbImage::decode(jpeg).map_err(|e| bad_jpeg(e.to_string()))
    }
}

impl Analyser for DanceAnalyser {
    fn start(&mut self) {
        self.history.clear();
        self.score_sum = 0.0;
        self.scored = 0;
        self.correct = 0;
        self.frames = 0;
    }

    fn analyse(&mut self, frame: &Frame, t: f64, annotate: bool) -> Result<Analysis, AnalyseError> {
        let t0 = Instant::now();
        let mut image = Self::decode(&frame.jpeg)?;
        let decode_ms = ms_since(t0);

        let t1 = Instant::now();
        let now = self.born.elapsed().as_secs_f64();
        let internal = |e: pose_core::Error| AnalyseError {
            code: "internal",
            message: format!("pose estimation: {e}"),
        };
        // The estimator goes back to the pool as soon as the pose is there.
        let pose = self
            .tracker
            .process(
                self.shared.pool.get().map_err(internal)?,
                &image.as_frame(),
                now,
            )
            .map_err(internal)?
            .into_iter()
            .next();
        let pose_ms = ms_since(t1);

        let mut result = FrameResult {
            t,
            width: image.width,
            height: image.height,
            person: pose.is_some(),
            keypoints: pose.as_ref().map(dancer::keypoints_xyv).unwrap_or_default(),
            ..FrameResult::default()
        };
        let t2 = Instant::now();
        let shared = &self.shared;
        if frame.score {
            self.frames += 1;
            let features = pose
                .as_ref()
                .map(|p| shared.scorer.features(&score_pose(p)))
                .unwrap_or_default();
            // Only the dance's time span is kept (bounded memory for a client that never ends).
            if (0.0..=shared.dance_end_s()).contains(&t) {
                self.history.push((t, features));
            }
            match (
                &pose,
                shared.scorer.score_at(&features, &shared.track, t as f32),
            ) {
                (None, _) => {
                    result.hint = Some("No one in view: step back into the picture".into());
                }
                (Some(_), Err(out)) => {
                    result.hint = Some(format!(
                        "Not enough of your body in view ({} of {} limbs): step back",
                        out.visible_limbs, out.needed
                    ));
                }
                (Some(_), Ok(m)) => {
                    let s = m.score;
                    result.score = Some(s.overall);
                    result.correct = s.correct;
                    result.dancer_frame = Some(m.frame);
                    result.dancer_t = Some(m.frame as f64 / f64::from(shared.track.fps()));
                    result.hint = s.hint.map(|h| capitalised(&h.to_string()));
                    let hint_below = shared.scorer.config().hint_below;
                    result.limbs = Limb::ALL
                        .iter()
                        .map(|&limb| {
                            let score = s.limb(limb);
                            LimbReply {
                                name: limb_key(limb),
                                bones: limb_bones(limb),
                                score,
                                ok: score.is_some_and(|v| v >= hint_below),
                                hint: s
                                    .hint
                                    .filter(|h| h.limb == limb)
                                    .map(|h| capitalised(&h.to_string())),
                            }
                        })
                        .collect();
                    self.score_sum += f64::from(s.overall);
                    self.scored += 1;
                    if s.correct {
                        self.correct += 1;
                    }
                }
            }
        }
        result.latency_ms.decode = decode_ms;
        result.latency_ms.pose = pose_ms;
        result.latency_ms.score = ms_since(t2);

        let annotated = if annotate {
            if let Some(p) = &pose {
                draw_pose(
                    &mut image.data,
                    image.width,
                    image.height,
                    p,
                    &DrawStyle::default(),
                )
                .map_err(|e| AnalyseError {
                    code: "internal",
                    message: format!("drawing: {e}"),
                })?;
            }
            let mut jpeg = Vec::with_capacity(image.data.len() / 8);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
                .encode(
                    &image.data,
                    image.width,
                    image.height,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| AnalyseError {
                    code: "internal",
                    message: format!("JPEG encoding: {e}"),
                })?;
            Some(jpeg)
        } else {
            None
        };
        Ok(Analysis { result, annotated })
    }

    fn summary(&mut self) -> Summary {
        let scored = self.scored;
        let mut summary = Summary {
            frames: self.frames,
            scored,
            mean_score: (scored > 0).then(|| (self.score_sum / scored as f64) as f32),
            correct_ratio: (scored > 0).then(|| self.correct as f32 / scored as f32),
            ..Summary::default()
        };
        if scored == 0 {
            summary.message = "No frame could be scored: is your whole body in view?".into();
            return summary;
        }
        match self.align() {
            Ok(a) => {
                summary.dtw_score = Some(a.grade);
                summary.lag_s = Some(f64::from(a.lag_s));
                let grade = letter(a.grade);
                summary.grade = Some(grade.to_string());
                summary.message = match grade {
                    "S" | "A" => "You nailed it!".into(),
                    "B" => "Nice moves! A bit more precision and it is an A.".into(),
                    _ => "Watch the dancer's arms and legs, and try again!".into(),
                };
                if a.lag_s.abs() > 0.25 {
                    let when = if a.lag_s > 0.0 { "behind" } else { "ahead of" };
                    summary.message +=
                        &format!(" You were {:.1} s {when} the beat.", a.lag_s.abs());
                }
            }
            Err(e) => summary.message = format!("No final grade: {e}"),
        }
        summary
    }
}

impl DanceAnalyser {
    /// The session resampled at [`ALIGN_FPS`] and aligned with the part of the dance it covers
    /// (a session may start late after a reconnection, or stop early).
    fn align(&mut self) -> Result<pose_score::Alignment, pose_score::ScoreError> {
        let shared = &self.shared;
        self.history.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (Some(&(first_t, _)), Some(&(last_t, _))) = (self.history.first(), self.history.last())
        else {
            return Err(pose_score::ScoreError::Alignment(
                "no frame within the dance's time".into(),
            ));
        };
        let step = 1.0 / f64::from(ALIGN_FPS);
        let n = ((last_t - first_t) / step).floor() as usize + 1;
        let mut user = Vec::with_capacity(n);
        let mut j = 0;
        for k in 0..n {
            let t = first_t + k as f64 * step;
            while j + 1 < self.history.len()
                && (self.history[j + 1].0 - t).abs() <= (self.history[j].0 - t).abs()
            {
                j += 1;
            }
            let (ht, f) = self.history[j];
            user.push(if (ht - t).abs() <= ALIGN_NEAREST_S {
                f
            } else {
                PoseFeatures::default()
            });
        }
        let fps = f64::from(shared.track.fps());
        let len = shared.track.len();
        let from = ((first_t * fps).round() as usize).min(len.saturating_sub(1));
        let to = ((last_t * fps).round() as usize + 1).clamp(from + 1, len);
        let dance = DancerTrack::from_features(
            shared.track.frames()[from..to].to_vec(),
            shared.track.fps(),
        )?;
        let config = AlignConfig {
            user_fps: ALIGN_FPS,
            ..AlignConfig::default()
        };
        shared.scorer.align(&user, &dance, &config)
    }
}

impl Shared {
    /// End of the dance in seconds, plus half a second of slack.
    fn dance_end_s(&self) -> f64 {
        self.track.len() as f64 / f64::from(self.track.fps()) + 0.5
    }
}

/// The server state for the dancer `track` of `video`, scored with `model`.
pub fn build_state(
    config: ServerConfig,
    video: &Path,
    track: PoseTrack,
    model: ModelKind,
) -> anyhow::Result<AppState> {
    let scorer = Scorer::new(ScorerConfig {
        // A webcam user may copy the dancer as seen or as in a mirror: the better one counts.
        mirror: Mirror::Either,
        ..ScorerConfig::default()
    })?;
    let empty = pose_score::Pose::new(Layout::BlazePose33, vec![Keypoint::default(); 33])?;
    let features: Vec<PoseFeatures> = track
        .samples
        .iter()
        .map(|s| match &s.pose {
            Some(p) => scorer.features(&score_pose(p)),
            None => scorer.features(&empty),
        })
        .collect();
    let dancer_track = DancerTrack::from_features(features, track.fps as f32)?;
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        model: model.name().to_string(),
        annotated: false,
        max_jpeg_bytes: config.max_jpeg_bytes,
        dancer: DancerInfo {
            video_url: "/game/dancer".into(),
            keypoints_url: "/game/dancer.json".into(),
            fps: track.fps,
            frames: track.samples.len(),
            duration_s: track.duration(),
            width: track.width,
            height: track.height,
        },
        limbs: Limb::ALL.iter().map(|&l| limb_key(l)).collect(),
        threshold: scorer.config().correct_from,
    };
    let json = dancer::page_json(&track);
    let pose_config = PoseConfig {
        runtime: RuntimeConfig {
            model,
            // One thread per session: the server runs one session per worker at once.
            intra_threads: 1,
            ..RuntimeConfig::default()
        },
        ..PoseConfig::default()
    };
    // As many estimators as frames analysed at once (the worker permits): a free one is always
    // there for a frame holding a permit.
    let pool = EstimatorPool::new(pose_config, config.workers.max(1))?;
    let shared = Arc::new(Shared {
        scorer,
        track: dancer_track,
        pool,
    });
    let factory: AnalyserFactory = Arc::new(move || {
        Ok(Box::new(DanceAnalyser {
            shared: shared.clone(),
            tracker: TrackState::new(TrackerConfig::default()),
            born: Instant::now(),
            history: Vec::new(),
            score_sum: 0.0,
            scored: 0,
            correct: 0,
            frames: 0,
        }) as Box<dyn Analyser>)
    });
    Ok(AppState::new(
        config,
        hello,
        video.to_path_buf(),
        json,
        factory,
    ))
}
