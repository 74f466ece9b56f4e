//! [`SingleProducerSequencer`]: claims for one producer thread, with no atomic read-modify-write.

use super::{check_claim, wait_for_capacity, AvailabilityBuffer};
use crate::error::ClaimError;
use crate::sequence::{minimum_sequence, Sequence};
use crate::sync::Arc;
use crate::{Alert, WaitStrategy};

/// The sequencer for a pipeline with one producer.
///
/// Only the producer thread claims, so the next sequence is a plain field (`&mut self`), and the
/// slowest gating sequence is cached: the gating sequences (written by other threads) are read
/// only when the cached value says the ring might be full. In steady state a claim touches no
/// shared cache line at all. A publish is one `Release` store: the slot's flag in the
/// [`AvailabilityBuffer`], in the event's own cache line, which is what consumers wait on.
///
/// There is no per-publish cursor store. Measured on the 2-core AMD EPYC of `benches/README.md`
/// ("Why publication is a flag in the slot"), one more store per publish to any other cache line,
/// even one no other core reads, cut the 1P-1C rate by 2.2× (the store buffer commits in order
/// behind the store to the contended event line). The cursor [`Sequence`] is therefore brought up
/// to date only when asked ([`cursor`](Self::cursor) computes the highest published sequence from
/// the flags) and when the pipeline shuts down.
///
/// ```
/// use std::sync::Arc;
/// use nanostream::{Alert, BusySpinWaitStrategy, Sequence, SingleProducerSequencer};
///
/// let consumer = Arc::new(Sequence::default());
/// let mut seq = SingleProducerSequencer::new(
///     4, vec![consumer.clone()], Arc::new(BusySpinWaitStrategy), Arc::new(Alert::new()));
/// let hi = seq.next_n(4).unwrap();            // claims 0..=3
/// seq.publish_range(0, hi);
/// assert_eq!(seq.cursor(), 3);
/// assert_eq!(seq.availability().highest_published(0, 3), 3);
/// assert!(seq.try_next().is_err());          // full until the consumer moves
/// consumer.set(0);
/// assert_eq!(seq.try_next(), Ok(4));
/// ```
pub struct SingleProducerSequencer<W> {
    size: i64,
    /// The last claimed sequence (owned by the producer; consumers never read it).
    next_value: i64,
    /// The slowest gating sequence seen at the last check, so most claims skip reading them.
    cached_gating: i64,
    cursor: Arc<Sequence>,
    available: AvailabilityBuffer,
    gating: Box<[Arc<Sequence>]>,
    wait_strategy: Arc<W>,
    alert: Arc<Alert>,
}

impl<W: WaitStrategy> SingleProducerSequencer<W> {
    /// A sequencer for a ring of `size` slots (a power of two) that never laps the slowest of
    /// `gating`, signals `wait_strategy` on publish and gives up waiting when `alert` is raised.
    pub fn new(size: usize, gating: Vec<Arc<Sequence>>, wait_strategy: Arc<W>, alert: Arc<Alert>) -> Self {
        Self::with_parts(
            size,
            Arc::new(Sequence::default()),
            AvailabilityBuffer::new(size),
            gating,
            wait_strategy,
            alert,
        )
    }

    pub(crate) fn with_parts(
        size: usize,
        cursor: Arc<Sequence>,
        available: AvailabilityBuffer,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Self {
        debug_assert!(size.is_power_of_two());
        Self {
            size: size as i64,
            next_value: Sequence::INITIAL,
            cached_gating: Sequence::INITIAL,
            cursor,
            available,
            gating: gating.into_boxed_slice(),
            wait_strategy,
            alert,
        }
    }

    /// The cursor [`Sequence`], brought up to date by [`sync_cursor`](Self::sync_cursor) only (not
    /// by every publish; consumers wait on the slots' flags instead).
    pub fn cursor_sequence(&self) -> &Arc<Sequence> {
        &self.cursor
    }

    /// Sets the cursor [`Sequence`] to the highest published sequence. The pipeline does this at
    /// shutdown, when every claim is published.
    pub fn sync_cursor(&self) {
        self.cursor.set(self.cursor());
    }

    /// The per-slot publication flags, shared with consumers.
    pub fn availability(&self) -> &AvailabilityBuffer {
        &self.available
    }

    /// The highest published sequence: the last claim, unless some of the last claims are not
    /// published yet (they are the newest ones; the producer publishes in order).
    pub fn cursor(&self) -> i64 {
        let oldest = self.next_value - self.size;
        let mut sequence = self.next_value;
        while sequence > oldest && sequence >= 0 && !self.available.is_available(sequence) {
            sequence -= 1;
        }
        sequence.max(Sequence::INITIAL)
    }

    /// The number of slots.
    pub fn buffer_size(&self) -> i64 {
        self.size
    }

    /// Claims the next slot, waiting while the ring is full. Returns its sequence.
    #[inline]
    #[allow(clippy::should_implement_trait)] // LMAX's name; a claim is not an iterator step
    pub fn next(&mut self) -> Result<i64, ClaimError> {
        self.next_n(1)
    }

    /// Claims the next `n` slots, waiting while the ring is full. Returns the highest sequence
    /// claimed; the claim is `hi - n + 1 ..= hi`.
    #[inline]
    pub fn next_n(&mut self, n: i64) -> Result<i64, ClaimError> {
        check_claim(n, self.size)?;
        if self.alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        let next_value = self.next_value;
        let next = next_value + n;
        let wrap_point = next - self.size;
        let cached = self.cached_gating;
        if wrap_point > cached || cached > next_value {
            self.cached_gating = wait_for_capacity(&self.gating, wrap_point, next_value, &self.alert)?;
        }
        self.next_value = next;
        Ok(next)
    }

    /// Claims the next slot if one is free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next(&mut self) -> Result<i64, ClaimError> {
        self.try_next_n(1)
    }

    /// Claims the next `n` slots if they are free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next_n(&mut self, n: i64) -> Result<i64, ClaimError> {
        check_claim(n, self.size)?;
        if self.alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        if !self.has_capacity(n) {
            return Err(ClaimError::Full);
        }
        self.next_value += n;
        Ok(self.next_value)
    }

    #[inline]
    fn has_capacity(&mut self, n: i64) -> bool {
        let wrap_point = self.next_value + n - self.size;
        let cached = self.cached_gating;
        if wrap_point > cached || cached > self.next_value {
            let min = minimum_sequence(&self.gating, self.next_value);
            self.cached_gating = min;
            if wrap_point > min {
                return false;
            }
        }
        true
    }

    /// Whether `n` more slots could be claimed now without waiting.
    pub fn has_available_capacity(&self, n: i64) -> bool {
        if n < 1 || n > self.size {
            return false;
        }
        let wrap_point = self.next_value + n - self.size;
        wrap_point <= self.cached_gating || wrap_point <= minimum_sequence(&self.gating, self.next_value)
    }

    /// How many slots are free now.
    pub fn remaining_capacity(&self) -> i64 {
        let consumed = minimum_sequence(&self.gating, self.next_value);
        self.size - (self.next_value - consumed)
    }

    /// Publishes `sequence` and every claimed sequence before it not yet published (the
    /// producer being alone, they are all its own). [`publish_range`](Self::publish_range) is
    /// cheaper when the range is known.
    #[inline]
    pub fn publish(&self, sequence: i64) {
        let mut low = sequence;
        while low > 0 && low > sequence - self.size + 1 && !self.available.is_available(low - 1) {
            low -= 1;
        }
        self.publish_range(low, sequence);
    }

    /// Publishes `low..=high`: sets their flags (each `Release`, after the event it guards was
    /// written), then signals the wait strategy.
    #[inline(always)]
    pub fn publish_range(&self, low: i64, high: i64) {
        debug_assert!(low <= high);
        self.available.set_range_available(low, high);
        self.wait_strategy.signal();
    }
}

impl<W> std::fmt::Debug for SingleProducerSequencer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleProducerSequencer")
            .field("size", &self.size)
            .field("next_value", &self.next_value)
            .field("cursor", &self.cursor.get())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::BusySpinWaitStrategy;

    fn sequencer(size: usize) -> (SingleProducerSequencer<BusySpinWaitStrategy>, Arc<Sequence>) {
        let consumer = Arc::new(Sequence::default());
        let s = SingleProducerSequencer::new(
            size,
            vec![consumer.clone()],
            Arc::new(BusySpinWaitStrategy),
            Arc::new(Alert::new()),
        );
        (s, consumer)
    }

    #[test]
    fn claims_are_contiguous_and_bounded_by_the_slowest_consumer() {
        let (mut s, consumer) = sequencer(8);
        assert_eq!(s.remaining_capacity(), 8);
        assert_eq!(s.next_n(3), Ok(2));
        assert_eq!(s.next(), Ok(3));
        assert_eq!(s.remaining_capacity(), 4);
        assert!(s.has_available_capacity(4));
        assert!(!s.has_available_capacity(5));
        assert_eq!(s.try_next_n(5), Err(ClaimError::Full));
        assert_eq!(s.try_next_n(4), Ok(7));
        assert_eq!(s.try_next(), Err(ClaimError::Full));
        // Publishing does not free space; the consumer moving does.
        s.publish_range(0, 7);
        assert_eq!(s.cursor(), 7);
        assert_eq!(s.try_next(), Err(ClaimError::Full));
        consumer.set(2);
        assert_eq!(s.remaining_capacity(), 3);
        assert_eq!(s.try_next_n(3), Ok(10));
        assert_eq!(s.try_next(), Err(ClaimError::Full));
    }

    #[test]
    fn wraps_around_many_laps() {
        let (mut s, consumer) = sequencer(4);
        for expected in 0..1000 {
            assert_eq!(s.try_next(), Ok(expected));
            s.publish(expected);
            consumer.set(expected);
        }
    }

    #[test]
    fn rejects_claims_that_cannot_fit() {
        let (mut s, _) = sequencer(4);
        let invalid = |n| ClaimError::InvalidClaim {
            requested: n,
            capacity: 4,
        };
        assert_eq!(s.next_n(5), Err(invalid(5)));
        assert_eq!(s.next_n(0), Err(invalid(0)));
        assert_eq!(s.try_next_n(-1), Err(invalid(-1)));
        assert!(!s.has_available_capacity(5));
        assert_eq!(s.next_n(4), Ok(3), "a claim of exactly the ring size is valid");
    }

    #[test]
    fn a_halted_pipeline_fails_a_waiting_claim_instead_of_hanging() {
        let (mut s, _) = sequencer(2);
        assert_eq!(s.next_n(2), Ok(1));
        s.alert.raise();
        assert_eq!(s.next(), Err(ClaimError::Halted));
    }
}
