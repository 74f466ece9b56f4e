//! [`TimeoutBlockingWaitStrategy`]: blocking, with a timeout that wakes the handler.

use std::time::Duration;

use super::{BlockingWaitStrategy, WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::Alert;

/// Blocks like [`BlockingWaitStrategy`], but gives up after `timeout`: the processor then calls
/// its handler's [`on_timeout`](crate::EventHandler::on_timeout) and waits again.
///
/// Use it for handlers that must act when nothing arrives: flush a buffer, send a heartbeat.
#[derive(Debug)]
pub struct TimeoutBlockingWaitStrategy {
    inner: BlockingWaitStrategy,
    timeout: Duration,
}

impl TimeoutBlockingWaitStrategy {
    /// A blocking strategy whose waits end after `timeout` (`Duration::MAX`, or any timeout too
    /// long to add to the clock, never ends a wait).
    pub fn new(timeout: Duration) -> Self {
        Self {
            inner: BlockingWaitStrategy::new(),
            timeout,
        }
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl WaitStrategy for TimeoutBlockingWaitStrategy {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        self.inner
            .wait_until(sequence, dependents, alert, Some(self.timeout))
    }

    #[inline]
    fn signal(&self) {
        self.inner.signal();
    }

    fn signal_all(&self) {
        self.inner.signal_all();
    }
}
