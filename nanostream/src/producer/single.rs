//! [`SingleProducer`]: the handle of a pipeline with one publishing thread.

use std::time::Duration;

use super::lifecycle::{Finish, Lifecycle};
use super::sealed::{Claim, Token};
use crate::error::{ClaimError, ShutdownError};
use crate::monitor::PipelineMonitor;
use crate::pipeline::Pipeline;
use crate::poller::EventPoller;
use crate::ring_buffer::RingView;
use crate::sequencer::{SingleProducerSequencer, SinglePublished};
use crate::sync::Arc;
use crate::{RingBuffer, WaitStrategy};

/// Publishes into a pipeline from one thread, and owns the pipeline.
///
/// Built by [`build_single_producer`](crate::build_single_producer). Publish with the
/// [`Producer`](crate::Producer) methods, or, in a loop, through a [`Publisher`](crate::Publisher)
/// session ([`publisher`](Self::publisher)). [`shutdown`](Self::shutdown) processes every published
/// event and joins the consumer threads. Dropping the producer does the same as long as the
/// consumers make progress; when none of them has moved for 5 seconds (a stuck handler, an event
/// poller nobody polls) it halts the pipeline instead, without waiting for threads stuck in a
/// handler, and logs what it left (with `tracing`), as it logs a failure it cannot return.
pub struct SingleProducer<E, W: WaitStrategy> {
    /// First, so that a drop drains and stops the pipeline before anything else goes.
    lifecycle: Lifecycle<E, W, SinglePublished>,
    ring: Arc<RingBuffer<E>>,
    sequencer: SingleProducerSequencer<W>,
}

impl<E, W: WaitStrategy> SingleProducer<E, W> {
    pub(crate) fn new(
        ring: Arc<RingBuffer<E>>,
        sequencer: SingleProducerSequencer<W>,
        pipeline: Pipeline<W>,
        pollers: Vec<EventPoller<E, W, SinglePublished>>,
        monitor: PipelineMonitor,
    ) -> Self {
        Self {
            ring,
            sequencer,
            lifecycle: Lifecycle::new(pipeline, pollers, monitor),
        }
    }

    /// Processes every event published so far, then stops and joins the consumer threads.
    /// Returns the failure of any handler that panicked.
    ///
    /// It waits as long as that takes, also for a handler that never returns or an event poller
    /// that is never polled. Use [`shutdown_timeout`](Self::shutdown_timeout) for a bound.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::shutdown(), true)
    }

    /// As [`shutdown`](Self::shutdown), but gives up after `timeout` with
    /// [`ShutdownError::Timeout`] naming the consumers that had not caught up, or whose threads
    /// had not ended. The pipeline is halted then; a thread stuck in its handler exits when the
    /// handler returns, and is not waited for.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::shutdown_within(timeout), true)
    }

    /// Stops every consumer now, leaving unprocessed events, and joins the threads: it waits for
    /// each handler to return from the call it is in (use
    /// [`shutdown_timeout`](Self::shutdown_timeout) with a short timeout not to wait for one
    /// that is stuck).
    pub fn halt(mut self) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::Halt, false)
    }

    /// A monitor for the pipeline, usable from any thread.
    pub fn monitor(&self) -> PipelineMonitor {
        self.lifecycle.monitor()
    }

    /// The event pollers added with [`Builder::event_poller`](crate::Builder::event_poller), in
    /// the order they were added (empty after the first call).
    pub fn take_event_pollers(&mut self) -> Vec<EventPoller<E, W, SinglePublished>> {
        self.lifecycle.take_event_pollers()
    }

    /// The highest published sequence.
    pub fn cursor(&self) -> i64 {
        self.sequencer.cursor()
    }

    /// The number of slots in the ring.
    pub fn buffer_size(&self) -> i64 {
        self.sequencer.buffer_size()
    }

    /// How many slots are free now.
    pub fn remaining_capacity(&self) -> i64 {
        self.sequencer.remaining_capacity()
    }

    /// Whether `n` events could be published now without waiting.
    pub fn has_available_capacity(&self, n: i64) -> bool {
        self.sequencer.has_available_capacity(n)
    }

    /// The sequencer and the ring, borrowed apart (for a [`Publisher`](super::Publisher)).
    #[inline(always)]
    pub(super) fn parts(&mut self) -> (&mut SingleProducerSequencer<W>, &RingBuffer<E>) {
        (&mut self.sequencer, &self.ring)
    }
}

impl<E, W: WaitStrategy> Claim<E> for SingleProducer<E, W> {
    #[inline(always)]
    fn slots(&self, _: Token) -> RingView<'_, E> {
        self.ring.view()
    }
    #[inline(always)]
    fn claim(&mut self, n: i64, _: Token) -> Result<i64, ClaimError> {
        self.sequencer.next_n(n)
    }
    #[inline(always)]
    fn try_claim(&mut self, n: i64, _: Token) -> Result<i64, ClaimError> {
        self.sequencer.try_next_n(n)
    }
    #[inline(always)]
    fn commit(&self, low: i64, high: i64, _: Token) {
        self.sequencer.publish_range(low, high);
    }
}

impl<E, W: WaitStrategy> std::fmt::Debug for SingleProducer<E, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleProducer")
            .field("sequencer", &self.sequencer)
            .finish()
    }
}
