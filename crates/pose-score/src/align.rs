//! Offline alignment of a whole performance with the dance (dynamic time warping).

use crate::error::ScoreError;
use crate::scorer::{PoseFeatures, Scorer};
use crate::window::DancerTrack;

/// Settings of [`Scorer::align`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AlignConfig {
    /// Frame rate of the user's recording (default 30).
    pub user_fps: f32,
    /// Largest time difference between matched frames, in seconds (default 3): the warping
    /// band, which also bounds the work to `user frames x (2 x max_lag_s x dancer fps + 1)`.
    pub max_lag_s: f32,
    /// Most cells of the band (default 50 million, 200 MB).
    pub max_cells: usize,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            user_fps: 30.0,
            max_lag_s: 3.0,
            max_cells: 50_000_000,
        }
    }
}

/// A whole performance aligned with the dance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alignment {
    /// Mean over the user's frames of their best score along the path, 0..=1 (frames that
    /// could not be scored count 0).
    pub grade: f32,
    /// Median of (user time - dancer time) over the matched pairs, in seconds: positive when
    /// the user is late.
    pub lag_s: f32,
    /// Matched pairs (user frame, dancer frame), from the start to the end.
    pub path: Vec<(usize, usize)>,
    /// Each user frame's best score along the path (`None`: not enough of the body in view).
    pub frame_scores: Vec<Option<f32>>,
}

impl Scorer {
    /// Aligns the user's whole performance (one [`PoseFeatures`] per frame at
    /// `config.user_fps`) with the dancer's track by dynamic time warping inside a band of
    /// `max_lag_s`, and grades it. Both sequences start together and end together, so their
    /// durations may differ by at most `max_lag_s`.
    ///
    /// ```
    /// use pose_score::{AlignConfig, DancerTrack, KeypointTable, Pose, Scorer, ScorerConfig};
    /// let row = |i: usize| -> Vec<f64> {
    ///     (0..36).map(|k| 200.0 + 40.0 * ((k as f64) * 0.7 + i as f64 * 0.2).sin()).collect()
    /// };
    /// let scorer = Scorer::new(ScorerConfig::default())?;
    /// let dancer = KeypointTable::from_rows(36, (0..90).map(row))?;
    /// let track = DancerTrack::from_table(&scorer, &dancer, 30.0)?;
    /// // The user does the same moves 5 frames (1/6 s) late.
    /// let user: Vec<_> = (0..90)
    ///     .map(|i| Pose::from_openpose_row(&row(i.max(5) - 5)).map(|p| scorer.features(&p)))
    ///     .collect::<Result<_, _>>()?;
    /// let a = scorer.align(&user, &track, &AlignConfig::default())?;
    /// assert!(a.grade > 0.95, "{}", a.grade);
    /// assert!((a.lag_s - 5.0 / 30.0).abs() < 0.02, "{}", a.lag_s);
    /// # Ok::<(), pose_score::ScoreError>(())
    /// ```
    pub fn align(
        &self,
        user: &[PoseFeatures],
        track: &DancerTrack,
        config: &AlignConfig,
    ) -> Result<Alignment, ScoreError> {
        let (n, m) = (user.len(), track.len());
        let candidates = self.orientations_for_align(user);
        let min_limbs = self.config().min_limbs;
        let score = |i: usize, j: usize| -> Option<f32> {
            candidates
                .iter()
                .filter_map(|c| self.quick(&c[i], &track.frames()[j]).score(min_limbs))
                .fold(None, |b: Option<f32>, s| Some(b.map_or(s, |b| b.max(s))))
        };
        dtw_align(n, m, track.fps(), config, score)
    }

    fn orientations_for_align(&self, user: &[PoseFeatures]) -> Vec<Vec<PoseFeatures>> {
        let first = match user.first() {
            Some(u) => self.orientations(u),
            None => return Vec::new(),
        };
        first
            .iter()
            .map(|(_, mirrored)| {
                user.iter()
                    .map(|u| if *mirrored { u.mirrored() } else { *u })
                    .collect()
            })
            .collect()
    }
}

/// Dynamic time warping of `n` user frames against `m` dancer frames at `dancer_fps`, inside a
/// band of `config.max_lag_s`; `score(i, j)` is the score of user frame `i` against dancer
/// frame `j` (`None`: not comparable, cost 1).
pub(crate) fn dtw_align(
    n: usize,
    m: usize,
    dancer_fps: f32,
    config: &AlignConfig,
    score: impl Fn(usize, usize) -> Option<f32>,
) -> Result<Alignment, ScoreError> {
    if n == 0 || m == 0 {
        return Err(ScoreError::Alignment(format!(
            "{n} user frames, {m} dancer frames: nothing to align"
        )));
    }
    if !(config.user_fps.is_finite() && config.user_fps > 0.0 && config.user_fps <= 1000.0) {
        return Err(ScoreError::Config(format!(
            "user_fps {} is not in (0, 1000]",
            config.user_fps
        )));
    }
    if !(config.max_lag_s.is_finite() && config.max_lag_s >= 0.0) {
        return Err(ScoreError::Config(format!(
            "max_lag_s {} must be finite and >= 0",
            config.max_lag_s
        )));
    }
    let (uf, df) = (f64::from(config.user_fps), f64::from(dancer_fps));
    let lag = f64::from(config.max_lag_s);
    let end_gap = (n - 1) as f64 / uf - (m - 1) as f64 / df;
    if end_gap.abs() > lag + 1e-9 {
        return Err(ScoreError::Alignment(format!(
            "the performances end {:.2} s apart, more than max_lag_s = {}",
            end_gap.abs(),
            config.max_lag_s
        )));
    }
    // Band of dancer frames for each user frame.
    let band = |i: usize| -> (usize, usize) {
        let t = i as f64 / uf;
        let lo = ((t - lag) * df - 1e-9).ceil().max(0.0) as usize;
        let hi = (((t + lag) * df + 1e-9).floor().max(0.0) as usize).min(m - 1);
        (lo.min(m - 1), hi)
    };
    let width = (2.0 * lag * df).floor() as usize + 2;
    let cells = n.saturating_mul(width);
    if cells > config.max_cells {
        return Err(ScoreError::TooLarge {
            what: "alignment cells",
            got: cells,
            limit: config.max_cells,
        });
    }
    let mut lo = Vec::with_capacity(n);
    let mut acc = vec![f32::INFINITY; cells];
    let get = |acc: &[f32], lo: &[usize], i: usize, j: usize| -> f32 {
        let l = lo[i];
        if j < l || j - l >= width {
            f32::INFINITY
        } else {
            acc[i * width + j - l]
        }
    };
    for i in 0..n {
        let (l, h) = band(i);
        lo.push(l);
        for j in l..=h {
            let cost = 1.0 - score(i, j).unwrap_or(0.0);
            let prev = if i == 0 && j == 0 {
                0.0
            } else {
                let mut p = f32::INFINITY;
                if i > 0 {
                    p = p.min(get(&acc, &lo, i - 1, j));
                    if j > 0 {
                        p = p.min(get(&acc, &lo, i - 1, j - 1));
                    }
                }
                if j > 0 {
                    p = p.min(get(&acc, &lo, i, j - 1));
                }
                p
            };
            if j - l < width {
                acc[i * width + j - l] = cost + prev;
            }
        }
    }
    if !get(&acc, &lo, n - 1, m - 1).is_finite() {
        return Err(ScoreError::Alignment("no path inside the band".to_owned()));
    }
    // Walk back from the end, preferring the diagonal on ties.
    let mut path = vec![(n - 1, m - 1)];
    let (mut i, mut j) = (n - 1, m - 1);
    while i > 0 || j > 0 {
        let diag = if i > 0 && j > 0 {
            get(&acc, &lo, i - 1, j - 1)
        } else {
            f32::INFINITY
        };
        let up = if i > 0 {
            get(&acc, &lo, i - 1, j)
        } else {
            f32::INFINITY
        };
        let left = if j > 0 {
            get(&acc, &lo, i, j - 1)
        } else {
            f32::INFINITY
        };
        if diag <= up && diag <= left {
            (i, j) = (i - 1, j - 1);
        } else if up <= left {
            i -= 1;
        } else {
            j -= 1;
        }
        path.push((i, j));
    }
    path.reverse();
    let mut frame_scores: Vec<Option<f32>> = vec![None; n];
    let mut lags = Vec::with_capacity(path.len());
    for &(i, j) in &path {
        if let Some(s) = score(i, j) {
            frame_scores[i] = Some(frame_scores[i].map_or(s, |b: f32| b.max(s)));
            lags.push((i as f64 / uf - j as f64 / df) as f32);
        }
    }
    let grade = frame_scores.iter().map(|s| s.unwrap_or(0.0)).sum::<f32>() / n as f32;
    lags.sort_by(f32::total_cmp);
    let lag_s = lags.get(lags.len() / 2).copied().unwrap_or(0.0);
    Ok(Alignment {
        grade,
        lag_s,
        path,
        frame_scores,
    })
}
