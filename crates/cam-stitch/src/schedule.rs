//! When a live panorama should be rendered: [`RenderSchedule`].

use std::time::{Duration, Instant};

use crate::live::Tile;

/// When a live panorama should be rendered (sans-IO): the camera relay's compositor policy.
///
/// Render when every live camera has a new frame since the last panorama, or
/// [`RenderSchedule::max_wait`] after the first new frame (one slow camera never stalls the
/// others), at once when a tile changes between live and placeholder, and every
/// [`RenderSchedule::heartbeat`] (so placeholders show even with every camera down); never more
/// than [`RenderSchedule::max_fps`] times a second.
///
/// ```
/// use std::time::{Duration, Instant};
/// use cam_stitch::{RenderSchedule, Tile};
///
/// let ms = Duration::from_millis;
/// let mut schedule = RenderSchedule::new(30.0, ms(50), ms(500));
/// let t0 = Instant::now();
/// let tiles = vec![Tile::Live { seq: 1 }, Tile::Live { seq: 1 }];
/// assert_eq!(schedule.next(&tiles, None, t0), None); // first panorama: now
/// schedule.rendered(tiles, t0);
/// let one_new = vec![Tile::Live { seq: 2 }, Tile::Live { seq: 1 }];
/// let t1 = t0 + ms(40);
/// assert_eq!(schedule.next(&one_new, None, t1), Some(t1 + ms(50))); // wait for camera 1
/// let both_new = vec![Tile::Live { seq: 2 }, Tile::Live { seq: 2 }];
/// assert_eq!(schedule.next(&both_new, None, t1), None); // every live camera has a new frame
/// ```
#[derive(Debug, Clone)]
pub struct RenderSchedule {
    /// Most panoramas per second.
    pub max_fps: f64,
    /// Longest wait for the other cameras after a first new frame.
    pub max_wait: Duration,
    /// Longest interval between two panoramas while rendering is wanted at all.
    pub heartbeat: Duration,
    last: Option<Instant>,
    pending: Option<Instant>,
    shown: Vec<Tile>,
}

impl RenderSchedule {
    /// A schedule; the camera relay uses 30 fps, 50 ms, 500 ms.
    pub fn new(max_fps: f64, max_wait: Duration, heartbeat: Duration) -> RenderSchedule {
        RenderSchedule {
            max_fps,
            max_wait,
            heartbeat,
            last: None,
            pending: None,
            shown: Vec::new(),
        }
    }

    /// Forgets the past (e.g. when the last viewer left): the next call of
    /// [`RenderSchedule::next`] says "now".
    pub fn reset(&mut self) {
        (self.last, self.pending) = (None, None);
        self.shown.clear();
    }

    /// `None`: render now; `Some(t)`: nothing to do before `t` (or before the tiles change).
    /// `tiles` are what each camera would show now ([`LiveStitcher::tiles`](crate::LiveStitcher::tiles));
    /// `stale_at` is when the first live tile goes stale, if the caller knows.
    pub fn next(
        &mut self,
        tiles: &[Tile],
        stale_at: Option<Instant>,
        now: Instant,
    ) -> Option<Instant> {
        let (mut new, mut live, mut changed) = (0, 0, self.shown.len() != tiles.len());
        for (k, tile) in tiles.iter().enumerate() {
            match (tile, self.shown.get(k)) {
                (Tile::Live { seq }, Some(Tile::Live { seq: old })) => {
                    live += 1;
                    new += usize::from(seq != old);
                }
                (Tile::Live { .. }, _) => (live, changed) = (live + 1, true),
                (shown, before) => changed |= Some(shown) != before,
            }
        }
        if new > 0 && self.pending.is_none() {
            self.pending = Some(now);
        }
        let want = changed
            || (new > 0 && new == live)
            || self.pending.is_some_and(|p| now >= p + self.max_wait)
            || self.last.is_none_or(|l| now >= l + self.heartbeat);
        let interval = Duration::from_secs_f64(1.0 / self.max_fps.clamp(0.1, 1000.0));
        let allowed = self.last.map_or(now, |l| l + interval);
        if want {
            return (now < allowed).then_some(allowed);
        }
        let mut at = self.last.map_or(now, |l| l + self.heartbeat);
        if let Some(p) = self.pending {
            at = at.min(p + self.max_wait);
        }
        if let Some(s) = stale_at {
            at = at.min(s);
        }
        Some(at.max(now + Duration::from_millis(1)))
    }

    /// Records that a panorama showing `tiles` was rendered at `now`.
    pub fn rendered(&mut self, tiles: Vec<Tile>, now: Instant) {
        (self.last, self.pending, self.shown) = (Some(now), None, tiles);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_rate_cap_and_placeholders() {
        let ms = Duration::from_millis;
        let mut s = RenderSchedule::new(10.0, ms(50), ms(500));
        let t0 = Instant::now();
        let down = vec![Tile::Placeholder {
            label: "camera 0 offline".into(),
        }];
        assert_eq!(s.next(&down, None, t0), None);
        s.rendered(down.clone(), t0);
        // Nothing new: the heartbeat.
        assert_eq!(s.next(&down, None, t0 + ms(10)), Some(t0 + ms(500)));
        // A tile turns live: at once, but not faster than 10 fps.
        let up = vec![Tile::Live { seq: 1 }];
        assert_eq!(s.next(&up, None, t0 + ms(20)), Some(t0 + ms(100)));
        assert_eq!(s.next(&up, None, t0 + ms(100)), None);
        s.rendered(up.clone(), t0 + ms(100));
        // A live tile about to go stale wakes the caller then.
        assert_eq!(
            s.next(&up, Some(t0 + ms(300)), t0 + ms(150)),
            Some(t0 + ms(300))
        );
        s.reset();
        assert_eq!(s.next(&up, None, t0 + ms(160)), None);
    }
}
