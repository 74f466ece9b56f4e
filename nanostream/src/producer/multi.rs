//! [`MultiProducer`]: the cloneable handle of a pipeline with several publishing threads.

use crate::sync::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::sealed::{Claim, Token};
use crate::error::{ClaimError, ShutdownError};
use crate::monitor::PipelineMonitor;
use crate::pipeline::{Patience, Pipeline, DROP_STALL_TIMEOUT};
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
    ring: Arc<RingBuffer<E>>,
    sequencer: Arc<MultiProducerSequencer<W>>,
    control: std::sync::Arc<Control<E, W>>,
    released: bool,
}

struct Control<E, W: WaitStrategy> {
    handles: AtomicUsize,
    pipeline: Mutex<Option<Pipeline<W>>>,
    outcome: Mutex<Option<Result<(), ShutdownError>>>,
    finished: Condvar,
    pollers: Mutex<Vec<MultiEventPoller<E, W>>>,
    monitor: PipelineMonitor,
}

enum Finish {
    Shutdown(Patience),
    Halt,
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
            control: std::sync::Arc::new(Control {
                handles: AtomicUsize::new(1),
                pipeline: Mutex::new(Some(pipeline)),
                outcome: Mutex::new(None),
                finished: Condvar::new(),
                pollers: Mutex::new(pollers),
                monitor,
            }),
            released: false,
        }
    }

    /// Waits until every other clone is dropped, processes every published event, then stops
    /// and joins the consumer threads. Returns the failure of any handler that panicked.
    ///
    /// It waits as long as that takes: for a clone another thread never drops, a handler that
    /// never returns, or an event poller that is never polled. Use
    /// [`shutdown_timeout`](Self::shutdown_timeout) for a bound.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.finish(Finish::Shutdown(Patience::Forever), true)
    }

    /// As [`shutdown`](Self::shutdown), but gives up after `timeout` (counting the wait for the
    /// other clones) with [`ShutdownError::Timeout`]. Giving up halts the pipeline: the other
    /// clones get [`PublishError::Halted`](crate::PublishError::Halted) from then on, and the
    /// last of them to go joins the threads.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), ShutdownError> {
        self.finish(Finish::Shutdown(Patience::timeout(timeout)), true)
    }

    /// Stops every consumer now, leaving unprocessed events. Other clones get
    /// [`PublishError::Halted`](crate::PublishError::Halted) from then on; the last handle to go
    /// joins the threads. Returns handler failures when this is the last handle.
    pub fn halt(mut self) -> Result<(), ShutdownError> {
        self.finish(Finish::Halt, false)
    }

    /// Raises the alert and wakes every waiting consumer.
    fn raise(&self) {
        self.sequencer.alert().raise();
        if let Some(pipeline) = self.control.pipeline.lock().as_ref() {
            pipeline.wait_strategy.signal_all();
        }
    }

    /// Gives up this handle; the last handle shuts the pipeline down. With `wait`, a handle that
    /// is not the last waits for the last one's outcome.
    fn finish(&mut self, how: Finish, wait: bool) -> Result<(), ShutdownError> {
        self.released = true;
        if let Finish::Halt = how {
            // Wake every waiting consumer; the last handle joins them.
            self.raise();
        }
        if self.control.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last handle: no claim is in flight any more.
            // Pollers never taken would count as live consumers, and shutdown would wait
            // forever for them: drop them first (that detaches them).
            drop(std::mem::take(&mut *self.control.pollers.lock()));
            let pipeline = self.control.pipeline.lock().take();
            let result = match pipeline {
                None => Ok(()),
                Some(pipeline) => match how {
                    Finish::Halt => pipeline.halt(),
                    Finish::Shutdown(patience) => pipeline.shutdown(patience),
                },
            };
            *self.control.outcome.lock() = Some(result.clone());
            self.control.finished.notify_all();
            return result;
        }
        let patience = match how {
            Finish::Shutdown(patience) if wait => patience,
            _ => return Ok(()),
        };
        let mut outcome = self.control.outcome.lock();
        loop {
            if let Some(result) = outcome.as_ref() {
                return result.clone();
            }
            match patience {
                Patience::Until(Some(deadline), timeout) => {
                    if self
                        .control
                        .finished
                        .wait_until(&mut outcome, deadline)
                        .timed_out()
                        && outcome.is_none()
                    {
                        drop(outcome);
                        // Give up as the error says: halt, so that nothing goes on waiting
                        // for the clones that are still alive.
                        self.raise();
                        return Err(ShutdownError::Timeout {
                            timeout,
                            lagging: vec![(
                                "other MultiProducer clones still alive".to_owned(),
                                self.control.handles.load(Ordering::Acquire) as i64,
                            )],
                        });
                    }
                }
                _ => self.control.finished.wait(&mut outcome),
            }
        }
    }

    /// A monitor for the pipeline, usable from any thread.
    pub fn monitor(&self) -> PipelineMonitor {
        self.control.monitor.clone()
    }

    /// The event pollers added with [`Builder::event_poller`](crate::Builder::event_poller), in
    /// the order they were added (empty after the first call on any clone).
    pub fn take_event_pollers(&mut self) -> Vec<MultiEventPoller<E, W>> {
        std::mem::take(&mut *self.control.pollers.lock())
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
        self.control.handles.fetch_add(1, Ordering::AcqRel);
        Self {
            ring: self.ring.clone(),
            sequencer: self.sequencer.clone(),
            control: self.control.clone(),
            released: false,
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

impl<E, W: WaitStrategy> Drop for MultiProducer<E, W> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Err(error) = self.finish(
            Finish::Shutdown(Patience::WhileProgressing(DROP_STALL_TIMEOUT)),
            false,
        ) {
            tracing::error!(%error, "pipeline shut down with an error when its last producer was dropped");
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
