//! [`EventPoller`]: a pull-based consumer on a thread the user owns.

use crate::sync::{AtomicBool, Ordering};

use crate::barrier::SequenceBarrier;
use crate::sequence::Sequence;
use crate::sequencer::PublishedSequence;
use crate::sync::Arc;
use crate::wait_strategy::{WaitError, WaitStrategy};
use crate::RingBuffer;

/// Why [`EventPoller::poll`] returned no events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollError {
    /// Nothing is available right now; poll again later.
    NoEvents,
    /// The pipeline has shut down or halted and no event is left for this poller. (After a
    /// `halt`, events published but not yet polled are still handed out before this.)
    Shutdown,
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::NoEvents => write!(f, "no events available"),
            PollError::Shutdown => write!(f, "the pipeline has shut down"),
        }
    }
}

impl std::error::Error for PollError {}

/// A consumer that the user drives: call [`poll`](Self::poll) whenever convenient (from an
/// event loop, a game loop, a test) and read the events it hands back.
///
/// A poller takes part in the pipeline like a handler: it belongs to a stage, later stages wait
/// for it, and producers never overwrite an event it has not released. Shutdown waits for it to
/// release every published event, unless it has been dropped.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, PollError, Producer};
///
/// let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
///     .event_poller()
///     .build()
///     .unwrap();
/// let mut poller = producer.take_event_pollers().pop().unwrap();
///
/// producer.publish(|e, _| *e = 42).unwrap();
/// let events = poller.poll().unwrap();
/// assert_eq!(events.iter().copied().collect::<Vec<_>>(), vec![42]);
/// drop(events); // releases the event to the producer
/// assert_eq!(poller.poll().err(), Some(PollError::NoEvents));
/// producer.shutdown().unwrap();
/// assert_eq!(poller.poll().err(), Some(PollError::Shutdown));
/// ```
pub struct EventPoller<E, W: WaitStrategy, P: PublishedSequence> {
    ring: Arc<RingBuffer<E>>,
    barrier: SequenceBarrier<W, P>,
    sequence: Arc<Sequence>,
    wait_strategy: Arc<W>,
    detached: std::sync::Arc<AtomicBool>,
}

impl<E, W: WaitStrategy, P: PublishedSequence> EventPoller<E, W, P> {
    pub(crate) fn new(
        ring: Arc<RingBuffer<E>>,
        barrier: SequenceBarrier<W, P>,
        sequence: Arc<Sequence>,
        wait_strategy: Arc<W>,
        detached: std::sync::Arc<AtomicBool>,
    ) -> Self {
        Self {
            ring,
            barrier,
            sequence,
            wait_strategy,
            detached,
        }
    }

    /// The events available now, or why there are none. The events stay reserved for this
    /// poller until the returned guard is dropped.
    pub fn poll(&mut self) -> Result<EventGuard<'_, E, W>, PollError> {
        let next = self.sequence.get() + 1;
        let available = self.barrier.available_now(next);
        if available < next {
            return Err(if self.barrier.is_alerted() {
                PollError::Shutdown
            } else {
                PollError::NoEvents
            });
        }
        Ok(self.guard(next, available))
    }

    /// Waits with the pipeline's wait strategy until events are available, or the pipeline
    /// shuts down ([`PollError::Shutdown`]), or the strategy times out ([`PollError::NoEvents`]).
    pub fn wait(&mut self) -> Result<EventGuard<'_, E, W>, PollError> {
        let next = self.sequence.get() + 1;
        match self.barrier.wait_for(next) {
            Ok(available) => Ok(self.guard(next, available)),
            Err(WaitError::Alerted) => Err(PollError::Shutdown),
            Err(WaitError::Timeout) => Err(PollError::NoEvents),
        }
    }

    fn guard(&self, low: i64, high: i64) -> EventGuard<'_, E, W> {
        EventGuard {
            ring: &self.ring,
            sequence: &self.sequence,
            wait_strategy: &self.wait_strategy,
            low,
            high,
        }
    }

    /// The last sequence this poller released.
    pub fn sequence(&self) -> i64 {
        self.sequence.get()
    }
}

impl<E, W: WaitStrategy, P: PublishedSequence> Drop for EventPoller<E, W, P> {
    /// Detaches the poller: a small thread keeps releasing events on its behalf (exactly as far
    /// as its barrier allows) until the pipeline stops, so neither producers nor later stages
    /// wait forever on a consumer nobody drives. The thread waits with the pipeline's wait
    /// strategy, so with busy-spin it takes a core.
    fn drop(&mut self) {
        self.detached.store(true, Ordering::Release);
        if self.barrier.is_alerted() {
            return;
        }
        let barrier = self.barrier.clone();
        let sequence = self.sequence.clone();
        let wait_strategy = self.wait_strategy.clone();
        let spawned = std::thread::Builder::new()
            .name("nanostream-detached-poller".to_owned())
            .spawn(move || {
                // A wait strategy is user code: if it panics here, halt the pipeline rather than
                // leave producers and later stages waiting for this poller for ever.
                let released = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    release_until_halted(&barrier, &sequence, &*wait_strategy)
                }));
                if let Err(payload) = released {
                    let message = crate::processor::panic_message(payload.as_ref());
                    tracing::error!(%message, "a dropped event poller's thread panicked; halting the pipeline");
                    barrier.alert();
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a thread to release a dropped event poller's events");
        }
    }
}

/// Moves `sequence` along with everything its barrier makes available, until the alert.
fn release_until_halted<W: WaitStrategy, P: PublishedSequence>(
    barrier: &SequenceBarrier<W, P>,
    sequence: &Sequence,
    wait_strategy: &W,
) {
    loop {
        match barrier.wait_for(sequence.get() + 1) {
            Ok(available) => {
                sequence.set(available);
                wait_strategy.signal();
            }
            Err(WaitError::Timeout) => {}
            Err(WaitError::Alerted) => return,
        }
    }
}

impl<E, W: WaitStrategy, P: PublishedSequence> std::fmt::Debug for EventPoller<E, W, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPoller")
            .field("sequence", &self.sequence.get())
            .finish()
    }
}

/// Events handed out by [`EventPoller::poll`], released to the producers when dropped.
///
/// Iterate with [`iter`](Self::iter) or `for event in &guard`. The references cannot outlive the
/// guard, so no event is read after it has been released.
pub struct EventGuard<'a, E, W: WaitStrategy> {
    ring: &'a RingBuffer<E>,
    sequence: &'a Sequence,
    wait_strategy: &'a W,
    low: i64,
    high: i64,
}

impl<E, W: WaitStrategy> EventGuard<'_, E, W> {
    /// The events, in sequence order.
    pub fn iter(&self) -> PolledEvents<'_, E> {
        PolledEvents {
            ring: self.ring,
            next: self.low,
            high: self.high,
        }
    }

    /// The events with their sequences.
    pub fn iter_with_sequence(&self) -> impl Iterator<Item = (i64, &E)> + '_ {
        (self.low..=self.high).zip(self.iter())
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        (self.high - self.low + 1) as usize
    }

    /// Whether there are no events (never true for a guard `poll` returned).
    pub fn is_empty(&self) -> bool {
        self.high < self.low
    }

    /// The first and last sequence.
    pub fn sequences(&self) -> std::ops::RangeInclusive<i64> {
        self.low..=self.high
    }
}

impl<'g, E, W: WaitStrategy> IntoIterator for &'g EventGuard<'_, E, W> {
    type Item = &'g E;
    type IntoIter = PolledEvents<'g, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<E, W: WaitStrategy> std::fmt::Debug for EventGuard<'_, E, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventGuard")
            .field("sequences", &(self.low..=self.high))
            .finish()
    }
}

/// The events of an [`EventGuard`], borrowed from it.
pub struct PolledEvents<'g, E> {
    ring: &'g RingBuffer<E>,
    next: i64,
    high: i64,
}

impl<E> std::fmt::Debug for PolledEvents<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolledEvents")
            .field("next", &self.next)
            .field("high", &self.high)
            .finish()
    }
}

impl<'g, E> Iterator for PolledEvents<'g, E> {
    type Item = &'g E;

    #[inline]
    fn next(&mut self) -> Option<&'g E> {
        if self.next > self.high {
            return None;
        }
        let sequence = self.next;
        self.next += 1;
        // SAFETY: `sequence` lies in the guard's range, which is published, finished by every
        // upstream consumer, and not claimable by producers until the guard (which this
        // iterator borrows for 'g) releases it on drop.
        Some(unsafe { self.ring.get(sequence) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.high - self.next + 1).max(0) as usize;
        (left, Some(left))
    }
}

impl<E> ExactSizeIterator for PolledEvents<'_, E> {}

impl<E, W: WaitStrategy> Drop for EventGuard<'_, E, W> {
    fn drop(&mut self) {
        self.sequence.set(self.high);
        self.wait_strategy.signal();
    }
}
