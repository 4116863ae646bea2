//! A dance game's server side, transport aside (features `protocol`): the dance prepared once
//! ([`Dance`]: the scorer, the dancer's track, one pose estimator per worker, JPEG limits) and
//! one [`Player`] per client (its tracking state and its [`Session`]), turning JPEG frames into
//! the protocol's [`FrameResult`]s and, at the end, its [`Summary`]. The dance server wires it to
//! a WebSocket; another program can wire it to anything else.
//!
//! ```no_run
//! use std::sync::Arc;
//! use pose_core::{DecodeLimits, EstimatorPool, PoseConfig};
//! use pose_score::live::{Dance, Player};
//! use pose_score::{Scorer, ScorerConfig};
//!
//! // The dancer's poses, e.g. from `pose_core::load_or_extract` (feature `video`).
//! let reference = pose_core::extract::PoseTrack::load("dancer.json")?;
//! let scorer = Scorer::new(ScorerConfig::default())?;
//! let pool = EstimatorPool::new(PoseConfig::default(), 2)?;
//! let dance = Arc::new(Dance::new(scorer, &reference, pool, DecodeLimits::default())?);
//! let mut player = Player::new(dance);
//! let jpeg = std::fs::read("webcam.jpg")?;
//! let (result, _) = player.analyse(&jpeg, 1.5, true, false).map_err(|r| r.message)?;
//! println!("score {:?}, hint {:?}", result.score, result.hint);
//! println!("{}", player.summary().message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::Instant;

use pose_core::draw::{DrawStyle, draw_pose};
use pose_core::extract::PoseTrack;
use pose_core::{DecodeLimits, EstimatorPool, RgbImage, TrackState, TrackerConfig};

use crate::error::ScoreError;
use crate::from_pose_core::world_pose;
use crate::keypoints::Pose;
use crate::protocol::{FrameResult, Summary, keypoints_xyv};
use crate::scorer::{PoseFeatures, Scorer};
use crate::session::{Session, SessionSummary};
use crate::view::{ViewFeatures, ViewScorer, ViewTrack};
use crate::window::DancerTrack;

/// The score a dance is played with, and the dancer's track as that score sees it.
enum Judge {
    Robust(Scorer, DancerTrack),
    View(ViewScorer, ViewTrack),
}

/// The dance, prepared once and shared by every player.
pub struct Dance {
    judge: Judge,
    fps: f32,
    pool: EstimatorPool,
    limits: DecodeLimits,
}

impl Dance {
    /// The dance of `reference` (the dancer's poses), scored with the robust 2D `scorer`; frames
    /// are decoded within `limits` and estimated on `pool` (one estimator per frame analysed at
    /// once).
    ///
    /// # Errors
    /// As [`DancerTrack::from_pose_track`].
    pub fn new(
        scorer: Scorer,
        reference: &PoseTrack,
        pool: EstimatorPool,
        limits: DecodeLimits,
    ) -> Result<Self, ScoreError> {
        let track = DancerTrack::from_pose_track(&scorer, reference)?;
        let judge = Judge::Robust(scorer, track);
        Ok(Self {
            judge,
            fps: reference.fps as f32,
            pool,
            limits,
        })
    }

    /// [`Dance::new`] with the view-invariant score (3D world landmarks; a pose without them is
    /// scored in 2D and the reply says so).
    ///
    /// # Errors
    /// As [`ViewTrack::from_pose_track`].
    pub fn with_view_score(
        scorer: ViewScorer,
        reference: &PoseTrack,
        pool: EstimatorPool,
        limits: DecodeLimits,
    ) -> Result<Self, ScoreError> {
        let track = ViewTrack::from_pose_track(&scorer, reference)?;
        let judge = Judge::View(scorer, track);
        Ok(Self {
            judge,
            fps: reference.fps as f32,
            pool,
            limits,
        })
    }

    /// `"robust"` or `"view"`.
    pub fn scoring(&self) -> &'static str {
        match self.judge {
            Judge::Robust(..) => "robust",
            Judge::View(..) => "view",
        }
    }

    /// The overall score from which a frame counts as correct.
    pub fn correct_from(&self) -> f32 {
        match &self.judge {
            Judge::Robust(s, _) => s.config().correct_from,
            Judge::View(s, _) => s.config().correct_from,
        }
    }

    fn hint_below(&self) -> f32 {
        match &self.judge {
            Judge::Robust(s, _) => s.config().hint_below,
            Judge::View(s, _) => s.config().hint_below,
        }
    }
}

/// One player's session, in the features its dance's score compares.
enum Sessions {
    Robust(Session<PoseFeatures>),
    View(Session<ViewFeatures>),
}

impl Sessions {
    fn of(dance: &Dance) -> Self {
        match &dance.judge {
            Judge::Robust(_, track) => Sessions::Robust(Session::for_track(track)),
            Judge::View(_, track) => Sessions::View(Session::for_view_track(track)),
        }
    }
}

/// Why a frame was not analysed, with the protocol's error code (`too_large`, `bad_jpeg`,
/// `internal`); the player can go on with the next frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The stable code for the JSON error.
    pub code: &'static str,
    /// Detail for humans.
    pub message: String,
}

/// One player: tracking state and session. Runs one frame at a time (a blocking call).
pub struct Player {
    dance: Arc<Dance>,
    tracker: TrackState,
    born: Instant,
    session: Sessions,
}

fn ms_since(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

impl Player {
    /// A new player of `dance`.
    pub fn new(dance: Arc<Dance>) -> Self {
        let session = Sessions::of(&dance);
        let tracker = TrackState::new(TrackerConfig::default());
        let born = Instant::now();
        Self {
            dance,
            tracker,
            born,
            session,
        }
    }

    /// A new dance begins: the session forgets its history (tracking continues).
    pub fn start(&mut self) {
        match &mut self.session {
            Sessions::Robust(s) => s.restart(),
            Sessions::View(s) => s.restart(),
        }
    }

    /// Decodes, estimates and (with `score`) scores one JPEG frame at dancer time `t` seconds;
    /// with `annotate`, the frame with the skeleton drawn comes back as JPEG too. The reply's
    /// `id`, `dropped` and the `wait`/`server` latencies are the transport's to fill.
    ///
    /// # Errors
    /// A [`Refusal`] for a JPEG above the limits or that does not decode, or a failed estimation.
    pub fn analyse(
        &mut self,
        jpeg: &[u8],
        t: f64,
        score: bool,
        annotate: bool,
    ) -> Result<(FrameResult, Option<Vec<u8>>), Refusal> {
        let refuse = |code, message| Refusal { code, message };
        let d = self.dance.clone();
        let t0 = Instant::now();
        let mut image = RgbImage::decode_jpeg_within(jpeg, &d.limits).map_err(|e| match e {
            pose_core::Error::TooLarge { .. } => refuse("too_large", e.to_string()),
            e => refuse("bad_jpeg", e.to_string()),
        })?;
        let decode_ms = ms_since(t0);
        let t1 = Instant::now();
        let internal = |e: pose_core::Error| refuse("internal", format!("pose estimation: {e}"));
        // The estimator goes back to the pool as soon as the pose is there.
        let estimator = d.pool.get().map_err(internal)?;
        let now = self.born.elapsed().as_secs_f64();
        let poses = self.tracker.process(estimator, &image.as_frame(), now);
        let pose = poses.map_err(internal)?.into_iter().next();
        let mut result = FrameResult {
            t,
            width: image.width,
            height: image.height,
            person: pose.is_some(),
            keypoints: pose.as_ref().map(keypoints_xyv).unwrap_or_default(),
            ..FrameResult::default()
        };
        result.latency_ms.decode = decode_ms;
        result.latency_ms.pose = ms_since(t1);
        let t2 = Instant::now();
        if score {
            let p = pose.as_ref();
            let live = match (&d.judge, &mut self.session) {
                (Judge::Robust(scorer, track), Sessions::Robust(session)) => {
                    let user = p.map(|p| scorer.features(&p.into())).unwrap_or_default();
                    let live = scorer.score_at(&user, track, t as f32);
                    let live = live.map(|m| (m.frame, m.score, None));
                    let scored = live.as_ref().ok().filter(|_| p.is_some());
                    session.record(t, user, scored.map(|m| &m.1));
                    live
                }
                (Judge::View(scorer, track), Sessions::View(session)) => {
                    let features = |p| scorer.features(&Pose::from(p), world_pose(p).as_ref());
                    let user = p.map(features).unwrap_or_default();
                    let live = scorer.score_at(&user, track, t as f32);
                    let live = live.map(|m| (m.frame, m.score, Some(m.basis)));
                    let scored = live.as_ref().ok().filter(|_| p.is_some());
                    session.record(t, user, scored.map(|m| &m.1));
                    live
                }
                _ => return Err(refuse("internal", "a session of another score".into())),
            };
            match (p, &live) {
                (None, _) => {
                    result.hint = Some("No one in view: step back into the picture".into());
                }
                (Some(_), Err(out)) => {
                    result.hint = Some(format!(
                        "Not enough of your body in view ({} of {} limbs): step back",
                        out.visible_limbs, out.needed
                    ));
                }
                (Some(_), Ok((frame, s, basis))) => {
                    result.set_match(*frame, s, d.fps, d.hint_below());
                    result.basis = *basis;
                }
            }
        }
        result.latency_ms.score = ms_since(t2);
        if !annotate {
            return Ok((result, None));
        }
        if let Some(p) = &pose {
            let (w, h) = (image.width, image.height);
            draw_pose(&mut image.data, w, h, p, &DrawStyle::default())
                .map_err(|e| refuse("internal", format!("drawing: {e}")))?;
        }
        let mut jpeg = Vec::with_capacity(image.data.len() / 8);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode(
                &image.data,
                image.width,
                image.height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| refuse("internal", format!("JPEG encoding: {e}")))?;
        Ok((result, Some(jpeg)))
    }

    /// The end of the dance (`dropped` is the transport's to fill): DTW alignment of the session with the dancer, final grade.
    pub fn summary(&mut self) -> Summary {
        let session = match (&self.dance.judge, &mut self.session) {
            (Judge::Robust(scorer, track), Sessions::Robust(s)) => s.summary(scorer, track),
            (Judge::View(scorer, track), Sessions::View(s)) => s.summary_view(scorer, track),
            _ => SessionSummary {
                message: "No final grade: a session of another score".into(),
                ..SessionSummary::default()
            },
        };
        let mut summary = Summary::from(&session);
        summary.scoring = self.dance.scoring().into();
        summary
    }
}
