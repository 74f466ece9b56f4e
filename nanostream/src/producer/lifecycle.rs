//! [`Lifecycle`]: how a producer handle shuts its pipeline down, halts it, or lets it go when
//! dropped. One implementation for a [`SingleProducer`](super::SingleProducer) (one handle) and
//! the clones of a [`MultiProducer`](super::MultiProducer) (the last handle to go finishes).

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::ShutdownError;
use crate::monitor::PipelineMonitor;
use crate::pipeline::{Patience, Pipeline, DROP_STALL_TIMEOUT};
use crate::poller::EventPoller;
use crate::sequencer::PublishedSequence;
use crate::sync::{AtomicUsize, Ordering};
use crate::WaitStrategy;

/// One producer handle's share of the pipeline's lifecycle. Dropping it without
/// [`finish`](Self::finish) gives the handle up as a drop does: the last handle shuts the pipeline
/// down, waiting only while the consumers make progress.
pub(crate) struct Lifecycle<E, W: WaitStrategy, P: PublishedSequence> {
    control: std::sync::Arc<Control<E, W, P>>,
    /// Whether this handle was given up already (by `finish`).
    released: bool,
}

/// What the handles of one pipeline share.
struct Control<E, W: WaitStrategy, P: PublishedSequence> {
    handles: AtomicUsize,
    pipeline: Mutex<Option<Pipeline<W>>>,
    /// The last handle's result, for handles waiting in `shutdown`.
    outcome: Mutex<Option<Result<(), ShutdownError>>>,
    finished: Condvar,
    pollers: Mutex<Vec<EventPoller<E, W, P>>>,
    monitor: PipelineMonitor,
}

/// How a handle is given up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finish {
    /// Drain, then stop, within the patience given.
    Shutdown(Patience),
    /// Stop now.
    Halt,
}

impl Finish {
    /// `shutdown()`: as long as it takes.
    pub(crate) fn shutdown() -> Self {
        Finish::Shutdown(Patience::Forever)
    }

    /// `shutdown_timeout(timeout)`.
    pub(crate) fn shutdown_within(timeout: Duration) -> Self {
        Finish::Shutdown(Patience::timeout(timeout))
    }
}

impl<E, W: WaitStrategy, P: PublishedSequence> Lifecycle<E, W, P> {
    /// The first handle of a pipeline that has just started.
    pub(crate) fn new(
        pipeline: Pipeline<W>,
        pollers: Vec<EventPoller<E, W, P>>,
        monitor: PipelineMonitor,
    ) -> Self {
        Self {
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

    /// One more handle on the same pipeline (a `MultiProducer` clone).
    pub(crate) fn another_handle(&self) -> Self {
        self.control.handles.fetch_add(1, Ordering::AcqRel);
        Self {
            control: self.control.clone(),
            released: false,
        }
    }

    /// A monitor for the pipeline.
    pub(crate) fn monitor(&self) -> PipelineMonitor {
        self.control.monitor.clone()
    }

    /// The event pollers nobody has taken yet.
    pub(crate) fn take_event_pollers(&self) -> Vec<EventPoller<E, W, P>> {
        std::mem::take(&mut *self.control.pollers.lock())
    }

    /// Raises the alert and wakes every waiting consumer.
    fn raise(&self) {
        if let Some(pipeline) = self.control.pipeline.lock().as_ref() {
            pipeline.raise();
        }
    }

    /// Gives up this handle; the last handle shuts the pipeline down (or halts it). With `wait`,
    /// a handle that is not the last waits for the last one's outcome, within the patience of a
    /// `Finish::Shutdown`; a handle that gives up waiting halts the pipeline, as
    /// [`ShutdownError::Timeout`] says.
    pub(crate) fn finish(&mut self, how: Finish, wait: bool) -> Result<(), ShutdownError> {
        self.released = true;
        if let Finish::Halt = how {
            // Wake every waiting consumer; the last handle joins them.
            self.raise();
        }
        if self.control.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last handle: no claim is in flight any more.
            // Pollers never taken would count as live consumers, and shutdown would wait
            // forever for them: drop them first (that detaches them).
            drop(self.take_event_pollers());
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
}

impl<E, W: WaitStrategy, P: PublishedSequence> Drop for Lifecycle<E, W, P> {
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
