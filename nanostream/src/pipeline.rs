//! The running pipeline: its consumer threads, and how it shuts down or halts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::ShutdownError;
use crate::processor::{panic_message, Failure};
use crate::sequence::Sequence;
use crate::sync::Arc;
use crate::{Alert, WaitStrategy};

/// A consumer as the lifecycle and the monitor see it.
#[derive(Debug)]
pub(crate) struct ConsumerInfo {
    pub(crate) name: String,
    pub(crate) sequence: Arc<Sequence>,
    /// For an event poller: set when the user dropped it, so shutdown does not wait for it.
    pub(crate) detached: Option<std::sync::Arc<AtomicBool>>,
}

impl ConsumerInfo {
    fn is_detached(&self) -> bool {
        self.detached.as_ref().is_some_and(|d| d.load(Ordering::Acquire))
    }
}

/// The consumer threads of a pipeline and what they wait on.
pub(crate) struct Pipeline<W: WaitStrategy> {
    pub(crate) threads: Vec<(String, JoinHandle<Result<(), Failure>>)>,
    pub(crate) consumers: std::sync::Arc<[ConsumerInfo]>,
    /// The highest published (single producer) or claimed (multi producer) sequence. Shutdown
    /// runs once every producer is gone, so every claim is published by then.
    pub(crate) cursor: Arc<Sequence>,
    pub(crate) alert: Arc<Alert>,
    pub(crate) wait_strategy: Arc<W>,
}

impl<W: WaitStrategy> Pipeline<W> {
    /// Waits until every consumer has processed every published event (or `timeout` passes),
    /// then stops and joins the consumer threads.
    pub(crate) fn shutdown(self, timeout: Option<Duration>) -> Result<(), ShutdownError> {
        let start = Instant::now();
        let target = self.cursor.get();
        let mut pause = Duration::from_micros(10);
        loop {
            if self.alert.is_raised() || self.threads.iter().any(|(_, t)| t.is_finished()) {
                // Halted, or a processor died: nothing more will drain; report what happened.
                break;
            }
            if self.lagging(target).next().is_none() {
                break;
            }
            if let Some(timeout) = timeout {
                if start.elapsed() >= timeout {
                    let lagging = self
                        .lagging(target)
                        .map(|c| (c.name.clone(), target - c.sequence.get()))
                        .collect();
                    self.raise();
                    // Threads stuck in a handler are not joined: they exit on their own once the
                    // handler returns and they see the alert.
                    return Err(ShutdownError::Timeout { timeout, lagging });
                }
            }
            // The caller is not on a hot path: sleep rather than spin, so the consumers have the
            // cores to drain with.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
        self.raise();
        self.join()
    }

    /// Stops every consumer now (events not yet processed are left) and joins the threads.
    pub(crate) fn halt(self) -> Result<(), ShutdownError> {
        self.raise();
        self.join()
    }

    fn lagging(&self, target: i64) -> impl Iterator<Item = &ConsumerInfo> {
        self.consumers
            .iter()
            .filter(move |c| !c.is_detached() && c.sequence.get() < target)
    }

    fn raise(&self) {
        self.alert.raise();
        self.wait_strategy.signal_all();
    }

    fn join(self) -> Result<(), ShutdownError> {
        let mut failures = Vec::new();
        for (name, thread) in self.threads {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => failures.push(failure),
                Err(payload) => failures.push((name, panic_message(payload.as_ref()))),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ShutdownError::HandlerFailed { failures })
        }
    }
}
