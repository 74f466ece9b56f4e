//! [`EventHandler`] and [`EventHandlerMut`]: the code a consumer runs for each event.

/// Processes events on a consumer thread, reading them in place.
///
/// A [`BatchEventProcessor`](crate::BatchEventProcessor) calls
/// [`on_batch_start`](Self::on_batch_start) and then [`on_event`](Self::on_event) for every event
/// of a batch, in sequence order, with `end_of_batch` true on the last one (flush there: it is
/// the natural point for group commit or a socket write). Every method but `on_event` has a
/// default that does nothing.
///
/// A closure `FnMut(&E, i64, bool)` is a handler:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use nanostream::EventHandler;
///
/// let total = Arc::new(AtomicU64::new(0));
/// let sum = total.clone();
/// let mut handler = move |event: &u64, _sequence: i64, _end_of_batch: bool| {
///     sum.fetch_add(*event, Ordering::Relaxed);
/// };
/// handler.on_event(&5, 0, true);
/// assert_eq!(total.load(Ordering::Relaxed), 5);
/// ```
///
/// A handler that wants its lifecycle:
///
/// ```
/// use nanostream::EventHandler;
///
/// struct Counter { seen: u64, batches: u64 }
///
/// impl EventHandler<u64> for Counter {
///     fn on_event(&mut self, _event: &u64, _sequence: i64, _end_of_batch: bool) {
///         self.seen += 1;
///     }
///     fn on_batch_start(&mut self, _batch_size: i64, _queue_depth: i64) {
///         self.batches += 1;
///     }
/// }
/// ```
///
/// A handler that panics is dealt with by the processor's [`PanicPolicy`](crate::PanicPolicy).
pub trait EventHandler<E>: Send + 'static {
    /// Processes the event published at `sequence`; `end_of_batch` is true on the last event of
    /// the batch.
    fn on_event(&mut self, event: &E, sequence: i64, end_of_batch: bool);

    /// Called before each batch: `batch_size` events follow; `queue_depth` were available
    /// (more than `batch_size` when a maximum batch size cut the batch).
    #[inline(always)]
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64) {
        let _ = (batch_size, queue_depth);
    }

    /// Called once on the consumer thread before the first event.
    fn on_start(&mut self) {}

    /// Called once on the consumer thread after the last event, when the pipeline shuts down or
    /// halts.
    fn on_shutdown(&mut self) {}

    /// Called when the wait strategy's timeout passed with no event (only with
    /// [`TimeoutBlockingWaitStrategy`](crate::TimeoutBlockingWaitStrategy));
    /// `sequence` is the last sequence this handler processed.
    fn on_timeout(&mut self, sequence: i64) {
        let _ = sequence;
    }
}

impl<E, F> EventHandler<E> for F
where
    F: FnMut(&E, i64, bool) + Send + 'static,
{
    #[inline(always)]
    fn on_event(&mut self, event: &E, sequence: i64, end_of_batch: bool) {
        self(event, sequence, end_of_batch)
    }
}

/// Processes events on a consumer thread with write access to them.
///
/// A mutable stage can enrich events for later stages (decode a buffer into fields, attach a
/// result). The builder accepts one only where no other consumer can read the same event at the
/// same time: alone in its stage. Later stages see its writes; earlier stages have finished with
/// the event before it gets it.
///
/// A closure `FnMut(&mut E, i64, bool)` is a mutable handler.
pub trait EventHandlerMut<E>: Send + 'static {
    /// Processes (and may modify) the event published at `sequence`.
    fn on_event(&mut self, event: &mut E, sequence: i64, end_of_batch: bool);

    /// As [`EventHandler::on_batch_start`].
    #[inline(always)]
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64) {
        let _ = (batch_size, queue_depth);
    }

    /// As [`EventHandler::on_start`].
    fn on_start(&mut self) {}

    /// As [`EventHandler::on_shutdown`].
    fn on_shutdown(&mut self) {}

    /// As [`EventHandler::on_timeout`].
    fn on_timeout(&mut self, sequence: i64) {
        let _ = sequence;
    }
}

impl<E, F> EventHandlerMut<E> for F
where
    F: FnMut(&mut E, i64, bool) + Send + 'static,
{
    #[inline(always)]
    fn on_event(&mut self, event: &mut E, sequence: i64, end_of_batch: bool) {
        self(event, sequence, end_of_batch)
    }
}

/// What a processor does when its handler panics.
///
/// Every hook runs under the policy, and no event ever counts as processed without its
/// `on_event` having run:
///
/// | the panic is in | `Halt` | `LogAndContinue` |
/// |---|---|---|
/// | `on_start` | the pipeline halts | logged; the handler then gets events as usual |
/// | `on_batch_start` | the pipeline halts; no event of the batch counts as processed | logged; every event of the batch goes to `on_event` as usual |
/// | `on_event` | the pipeline halts; that event and the rest of its batch do not count as processed | logged; that event counts as processed (its `on_event` ran, up to the panic) and the next one follows |
/// | `on_timeout` | the pipeline halts | logged; the consumer waits again |
/// | `on_shutdown` | the failure is returned by `shutdown` | logged |
///
/// A panic in what the consumer runs besides the handler (a [`WaitStrategy`](crate::WaitStrategy)
/// of your own, the streaming back-off) halts the pipeline under either policy: the consumer
/// cannot wait for events without it. When the pipeline halts, producers get
/// [`PublishError::Halted`](crate::PublishError::Halted) instead of waiting for space, and
/// `shutdown` returns [`ShutdownError::HandlerFailed`](crate::ShutdownError::HandlerFailed)
/// naming the consumer, the hook and the panic message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PanicPolicy {
    /// Stop the processor and halt the whole pipeline; the failure comes back from
    /// `shutdown`/`halt` as [`ShutdownError::HandlerFailed`](crate::ShutdownError::HandlerFailed).
    /// Producers waiting for space get [`PublishError::Halted`](crate::PublishError::Halted)
    /// instead of hanging.
    #[default]
    Halt,
    /// Log the panic (with `tracing`, at error level) and go on: after a panic in `on_event` the
    /// event counts as processed and the next one follows.
    LogAndContinue,
}

/// Reads or writes an event for a processor: the one piece of code that differs between a
/// reading and a writing handler.
pub(crate) trait Access<E>: Send + 'static {
    /// Processes the event at `sequence`.
    ///
    /// # Safety
    /// The caller must hold read access to `sequence` (write access for a mutable handler: the
    /// builder guarantees that by keeping mutable handlers alone in their stage).
    unsafe fn process(&mut self, ring: &crate::RingBuffer<E>, sequence: i64, end_of_batch: bool);
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64);
    fn on_start(&mut self);
    fn on_shutdown(&mut self);
    fn on_timeout(&mut self, sequence: i64);
}

/// A reading handler.
pub(crate) struct Reads<H>(pub(crate) H);
/// A writing handler.
pub(crate) struct Writes<H>(pub(crate) H);

impl<E: 'static, H: EventHandler<E>> Access<E> for Reads<H> {
    #[inline(always)]
    unsafe fn process(&mut self, ring: &crate::RingBuffer<E>, sequence: i64, end_of_batch: bool) {
        // SAFETY: the caller holds read access to `sequence`.
        let event = unsafe { ring.get(sequence) };
        self.0.on_event(event, sequence, end_of_batch);
    }
    #[inline(always)]
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64) {
        self.0.on_batch_start(batch_size, queue_depth);
    }
    fn on_start(&mut self) {
        self.0.on_start();
    }
    fn on_shutdown(&mut self) {
        self.0.on_shutdown();
    }
    fn on_timeout(&mut self, sequence: i64) {
        self.0.on_timeout(sequence);
    }
}

impl<E: 'static, H: EventHandlerMut<E>> Access<E> for Writes<H> {
    #[inline(always)]
    unsafe fn process(&mut self, ring: &crate::RingBuffer<E>, sequence: i64, end_of_batch: bool) {
        // SAFETY: the caller holds write access to `sequence`: this handler is alone in its
        // stage (checked by the builder), upstream consumers are done with the event, and
        // downstream ones wait for this processor's sequence.
        let event = unsafe { ring.get_mut(sequence) };
        self.0.on_event(event, sequence, end_of_batch);
    }
    #[inline(always)]
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64) {
        self.0.on_batch_start(batch_size, queue_depth);
    }
    fn on_start(&mut self) {
        self.0.on_start();
    }
    fn on_shutdown(&mut self) {
        self.0.on_shutdown();
    }
    fn on_timeout(&mut self, sequence: i64) {
        self.0.on_timeout(sequence);
    }
}
