//! [`SequenceBarrier`]: what a consumer waits on before it reads events.

use crate::sequence::{minimum_sequence, Sequence};
use crate::sequencer::AvailabilityBuffer;
use crate::sync::Arc;
use crate::wait_strategy::{WaitError, WaitStrategy};
use crate::Alert;

/// What a consumer must wait for before it reads an event.
///
/// - A first-stage consumer waits for the producers to publish: it reads the publication flags
///   in the ring's slots ([`published`](Self::published)), plus any extra sequence the user gated
///   the stage on. It never reads the producer's cursor, whose cache line would otherwise move
///   between cores on every publish (see [`AvailabilityBuffer`] for the measurement).
/// - A later consumer waits for every upstream consumer ([`new`](Self::new)): an event an
///   upstream consumer has finished is published.
#[derive(Debug, Clone)]
pub struct DependentSequences {
    published: Option<AvailabilityBuffer>,
    sequences: Box<[Arc<Sequence>]>,
}

impl DependentSequences {
    /// Depends on `sequences` (upstream consumers, or any sequence that only ever covers
    /// published events).
    ///
    /// # Panics
    /// When `sequences` is empty: a consumer that depends on nothing could read unpublished slots.
    pub fn new(sequences: Vec<Arc<Sequence>>) -> Self {
        assert!(
            !sequences.is_empty(),
            "a consumer depends on at least one sequence"
        );
        Self {
            published: None,
            sequences: sequences.into_boxed_slice(),
        }
    }

    /// Depends on publication, read from `flags`, and on every sequence in `also`.
    pub fn published(flags: AvailabilityBuffer, also: Vec<Arc<Sequence>>) -> Self {
        Self {
            published: Some(flags),
            sequences: also.into_boxed_slice(),
        }
    }

    /// The highest sequence that may be read now, if `sequence` may be: every sequence from
    /// `sequence` to the returned one is published and passed by every dependent sequence.
    /// Anything below `sequence` means `sequence` may not be read yet.
    #[inline(always)]
    pub fn available(&self, sequence: i64) -> i64 {
        let Some(flags) = &self.published else {
            return self.minimum();
        };
        if !flags.is_available(sequence) {
            return sequence - 1;
        }
        let bound = self.minimum();
        if bound < sequence {
            return bound;
        }
        // Take every published event up to the dependents (at most a lap: flags further on
        // are last lap's) as one batch. The scan reads the flags in the lines the consumer is
        // about to read anyway.
        let lap_end = sequence + flags.size() as i64 - 1;
        flags.highest_published(sequence + 1, bound.min(lap_end))
    }

    /// The minimum of the dependent sequences (`i64::MAX` when there are none).
    #[inline(always)]
    fn minimum(&self) -> i64 {
        match &*self.sequences {
            [] => i64::MAX,
            [only] => only.get(),
            many => minimum_sequence(many, i64::MAX),
        }
    }

    /// The publication flags depended on, for a first-stage consumer.
    pub fn publication(&self) -> Option<&AvailabilityBuffer> {
        self.published.as_ref()
    }

    /// The sequences depended on (besides publication).
    pub fn sequences(&self) -> &[Arc<Sequence>] {
        &self.sequences
    }
}

/// Coordinates a consumer with the producer and with the consumers it depends on.
///
/// [`wait_for(n)`](Self::wait_for) returns once sequence `n` is published *and* every upstream
/// consumer has finished with it, returning the highest sequence that is (so the consumer can
/// take everything up to it as one batch). It returns [`WaitError::Alerted`] once the pipeline's
/// [`Alert`] is raised.
pub struct SequenceBarrier<W> {
    dependents: DependentSequences,
    wait_strategy: Arc<W>,
    alert: Arc<Alert>,
}

impl<W: WaitStrategy> SequenceBarrier<W> {
    /// A barrier that waits for `dependents` with `wait_strategy` and stops on `alert`.
    pub fn new(dependents: DependentSequences, wait_strategy: Arc<W>, alert: Arc<Alert>) -> Self {
        Self {
            dependents,
            wait_strategy,
            alert,
        }
    }

    /// Waits until `sequence` is available; returns the highest available sequence (`>= sequence`).
    #[inline]
    pub fn wait_for(&self, sequence: i64) -> Result<i64, WaitError> {
        self.wait_strategy
            .wait_for(sequence, &self.dependents, &self.alert)
    }

    /// The highest sequence available now, without waiting (`sequence - 1` when `sequence` is
    /// not available).
    #[inline]
    pub fn available_now(&self, sequence: i64) -> i64 {
        self.dependents.available(sequence).max(sequence - 1)
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

impl<W> Clone for SequenceBarrier<W> {
    fn clone(&self) -> Self {
        Self {
            dependents: self.dependents.clone(),
            wait_strategy: self.wait_strategy.clone(),
            alert: self.alert.clone(),
        }
    }
}

impl<W> std::fmt::Debug for SequenceBarrier<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequenceBarrier")
            .field("dependents", &self.dependents.sequences.len())
            .finish()
    }
}
