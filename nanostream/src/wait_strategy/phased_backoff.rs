//! [`PhasedBackoffWaitStrategy`]: spin, then yield, then block.

use std::time::{Duration, Instant};

use super::{BlockingWaitStrategy, WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::sync;
use crate::Alert;

/// Spins for `spin_timeout`, yields until `spin_timeout + yield_timeout`, then blocks.
///
/// Busy-spin latency for bursts, no CPU while idle for long. Producers pay the blocking
/// strategy's signal (a fence and a load when no one is parked).
#[derive(Debug)]
pub struct PhasedBackoffWaitStrategy {
    spin_timeout: Duration,
    /// `spin_timeout + yield_timeout`, saturating: when the waiter starts to block.
    block_after: Duration,
    fallback: BlockingWaitStrategy,
}

impl PhasedBackoffWaitStrategy {
    /// Spins for `spin_timeout`, then yields for `yield_timeout`, then blocks. Any durations are
    /// accepted (`Duration::MAX` spins or yields for as long as the wait lasts); the alert is
    /// checked on every turn of each phase.
    pub fn new(spin_timeout: Duration, yield_timeout: Duration) -> Self {
        Self {
            spin_timeout,
            block_after: spin_timeout.saturating_add(yield_timeout),
            fallback: BlockingWaitStrategy::new(),
        }
    }
}

impl Default for PhasedBackoffWaitStrategy {
    /// Spins 10 µs, yields 100 µs, then blocks.
    fn default() -> Self {
        Self::new(Duration::from_micros(10), Duration::from_micros(100))
    }
}

impl WaitStrategy for PhasedBackoffWaitStrategy {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        let mut start: Option<Instant> = None;
        let mut yielding = false;
        let mut counter = 0u32;
        loop {
            if let Some(result) = super::ready(sequence, dependents, alert) {
                return result;
            }
            counter = counter.wrapping_add(1);
            // While spinning, read the clock only every 1000 turns (it costs more than a turn);
            // while yielding, every turn (a yield costs more than the clock).
            if yielding || counter.is_multiple_of(1000) {
                let elapsed = start.get_or_insert_with(Instant::now).elapsed();
                if elapsed > self.block_after {
                    return self.fallback.wait_for(sequence, dependents, alert);
                }
                yielding = elapsed > self.spin_timeout;
            }
            if yielding {
                sync::yield_now();
            } else {
                sync::spin_loop();
            }
        }
    }

    #[inline]
    fn signal(&self) {
        self.fallback.signal();
    }

    fn signal_all(&self) {
        self.fallback.signal_all();
    }
}
