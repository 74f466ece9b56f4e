//! [`YieldingWaitStrategy`]: spin a little, then yield the core on every turn.

use super::{WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::sync;
use crate::Alert;

/// Spins for a number of turns, then calls `yield_now` on every turn.
///
/// Near busy-spin latency when a consumer has a core to itself, yet it gives way when threads
/// outnumber cores, so it suits tests and pipelines with more threads than cores.
#[derive(Debug, Clone, Copy)]
pub struct YieldingWaitStrategy {
    spin_tries: u32,
}

impl YieldingWaitStrategy {
    /// Spins 100 turns before yielding (LMAX's default).
    pub fn new() -> Self {
        Self { spin_tries: 100 }
    }

    /// Spins `spin_tries` turns before yielding.
    pub fn with_spin_tries(spin_tries: u32) -> Self {
        Self { spin_tries }
    }
}

impl Default for YieldingWaitStrategy {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitStrategy for YieldingWaitStrategy {
    #[inline]
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        let mut counter = self.spin_tries;
        loop {
            if let Some(result) = super::ready(sequence, dependents, alert) {
                return result;
            }
            if counter == 0 {
                sync::yield_now();
            } else {
                counter -= 1;
                sync::spin_loop();
            }
        }
    }
}
