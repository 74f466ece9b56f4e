//! [`SequenceBarrier`]: what a consumer waits on before it reads events.

use crate::sequence::DependentSequences;
use crate::sequencer::PublishedSequence;
use crate::sync::{self, Arc};
use crate::wait_strategy::{WaitError, WaitStrategy};
use crate::Alert;

/// Coordinates a consumer with the producer and with the consumers it depends on.
///
/// [`wait_for(n)`](Self::wait_for) returns once sequence `n` is published *and* every upstream
/// consumer has finished with it, returning the highest sequence that is (so the consumer can
/// take everything up to it as one batch). It returns [`WaitError::Alerted`] once the pipeline's
/// [`Alert`] is raised.
pub struct SequenceBarrier<W, P> {
    dependents: DependentSequences,
    published: P,
    wait_strategy: Arc<W>,
    alert: Arc<Alert>,
}

impl<W: WaitStrategy, P: PublishedSequence> SequenceBarrier<W, P> {
    /// A barrier that waits for `dependents` with `wait_strategy`, reads publication through
    /// `published` and stops on `alert`.
    pub fn new(
        dependents: DependentSequences,
        published: P,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Self {
        Self {
            dependents,
            published,
            wait_strategy,
            alert,
        }
    }

    /// Waits until `sequence` is available; returns the highest available sequence (`>= sequence`).
    #[inline]
    pub fn wait_for(&self, sequence: i64) -> Result<i64, WaitError> {
        loop {
            // The barrier reads the dependents itself and never trusts the number a wait
            // strategy returns: a strategy is user code, and a number above what the dependents
            // really reached would let a consumer read an event that is not published yet, or
            // that an upstream mutable stage is still writing. A strategy is only asked to wait
            // when the events are not there yet.
            let mut available = self.dependents.get();
            if available < sequence {
                self.wait_strategy
                    .wait_for(sequence, &self.dependents, &self.alert)?;
                available = self.dependents.get();
                if available < sequence {
                    // The strategy returned early: check the alert, and wait again.
                    if self.alert.is_raised() {
                        return Err(WaitError::Alerted);
                    }
                    sync::yield_now();
                    continue;
                }
            }
            let highest = self.published.highest_published(sequence, available);
            if highest >= sequence {
                return Ok(highest);
            }
            // Claimed by a producer that has not published it yet: that producer is between
            // its claim and its publish, a few instructions unless it was preempted.
            if self.alert.is_raised() {
                return Err(WaitError::Alerted);
            }
            sync::yield_now();
        }
    }

    /// The highest sequence available now, without waiting (`sequence - 1` when `sequence` is
    /// not available).
    #[inline]
    pub fn available_now(&self, sequence: i64) -> i64 {
        let available = self.dependents.get();
        if available < sequence {
            return sequence - 1;
        }
        self.published.highest_published(sequence, available)
    }

    /// Raises the pipeline's alert and wakes every waiter.
    pub fn alert(&self) {
        self.alert.raise();
        self.wait_strategy.signal_all();
    }

    /// Whether the pipeline's alert is raised.
    pub fn is_alerted(&self) -> bool {
        self.alert.is_raised()
    }

    /// The sequences this barrier depends on.
    pub fn dependents(&self) -> &DependentSequences {
        &self.dependents
    }

    pub(crate) fn wait_strategy(&self) -> &Arc<W> {
        &self.wait_strategy
    }
}

impl<W, P: Clone> Clone for SequenceBarrier<W, P> {
    fn clone(&self) -> Self {
        Self {
            dependents: self.dependents.clone(),
            published: self.published.clone(),
            wait_strategy: self.wait_strategy.clone(),
            alert: self.alert.clone(),
        }
    }
}

impl<W, P> std::fmt::Debug for SequenceBarrier<W, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequenceBarrier")
            .field("dependents", &self.dependents.sequences().len())
            .finish()
    }
}
