//! [`SingleProducerSequencer`]: claims for one producer thread, with no atomic read-modify-write.

use super::{check_claim, wait_for_capacity};
use crate::error::{BuildError, ClaimError};
use crate::ring_buffer::check_size;
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
///     4, vec![consumer.clone()], Arc::new(BusySpinWaitStrategy), Arc::new(Alert::new())).unwrap();
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
    /// The highest sequence the slowest gating sequence seen at the last check lets us claim
    /// without looking again (that sequence `+ size`), so most claims skip reading them. It is
    /// in `next_value..=next_value + size`: the room left is `claim_limit - next_value`.
    pub(crate) claim_limit: i64,
    /// Whether a [`Publisher`](crate::Publisher) session holds the claim state. While it does,
    /// `next_value` is stale and `claim_limit == next_value`, so every claim made without the
    /// session takes the slow path, which takes the state back from the cursor. That keeps the
    /// producer sound when a session is leaked (`mem::forget`) and its `Drop` never runs.
    session_open: bool,
}

/// What a claim reads besides [`Claims`]: the ring size, the gating sequences, the cursor and
/// the alert.
#[derive(Clone, Copy)]
pub(crate) struct ClaimContext<'a> {
    size: i64,
    gating: &'a [Arc<Sequence>],
    cursor: &'a Sequence,
    pub(crate) alert: &'a Alert,
}

/// The parts of a sequencer a [`Publisher`](crate::Publisher) session borrows.
pub(crate) struct SessionParts<'a, W> {
    pub(crate) claims: &'a mut Claims,
    pub(crate) context: ClaimContext<'a>,
    pub(crate) publish: Publish<'a, W>,
}

/// How a single producer publishes: the cursor and the wait strategy to signal. The one
/// implementation of a publish, for the sequencer and for a session.
pub(crate) struct Publish<'a, W> {
    cursor: &'a Sequence,
    wait_strategy: &'a W,
}

impl<W> Clone for Publish<'_, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W> Copy for Publish<'_, W> {}

impl<W: WaitStrategy> Publish<'_, W> {
    /// Publishes `sequence` and everything claimed before it: one `Release` store of the
    /// cursor, then the wait strategy's signal (a no-op unless a consumer is parked).
    #[inline(always)]
    pub(crate) fn publish(self, sequence: i64) {
        self.cursor.set(sequence);
        self.wait_strategy.signal();
    }
}

impl Claims {
    /// Whether a claim of `n` slots after `current` (the last claimed sequence) is valid, fits
    /// under the claim limit, and the pipeline runs: the whole fast path of a claim.
    ///
    /// It compares `n` with the room left (`limit - current`, in `0..=size`) instead of
    /// comparing `current + n` with the limit, so no `n` (up to `i64::MAX`) can overflow the
    /// arithmetic: the caller adds `n` to `current` only after this returned true.
    #[inline(always)]
    pub(crate) fn fits(n: i64, current: i64, limit: i64, alert: &Alert) -> bool {
        n >= 1 && n <= limit - current && !alert.is_raised()
    }

    /// The fast path of a claim of `n` after `*next` (the last claimed sequence): when it
    /// [`fits`](Self::fits), advances `*next` and returns the claim's highest sequence. The one
    /// implementation, for the sequencer's own state and for a session's copy of it in locals.
    #[inline(always)]
    pub(crate) fn claim_fast(next: &mut i64, limit: i64, n: i64, alert: &Alert) -> Option<i64> {
        if Self::fits(n, *next, limit, alert) {
            *next += n;
            return Some(*next);
        }
        None
    }

    /// The claim when the cached gating position does not prove there is room (or the claim
    /// is invalid, or the pipeline halted, or a leaked session left the state stale): kept out
    /// of line so that the fast path ([`fits`](Self::fits)) is a subtraction and three compares.
    /// Validating `n` against the ring size here, and only here, keeps the fast path as short
    /// as the `disruptor` crate's.
    #[cold]
    #[inline(never)]
    pub(crate) fn next_n_slow(&mut self, n: i64, context: ClaimContext<'_>) -> Result<i64, ClaimError> {
        check_claim(n, context.size)?;
        self.take_back_from_leaked_session(context);
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
        self.take_back_from_leaked_session(context);
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

    /// Starts a [`Publisher`](crate::Publisher) session: returns the claim state the session
    /// takes over (the last claimed sequence and the claim limit) and leaves this state so that
    /// any claim made without the session goes to the slow path. A session leaked before this
    /// one is taken back first.
    #[inline]
    pub(crate) fn open_session(&mut self, context: ClaimContext<'_>) -> (i64, i64) {
        self.take_back_from_leaked_session(context);
        self.session_open = true;
        let state = (self.next_value, self.claim_limit);
        self.claim_limit = self.next_value;
        state
    }

    /// Ends a session: the producer continues from `next_value` with `claim_limit`.
    #[inline]
    pub(crate) fn close_session(&mut self, next_value: i64, claim_limit: i64) {
        self.next_value = next_value;
        self.claim_limit = claim_limit;
        self.session_open = false;
    }

    /// Runs `claim` (a slow path) on behalf of an open session whose state is `next_value` and
    /// `claim_limit`; returns the claim's result and the state after it. The session stays
    /// open.
    #[inline]
    pub(crate) fn claim_for_session<R>(
        &mut self,
        next_value: i64,
        claim_limit: i64,
        claim: impl FnOnce(&mut Claims) -> R,
    ) -> (R, i64, i64) {
        self.close_session(next_value, claim_limit);
        let result = claim(self);
        let state = (self.next_value, self.claim_limit);
        self.session_open = true;
        self.claim_limit = self.next_value;
        (result, state.0, state.1)
    }

    /// After a session was leaked, `next_value` is stale. With one producer, every claim is
    /// published before the call that made it returns (even when a translator panics), so the
    /// cursor is exactly the last claimed sequence: continue from it.
    #[inline]
    fn take_back_from_leaked_session(&mut self, context: ClaimContext<'_>) {
        if self.session_open {
            self.session_open = false;
            self.next_value = context.cursor.get();
            let min = minimum_sequence(context.gating, self.next_value);
            self.cache_gating(min, context.size);
        }
    }

    /// The last claimed sequence, also while a session holds the state (then it is the cursor:
    /// see [`take_back_from_leaked_session`](Self::take_back_from_leaked_session)).
    #[inline]
    fn last_claimed(&self, cursor: &Sequence) -> i64 {
        if self.session_open {
            cursor.get()
        } else {
            self.next_value
        }
    }

    /// Remembers `min`, the slowest gating sequence just read, and the claim limit it implies.
    #[inline]
    fn cache_gating(&mut self, min: i64, size: i64) {
        // A gating sequence ahead of the claims (impossible unless sequences are misused) must
        // not let a claim lap the ring: bound the limit by what has been claimed.
        self.claim_limit = min.min(self.next_value) + size;
    }
}

impl<W: WaitStrategy> SingleProducerSequencer<W> {
    /// A sequencer for a ring of `size` slots (a power of two) that never laps the slowest of
    /// `gating`, signals `wait_strategy` on publish and gives up waiting when `alert` is raised.
    ///
    /// Returns [`BuildError::InvalidRingSize`] when `size` is zero, not a power of two, or above
    /// 2^62.
    pub fn new(
        size: usize,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Result<Self, BuildError> {
        check_size(size)?;
        Ok(Self::with_cursor(
            size,
            Arc::new(Sequence::default()),
            gating,
            wait_strategy,
            alert,
        ))
    }

    /// As [`new`](Self::new), publishing into `cursor`, for a `size` already checked.
    pub(crate) fn with_cursor(
        size: usize,
        cursor: Arc<Sequence>,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Self {
        assert!(
            check_size(size).is_ok(),
            "ring size {size} was checked by the builder"
        );
        Self {
            claims: Claims {
                next_value: Sequence::INITIAL,
                claim_limit: Sequence::INITIAL + size as i64,
                session_open: false,
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
                cursor: &self.cursor,
                alert: &self.alert,
            },
            publish: Publish {
                cursor: &self.cursor,
                wait_strategy: &self.wait_strategy,
            },
        }
    }

    /// The cursor and wait strategy a publish uses.
    #[inline(always)]
    fn publish_parts(&self) -> Publish<'_, W> {
        Publish {
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
        // Only the slow path reads the size and the gating sequences: the fast path does not
        // even gather them into a context, which measurably slows a loop of single publishes.
        let limit = self.claims.claim_limit;
        match Claims::claim_fast(&mut self.claims.next_value, limit, n, &self.alert) {
            Some(high) => Ok(high),
            None => self.next_n_slow(n),
        }
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
        let claimed = self.claims.last_claimed(&self.cursor);
        let wrap_point = claimed + n - self.size;
        wrap_point <= minimum_sequence(&self.gating, claimed)
    }

    /// How many slots are free now, in `0..=size`: the slots neither claimed and unpublished,
    /// nor published and not yet processed by the slowest gating consumer.
    pub fn remaining_capacity(&self) -> i64 {
        let claimed = self.claims.last_claimed(&self.cursor);
        let consumed = minimum_sequence(&self.gating, claimed);
        (self.size - (claimed - consumed)).clamp(0, self.size)
    }

    /// Publishes `sequence` (and, the producer being alone, everything claimed before it).
    #[inline(always)]
    pub fn publish(&self, sequence: i64) {
        self.publish_parts().publish(sequence);
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
        )
        .unwrap();
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
    fn the_fast_path_admits_exactly_the_claims_that_fit_from_any_position() {
        let alert = Alert::new();
        let extreme_n = [i64::MIN, -1, 0, 1, 2, 7, 8, 9, 1 << 62, i64::MAX - 1, i64::MAX];
        for current in [-1, 0, 1, i64::from(i32::MAX), 1 << 62, i64::MAX - 9, i64::MAX - 8] {
            for room in 0..=8 {
                let limit = current + room;
                for n in extreme_n {
                    let fits = Claims::fits(n, current, limit, &alert);
                    assert_eq!(
                        fits,
                        (1..=room).contains(&n),
                        "n {n} from {current} with room {room}"
                    );
                    if fits {
                        // The caller's addition cannot overflow.
                        assert!(current.checked_add(n).is_some_and(|next| next <= limit));
                    }
                }
            }
        }
        alert.raise();
        assert!(
            !Claims::fits(1, 0, 8, &alert),
            "a halted pipeline takes the slow path"
        );
    }

    #[test]
    fn a_halted_pipeline_fails_a_waiting_claim_instead_of_hanging() {
        let (mut s, _) = sequencer(2);
        assert_eq!(s.next_n(2), Ok(1));
        s.alert.raise();
        assert_eq!(s.next(), Err(ClaimError::Halted));
    }
}
