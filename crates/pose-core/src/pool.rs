//! [`EstimatorPool`]: a few loaded [`PoseEstimator`]s shared by many streams. Loading the ONNX
//! sessions takes a fraction of a second to seconds and tens of MB each; a server with one
//! estimator per client pays both per connection, while a pool sized to the cores pays them once
//! and keeps every core busy.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::Result;
use crate::estimator::{PoseConfig, PoseEstimator};

/// Up to `size` estimators with one configuration, lent out one frame (or a few) at a time.
///
/// The first estimator is loaded by [`new`](Self::new) (so a bad config or a missing model is an
/// error there); the others are loaded when all loaded ones are busy. [`get`](Self::get) blocks
/// while `size` estimators are lent out. Share the pool behind an `Arc`.
///
/// ```no_run
/// use pose_core::{EstimatorPool, PoseConfig, RgbImage};
/// let pool = EstimatorPool::new(PoseConfig::default(), 2)?;
/// let img = RgbImage::open("person.jpg")?;
/// let poses = pool.get()?.estimate(&img.as_frame())?; // returned to the pool right after
/// println!("{} poses; {} estimator(s) loaded", poses.len(), pool.loaded());
/// # Ok::<(), pose_core::Error>(())
/// ```
#[derive(Debug)]
pub struct EstimatorPool {
    config: PoseConfig,
    size: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Debug)]
struct PoolState {
    idle: Vec<PoseEstimator>,
    /// Estimators loaded (idle or lent out) plus those being loaded.
    loaded: usize,
}

impl EstimatorPool {
    /// A pool of at most `size` (at least 1) estimators with `config`, the first one loaded now.
    ///
    /// # Errors
    /// As [`PoseEstimator::new`].
    pub fn new(config: PoseConfig, size: usize) -> Result<Self> {
        let first = PoseEstimator::new(config.clone())?;
        Ok(Self {
            config,
            size: size.max(1),
            state: Mutex::new(PoolState {
                idle: vec![first],
                loaded: 1,
            }),
            returned: Condvar::new(),
        })
    }

    /// The configuration every estimator of the pool has.
    pub fn config(&self) -> &PoseConfig {
        &self.config
    }

    /// The most estimators the pool loads.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Estimators loaded so far.
    pub fn loaded(&self) -> usize {
        self.lock().loaded
    }

    /// An idle estimator, a newly loaded one if all are busy and the pool is not full, or else
    /// the first one returned. It goes back to the pool when the guard is dropped.
    ///
    /// # Errors
    /// As [`PoseEstimator::new`] when a new estimator has to be loaded and cannot be.
    pub fn get(&self) -> Result<PooledEstimator<'_>> {
        let mut state = self.lock();
        loop {
            if let Some(estimator) = state.idle.pop() {
                return Ok(PooledEstimator {
                    pool: self,
                    estimator: Some(estimator),
                });
            }
            if state.loaded < self.size {
                state.loaded += 1;
                drop(state);
                return match PoseEstimator::new(self.config.clone()) {
                    Ok(estimator) => Ok(PooledEstimator {
                        pool: self,
                        estimator: Some(estimator),
                    }),
                    Err(e) => {
                        self.lock().loaded -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The state; a panic elsewhere while it was held leaves it consistent (every update is a
    /// single push, pop or counter change), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn put_back(&self, estimator: PoseEstimator) {
        self.lock().idle.push(estimator);
        self.returned.notify_one();
    }
}

/// An estimator lent by an [`EstimatorPool`]; derefs to [`PoseEstimator`] and goes back to the
/// pool when dropped.
#[derive(Debug)]
pub struct PooledEstimator<'a> {
    pool: &'a EstimatorPool,
    /// Always `Some` until dropped.
    estimator: Option<PoseEstimator>,
}

impl Deref for PooledEstimator<'_> {
    type Target = PoseEstimator;

    fn deref(&self) -> &PoseEstimator {
        match &self.estimator {
            Some(e) => e,
            None => unreachable!("taken only in drop"),
        }
    }
}

impl DerefMut for PooledEstimator<'_> {
    fn deref_mut(&mut self) -> &mut PoseEstimator {
        match &mut self.estimator {
            Some(e) => e,
            None => unreachable!("taken only in drop"),
        }
    }
}

impl Drop for PooledEstimator<'_> {
    fn drop(&mut self) {
        if let Some(estimator) = self.estimator.take() {
            self.pool.put_back(estimator);
        }
    }
}
