//! [`BatchEventProcessor`]: the loop that runs one handler on its own thread, and
//! [`StreamingBackoff`] ([`streaming`]), how that loop paces its polls during a stream.

mod streaming;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::barrier::SequenceBarrier;
use crate::handler::{Access, PanicPolicy};
use crate::sequence::Sequence;
use crate::sequencer::PublishedSequence;
use crate::sync::Arc;
use crate::wait_strategy::{WaitError, WaitStrategy};
use crate::RingBuffer;
use streaming::Pacer;
pub use streaming::StreamingBackoff;

/// Runs one handler over the ring: waits on its barrier, hands the handler every available event
/// as one batch (up to an optional maximum), then publishes its own sequence once per batch.
///
/// Publishing once per batch is what lets a slow consumer catch up: the more it falls behind, the
/// bigger its batches and the fewer shared writes per event. A consumer that keeps up with a
/// producer streaming events paces its polls instead ([`StreamingBackoff`]), so that it does not
/// take the producer's cache lines away from it a few events at a time.
///
/// Processors are made and started by the [`Builder`](crate::Builder); each runs on a thread of
/// its own until the pipeline shuts down or halts.
pub struct BatchEventProcessor<E, A, W, P> {
    name: String,
    ring: Arc<RingBuffer<E>>,
    barrier: SequenceBarrier<W, P>,
    sequence: Arc<Sequence>,
    handler: A,
    max_batch_size: i64,
    panic_policy: PanicPolicy,
    streaming_backoff: StreamingBackoff,
}

/// A handler failure: the processor's name and the panic message.
pub(crate) type Failure = (String, String);

/// The per-handler options of a processor, as set on the [`Builder`](crate::Builder).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessorSettings {
    /// The largest batch (`None`: everything available).
    pub(crate) max_batch_size: Option<usize>,
    pub(crate) panic_policy: PanicPolicy,
    pub(crate) streaming_backoff: StreamingBackoff,
}

// `Access` is crate-private: processors are made by the builder, never by users.
#[allow(private_bounds)]
impl<E, A, W, P> BatchEventProcessor<E, A, W, P>
where
    E: 'static,
    A: Access<E>,
    W: WaitStrategy,
    P: PublishedSequence,
{
    pub(crate) fn new(
        name: String,
        ring: Arc<RingBuffer<E>>,
        barrier: SequenceBarrier<W, P>,
        sequence: Arc<Sequence>,
        handler: A,
        settings: ProcessorSettings,
    ) -> Self {
        Self {
            name,
            ring,
            barrier,
            sequence,
            handler,
            max_batch_size: settings
                .max_batch_size
                .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX).max(1)),
            panic_policy: settings.panic_policy,
            streaming_backoff: settings.streaming_backoff,
        }
    }

    /// Runs until the pipeline's alert is raised. Returns the failure when the handler panicked
    /// under [`PanicPolicy::Halt`], or when anything else the consumer runs panicked (the
    /// pipeline is halted then).
    ///
    /// Every hook of the handler runs under the panic policy (see [`PanicPolicy`]). What the
    /// consumer runs besides the handler (the wait strategy, which is user code too, and the
    /// streaming back-off) runs inside one more catch: a panic there halts the pipeline under
    /// either policy, since the consumer cannot wait for events without it. Either way no thread
    /// dies without raising the alert, so producers get `Halted` instead of waiting for ever.
    pub(crate) fn run(mut self) -> Result<(), Failure> {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.handler.on_start())) {
            self.hook_panicked(payload, "on_start")?;
        }
        let result = match catch_unwind(AssertUnwindSafe(|| self.process_events())) {
            Ok(result) => result,
            Err(payload) => Err(self.fail(payload, "the consumer loop (wait strategy or back-off)")),
        };
        let shutdown = catch_unwind(AssertUnwindSafe(|| self.handler.on_shutdown()));
        match (result, shutdown) {
            (Err(failure), _) => Err(failure),
            (Ok(()), Err(payload)) => self.hook_panicked(payload, "on_shutdown"),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Applies the panic policy to a panic in a hook other than `on_event`: under
    /// [`PanicPolicy::Halt`] the failure (the pipeline is halted), under
    /// [`PanicPolicy::LogAndContinue`] a log line and `Ok`.
    fn hook_panicked(&self, payload: Box<dyn std::any::Any + Send>, hook: &str) -> Result<(), Failure> {
        match self.panic_policy {
            PanicPolicy::Halt => Err(self.fail(payload, hook)),
            PanicPolicy::LogAndContinue => {
                tracing::error!(
                    processor = %self.name,
                    message = %panic_message(payload.as_ref()),
                    "handler panicked in {hook}; going on"
                );
                Ok(())
            }
        }
    }

    fn process_events(&mut self) -> Result<(), Failure> {
        let mut next = self.sequence.get() + 1;
        let mut pacer = Pacer::new(self.streaming_backoff);
        loop {
            pacer.before_poll(|| self.barrier.dependents().get(), || self.barrier.is_alerted());
            let available = match self.barrier.wait_for(next) {
                Ok(available) => available,
                Err(WaitError::Alerted) => return Ok(()),
                Err(WaitError::Timeout) => {
                    let last = self.sequence.get();
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.handler.on_timeout(last))) {
                        self.hook_panicked(payload, "on_timeout")?;
                    }
                    continue;
                }
            };
            pacer.found(available - next + 1, available);
            let end = available.min(next.saturating_add(self.max_batch_size - 1));
            let mut current = next;
            let mut started = false;
            let handler = &mut self.handler;
            let ring = &*self.ring;
            let mut outcome = catch_unwind(AssertUnwindSafe(|| {
                handler.on_batch_start(end - next + 1, available - next + 1);
                started = true;
                // SAFETY: the barrier returned `available >= end`.
                unsafe { process_range(handler, ring, &mut current, end) };
            }));
            if let Err(payload) = outcome {
                if !started {
                    // `on_batch_start` panicked before any event of the batch was handled:
                    // under `LogAndContinue` the batch is handled all the same, so that no
                    // event counts as processed without its `on_event`.
                    self.hook_panicked(payload, "on_batch_start")?;
                    let handler = &mut self.handler;
                    outcome = catch_unwind(AssertUnwindSafe(|| {
                        // SAFETY: as above.
                        unsafe { process_range(handler, ring, &mut current, end) }
                    }));
                } else {
                    outcome = Err(payload);
                }
            }
            match outcome {
                Ok(()) => {
                    self.sequence.set(end);
                    self.barrier.wait_strategy().signal();
                    next = end + 1;
                }
                Err(payload) => {
                    // `current` is the event whose `on_event` panicked.
                    if let Some(resume) = self.on_panic(payload, current)? {
                        next = resume;
                    }
                }
            }
        }
    }

    /// Applies the panic policy to a panic at `sequence`. Returns where to resume.
    fn on_panic(
        &mut self,
        payload: Box<dyn std::any::Any + Send>,
        sequence: i64,
    ) -> Result<Option<i64>, Failure> {
        match self.panic_policy {
            PanicPolicy::Halt => Err(self.fail(payload, &format!("on_event at sequence {sequence}"))),
            PanicPolicy::LogAndContinue => {
                tracing::error!(
                    processor = %self.name,
                    sequence,
                    message = %panic_message(payload.as_ref()),
                    "handler panicked; skipping the event"
                );
                // The event counts as processed: downstream stages and producers move on.
                if sequence > self.sequence.get() {
                    self.sequence.set(sequence);
                    self.barrier.wait_strategy().signal();
                }
                Ok(Some(sequence + 1))
            }
        }
    }

    /// Records a failure and halts the pipeline so nothing waits on this processor forever.
    fn fail(&self, payload: Box<dyn std::any::Any + Send>, during: &str) -> Failure {
        let message = format!("{} (in {during})", panic_message(payload.as_ref()));
        tracing::error!(processor = %self.name, %message, "handler failed; halting the pipeline");
        self.barrier.alert();
        (self.name.clone(), message)
    }
}

/// Hands the handler the events `*current..=end`, advancing `*current` past each one it
/// finished (so after a panic it is the event whose `on_event` panicked).
///
/// # Safety
/// The caller must hold read access to every sequence up to `end` (write access for a mutable
/// handler): the barrier returned at least `end`, so every one is published and every upstream
/// consumer is done with it, and producers cannot claim it again before this processor's
/// sequence passes it.
#[inline(always)]
unsafe fn process_range<E, A: Access<E>>(handler: &mut A, ring: &RingBuffer<E>, current: &mut i64, end: i64) {
    while *current <= end {
        // SAFETY: `*current <= end`, and the caller holds access up to `end`.
        unsafe { handler.process(ring, *current, *current == end) };
        *current += 1;
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = payload.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
        e.to_string()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

impl<E, A, W, P> BatchEventProcessor<E, A, W, P> {
    /// The processor's sequence: the last event its handler finished.
    pub fn sequence(&self) -> &Arc<Sequence> {
        &self.sequence
    }

    /// The name of the processor (and of its thread).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<E, A, W, P> std::fmt::Debug for BatchEventProcessor<E, A, W, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchEventProcessor")
            .field("name", &self.name)
            .field("sequence", &self.sequence.get())
            .finish()
    }
}
