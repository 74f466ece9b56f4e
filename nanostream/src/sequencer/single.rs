//! [`SingleProducerSequencer`]: claims for one producer thread, with no atomic read-modify-write.

use super::{check_claim, wait_for_capacity};
use crate::error::ClaimError;
use crate::sequence::{minimum_sequence, Sequence};
use crate::sync::Arc;
use crate::{Alert, WaitStrategy};

/// The sequencer for a pipeline with one producer.
///
/// Only the producer thread claims, so the next sequence is a plain field (`&mut self`), and the
/// slowest gating sequence is cached: the gating sequences (written by other threads) are read
/// only when the cached value says the ring might be full. In steady state a claim touches no
/// shared cache line at all and a publish is one `Release` store of the cursor.
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
/// assert!(seq.try_next().is_err());          // full until the consumer moves
/// consumer.set(0);
/// assert_eq!(seq.try_next(), Ok(4));
/// ```
pub struct SingleProducerSequencer<W> {
    claims: Claims,
    size: i64,
    cursor: Arc<Sequence>,
    gating: Box<[Arc<Sequence>]>,
    wait_strategy: Arc<W>,
    alert: Arc<Alert>,
}

/// The producer's private claim state: the only fields a claim writes.
///
/// Kept apart from the sequencer's shared parts so that a [`Publisher`](crate::Publisher)
/// session can borrow it mutably while it holds plain references to the cursor, the alert and
/// the wait strategy, and copy the two fields it needs into locals for the length of the
/// session.
#[derive(Debug)]
pub(crate) struct Claims {
    /// The last claimed sequence (owned by the producer; consumers never read it).
    pub(crate) next_value: i64,
    /// The slowest gating sequence seen at the last check, so most claims skip reading them.
    cached_gating: i64,
    /// The highest sequence the cached gating position lets us claim without looking again
    /// (`cached_gating + size`).
    pub(crate) claim_limit: i64,
}

/// What a claim reads besides [`Claims`]: the ring size, the gating sequences and the alert.
#[derive(Clone, Copy)]
pub(crate) struct ClaimContext<'a> {
    size: i64,
    gating: &'a [Arc<Sequence>],
    pub(crate) alert: &'a Alert,
}

/// The parts of a sequencer a [`Publisher`](crate::Publisher) session borrows.
pub(crate) struct SessionParts<'a, W> {
    pub(crate) claims: &'a mut Claims,
    pub(crate) context: ClaimContext<'a>,
    pub(crate) cursor: &'a Sequence,
    pub(crate) wait_strategy: &'a W,
}

impl Claims {
    /// Whether the claim of `n` ending at `next` is valid and fits under the claim limit, and
    /// the pipeline runs: the whole fast path of a claim.
    #[inline(always)]
    pub(crate) fn fits(n: i64, next: i64, limit: i64, alert: &Alert) -> bool {
        n >= 1 && next <= limit && !alert.is_raised()
    }

    /// The claim when the cached gating position does not prove there is room (or the claim
    /// is invalid, or the pipeline halted): kept out of line so that the fast path
    /// ([`fits`](Self::fits)) is a load, an add and three compares. The `disruptor` crate's claim is that short too; ours used to
    /// re-check the claim size and subtract the ring size on every publish, which cost
    /// single-publish throughput in a loop bound by stores (benches/README.md, "Fifth round").
    #[cold]
    #[inline(never)]
    pub(crate) fn next_n_slow(&mut self, n: i64, context: ClaimContext<'_>) -> Result<i64, ClaimError> {
        check_claim(n, context.size)?;
        if context.alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        let next_value = self.next_value;
        let next = next_value + n;
        if next > self.claim_limit {
            let min = wait_for_capacity(context.gating, next - context.size, next_value, context.alert)?;
            self.cache_gating(min, context.size);
        }
        self.next_value = next;
        Ok(next)
    }

    #[inline]
    pub(crate) fn try_next_n(&mut self, n: i64, context: ClaimContext<'_>) -> Result<i64, ClaimError> {
        check_claim(n, context.size)?;
        if context.alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        if !self.has_capacity(n, context) {
            return Err(ClaimError::Full);
        }
        self.next_value += n;
        Ok(self.next_value)
    }

    #[inline]
    fn has_capacity(&mut self, n: i64, context: ClaimContext<'_>) -> bool {
        let next = self.next_value + n;
        if next <= self.claim_limit {
            return true;
        }
        let min = minimum_sequence(context.gating, self.next_value);
        self.cache_gating(min, context.size);
        next <= self.claim_limit
    }

    /// Remembers `min`, the slowest gating sequence just read, and the claim limit it implies.
    #[inline]
    fn cache_gating(&mut self, min: i64, size: i64) {
        self.cached_gating = min;
        // A gating sequence ahead of the claims (impossible unless sequences are misused) must
        // not let a claim lap the ring: bound the limit by what has been claimed.
        self.claim_limit = min.min(self.next_value) + size;
    }
}

impl<W: WaitStrategy> SingleProducerSequencer<W> {
    /// A sequencer for a ring of `size` slots (a power of two) that never laps the slowest of
    /// `gating`, signals `wait_strategy` on publish and gives up waiting when `alert` is raised.
    pub fn new(size: usize, gating: Vec<Arc<Sequence>>, wait_strategy: Arc<W>, alert: Arc<Alert>) -> Self {
        Self::with_cursor(size, Arc::new(Sequence::default()), gating, wait_strategy, alert)
    }

    pub(crate) fn with_cursor(
        size: usize,
        cursor: Arc<Sequence>,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Self {
        debug_assert!(size.is_power_of_two());
        Self {
            claims: Claims {
                next_value: Sequence::INITIAL,
                cached_gating: Sequence::INITIAL,
                claim_limit: Sequence::INITIAL + size as i64,
            },
            size: size as i64,
            cursor,
            gating: gating.into_boxed_slice(),
            wait_strategy,
            alert,
        }
    }

    /// The claim state borrowed mutably beside everything a claim or a publish reads: what a
    /// [`Publisher`](crate::Publisher) session holds, and how the slow paths reach both.
    #[inline(always)]
    pub(crate) fn session(&mut self) -> SessionParts<'_, W> {
        SessionParts {
            claims: &mut self.claims,
            context: ClaimContext {
                size: self.size,
                gating: &self.gating,
                alert: &self.alert,
            },
            cursor: &self.cursor,
            wait_strategy: &self.wait_strategy,
        }
    }

    /// The published cursor, shared with consumers.
    pub fn cursor_sequence(&self) -> &Arc<Sequence> {
        &self.cursor
    }

    /// The highest published sequence.
    pub fn cursor(&self) -> i64 {
        self.cursor.get()
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
        // Only the slow path reads the size and the gating sequences: the fast path must not
        // even gather them (building the context on every publish cost a quarter of the
        // single-publish throughput, benches/README.md "Fifth round").
        let next = self.claims.next_value + n;
        if Claims::fits(n, next, self.claims.claim_limit, &self.alert) {
            self.claims.next_value = next;
            return Ok(next);
        }
        self.next_n_slow(n)
    }

    #[cold]
    fn next_n_slow(&mut self, n: i64) -> Result<i64, ClaimError> {
        let parts = self.session();
        parts.claims.next_n_slow(n, parts.context)
    }

    /// Claims the next slot if one is free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next(&mut self) -> Result<i64, ClaimError> {
        self.try_next_n(1)
    }

    /// Claims the next `n` slots if they are free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next_n(&mut self, n: i64) -> Result<i64, ClaimError> {
        let parts = self.session();
        parts.claims.try_next_n(n, parts.context)
    }

    /// Whether `n` more slots could be claimed now without waiting.
    pub fn has_available_capacity(&self, n: i64) -> bool {
        if n < 1 || n > self.size {
            return false;
        }
        let next_value = self.claims.next_value;
        let wrap_point = next_value + n - self.size;
        wrap_point <= self.claims.cached_gating || wrap_point <= minimum_sequence(&self.gating, next_value)
    }

    /// How many slots are free now.
    pub fn remaining_capacity(&self) -> i64 {
        let next_value = self.claims.next_value;
        let consumed = minimum_sequence(&self.gating, next_value);
        self.size - (next_value - consumed)
    }

    /// Publishes `sequence` (and, the producer being alone, everything claimed before it).
    #[inline(always)]
    pub fn publish(&self, sequence: i64) {
        self.cursor.set(sequence);
        self.wait_strategy.signal();
    }

    /// Publishes `low..=high`.
    #[inline(always)]
    pub fn publish_range(&self, low: i64, high: i64) {
        debug_assert!(low <= high);
        self.publish(high);
    }
}

impl<W> std::fmt::Debug for SingleProducerSequencer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleProducerSequencer")
            .field("size", &self.size)
            .field("next_value", &self.claims.next_value)
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
