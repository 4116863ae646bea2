//! A newest-wins fan-out (feature `tokio`): one publisher, any number of subscribers, each getting
//! the newest item and skipping older ones.
//!
//! The hub holds exactly one item: the newest. [`Fanout::publish`] replaces it and never waits for
//! anyone; a subscriber that is slower than the publisher finds a newer item when it comes back,
//! so it skips items instead of queueing them (and the skips are counted), and a subscriber that
//! never reads costs one `Arc`'d item, nothing that grows. The subscriber count is observable
//! ([`Fanout::demand`], a `watch`), so a relay can open a camera when the first viewer comes and
//! release it when the last one leaves. Optional per-subscriber frame-rate cap and subscriber
//! limit.
//!
//! This is the posecam camera relay's viewer hub (`examples/camera_relay/hub.rs`) made generic.
//!
//! ```
//! use stream_codec::fanout::{Fanout, FanoutConfig, SubscribeOptions};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let hub = Fanout::with_measure(FanoutConfig::default(), |b: &bytes::Bytes| b.len());
//! let mut viewer = hub.subscribe(SubscribeOptions::default()).expect("no limit");
//! assert_eq!(*hub.demand().borrow(), 1);
//! for i in 0..10u8 {
//!     hub.publish(bytes::Bytes::from(vec![i; 100])); // never waits
//! }
//! let newest = viewer.next().await.expect("hub alive");
//! assert_eq!((newest.seq, newest.item[0]), (10, 9)); // 1..=9 skipped
//! assert_eq!(hub.stats().skipped, 0); // skips are counted between two items a viewer got
//! drop(viewer);
//! assert_eq!(*hub.demand().borrow(), 0);
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_core::Stream;
use tokio::sync::watch;

/// One published item, as subscribers see it.
#[derive(Debug, Clone)]
pub struct Published<T> {
    /// Sequence number (1, 2, ...).
    pub seq: u64,
    /// When it was published.
    pub at: Instant,
    /// The item (publish `Bytes` or `Arc`s: every subscriber gets a clone).
    pub item: T,
}

/// Settings of a [`Fanout`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutConfig {
    /// Most subscribers at once; [`Fanout::subscribe`] fails beyond it. `None`: no limit.
    pub max_subscribers: Option<usize>,
}

/// Settings of one subscriber.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SubscribeOptions {
    /// At most this many items a second to this subscriber (the newest is taken when the interval
    /// has passed; the others count as skipped). `None`: as fast as published.
    pub max_fps: Option<f64>,
    /// Deliver the current item at once only if it is younger than this (after an idle period
    /// the last item may be old). `None`: deliver the current item at once, whatever its age.
    pub fresh: Option<Duration>,
}

/// The subscriber limit was reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FanoutError {
    /// [`FanoutConfig::max_subscribers`] subscribers are open.
    #[error("subscriber limit of {limit} reached")]
    Full {
        /// The limit.
        limit: usize,
    },
}

/// Counters of a [`Fanout`] since it was made (sums over subscribers), for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutStats {
    /// Items published.
    pub published: u64,
    /// Open subscribers.
    pub subscribers: usize,
    /// Subscribers ever opened.
    pub subscribers_total: u64,
    /// Subscribers refused by the limit.
    pub refused_total: u64,
    /// Items skipped by subscribers that were slower than the publisher (or rate-capped).
    pub skipped: u64,
    /// Items handed to subscribers.
    pub sent: u64,
    /// Sum of the measure (e.g. bytes) of the items handed to subscribers.
    pub sent_bytes: u64,
}

type Measure<T> = Box<dyn Fn(&T) -> usize + Send + Sync>;

struct Shared<T> {
    config: FanoutConfig,
    measure: Measure<T>,
    demand: watch::Sender<usize>,
    subscribers: AtomicUsize,
    seq: AtomicU64,
    subscribers_total: AtomicU64,
    refused_total: AtomicU64,
    skipped: AtomicU64,
    sent: AtomicU64,
    sent_bytes: AtomicU64,
}

impl<T> Shared<T> {
    fn update_demand(&self) {
        // Read the count under the watch's lock so the last writer publishes the latest count.
        self.demand.send_if_modified(|d| {
            let n = self.subscribers.load(Ordering::Acquire);
            let changed = *d != n;
            *d = n;
            changed
        });
    }
}

/// The newest-wins hub. Cheap to clone (all clones publish to the same subscribers); when every
/// clone is dropped, subscribers' [`Subscriber::next`] returns `None`.
pub struct Fanout<T> {
    tx: Arc<watch::Sender<Option<Published<T>>>>,
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Fanout<T> {
    fn clone(&self) -> Self {
        Fanout {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<T> fmt::Debug for Fanout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fanout")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> Fanout<T> {
    /// The counters.
    pub fn stats(&self) -> FanoutStats {
        let s = &self.shared;
        FanoutStats {
            published: s.seq.load(Ordering::Relaxed),
            subscribers: s.subscribers.load(Ordering::Acquire),
            subscribers_total: s.subscribers_total.load(Ordering::Relaxed),
            refused_total: s.refused_total.load(Ordering::Relaxed),
            skipped: s.skipped.load(Ordering::Relaxed),
            sent: s.sent.load(Ordering::Relaxed),
            sent_bytes: s.sent_bytes.load(Ordering::Relaxed),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Default for Fanout<T> {
    fn default() -> Self {
        Fanout::new(FanoutConfig::default())
    }
}

impl<T: Clone + Send + Sync + 'static> Fanout<T> {
    /// A hub whose `sent_bytes` stays 0 (see [`Fanout::with_measure`]).
    pub fn new(config: FanoutConfig) -> Self {
        Fanout::with_measure(config, |_| 0)
    }

    /// A hub that adds `measure(item)` to `sent_bytes` for each item handed out (e.g.
    /// `|b: &Bytes| b.len()`).
    pub fn with_measure(
        config: FanoutConfig,
        measure: impl Fn(&T) -> usize + Send + Sync + 'static,
    ) -> Self {
        Fanout {
            tx: Arc::new(watch::channel(None).0),
            shared: Arc::new(Shared {
                config,
                measure: Box::new(measure),
                demand: watch::channel(0).0,
                subscribers: AtomicUsize::new(0),
                seq: AtomicU64::new(0),
                subscribers_total: AtomicU64::new(0),
                refused_total: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
                sent: AtomicU64::new(0),
                sent_bytes: AtomicU64::new(0),
            }),
        }
    }

    /// Replaces the newest item and wakes the subscribers; never waits. Returns its sequence
    /// number.
    pub fn publish(&self, item: T) -> u64 {
        let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.tx.send_replace(Some(Published {
            seq,
            at: Instant::now(),
            item,
        }));
        seq
    }

    /// The newest item, if any.
    pub fn latest(&self) -> Option<Published<T>> {
        self.tx.borrow().clone()
    }

    /// Items published so far.
    pub fn published(&self) -> u64 {
        self.shared.seq.load(Ordering::Relaxed)
    }

    /// Open subscribers right now.
    pub fn subscribers(&self) -> usize {
        self.shared.subscribers.load(Ordering::Acquire)
    }

    /// A receiver of the subscriber count (e.g. to open a camera while anyone watches).
    pub fn demand(&self) -> watch::Receiver<usize> {
        self.shared.demand.subscribe()
    }

    /// Opens a subscriber; [`FanoutError::Full`] at the subscriber limit.
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscriber<T>, FanoutError> {
        let s = &self.shared;
        let limit = s.config.max_subscribers;
        let taken =
            s.subscribers
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match limit {
                    Some(l) if n >= l => None,
                    _ => Some(n + 1),
                });
        if taken.is_err() {
            s.refused_total.fetch_add(1, Ordering::Relaxed);
            return Err(FanoutError::Full {
                limit: limit.unwrap_or(0),
            });
        }
        s.subscribers_total.fetch_add(1, Ordering::Relaxed);
        s.update_demand();
        let mut rx = self.tx.subscribe();
        let deliver_now = rx
            .borrow()
            .as_ref()
            .is_some_and(|p| options.fresh.is_none_or(|fresh| p.at.elapsed() < fresh));
        if deliver_now {
            rx.mark_changed();
        } else {
            rx.mark_unchanged();
        }
        let min_interval = options
            .max_fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .map(|f| Duration::from_secs_f64((1.0 / f).min(3600.0)));
        Ok(Subscriber {
            shared: self.shared.clone(),
            rx,
            last_seq: None,
            last_sent: None,
            min_interval,
            skipped: 0,
        })
    }
}

/// One subscriber: [`next`](Subscriber::next) yields the newest item each time there is one newer
/// than the last it returned. Dropping it updates the subscriber count.
pub struct Subscriber<T> {
    shared: Arc<Shared<T>>,
    rx: watch::Receiver<Option<Published<T>>>,
    last_seq: Option<u64>,
    last_sent: Option<tokio::time::Instant>,
    min_interval: Option<Duration>,
    skipped: u64,
}

impl<T> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("last_seq", &self.last_seq)
            .field("skipped", &self.skipped)
            .field("min_interval", &self.min_interval)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> Subscriber<T> {
    /// Waits for an item newer than the last one returned (at the subscriber's rate cap). `None`
    /// once every [`Fanout`] handle is dropped.
    pub async fn next(&mut self) -> Option<Published<T>> {
        loop {
            if let (Some(interval), Some(last)) = (self.min_interval, self.last_sent) {
                tokio::time::sleep_until(last + interval).await;
            }
            self.rx.changed().await.ok()?;
            let Some(p) = self.rx.borrow_and_update().clone() else {
                continue;
            };
            if let Some(last) = self.last_seq {
                let skipped = p.seq.saturating_sub(last + 1);
                if skipped > 0 {
                    self.skipped += skipped;
                    self.shared.skipped.fetch_add(skipped, Ordering::Relaxed);
                }
            }
            self.last_seq = Some(p.seq);
            self.last_sent = Some(tokio::time::Instant::now());
            self.shared.sent.fetch_add(1, Ordering::Relaxed);
            let size = (self.shared.measure)(&p.item) as u64;
            self.shared.sent_bytes.fetch_add(size, Ordering::Relaxed);
            return Some(p);
        }
    }

    /// Items this subscriber skipped.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// This subscriber as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Published<T>> + Send + 'static {
        futures_util::stream::unfold(self, |mut s| async move {
            let p = s.next().await?;
            Some((p, s))
        })
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        self.shared.subscribers.fetch_sub(1, Ordering::AcqRel);
        self.shared.update_demand();
    }
}
