//! [`BusySpinWaitStrategy`]: spin on the sequence with a spin-loop hint.

use super::{WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::sync;
use crate::Alert;

/// Spins on the dependent sequences, with a spin-loop hint (`pause` on x86) each turn.
///
/// The lowest latency there is, for a whole core per consumer: use it only with consumers pinned
/// to cores of their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusySpinWaitStrategy;

impl WaitStrategy for BusySpinWaitStrategy {
    #[inline]
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        loop {
            if let Some(result) = super::ready(sequence, dependents, alert) {
                return result;
            }
            sync::spin_loop();
        }
    }
}
