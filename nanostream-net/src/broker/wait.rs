//! The broker ring's wait strategy: blocking by default, busy-spinning for dedicated cores.

use std::time::{Duration, Instant};

use nanostream::{Alert, DependentSequences, TimeoutBlockingWaitStrategy, WaitError, WaitStrategy};

use crate::server::Profile;

/// How often an idle broker thread wakes up to time out blocked `XREAD`s: the precision of
/// `BLOCK <ms>`.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Blocking ([`Profile::Shared`]) or busy-spinning ([`Profile::LowLatency`]), chosen when the
/// server starts. Both give up every 10 ms (`TICK`) without events, so that the broker can answer
/// blocked reads whose time is up.
#[derive(Debug)]
pub enum BrokerWait {
    /// A mutex and condition variable: no CPU while idle.
    Blocking(Box<TimeoutBlockingWaitStrategy>),
    /// Spinning: the lowest latency, a whole core.
    Spin,
}

impl BrokerWait {
    pub(crate) fn for_profile(profile: Profile) -> Self {
        match profile {
            Profile::Shared => BrokerWait::Blocking(Box::new(TimeoutBlockingWaitStrategy::new(TICK))),
            Profile::LowLatency => BrokerWait::Spin,
        }
    }
}

/// Spins until the dependents reach `sequence`, the alert is raised, or a [`TICK`] passes.
fn spin(sequence: i64, dependents: &DependentSequences, alert: &Alert) -> Result<i64, WaitError> {
    let deadline = Instant::now() + TICK;
    let mut turns = 0u32;
    loop {
        let available = dependents.get();
        if available >= sequence {
            return Ok(available);
        }
        if alert.is_raised() {
            return Err(WaitError::Alerted);
        }
        turns = turns.wrapping_add(1);
        // Reading the clock costs more than a turn: look at it every 1024 turns.
        if turns.is_multiple_of(1024) && Instant::now() >= deadline {
            return Err(WaitError::Timeout);
        }
        std::hint::spin_loop();
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
            BrokerWait::Spin => spin(sequence, dependents, alert),
        }
    }

    fn signal(&self) {
        match self {
            BrokerWait::Blocking(w) => w.signal(),
            BrokerWait::Spin => {}
        }
    }

    fn signal_all(&self) {
        match self {
            BrokerWait::Blocking(w) => w.signal_all(),
            BrokerWait::Spin => {}
        }
    }
}

/// Sets up the calling thread's parking state now, at its start: `parking_lot` allocates a
/// thread's queue node (and may grow its global table) the first time the thread parks, on a
/// contended lock or a timed wait. Done here, that first park is never on the hot path, which
/// then allocates nothing even when a loaded machine makes a thread park for the first time
/// in the middle of a burst.
pub(crate) fn prepare_thread_for_parking() {
    let mutex = parking_lot::Mutex::new(());
    let condvar = parking_lot::Condvar::new();
    let mut guard = mutex.lock();
    // A zero timeout parks and returns at once; it is the park that sets the thread up.
    let _ = condvar.wait_for(&mut guard, Duration::ZERO);
}
