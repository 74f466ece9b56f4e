//! The running pipeline: its consumer threads, how they start ([`startup`]), and how it shuts
//! down or halts.

mod startup;

pub(crate) use startup::ThreadBody;

use crate::sync::{AtomicBool, Ordering};
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

/// How long a shutdown may wait, for the consumers to drain and then for their threads to end.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patience {
    /// As long as it takes (`shutdown`).
    Forever,
    /// Until the deadline (`shutdown_timeout`); `None` when the timeout is too long to add to
    /// the clock, which is the same as `Forever`.
    Until(Option<Instant>, Duration),
    /// As long as some consumer makes progress, and no longer than `stall` without any
    /// (dropping the producer): a slow consumer still drains a long backlog, a stuck handler or
    /// a poller nobody polls does not hold the drop for ever.
    WhileProgressing(Duration),
}

/// How long dropping the last producer waits for the consumers when none of them moves: then it
/// halts the pipeline, logs the consumers that had not caught up, and returns without joining
/// threads still inside a handler.
pub(crate) const DROP_STALL_TIMEOUT: Duration = Duration::from_secs(5);

impl Patience {
    /// A deadline `timeout` from now.
    pub(crate) fn timeout(timeout: Duration) -> Self {
        Patience::Until(Instant::now().checked_add(timeout), timeout)
    }
}

impl<W: WaitStrategy> Pipeline<W> {
    /// Waits until every consumer has processed every published event, then stops and joins the
    /// consumer threads, waiting no longer than `patience` allows. When it gives up, the pipeline
    /// is halted, threads still inside a handler are left to finish on their own (they exit when
    /// the handler returns), and the error names the consumers that had not finished.
    pub(crate) fn shutdown(self, patience: Patience) -> Result<(), ShutdownError> {
        let target = self.cursor.get();
        let mut waited = Waited::new(patience);
        let mut pause = Duration::from_micros(10);
        loop {
            if self.alert.is_raised() || self.threads.iter().any(|(_, t)| t.is_finished()) {
                // Halted, or a processor died: nothing more will drain; report what happened.
                break;
            }
            let progress: i64 = self
                .consumers
                .iter()
                .map(|c| c.sequence.get())
                .fold(0, i64::wrapping_add);
            if self.lagging(target).next().is_none() {
                break;
            }
            if waited.gave_up(progress) {
                let lagging = self
                    .lagging(target)
                    .map(|c| (c.name.clone(), target - c.sequence.get()))
                    .collect();
                self.raise();
                return Err(ShutdownError::Timeout {
                    timeout: waited.limit(),
                    lagging,
                });
            }
            // The caller is not on a hot path: sleep rather than spin, so the consumers have the
            // cores to drain with.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
        self.raise();
        self.join(waited)
    }

    /// Stops every consumer now (events not yet processed are left) and joins the threads: it
    /// waits for each handler to return from the call it is in.
    pub(crate) fn halt(self) -> Result<(), ShutdownError> {
        self.raise();
        self.join(Waited::new(Patience::Forever))
    }

    fn lagging(&self, target: i64) -> impl Iterator<Item = &ConsumerInfo> {
        self.consumers
            .iter()
            .filter(move |c| !c.is_detached() && c.sequence.get() < target)
    }

    /// Raises the alert and wakes every consumer parked in the wait strategy.
    pub(crate) fn raise(&self) {
        self.alert.raise();
        self.wait_strategy.signal_all();
    }

    /// Joins the threads once they end, or gives up when `waited` runs out: a thread still
    /// running then (inside a handler that has not returned) is left to finish on its own and
    /// named in a [`ShutdownError::Timeout`].
    fn join(self, mut waited: Waited) -> Result<(), ShutdownError> {
        let mut pause = Duration::from_micros(10);
        while !matches!(waited.patience, Patience::Forever)
            && self.threads.iter().any(|(_, t)| !t.is_finished())
        {
            // Threads leaving a handler make no progress a sequence shows: only the time counts.
            if waited.gave_up(0) {
                let running = self
                    .threads
                    .iter()
                    .filter(|(_, t)| !t.is_finished())
                    .map(|(name, _)| (name.clone(), 0))
                    .collect();
                return Err(ShutdownError::Timeout {
                    timeout: waited.limit(),
                    lagging: running,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
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

/// The time a shutdown has waited, measured against its [`Patience`].
struct Waited {
    patience: Patience,
    /// When the consumers last made progress (for [`Patience::WhileProgressing`]).
    since: Instant,
    progress: Option<i64>,
}

impl Waited {
    fn new(patience: Patience) -> Self {
        Self {
            patience,
            since: Instant::now(),
            progress: None,
        }
    }

    /// Whether to give up now; `progress` is a number that changes when a consumer moves.
    fn gave_up(&mut self, progress: i64) -> bool {
        match self.patience {
            Patience::Forever | Patience::Until(None, _) => false,
            Patience::Until(Some(deadline), _) => Instant::now() >= deadline,
            Patience::WhileProgressing(stall) => {
                let now = Instant::now();
                if self.progress != Some(progress) {
                    self.progress = Some(progress);
                    self.since = now;
                }
                now.saturating_duration_since(self.since) >= stall
            }
        }
    }

    /// The limit to report in a [`ShutdownError::Timeout`].
    fn limit(&self) -> Duration {
        match self.patience {
            Patience::Forever => Duration::MAX,
            Patience::Until(_, timeout) | Patience::WhileProgressing(timeout) => timeout,
        }
    }
}
