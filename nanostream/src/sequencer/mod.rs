//! Sequencers: how producers claim slots and publish them.
//!
//! - [`SingleProducerSequencer`]: one producer thread; claims are plain arithmetic (no CAS).
//! - [`MultiProducerSequencer`]: any number of producer threads; claims with an atomic add or
//!   CAS, and tracks publication per slot in an [`AvailabilityBuffer`].
//!
//! Both stop a producer from lapping the slowest *gating* consumer (the last stage of the
//! pipeline), and both expose the consumer-side view of "what is published" through
//! [`PublishedSequence`], which the [`SequenceBarrier`](crate::SequenceBarrier) uses.

mod availability;
mod multi;
mod single;

pub use availability::AvailabilityBuffer;
pub use multi::MultiProducerSequencer;
pub use single::SingleProducerSequencer;
pub(crate) use single::{ClaimContext, Claims, Publish};

use crate::error::ClaimError;
use crate::sequence::{minimum_sequence, Sequence};
use crate::sync::Arc;

/// How consumers learn which sequences are published.
///
/// For a single producer the cursor *is* the highest published sequence; for several producers
/// the cursor is only the highest *claimed* one, and each slot must be checked in the
/// [`AvailabilityBuffer`].
pub trait PublishedSequence: Clone + Send + Sync + 'static {
    /// The highest sequence in `lower..=available` such that every sequence from `lower` to it is
    /// published; `lower - 1` when `lower` itself is not.
    fn highest_published(&self, lower: i64, available: i64) -> i64;
}

/// The published view of a single-producer sequencer: the cursor is exact.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinglePublished;

impl PublishedSequence for SinglePublished {
    #[inline(always)]
    fn highest_published(&self, _lower: i64, available: i64) -> i64 {
        available
    }
}

/// Checks that a claim of `n` slots fits a ring of `size`.
#[inline(always)]
pub(crate) fn check_claim(n: i64, size: i64) -> Result<(), ClaimError> {
    if n < 1 || n > size {
        return Err(ClaimError::InvalidClaim {
            requested: n,
            capacity: size,
        });
    }
    Ok(())
}

/// Waits until the slowest gating sequence reaches `wrap_point`, backing off as it goes.
///
/// Returns the minimum gating sequence seen, or [`ClaimError::Halted`] when the pipeline halts
/// while the producer waits (no consumer would free a slot again: waiting on would hang).
///
/// The producer spins (with a spin-loop hint) for up to [`SPIN_BEFORE_YIELD`] before it starts
/// yielding. Yielding at once (as crossbeam's `Backoff` does) costs throughput: with producer
/// and consumer pinned, `perf` puts 19% of the producer's samples in `sched_yield` in the unicast
/// benchmark that way, and while the producer is away in the kernel (microseconds in a VM) the
/// consumer drains the ring and sits idle. A bounded spin keeps the producer on hand for the consumer's
/// next release; the bound keeps it from starving a consumer that shares its core.
#[inline(never)]
#[cold]
pub(crate) fn wait_for_capacity(
    gating: &[Arc<Sequence>],
    wrap_point: i64,
    cursor_value: i64,
    alert: &crate::Alert,
) -> Result<i64, ClaimError> {
    let mut spin = crate::wait_strategy::SpinThenYield::new(SPIN_BEFORE_YIELD);
    loop {
        let min = minimum_sequence(gating, cursor_value);
        if wrap_point <= min {
            return Ok(min);
        }
        if alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        spin.wait();
    }
}

/// How long a producer waiting for space spins before it yields.
pub(crate) const SPIN_BEFORE_YIELD: std::time::Duration = std::time::Duration::from_micros(20);
