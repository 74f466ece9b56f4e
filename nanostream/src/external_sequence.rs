//! [`ExternalSequence`]: a sequence advanced outside the pipeline that a stage can wait on.

use std::fmt;

use parking_lot::RwLock;

use crate::sequence::Sequence;
use crate::sync::Arc;

/// A sequence that code outside the pipeline advances and a stage of the pipeline waits on: a
/// journal's durable watermark, a replication acknowledgement, a clock.
///
/// Gate a stage on it with [`Builder::depends_on`](crate::Builder::depends_on): the stage's
/// consumers then see an event only once this sequence has reached it (as well as everything
/// the stage depends on inside the pipeline). Advance it with [`set`](Self::set), which also
/// wakes the consumers parked on it: a consumer with a blocking wait strategy sleeps until
/// somebody signals, and the producer's publishes do not signal when only this sequence moved.
///
/// It starts at `-1` (nothing released). Clones share the same sequence.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, ExternalSequence, Producer};
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use std::sync::Arc;
///
/// let released = ExternalSequence::new();
/// let last_seen = Arc::new(AtomicI64::new(-1));
/// let seen = last_seen.clone();
/// let mut producer = build_single_producer(64, || 0u64, BlockingWaitStrategy::new())
///     .handle_events_with(move |_: &u64, sequence: i64, _: bool| seen.store(sequence, Ordering::Release))
///     .depends_on(&released)
///     .build()
///     .unwrap();
///
/// for i in 0..10 {
///     producer.publish(|event, _| *event = i).unwrap();
/// }
/// released.set(4); // the consumer may now take events 0..=4, and is woken to do so
/// # let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
/// # while last_seen.load(Ordering::Acquire) < 4 && std::time::Instant::now() < deadline {
/// #     std::thread::yield_now();
/// # }
/// assert_eq!(last_seen.load(Ordering::Acquire), 4);
/// released.set(9);
/// producer.shutdown().unwrap(); // drains up to 9
/// assert_eq!(last_seen.load(Ordering::Acquire), 9);
/// ```
#[derive(Clone)]
pub struct ExternalSequence {
    sequence: Arc<Sequence>,
    /// The wait strategies of the stages gated on this sequence, signalled by `set`. Registered
    /// when a stage is gated (at build), read on every `set`.
    wakers: std::sync::Arc<RwLock<Vec<Waker>>>,
}

/// Wakes the consumers parked in one pipeline's wait strategy.
type Waker = Box<dyn Fn() + Send + Sync>;

impl ExternalSequence {
    /// A sequence at `-1`: nothing released yet.
    pub fn new() -> Self {
        Self::starting_at(Sequence::INITIAL)
    }

    /// A sequence at `value`: events up to `value` are released from the start.
    pub fn starting_at(value: i64) -> Self {
        Self {
            sequence: Arc::new(Sequence::new(value)),
            wakers: Default::default(),
        }
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.sequence.get()
    }

    /// Sets the value (`Release`: what was written before is visible to the consumers that see
    /// it) and wakes the consumers of every stage gated on it.
    ///
    /// A gated stage only ever waits for this sequence to reach an event, so setting it lower
    /// than before holds events back that are not yet processed; it never releases any.
    #[inline]
    pub fn set(&self, value: i64) {
        self.sequence.set(value);
        for wake in self.wakers.read().iter() {
            wake();
        }
    }

    /// The sequence a stage's barrier reads, and the waker `set` must call for that stage.
    pub(crate) fn gate(&self, wake: Waker) -> Arc<Sequence> {
        self.wakers.write().push(wake);
        self.sequence.clone()
    }
}

impl Default for ExternalSequence {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ExternalSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalSequence")
            .field("value", &self.get())
            .field("gated_stages", &self.wakers.read().len())
            .finish()
    }
}
