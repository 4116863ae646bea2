//! Capped, jittered exponential backoff (no `rand`: a xorshift seeded from the clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Delays `min, 2 min, 4 min, ... max`, each jittered to `[d/2, d]` ("equal jitter"), so that
/// many clients of one camera do not reconnect in lock step.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        // Mix in an address so two clients made in the same nanosecond still differ.
        let local = 0u8;
        let addr = std::ptr::addr_of!(local) as u64;
        Backoff {
            min,
            max: max.max(min),
            next: min,
            rng: (seed ^ addr.rotate_left(32)) | 1,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// The next delay (jittered), then doubles the base up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        let half = d / 2;
        let span = u64::try_from((d - half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = self.random() % span.saturating_add(1);
        half.saturating_add(Duration::from_nanos(jitter))
    }

    /// Back to the first delay (after a session that delivered frames).
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_capped_and_jittered() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500));
        let bounds = [(50, 100), (100, 200), (200, 400), (250, 500), (250, 500)];
        for (lo, hi) in bounds {
            let d = b.next_delay();
            assert!(d >= ms(lo) && d <= ms(hi), "{d:?} not in {lo}..={hi} ms");
        }
        b.reset();
        assert!(b.next_delay() <= ms(100));
        let mut z = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(z.next_delay(), Duration::ZERO);
        // Absurd settings do not overflow.
        let mut huge = Backoff::new(Duration::MAX, Duration::MAX);
        for _ in 0..3 {
            assert!(huge.next_delay() >= Duration::MAX / 2);
        }
    }
}
