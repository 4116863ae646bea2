//! Fan-out of encoded panorama parts to every viewer.
//!
//! The hub holds exactly one frame: the newest. Publishing replaces it (never waits for anyone);
//! each viewer wakes up, clones the `Bytes` handle (a reference count, no copy) and writes it. A
//! viewer that is slower than the frame rate simply finds a newer frame when it comes back, so it
//! skips frames instead of queueing them, and a viewer that never reads only stalls its own
//! connection (its socket buffer and hyper's bounded write queue fill, then its stream is no
//! longer polled). Nothing here grows with time or with a viewer's slowness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

/// One encoded panorama, shared by every viewer.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Sequence number (1, 2, ...).
    pub seq: u64,
    /// The complete multipart part: boundary, headers (with `Content-Length`) and JPEG.
    pub part: Bytes,
    /// The JPEG alone (a slice of `part`).
    pub jpeg: Bytes,
    /// When it was published.
    pub at: Instant,
}

/// The newest frame plus viewer accounting.
pub struct Hub {
    tx: watch::Sender<Option<Frame>>,
    /// Number of open viewers (stream connections and snapshot waiters); the camera sources
    /// watch it to open and close their upstream connections.
    demand: watch::Sender<usize>,
    viewers: AtomicUsize,
    seq: AtomicU64,
    /// Viewer connections ever opened.
    pub viewers_total: AtomicU64,
    /// Frames that viewers skipped because they were slower than the stream (sum over viewers).
    pub skipped_total: AtomicU64,
    /// Parts handed to viewers (sum over viewers).
    pub sent_total: AtomicU64,
    /// Bytes handed to viewers.
    pub sent_bytes_total: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self {
            tx: watch::channel(None).0,
            demand: watch::channel(0).0,
            viewers: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            viewers_total: AtomicU64::new(0),
            skipped_total: AtomicU64::new(0),
            sent_total: AtomicU64::new(0),
            sent_bytes_total: AtomicU64::new(0),
        }
    }

    /// Publishes a new frame (`part` = boundary + headers + JPEG, `jpeg` = a slice of it).
    pub fn publish(&self, part: Bytes, jpeg: Bytes) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.tx.send_replace(Some(Frame {
            seq,
            part,
            jpeg,
            at: Instant::now(),
        }));
        seq
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// The newest frame, if any.
    pub fn latest(&self) -> Option<Frame> {
        self.tx.borrow().clone()
    }

    /// Open viewers right now.
    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::Relaxed)
    }

    /// A receiver of the viewer count (for the camera sources).
    pub fn demand(&self) -> watch::Receiver<usize> {
        self.demand.subscribe()
    }

    /// Opens a viewer. The newest frame is delivered at once if it is younger than `fresh`,
    /// otherwise the viewer waits for the next one (after an idle period the last frame is old).
    pub fn subscribe(self: &Arc<Self>, fresh: Duration) -> Viewer {
        let n = self.viewers.fetch_add(1, Ordering::Relaxed) + 1;
        self.viewers_total.fetch_add(1, Ordering::Relaxed);
        self.demand.send_replace(n);
        let mut rx = self.tx.subscribe();
        let recent = rx.borrow().as_ref().is_some_and(|f| f.at.elapsed() < fresh);
        if recent {
            rx.mark_changed();
        } else {
            rx.mark_unchanged();
        }
        Viewer {
            hub: self.clone(),
            rx,
            last_seq: None,
        }
    }
}

/// One viewer: yields the newest frame each time there is a newer one than the last it got.
pub struct Viewer {
    hub: Arc<Hub>,
    rx: watch::Receiver<Option<Frame>>,
    last_seq: Option<u64>,
}

impl Viewer {
    /// Waits for a frame newer than the last one returned. `None` if the hub is gone.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            self.rx.changed().await.ok()?;
            let frame = self.rx.borrow_and_update().clone();
            let Some(frame) = frame else { continue };
            if let Some(last) = self.last_seq {
                let skipped = frame.seq.saturating_sub(last + 1);
                if skipped > 0 {
                    self.hub.skipped_total.fetch_add(skipped, Ordering::Relaxed);
                }
            }
            self.last_seq = Some(frame.seq);
            self.hub.sent_total.fetch_add(1, Ordering::Relaxed);
            self.hub
                .sent_bytes_total
                .fetch_add(frame.part.len() as u64, Ordering::Relaxed);
            return Some(frame);
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let n = self
            .hub
            .viewers
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        self.hub.demand.send_replace(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_viewer_skips_to_newest() {
        let hub = Arc::new(Hub::new());
        let mut v = hub.subscribe(Duration::from_secs(1));
        assert_eq!(*hub.demand().borrow(), 1);
        for i in 0..10u8 {
            let b = Bytes::from(vec![i]);
            hub.publish(b.clone(), b);
        }
        let f = v.next().await.expect("frame");
        assert_eq!(f.seq, 10);
        drop(v);
        assert_eq!(*hub.demand().borrow(), 0);
    }
}
