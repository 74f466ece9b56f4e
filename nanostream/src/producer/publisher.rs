//! [`Publisher`]: a publishing session borrowed from a [`SingleProducer`] for a loop of
//! publishes.

use super::sealed::{Claim, Token};
use super::SingleProducer;
use crate::error::ClaimError;
use crate::ring_buffer::RingView;
use crate::sequencer::{ClaimContext, Claims, Publish};
use crate::WaitStrategy;

/// A publishing session on a [`SingleProducer`]: borrow one for a loop of publishes, and each
/// publish is a few instructions the compiler keeps in registers.
///
/// A `Publisher` has every [`Producer`](crate::Producer) method (`publish`, `try_publish`,
/// `publish_with`, `batch_publish`, …) and publishes exactly as the producer does: each event is
/// claimed, written and made visible to the consumers on its own. What differs is where the
/// producer's state lives while the loop runs. A `SingleProducer` keeps its next sequence and
/// its pointers in its own fields; the producer is a value in your frame whose address other code
/// sees (its drop, `shutdown`, the slow path of a claim), so the compiler must store the sequence
/// back and load it and the pointers again around every publish's `Release` store of the cursor:
/// a dependency through memory on every event. A `Publisher` copies them into locals of the
/// session, which nothing else can see, and writes the sequence back once, when it is dropped.
///
/// How much that is worth is measured by the `publisher` rows of the micro and peers
/// benchmarks (`benches/README.md`).
///
/// A session is sound even if it is never dropped: leaking one (`mem::forget`) leaves the
/// producer marked so that its next claim takes the slow path and continues from the cursor,
/// which is exactly where the session stopped.
///
/// The session borrows the producer mutably: drop it to call `shutdown` or any other method of
/// the producer. Keep the loop's body free of calls the compiler cannot inline that take the
/// publisher itself (pass it to a function only with `#[inline]`), or it has to keep the state
/// in memory again.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
///
/// let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     .build()
///     .unwrap();
///
/// let mut publisher = producer.publisher();
/// for price in [101, 102, 99] {
///     publisher.publish(|event, _sequence| *event = price).unwrap();
/// }
/// drop(publisher); // ends the session
/// assert_eq!(producer.cursor(), 2);
/// producer.shutdown().unwrap();
/// ```
pub struct Publisher<'a, E, W: WaitStrategy> {
    /// The producer's claim state, handed back on drop and around the slow path.
    claims: &'a mut Claims,
    context: ClaimContext<'a>,
    publish: Publish<'a, W>,
    slots: RingView<'a, E>,
    /// The last claimed sequence.
    next: i64,
    /// The highest sequence that can be claimed without looking at the consumers.
    limit: i64,
}

impl<E, W: WaitStrategy> SingleProducer<E, W> {
    /// Starts a publishing session: see [`Publisher`].
    #[inline]
    pub fn publisher(&mut self) -> Publisher<'_, E, W> {
        let (sequencer, ring) = self.parts();
        let parts = sequencer.session();
        let (next, limit) = parts.claims.open_session(parts.context);
        Publisher {
            claims: parts.claims,
            context: parts.context,
            publish: parts.publish,
            slots: ring.view(),
            next,
            limit,
        }
    }
}

impl<E, W: WaitStrategy> Publisher<'_, E, W> {
    /// The slow path of a claim: hands the session's sequence to the sequencer's own slow path
    /// (waiting for room, or reporting a halt or an invalid claim) and takes back what it
    /// decided. Everything it touches is reached through the session's fields, never through
    /// the session itself, so the session's address stays private to the caller.
    #[inline(always)]
    fn claim_slow(
        &mut self,
        claim: impl FnOnce(&mut Claims, ClaimContext<'_>) -> Result<i64, ClaimError>,
    ) -> Result<i64, ClaimError> {
        let context = self.context;
        let (result, next, limit) = self
            .claims
            .claim_for_session(self.next, self.limit, |claims| claim(claims, context));
        self.next = next;
        self.limit = limit;
        result
    }

    /// The fast path shared by both claims: room is certain, the claim is valid and the
    /// pipeline runs. Returns the claim's highest sequence.
    #[inline(always)]
    fn claim_fast(&mut self, n: i64) -> Option<i64> {
        Claims::claim_fast(&mut self.next, self.limit, n, self.context.alert)
    }
}

impl<E, W: WaitStrategy> Claim<E> for Publisher<'_, E, W> {
    #[inline(always)]
    fn slots(&self, _: Token) -> RingView<'_, E> {
        self.slots
    }
    #[inline(always)]
    fn claim(&mut self, n: i64, _: Token) -> Result<i64, ClaimError> {
        match self.claim_fast(n) {
            Some(high) => Ok(high),
            None => self.claim_slow(|claims, context| claims.next_n_slow(n, context)),
        }
    }
    #[inline(always)]
    fn try_claim(&mut self, n: i64, _: Token) -> Result<i64, ClaimError> {
        match self.claim_fast(n) {
            Some(high) => Ok(high),
            None => self.claim_slow(|claims, context| claims.try_next_n(n, context)),
        }
    }
    #[inline(always)]
    fn commit(&self, _low: i64, high: i64, _: Token) {
        self.publish.publish(high);
    }
}

impl<E, W: WaitStrategy> Drop for Publisher<'_, E, W> {
    /// Ends the session: the producer continues from the last sequence claimed.
    #[inline]
    fn drop(&mut self) {
        self.claims.close_session(self.next, self.limit);
    }
}

impl<E, W: WaitStrategy> std::fmt::Debug for Publisher<'_, E, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("next_value", &self.next)
            .finish()
    }
}
