//! The deterministic poses of the old code's benchmark script (`tools/baselines/seed_score.py`),
//! reproduced exactly, so Rust benches and tests use the very rows the Python figures were
//! measured on.

/// The script's 31-bit linear congruential generator.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator from a seed (taken modulo 2^31).
    pub fn new(seed: u64) -> Self {
        Self(seed % (1 << 31))
    }

    /// The next value in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = (1_103_515_245 * self.0 + 12_345) % (1 << 31);
        self.0 as f64 / (1u64 << 31) as f64
    }
}

/// OpenPose-18 base skeleton of the script (pixels, 640x480 frame).
const BASE: [(f64, f64); 18] = [
    (320.0, 90.0),
    (320.0, 140.0),
    (280.0, 142.0),
    (262.0, 200.0),
    (256.0, 255.0),
    (360.0, 142.0),
    (378.0, 200.0),
    (384.0, 255.0),
    (295.0, 260.0),
    (292.0, 340.0),
    (290.0, 420.0),
    (345.0, 260.0),
    (348.0, 340.0),
    (350.0, 420.0),
    (312.0, 82.0),
    (328.0, 82.0),
    (302.0, 88.0),
    (338.0, 88.0),
];

/// The script's `make_pose(rng, phase)`: the base skeleton moved sinusoidally, jittered, with
/// parts dropped to (0, 0) with probability 0.06.
pub fn make_pose(rng: &mut Lcg, phase: f64) -> [f64; 36] {
    let mut v = [0.0; 36];
    for (k, (x, y)) in BASE.iter().enumerate() {
        let amp = match k {
            3 | 4 | 6 | 7 => 25.0,
            9 | 10 | 12 | 13 => 12.0,
            _ => 4.0,
        };
        let kf = k as f64;
        let dx = amp * (phase + 0.7 * kf).sin() + 6.0 * (rng.next_f64() - 0.5);
        let dy = amp * (phase + 0.3 * kf).cos() + 6.0 * (rng.next_f64() - 0.5);
        if rng.next_f64() >= 0.06 {
            v[2 * k] = round3(x + dx);
            v[2 * k + 1] = round3(y + dy);
        }
    }
    v
}

/// The script's `make_dancer(n)`: `n` rows, 48 rows per movement cycle.
///
/// ```
/// let rows = pose_score::synthetic::make_dancer(214);
/// assert_eq!(rows[0][0], 320.931); // the first value of score_fixture.json
/// ```
pub fn make_dancer(n: usize) -> Vec<[f64; 36]> {
    let mut rng = Lcg::new(12345);
    (0..n)
        .map(|i| make_pose(&mut rng, 2.0 * std::f64::consts::PI * i as f64 / 48.0))
        .collect()
}

/// The script's timing user pose (`make_pose(LCG(4242), 1.234)`).
pub fn bench_user() -> [f64; 36] {
    make_pose(&mut Lcg::new(4242), 1.234)
}

/// Python's `round(v, 3)` (correctly rounded, via the decimal text).
fn round3(v: f64) -> f64 {
    format!("{v:.3}").parse().unwrap_or(v)
}
