//! Pose matching for dance games: the old project's cosine score, exactly, and a robust
//! per-limb score with live time windows and offline alignment. Pure Rust, no ONNX: keypoints
//! come from any source as plain [`Keypoint`]s.
//!
//! * **Seed mode**, the old project's score ([`CosineMatcher`]): 36-number OpenPose-18 rows,
//!   sklearn-style L2 rows ([`Normalizer`]), `min over the dance of 1 - cos`, correct below
//!   [`COSINE_CORRECT_BELOW`]; the old `dancer_keyp_list.csv` is read and written by
//!   [`KeypointTable`].
//! * **Robust mode** ([`Scorer`]): BlazePose-33 / COCO-17 / OpenPose-18 keypoints with
//!   visibility ([`Pose`]), centred on the hips and scaled by the torso ([`Body`]), compared limb
//!   by limb as angles ([`Limb`], [`PoseScore`], [`Hint`]); too little of the body gives
//!   [`OutOfView`] rather than a number. Live: [`Scorer::score_at`] over a [`DancerTrack`]
//!   window; offline: [`Scorer::align`] (DTW) gives a grade and the lag.
//! * **View mode** ([`ViewScorer`]): the body in 3D ([`WorldPose`], BlazePose world landmarks)
//!   compared in its own torso frame, so the camera's position drops out; the same per-limb
//!   scores and hints, mirroring, [`ViewTrack`] windows and DTW; a pose without world landmarks
//!   is scored in 2D by the robust score and flagged ([`ScoreBasis::Image`]).
//!
//! A whole dance: [`Session`] records each frame's features and live score and gives the summary
//! (DTW alignment, [`Grade`]). Feature `pose-core`: `Pose::from(&pose_core::Pose)`,
//! `openpose_row`, `world_pose`, `DancerTrack::from_pose_track`. Feature `protocol`: the dance
//! game's WebSocket messages (`protocol`) and its server side without the transport (`live`).
//!
//! ```
//! use pose_score::{CosineMatcher, DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig};
//! // The dancer, in the old format: one 36-number row per video frame.
//! let row = |i: usize| -> Vec<f64> {
//!     (0..36).map(|k| 300.0 + 50.0 * ((k as f64) * 1.3 + i as f64 * 0.1).sin()).collect()
//! };
//! let dancer = KeypointTable::from_rows(36, (0..300).map(row))?;
//! let user_row = row(40);
//!
//! // The old score, exactly.
//! let seed = CosineMatcher::new(&dancer)?.score(&user_row)?;
//! assert!(seed.is_correct());
//!
//! // The robust score, live, at playback time 1.3 s (+-0.5 s window, dancer at 30 fps).
//! let scorer = Scorer::new(ScorerConfig::default())?;
//! let track = DancerTrack::from_table(&scorer, &dancer, 30.0)?;
//! let user = scorer.features(&Pose::from_row(&user_row)?);
//! match scorer.score_at(&user, &track, 1.3) {
//!     Ok(m) => {
//!         assert_eq!(m.frame, 40);
//!         assert!(m.score.correct && m.score.hint.is_none());
//!     }
//!     Err(out_of_view) => panic!("{out_of_view}"),
//! }
//! # Ok::<(), pose_score::ScoreError>(())
//! ```
//!
//! One `unsafe` block, measured: the seed scan compiled for AVX2 (`vpmaddwd` on 16-bit rows) is
//! called only after `is_x86_feature_detected!` confirmed it (`seed.rs`, `scan`), 8x faster than
//! the portable loop; everything else is safe code.
#![deny(unsafe_code)]
// docs.rs: mark feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod align;
mod body;
mod error;
#[cfg(feature = "pose-core")]
mod from_pose_core;
mod keypoints;
mod limb;
#[cfg(feature = "protocol")]
pub mod live;
mod normalizer;
#[cfg(feature = "protocol")]
pub mod protocol;
mod scorer;
mod seed;
mod session;
#[doc(hidden)]
pub mod synthetic;
mod table;
mod view;
mod window;

pub use align::{AlignConfig, Alignment};
pub use body::Body;
pub use error::ScoreError;
#[cfg(feature = "pose-core")]
pub use from_pose_core::{openpose_row, world_pose};
pub use keypoints::{Joint, Keypoint, Layout, Pose, ROW_WIDTHS};
pub use limb::{Hint, Issue, LIMB_COUNT, Limb};
pub use normalizer::Normalizer;
pub use scorer::{Mirror, OutOfView, PoseFeatures, PoseScore, Scorer, ScorerConfig};
pub use seed::{COSINE_CORRECT_BELOW, COSINE_NO_MATCH, CosineMatch, CosineMatcher};
// The names these had before (the old project's name), kept so that code using them builds.
#[doc(hidden)]
pub use seed::{
    COSINE_CORRECT_BELOW as SEED_THRESHOLD, COSINE_NO_MATCH as SEED_NO_MATCH,
    CosineMatch as SeedMatch, CosineMatcher as SeedMatcher,
};
pub use session::{Grade, SESSION_ALIGN_FPS, SESSION_NEAREST_S, Session, SessionSummary};
#[doc(hidden)]
pub use table::OPENPOSE_ROW_VALUES as SEED_COLUMNS;
pub use table::{KeypointTable, MAX_ABS_VALUE, MIN_ABS_VALUE, OPENPOSE_ROW_VALUES, TableLimits};
pub use view::{
    BodyFrame, ScoreBasis, ViewConfig, ViewFeatures, ViewMatch, ViewScore, ViewScorer, ViewTrack,
    WorldPose,
};
pub use window::{DancerTrack, MAX_TRACK_FRAMES, WindowMatch};
