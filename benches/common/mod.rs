//! Shared by the criterion benches: keeps the samples criterion takes of each case and prints,
//! after a group, one line per case with its ratio to the baseline timed in the same run and the
//! goal:
//!
//! ```text
//! <case>: <ours> vs <baseline> = x<ratio> (goal x<goal>: met)
//! ```
//!
//! Each case is timed through [`Bencher::iter_custom`] with the same loop as `Bencher::iter`, so
//! the figure comes from the very samples criterion measured (warm-up included: criterion's
//! warm-up runs the same code), whatever command-line flags were given; a case filtered out on the
//! command line has no samples and its line says so. The figure is the per-iteration time's
//! median over the samples, each weighted by its iteration count (close to criterion's slope
//! estimate, and insensitive to a few preempted samples on a busy machine).
#![allow(dead_code)] // each bench uses a part

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Bencher;

/// The samples of every case of one bench binary.
#[derive(Default)]
pub struct Recorder {
    samples: RefCell<BTreeMap<String, Vec<(u64, Duration)>>>,
}

impl Recorder {
    /// Times `f` like [`Bencher::iter`] and keeps every sample under `case`.
    pub fn iter<O>(&self, b: &mut Bencher<'_>, case: &str, mut f: impl FnMut() -> O) {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            let elapsed = start.elapsed();
            self.samples
                .borrow_mut()
                .entry(case.to_owned())
                .or_default()
                .push((iters, elapsed));
            elapsed
        });
    }

    /// The case's time per iteration (iteration-weighted median), `None` when it did not run.
    pub fn time(&self, case: &str) -> Option<Duration> {
        let samples = self.samples.borrow();
        let mut per_iter: Vec<(f64, u64)> = samples
            .get(case)?
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, d)| (d.as_secs_f64() / *n as f64, *n))
            .collect();
        if per_iter.is_empty() {
            return None;
        }
        per_iter.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: u64 = per_iter.iter().map(|(_, n)| n).sum();
        let mut seen = 0;
        for (t, n) in &per_iter {
            seen += n;
            if seen * 2 >= total {
                return Some(Duration::from_secs_f64(*t));
            }
        }
        per_iter.last().map(|(t, _)| Duration::from_secs_f64(*t))
    }
}

/// A goal for a case.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// Ours at least this many times faster than the baseline.
    Ratio(f64),
    /// Ours at most this long per iteration (an absolute goal; the ratio is still printed).
    AtMost(Duration),
    /// No goal was set for this case: the line gives the ratio only.
    None,
}

/// `2.34 ms`, `12.8 us`, `103 ms`: three significant digits.
pub fn fmt_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "us")
    } else {
        (s * 1e9, "ns")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

fn fmt_goal(goal: Goal, ours: Duration, ratio: f64) -> String {
    match goal {
        Goal::Ratio(g) => {
            let met = if ratio >= g { "met" } else { "NOT met" };
            format!("(goal x{}: {met})", fmt_ratio(g))
        }
        Goal::AtMost(max) => {
            let met = if ours <= max { "met" } else { "NOT met" };
            format!("(goal <= {}: {met})", fmt_time(max))
        }
        Goal::None => "(no goal set)".to_owned(),
    }
}

/// Prints `<case>: <ours> vs <baseline name> <baseline> = x<ratio> (goal ...)`, with the
/// baseline's time given (e.g. measured outside criterion), or the reason a figure is missing.
pub fn print_vs_time(
    case: &str,
    ours: Option<Duration>,
    baseline_name: &str,
    baseline: Duration,
    goal: Goal,
) {
    match ours {
        Some(o) => {
            let ratio = baseline.as_secs_f64() / o.as_secs_f64();
            println!(
                "{case}: {} vs {baseline_name} {} = x{} {}",
                fmt_time(o),
                fmt_time(baseline),
                fmt_ratio(ratio),
                fmt_goal(goal, o, ratio)
            );
        }
        None => println!("{case}: not run (filtered out on the command line?)"),
    }
}

/// Prints the summary line of `group/ours` against `group/baseline`, both recorded.
pub fn print_vs(rec: &Recorder, group: &str, ours: &str, baseline: &str, goal: Goal) {
    let case = format!("{group}/{ours}");
    match rec.time(&format!("{group}/{baseline}")) {
        Some(b) => print_vs_time(&case, rec.time(&case), baseline, b, goal),
        None => match rec.time(&case) {
            Some(o) => println!(
                "{case}: {} vs {baseline}: not run (filtered out on the command line?)",
                fmt_time(o)
            ),
            None => println!("{case}: not run (filtered out on the command line?)"),
        },
    }
}

/// Prints `<case>: <ours> (goal <= max: met)` for a case with an absolute goal and no baseline.
pub fn print_alone(rec: &Recorder, case: &str, note: &str, goal: Goal) {
    match rec.time(case) {
        Some(o) => match goal {
            Goal::None => println!("{case}: {} {note}", fmt_time(o)),
            _ => println!(
                "{case}: {} {note} {}",
                fmt_time(o),
                fmt_goal(goal, o, f64::NAN)
            ),
        },
        None => println!("{case}: not run (filtered out on the command line?)"),
    }
}
