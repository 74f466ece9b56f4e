//! Producers: the handles that publish events, and the [`Producer`] trait they share.
//!
//! - [`SingleProducer`]: one publishing thread (the fastest: no atomic read-modify-write), and
//!   [`Publisher`], a session borrowed from it for a loop of publishes.
//! - [`MultiProducer`]: `Clone + Send`, one clone per publishing thread.
//!
//! Publishing is done through translators: closures that fill in the pre-allocated event in the
//! claimed slot. Nothing is allocated or moved; the event is written in place.

mod batch;
mod lifecycle;
mod multi;
mod publisher;
mod single;

pub use batch::BatchIter;
pub use multi::MultiEventPoller;
pub use multi::MultiProducer;
pub use publisher::Publisher;
pub use single::SingleProducer;

use std::marker::PhantomData;

use crate::error::{PublishError, TryPublishError};
use crate::ring_buffer::RingView;

pub(crate) mod sealed {
    use crate::error::ClaimError;
    use crate::ring_buffer::RingView;

    /// Proof that a call comes from inside this crate.
    ///
    /// [`Producer`](super::Producer) has [`Claim`] as a supertrait, so a generic bound
    /// `P: Producer<E>` makes `Claim`'s methods callable by name from any crate, even though the
    /// trait cannot be named there. Every method takes a `Token`, which only this crate can
    /// make (its field is private), so outside code cannot call them: no one can publish a slot
    /// they did not claim or claim without publishing.
    #[derive(Debug, Clone, Copy)]
    pub struct Token(());

    impl Token {
        /// The token; crate-private.
        #[inline(always)]
        pub(crate) const fn new() -> Self {
            Token(())
        }
    }

    /// The claim/commit protocol a producer implements; not implementable outside this crate
    /// (the trait is in a private module) and not callable outside it (every method takes a
    /// [`Token`]), so every [`Producer`](super::Producer) keeps the sequencer protocol that makes
    /// slot access sound.
    pub trait Claim<E> {
        /// The ring's slots, to write claimed events through.
        #[doc(hidden)]
        fn slots(&self, token: Token) -> RingView<'_, E>;
        /// Claims `n` slots, waiting for space; returns the highest sequence claimed.
        #[doc(hidden)]
        fn claim(&mut self, n: i64, token: Token) -> Result<i64, ClaimError>;
        /// Claims `n` slots if free now; returns the highest sequence claimed.
        #[doc(hidden)]
        fn try_claim(&mut self, n: i64, token: Token) -> Result<i64, ClaimError>;
        /// Publishes `low..=high`.
        #[doc(hidden)]
        fn commit(&self, low: i64, high: i64, token: Token);
    }
}

use sealed::Token;

/// Publishes `low..=high` when dropped, so that a translator that panics still publishes its
/// claim: an unpublished claim would stall every consumer of a multi-producer ring forever (the
/// event is published as the translator left it, as in LMAX).
struct CommitOnDrop<'a, E, P: sealed::Claim<E> + ?Sized> {
    producer: &'a P,
    low: i64,
    high: i64,
    _event: PhantomData<fn(E)>,
}

impl<E, P: sealed::Claim<E> + ?Sized> Drop for CommitOnDrop<'_, E, P> {
    #[inline(always)]
    fn drop(&mut self) {
        self.producer.commit(self.low, self.high, Token::new());
    }
}

/// Writes into claimed slots `low..=high` and publishes them.
#[inline(always)]
fn write_and_commit<E, P, R>(producer: &P, low: i64, high: i64, write: impl FnOnce(RingView<'_, E>) -> R) -> R
where
    P: sealed::Claim<E> + ?Sized,
{
    let _commit = CommitOnDrop {
        producer,
        low,
        high,
        _event: PhantomData,
    };
    write(producer.slots(Token::new()))
}

/// Publishing events: implemented by [`SingleProducer`] and [`MultiProducer`].
///
/// Every method claims slots, runs the translator on the event(s) in place, and publishes. The
/// blocking forms wait while the ring is full; the `try_` forms return
/// [`TryPublishError::Full`] instead. Both return [`PublishError::Halted`] once the pipeline has
/// halted (a handler failed), rather than waiting for space that will never come.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
///
/// let mut producer = build_single_producer(64, || 0u64, BlockingWaitStrategy::new())
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     .build()
///     .unwrap();
///
/// producer.publish(|event, _sequence| *event = 1).unwrap();
/// producer.publish_with(|event, _sequence, value| *event = value, 2).unwrap();
/// producer.batch_publish(3, |batch| {
///     for event in batch {
///         *event = 3;
///     }
/// }).unwrap();
/// producer.shutdown().unwrap();
/// ```
///
/// The claim and commit steps under these methods cannot be called on their own, not even
/// through a generic bound, so no code outside this crate can publish a slot it did not claim or
/// keep a claim unpublished. Calling one does not compile:
///
/// ```compile_fail,E0061
/// use nanostream::Producer;
///
/// fn publish_unclaimed<P: Producer<u64>>(producer: &P) {
///     producer.commit(0, 3); // the hidden methods take a token only NanoStream can make
/// }
/// ```
///
/// ```compile_fail,E0061
/// use nanostream::Producer;
///
/// fn claim_without_publishing<P: Producer<u64>>(producer: &mut P) {
///     let _ = producer.claim(1);
/// }
/// ```
///
/// while the same function calling a public method compiles:
///
/// ```
/// use nanostream::Producer;
///
/// fn publish_one<P: Producer<u64>>(producer: &mut P) {
///     let _ = producer.publish(|event, _sequence| *event = 3);
/// }
/// ```
pub trait Producer<E>: sealed::Claim<E> {
    /// Claims one slot (waiting while the ring is full), lets `translate` write the event, and
    /// publishes it. Returns the event's sequence.
    #[inline]
    fn publish<F>(&mut self, translate: F) -> Result<i64, PublishError>
    where
        F: FnOnce(&mut E, i64),
    {
        let sequence = self.claim(1, Token::new())?;
        write_and_commit(&*self, sequence, sequence, |ring| {
            // SAFETY: `sequence` is claimed by this producer and not yet published: no consumer
            // reads it and no other producer can claim it.
            translate(unsafe { ring.get_mut(sequence) }, sequence);
        });
        Ok(sequence)
    }

    /// As [`publish`](Self::publish), but returns [`TryPublishError::Full`] instead of waiting.
    #[inline]
    fn try_publish<F>(&mut self, translate: F) -> Result<i64, TryPublishError>
    where
        F: FnOnce(&mut E, i64),
    {
        let sequence = self.try_claim(1, Token::new())?;
        write_and_commit(&*self, sequence, sequence, |ring| {
            // SAFETY: as in `publish`.
            translate(unsafe { ring.get_mut(sequence) }, sequence);
        });
        Ok(sequence)
    }

    /// Publishes with one extra argument, like LMAX's `EventTranslatorOneArg`: a plain `fn` can
    /// then serve as a reusable translator.
    #[inline]
    fn publish_with<A, F>(&mut self, translate: F, arg: A) -> Result<i64, PublishError>
    where
        F: FnOnce(&mut E, i64, A),
    {
        self.publish(|event, sequence| translate(event, sequence, arg))
    }

    /// Publishes with two extra arguments (`EventTranslatorTwoArg`).
    #[inline]
    fn publish_with2<A, B, F>(&mut self, translate: F, a: A, b: B) -> Result<i64, PublishError>
    where
        F: FnOnce(&mut E, i64, A, B),
    {
        self.publish(|event, sequence| translate(event, sequence, a, b))
    }

    /// Publishes with three extra arguments (`EventTranslatorThreeArg`).
    #[inline]
    fn publish_with3<A, B, C, F>(&mut self, translate: F, a: A, b: B, c: C) -> Result<i64, PublishError>
    where
        F: FnOnce(&mut E, i64, A, B, C),
    {
        self.publish(|event, sequence| translate(event, sequence, a, b, c))
    }

    /// As [`publish_with`](Self::publish_with), but returns [`TryPublishError::Full`] instead of
    /// waiting.
    #[inline]
    fn try_publish_with<A, F>(&mut self, translate: F, arg: A) -> Result<i64, TryPublishError>
    where
        F: FnOnce(&mut E, i64, A),
    {
        self.try_publish(|event, sequence| translate(event, sequence, arg))
    }

    /// Claims `n` slots at once (waiting while they are not free), lets `translate` write the
    /// events through a [`BatchIter`], and publishes them together: one claim and one publish
    /// for `n` events. Slots the translator does not visit are published as they were. Returns
    /// the highest sequence published.
    ///
    /// `n` must be between 1 and the ring size ([`PublishError::InvalidBatch`] otherwise).
    #[inline]
    fn batch_publish<F>(&mut self, n: usize, translate: F) -> Result<i64, PublishError>
    where
        F: FnOnce(BatchIter<'_, E>),
    {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let high = self.claim(n, Token::new())?;
        let low = high - n + 1;
        write_and_commit(&*self, low, high, |ring| {
            translate(BatchIter::new(ring, low, high))
        });
        Ok(high)
    }

    /// As [`batch_publish`](Self::batch_publish), but returns [`TryPublishError::Full`] instead of
    /// waiting.
    #[inline]
    fn try_batch_publish<F>(&mut self, n: usize, translate: F) -> Result<i64, TryPublishError>
    where
        F: FnOnce(BatchIter<'_, E>),
    {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let high = self.try_claim(n, Token::new())?;
        let low = high - n + 1;
        write_and_commit(&*self, low, high, |ring| {
            translate(BatchIter::new(ring, low, high))
        });
        Ok(high)
    }

    /// Publishes one event per item of `args` as one batch, like LMAX's `publishEvents` with an
    /// argument array: `translate(event, sequence, arg)` for each.
    #[inline]
    fn batch_publish_with<A, I, F>(&mut self, args: I, mut translate: F) -> Result<i64, PublishError>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: ExactSizeIterator,
        F: FnMut(&mut E, i64, A),
    {
        let args = args.into_iter();
        self.batch_publish(args.len(), |batch| {
            for (sequence, (event, arg)) in (batch.first_sequence()..).zip(batch.zip(args)) {
                translate(event, sequence, arg);
            }
        })
    }
}

impl<E, P: sealed::Claim<E> + ?Sized> Producer<E> for P {}
