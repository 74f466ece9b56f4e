//! The broker ring's wait strategy: blocking by default, busy-spinning for dedicated cores.

use nanostream::{
    Alert, BlockingWaitStrategy, BusySpinWaitStrategy, DependentSequences, WaitError, WaitStrategy,
};

use crate::server::Profile;

/// Blocking ([`Profile::Shared`]) or busy-spinning ([`Profile::LowLatency`]), chosen when the
/// server starts.
#[derive(Debug)]
pub enum BrokerWait {
    /// A mutex and condition variable: no CPU while idle.
    Blocking(Box<BlockingWaitStrategy>),
    /// Spinning: the lowest latency, a whole core.
    Spin(BusySpinWaitStrategy),
}

impl BrokerWait {
    pub(crate) fn for_profile(profile: Profile) -> Self {
        match profile {
            Profile::Shared => BrokerWait::Blocking(Box::new(BlockingWaitStrategy::new())),
            Profile::LowLatency => BrokerWait::Spin(BusySpinWaitStrategy),
        }
    }
}

impl WaitStrategy for BrokerWait {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        match self {
            BrokerWait::Blocking(w) => w.wait_for(sequence, dependents, alert),
            BrokerWait::Spin(w) => w.wait_for(sequence, dependents, alert),
        }
    }

    fn signal(&self) {
        match self {
            BrokerWait::Blocking(w) => w.signal(),
            BrokerWait::Spin(w) => w.signal(),
        }
    }

    fn signal_all(&self) {
        match self {
            BrokerWait::Blocking(w) => w.signal_all(),
            BrokerWait::Spin(w) => w.signal_all(),
        }
    }
}
