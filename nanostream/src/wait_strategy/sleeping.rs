//! [`SleepingWaitStrategy`]: spin, then yield, then sleep briefly between checks.

use std::time::Duration;

use super::{WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::sync;
use crate::Alert;

/// Spins, then yields, then sleeps `sleep` between checks.
///
/// Low CPU use when idle at the price of latency (a sleep lasts at least the OS timer slack,
/// about 50 µs on Linux). Producers pay nothing to wake it. It checks the alert between sleeps, so
/// a halt is seen within one sleep.
#[derive(Debug, Clone, Copy)]
pub struct SleepingWaitStrategy {
    retries: u32,
    sleep: Duration,
}

impl SleepingWaitStrategy {
    /// 200 tries (100 spinning, 100 yielding), then 100 ns sleeps (LMAX's defaults).
    pub fn new() -> Self {
        Self::with(200, Duration::from_nanos(100))
    }

    /// The longest sleep between two checks: the alert is checked between sleeps, so a longer
    /// one would delay a shutdown or a halt by as much.
    pub const MAX_SLEEP: Duration = Duration::from_millis(10);

    /// `retries` tries (the first half spinning, the rest yielding), then sleeps of `sleep`
    /// (at most [`MAX_SLEEP`](Self::MAX_SLEEP): a longer one is shortened to it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use nanostream::SleepingWaitStrategy;
    ///
    /// let strategy = SleepingWaitStrategy::with(10, Duration::MAX);
    /// assert_eq!(strategy.sleep(), SleepingWaitStrategy::MAX_SLEEP);
    /// ```
    pub fn with(retries: u32, sleep: Duration) -> Self {
        Self {
            retries,
            sleep: if sleep > Self::MAX_SLEEP {
                Self::MAX_SLEEP
            } else {
                sleep
            },
        }
    }

    /// How long it sleeps between checks once it has spun and yielded.
    pub fn sleep(&self) -> Duration {
        self.sleep
    }
}

impl Default for SleepingWaitStrategy {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitStrategy for SleepingWaitStrategy {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        let mut counter = self.retries;
        loop {
            if let Some(result) = super::ready(sequence, dependents, alert) {
                return result;
            }
            if counter > self.retries / 2 {
                counter -= 1;
                sync::spin_loop();
            } else if counter > 0 {
                counter -= 1;
                sync::yield_now();
            } else {
                sleep(self.sleep);
            }
        }
    }
}

#[cfg(not(loom))]
fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}

#[cfg(loom)]
fn sleep(_duration: Duration) {
    sync::yield_now();
}
