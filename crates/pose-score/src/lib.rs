//! Pose matching for dance games: the old project's cosine score, exactly, and a robust
//! per-limb score with live time windows and offline alignment. Pure Rust, no ONNX: keypoints
//! come from any source as plain [`Keypoint`]s.
//!
//! * **Seed mode** ([`SeedMatcher`]): 36-number OpenPose-18 rows, sklearn-style L2 rows
//!   ([`Normalizer`]), `min over the dance of 1 - cos`, correct below [`SEED_THRESHOLD`]; the old
//!   `dancer_keyp_list.csv` is read and written by [`KeypointTable`].
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
//! ```
//! use pose_score::{DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig, SeedMatcher};
//! // The dancer, in the old format: one 36-number row per video frame.
//! let row = |i: usize| -> Vec<f64> {
//!     (0..36).map(|k| 300.0 + 50.0 * ((k as f64) * 1.3 + i as f64 * 0.1).sin()).collect()
//! };
//! let dancer = KeypointTable::from_rows(36, (0..300).map(row))?;
//! let user_row = row(40);
//!
//! // The old score, exactly.
//! let seed = SeedMatcher::new(&dancer)?.score(&user_row)?;
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

mod align;
mod body;
mod error;
mod keypoints;
mod limb;
mod normalizer;
mod scorer;
mod seed;
pub mod synthetic;
mod table;
mod view;
mod window;

pub use align::{AlignConfig, Alignment};
pub use body::Body;
pub use error::ScoreError;
pub use keypoints::{Joint, Keypoint, Layout, Pose, ROW_WIDTHS};
pub use limb::{Hint, Issue, LIMB_COUNT, Limb};
pub use normalizer::Normalizer;
pub use scorer::{Mirror, OutOfView, PoseFeatures, PoseScore, Scorer, ScorerConfig};
pub use seed::{SEED_NO_MATCH, SEED_THRESHOLD, SeedMatch, SeedMatcher};
pub use table::{KeypointTable, MAX_ABS_VALUE, MIN_ABS_VALUE, SEED_COLUMNS, TableLimits};
pub use view::{
    BodyFrame, ScoreBasis, ViewConfig, ViewFeatures, ViewMatch, ViewScore, ViewScorer, ViewTrack,
    WorldPose,
};
pub use window::{DancerTrack, MAX_TRACK_FRAMES, WindowMatch};
