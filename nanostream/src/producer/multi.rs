//! [`MultiProducer`]: the cloneable handle of a pipeline with several publishing threads.

use std::time::Duration;

use super::lifecycle::{Finish, Lifecycle};
use super::sealed::{Claim, Token};
use crate::error::{ClaimError, ShutdownError};
use crate::monitor::PipelineMonitor;
use crate::pipeline::Pipeline;
use crate::poller::EventPoller;
use crate::ring_buffer::RingView;
use crate::sequencer::{AvailabilityBuffer, MultiProducerSequencer};
use crate::sync::Arc;
use crate::{RingBuffer, WaitStrategy};

/// The event pollers of a multi-producer pipeline.
pub type MultiEventPoller<E, W> = EventPoller<E, W, Arc<AvailabilityBuffer>>;

/// Publishes into a pipeline from any number of threads: clone it, one clone per thread.
///
/// Built by [`build_multi_producer`](crate::build_multi_producer). The pipeline shuts down when
/// the last clone is dropped, or when [`shutdown`](Self::shutdown) is called on a clone and every
/// other clone has been dropped: shutdown first waits for the other clones to go (their threads
/// may still be publishing), then processes every published event. Dropping the last clone waits
/// for the consumers only as long as they make progress: when none of them has moved for 5
/// seconds it halts the pipeline and logs (with `tracing`) what it left.
pub struct MultiProducer<E, W: WaitStrategy> {
    /// First, so that a drop drains and stops the pipeline before anything else goes.
    lifecycle: Lifecycle<E, W, Arc<AvailabilityBuffer>>,
    ring: Arc<RingBuffer<E>>,
    sequencer: Arc<MultiProducerSequencer<W>>,
}

impl<E, W: WaitStrategy> MultiProducer<E, W> {
    pub(crate) fn new(
        ring: Arc<RingBuffer<E>>,
        sequencer: MultiProducerSequencer<W>,
        pipeline: Pipeline<W>,
        pollers: Vec<MultiEventPoller<E, W>>,
        monitor: PipelineMonitor,
    ) -> Self {
        Self {
            ring,
            sequencer: Arc::new(sequencer),
            lifecycle: Lifecycle::new(pipeline, pollers, monitor),
        }
    }

    /// Waits until every other clone is dropped, processes every published event, then stops
    /// and joins the consumer threads. Returns the failure of any handler that panicked.
    ///
    /// It waits as long as that takes: for a clone another thread never drops, a handler that
    /// never returns, or an event poller that is never polled. Use
    /// [`shutdown_timeout`](Self::shutdown_timeout) for a bound.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::shutdown(), true)
    }

    /// As [`shutdown`](Self::shutdown), but gives up after `timeout` (counting the wait for the
    /// other clones) with [`ShutdownError::Timeout`]. Giving up halts the pipeline: the other
    /// clones get [`PublishError::Halted`](crate::PublishError::Halted) from then on, and the
    /// last of them to go joins the threads.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::shutdown_within(timeout), true)
    }

    /// Stops every consumer now, leaving unprocessed events. Other clones get
    /// [`PublishError::Halted`](crate::PublishError::Halted) from then on; the last handle to go
    /// joins the threads. Returns handler failures when this is the last handle.
    pub fn halt(mut self) -> Result<(), ShutdownError> {
        self.lifecycle.finish(Finish::Halt, false)
    }

    /// A monitor for the pipeline, usable from any thread.
    pub fn monitor(&self) -> PipelineMonitor {
        self.lifecycle.monitor()
    }

    /// The event pollers added with [`Builder::event_poller`](crate::Builder::event_poller), in
    /// the order they were added (empty after the first call on any clone).
    pub fn take_event_pollers(&mut self) -> Vec<MultiEventPoller<E, W>> {
        self.lifecycle.take_event_pollers()
    }

    /// The highest claimed sequence.
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
}

impl<E, W: WaitStrategy> Clone for MultiProducer<E, W> {
    fn clone(&self) -> Self {
        Self {
            ring: self.ring.clone(),
            sequencer: self.sequencer.clone(),
            lifecycle: self.lifecycle.another_handle(),
        }
    }
}

impl<E, W: WaitStrategy> Claim<E> for MultiProducer<E, W> {
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
        if low == high {
            self.sequencer.publish(high);
        } else {
            self.sequencer.publish_range(low, high);
        }
    }
}

impl<E, W: WaitStrategy> std::fmt::Debug for MultiProducer<E, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiProducer")
            .field("sequencer", &self.sequencer)
            .finish()
    }
}
