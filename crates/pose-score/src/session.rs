//! A dance played live: every scored frame with its playback time, then one summary at the end
//! (mean live score, share of correct frames, and a final grade from a DTW alignment of the whole
//! performance with the part of the dance it covers).

use crate::align::{AlignConfig, Alignment};
use crate::error::ScoreError;
use crate::scorer::{PoseFeatures, PoseScore, Scorer};
use crate::view::{ViewFeatures, ViewScorer, ViewTrack};
use crate::window::DancerTrack;

/// Rate the session is resampled to for the alignment, frames per second.
pub const SESSION_ALIGN_FPS: f32 = 15.0;
/// A resampled instant takes the nearest recorded frame within this many seconds, else counts as
/// "not in view".
pub const SESSION_NEAREST_S: f64 = 0.5;
/// Frames recorded up to this long after the end of the dance still count.
const END_SLACK_S: f64 = 0.5;

/// Letter grade of a whole performance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    /// Alignment score >= 0.9.
    S,
    /// >= 0.8.
    A,
    /// >= 0.65.
    B,
    /// >= 0.5.
    C,
    /// Below 0.5.
    D,
}

impl Grade {
    /// The grade of an alignment score in `[0, 1]`.
    pub fn of(score: f32) -> Self {
        match score {
            g if g >= 0.9 => Grade::S,
            g if g >= 0.8 => Grade::A,
            g if g >= 0.65 => Grade::B,
            g if g >= 0.5 => Grade::C,
            _ => Grade::D,
        }
    }

    /// `"S"`, `"A"`, `"B"`, `"C"` or `"D"`.
    pub fn letter(self) -> &'static str {
        match self {
            Grade::S => "S",
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

/// The end of a dance, as [`Session::summary`] gives it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionSummary {
    /// Frames recorded (asked to be scored).
    pub frames: u64,
    /// Frames that got a live score.
    pub scored: u64,
    /// Mean live score of the scored frames.
    pub mean_score: Option<f32>,
    /// Share of the scored frames that were correct.
    pub correct_ratio: Option<f32>,
    /// The DTW alignment of the performance with the dance, when one could be made.
    pub alignment: Option<Alignment>,
    /// The grade of `alignment`.
    pub grade: Option<Grade>,
    /// A sentence for the player ("You nailed it!", what went wrong, the timing).
    pub message: String,
}

/// One player's dance: what was scored and when, for the final grade. Bounded: only frames within
/// the dance's time span (plus half a second) are kept.
///
/// ```
/// use pose_score::{DancerTrack, Grade, Pose, Scorer, ScorerConfig, Session};
/// let row = |i: usize| -> Vec<f64> {
///     (0..36).map(|k| 300.0 + 50.0 * ((k as f64) * 1.3 + i as f64 * 0.1).sin()).collect()
/// };
/// let scorer = Scorer::new(ScorerConfig::default())?;
/// let features = |i: usize| Pose::from_openpose_row(&row(i)).map(|p| scorer.features(&p));
/// let dance = DancerTrack::from_features((0..90).map(features).collect::<Result<_, _>>()?, 30.0)?;
/// let mut session = Session::for_track(&dance);
/// // The player copies the dancer exactly, at 15 frames per second.
/// for k in 0..45 {
///     let t = k as f64 / 15.0;
///     let user = features(2 * k)?;
///     let live = scorer.score_at(&user, &dance, t as f32).ok().map(|m| m.score);
///     session.record(t, user, live.as_ref());
/// }
/// let summary = session.summary(&scorer, &dance);
/// assert_eq!(summary.scored, 45);
/// assert_eq!(summary.grade, Some(Grade::S));
/// assert!(summary.alignment.is_some_and(|a| a.lag_s.abs() < 0.1));
/// # Ok::<(), pose_score::ScoreError>(())
/// ```
///
/// `F` is what one frame is compared by: [`PoseFeatures`] for the robust score (the default; see
/// [`Session::summary`]), or another score's features through [`Session::summary_with`].
#[derive(Debug, Clone, Default)]
pub struct Session<F = PoseFeatures> {
    /// (playback time, features) of every recorded frame within the dance.
    history: Vec<(f64, F)>,
    end_s: f64,
    frames: u64,
    scored: u64,
    correct: u64,
    score_sum: f64,
}

impl<F: Copy + Default> Session<F> {
    /// A session for a dance of `duration_s` seconds.
    pub fn new(duration_s: f64) -> Self {
        Self {
            history: Vec::new(),
            end_s: duration_s + END_SLACK_S,
            frames: 0,
            scored: 0,
            correct: 0,
            score_sum: 0.0,
        }
    }

    /// A new dance begins: forgets everything recorded.
    pub fn restart(&mut self) {
        *self = Self::new(self.end_s - END_SLACK_S);
    }

    /// Records one frame at playback time `t_s`: its features (default features when no one was
    /// in view) and its live score, if it got one.
    pub fn record(&mut self, t_s: f64, features: F, live: Option<&PoseScore>) {
        self.frames += 1;
        if (0.0..=self.end_s).contains(&t_s) {
            self.history.push((t_s, features));
        }
        if let Some(s) = live {
            self.scored += 1;
            self.score_sum += f64::from(s.overall);
            self.correct += u64::from(s.correct);
        }
    }

    /// Frames recorded.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames with a live score.
    pub fn scored(&self) -> u64 {
        self.scored
    }

    /// The session resampled at [`SESSION_ALIGN_FPS`] from its first to its last recorded
    /// frame within the dance (an instant with no recorded frame within [`SESSION_NEAREST_S`]
    /// gets default features: "not in view"), with the times of its first and last frame.
    ///
    /// # Errors
    /// [`ScoreError::Alignment`] when no frame lies within the dance.
    pub fn resampled(&mut self) -> Result<(Vec<F>, f64, f64), ScoreError> {
        self.history.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (Some(&(first_t, _)), Some(&(last_t, _))) = (self.history.first(), self.history.last())
        else {
            return Err(ScoreError::Alignment(
                "no frame within the dance's time".into(),
            ));
        };
        let step = 1.0 / f64::from(SESSION_ALIGN_FPS);
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
            user.push(if (ht - t).abs() <= SESSION_NEAREST_S {
                f
            } else {
                F::default()
            });
        }
        Ok((user, first_t, last_t))
    }

    /// The end of the dance: counts, mean score, alignment, grade and a sentence for the player;
    /// `align` aligns the [`Session::resampled`] frames (first and last time in seconds) with
    /// the dance.
    pub fn summary_with(
        &mut self,
        align: impl FnOnce(&[F], f64, f64) -> Result<Alignment, ScoreError>,
    ) -> SessionSummary {
        let scored = self.scored;
        let mut summary = SessionSummary {
            frames: self.frames,
            scored,
            mean_score: (scored > 0).then(|| (self.score_sum / scored as f64) as f32),
            correct_ratio: (scored > 0).then(|| self.correct as f32 / scored as f32),
            ..SessionSummary::default()
        };
        if scored == 0 {
            summary.message = "No frame could be scored: is your whole body in view?".into();
            return summary;
        }
        match self
            .resampled()
            .and_then(|(user, from, to)| align(&user, from, to))
        {
            Ok(a) => {
                let grade = Grade::of(a.grade);
                summary.message = match grade {
                    Grade::S | Grade::A => "You nailed it!".into(),
                    Grade::B => "Nice moves! A bit more precision and it is an A.".into(),
                    _ => "Watch the dancer's arms and legs, and try again!".into(),
                };
                if a.lag_s.abs() > 0.25 {
                    let when = if a.lag_s > 0.0 { "behind" } else { "ahead of" };
                    summary.message +=
                        &format!(" You were {:.1} s {when} the beat.", a.lag_s.abs());
                }
                summary.grade = Some(grade);
                summary.alignment = Some(a);
            }
            Err(e) => summary.message = format!("No final grade: {e}"),
        }
        summary
    }
}

/// The frames `from_s..=to_s` of a dance of `len` frames at `fps`, at least one.
pub(crate) fn dance_part(len: usize, fps: f64, from_s: f64, to_s: f64) -> std::ops::Range<usize> {
    let from = ((from_s * fps).round() as usize).min(len.saturating_sub(1));
    let to = ((to_s * fps).round() as usize + 1).clamp(from + 1, len.max(from + 1));
    from..to
}

impl Session<PoseFeatures> {
    /// A session for the dance `track`.
    pub fn for_track(track: &DancerTrack) -> Self {
        Self::new(track.len() as f64 / f64::from(track.fps()))
    }

    /// The session resampled at [`SESSION_ALIGN_FPS`] and aligned (DTW) with the part of `dance`
    /// it covers (a session may start late after a reconnection, or stop early).
    ///
    /// # Errors
    /// [`ScoreError::Alignment`] when no frame lies within the dance, or as [`Scorer::align`].
    pub fn align(&mut self, scorer: &Scorer, dance: &DancerTrack) -> Result<Alignment, ScoreError> {
        let (user, from, to) = self.resampled()?;
        align_robust(scorer, dance, &user, from, to)
    }

    /// [`Session::summary_with`] the robust score's alignment ([`Session::align`]).
    pub fn summary(&mut self, scorer: &Scorer, dance: &DancerTrack) -> SessionSummary {
        self.summary_with(|user, from, to| align_robust(scorer, dance, user, from, to))
    }
}

impl Session<ViewFeatures> {
    /// A session for the view score's dance `track`.
    pub fn for_view_track(track: &ViewTrack) -> Self {
        let duration = track.times().last().map_or(0.0, |&t| f64::from(t));
        Self::new(duration + view_step(track))
    }

    /// [`Session::summary_with`] the view score's alignment ([`ViewScorer::align`]) with the
    /// part of `dance` the session covers.
    pub fn summary_view(&mut self, scorer: &ViewScorer, dance: &ViewTrack) -> SessionSummary {
        self.summary_with(|user, from_s, to_s| {
            // The samples from the session's first to its last time, to the nearest sample.
            let (times, half) = (dance.times(), view_step(dance) / 2.0);
            let lo = times.partition_point(|&t| f64::from(t) < from_s - half);
            let lo = lo.min(times.len().saturating_sub(1));
            let hi = times.partition_point(|&t| f64::from(t) <= to_s + half);
            let hi = hi.max(lo + 1).min(times.len());
            if lo >= hi {
                return Err(ScoreError::Alignment("an empty dance".into()));
            }
            let part = ViewTrack::new(times[lo..hi].to_vec(), dance.frames()[lo..hi].to_vec())?;
            let config = AlignConfig {
                user_fps: SESSION_ALIGN_FPS,
                ..AlignConfig::default()
            };
            scorer.align(user, &part, &config)
        })
    }
}

/// The mean time between a view track's samples (0 for fewer than two).
fn view_step(track: &ViewTrack) -> f64 {
    match track.times() {
        [first, .., last] if last > first => f64::from(last - first) / (track.len() - 1) as f64,
        _ => 0.0,
    }
}

fn align_robust(
    scorer: &Scorer,
    dance: &DancerTrack,
    user: &[PoseFeatures],
    from_s: f64,
    to_s: f64,
) -> Result<Alignment, ScoreError> {
    if dance.is_empty() {
        return Err(ScoreError::Alignment("an empty dance".into()));
    }
    let part = dance_part(dance.len(), f64::from(dance.fps()), from_s, to_s);
    let part = DancerTrack::from_features(dance.frames()[part].to_vec(), dance.fps())?;
    let config = AlignConfig {
        user_fps: SESSION_ALIGN_FPS,
        ..AlignConfig::default()
    };
    scorer.align(user, &part, &config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pose, ScorerConfig};

    fn row(i: usize) -> Vec<f64> {
        (0..36)
            .map(|k| 300.0 + 50.0 * ((k as f64) * 1.3 + i as f64 * 0.1).sin())
            .collect()
    }

    fn setup() -> (Scorer, DancerTrack) {
        let scorer = Scorer::new(ScorerConfig::default()).expect("default config");
        let frames = (0..90)
            .map(|i| scorer.features(&Pose::from_openpose_row(&row(i)).expect("36 values")))
            .collect();
        let track = DancerTrack::from_features(frames, 30.0).expect("a track");
        (scorer, track)
    }

    #[test]
    fn grades_cut_where_documented() {
        assert_eq!(Grade::of(0.95), Grade::S);
        assert_eq!(Grade::of(0.8), Grade::A);
        assert_eq!(Grade::of(0.7), Grade::B);
        assert_eq!(Grade::of(0.5), Grade::C);
        assert_eq!(Grade::of(0.1).letter(), "D");
    }

    #[test]
    fn a_late_player_is_told_so() {
        let (scorer, dance) = setup();
        let mut s = Session::for_track(&dance);
        // Copies the dancer 0.6 s late, for the first two seconds.
        for k in 0..30 {
            let t = k as f64 / 15.0;
            let src = (2 * k as usize).saturating_sub(18);
            let f = scorer.features(&Pose::from_openpose_row(&row(src)).expect("row"));
            let live = scorer.score_at(&f, &dance, t as f32).ok().map(|m| m.score);
            s.record(t, f, live.as_ref());
        }
        let sum = s.summary(&scorer, &dance);
        let a = sum.alignment.expect("aligned");
        assert!(a.lag_s > 0.3, "lag {}", a.lag_s);
        assert!(sum.message.contains("behind the beat"), "{}", sum.message);
    }

    #[test]
    fn nothing_scored_or_out_of_time_gives_no_grade() {
        let (scorer, dance) = setup();
        let mut s = Session::for_track(&dance);
        assert!(s.summary(&scorer, &dance).grade.is_none());
        // Scored frames, all far after the dance: kept out of the history.
        let f = scorer.features(&Pose::from_openpose_row(&row(3)).expect("row"));
        let live = scorer.score_at(&f, &dance, 1.0).ok().map(|m| m.score);
        s.record(50.0, f, live.as_ref());
        let sum = s.summary(&scorer, &dance);
        assert_eq!((sum.frames, sum.scored), (1, 1));
        assert!(sum.grade.is_none() && sum.message.starts_with("No final grade"));
        s.restart();
        assert_eq!((s.frames(), s.scored()), (0, 0));
    }
}
