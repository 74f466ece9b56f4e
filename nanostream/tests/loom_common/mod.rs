//! Pieces the loom models share: a stand-in for the ring's slots that loom checks, and the
//! barriers the models read through.

#![allow(dead_code)] // each model uses its own subset

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use nanostream::{
    Alert, AvailabilityBuffer, DependentSequences, MultiProducerSequencer, Sequence, SequenceBarrier,
    SinglePublished, WaitStrategy,
};

/// Stand-in for the ring's slots, one loom cell per slot: loom reports a data race when a write
/// to a slot is not ordered (happens-before) with the read of its previous lap, or a read with the
/// write it reads.
pub struct Slots<T>(Box<[UnsafeCell<T>]>);

// SAFETY: access is arbitrated by the sequencer and barrier protocol under test; loom checks every
// access, and `T: Send` because slots move values between threads.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T: Copy> Slots<T> {
    /// `size` slots holding `empty`.
    pub fn new(size: usize, empty: T) -> Self {
        Self((0..size).map(|_| UnsafeCell::new(empty)).collect())
    }

    /// Lets `f` change the value of `sequence`'s slot.
    pub fn update(&self, sequence: i64, f: impl FnOnce(&mut T)) {
        // SAFETY: the caller holds write access to `sequence` (a claim, or a mutable stage between
        // its barrier and its sequence update); loom flags it otherwise.
        self.slot(sequence).with_mut(|p| f(unsafe { &mut *p }));
    }

    /// Writes `value` into `sequence`'s slot.
    pub fn write(&self, sequence: i64, value: T) {
        self.update(sequence, |slot| *slot = value);
    }

    /// The value in `sequence`'s slot.
    pub fn read(&self, sequence: i64) -> T {
        // SAFETY: `sequence` is published to the caller and not yet reclaimed by a producer; loom
        // flags it otherwise.
        self.slot(sequence).with(|p| unsafe { *p })
    }

    fn slot(&self, sequence: i64) -> &UnsafeCell<T> {
        &self.0[sequence as usize % self.0.len()]
    }
}

/// A barrier over `dependents` for a single-producer ring (or a later stage of any ring).
pub fn barrier_over<W: WaitStrategy>(
    dependents: &[&Arc<Sequence>],
    wait: &Arc<W>,
    alert: &Arc<Alert>,
) -> SequenceBarrier<W, SinglePublished> {
    SequenceBarrier::new(
        DependentSequences::new(dependents.iter().map(|&s| s.clone()).collect()).unwrap(),
        SinglePublished,
        wait.clone(),
        alert.clone(),
    )
}

/// The barrier of a multi-producer ring's first consumer: the claim cursor and the availability
/// flags.
pub fn multi_barrier<W: WaitStrategy>(
    sequencer: &MultiProducerSequencer<W>,
    wait: &Arc<W>,
    alert: &Arc<Alert>,
) -> SequenceBarrier<W, Arc<AvailabilityBuffer>> {
    SequenceBarrier::new(
        DependentSequences::new(vec![sequencer.cursor_sequence().clone()]).unwrap(),
        sequencer.availability().clone(),
        wait.clone(),
        alert.clone(),
    )
}
