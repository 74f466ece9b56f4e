//! [`BlockingWaitStrategy`]: park on a condition variable; signal only when someone is parked.

use crossbeam_utils::CachePadded;

use super::{SpinThenYield, WaitError, WaitStrategy};
use crate::sequence::DependentSequences;
use crate::sync::{fence, AtomicUsize, Condvar, Mutex, Ordering};
use crate::Alert;

/// How long a waiter spins before it starts yielding.
const SPIN_BEFORE_PARK: std::time::Duration = std::time::Duration::from_micros(2);
/// How many times a waiter yields before it parks.
const YIELDS_BEFORE_PARK: u32 = if cfg!(loom) { 0 } else { 4 };

/// Parks waiting consumers on a mutex and condition variable (parking_lot's), after a few
/// microseconds of spinning and yielding.
///
/// No CPU while idle. A publisher pays for the lock and the wake-up only when a consumer is
/// actually parked: [`signal`](WaitStrategy::signal) is a fence and one load of the waiter count
/// otherwise.
///
/// Why no wake-up is lost: a waiter increments the count, fences, then re-reads the sequence
/// (holding the mutex until it parks); a signaller writes the sequence, fences, then reads the
/// count. With a `SeqCst` fence on both sides at least one sees the other's write: either the
/// waiter sees the new sequence and does not park, or the signaller sees the waiter and takes
/// the mutex, which it can only get once the waiter is parked, so its notify reaches it.
///
/// Processors signal after every batch as well, so a later stage parked on an earlier one is
/// woken too (LMAX spins there instead, which on a machine with fewer cores than threads burns
/// the core the earlier stage needs).
#[derive(Debug)]
pub struct BlockingWaitStrategy {
    waiters: CachePadded<AtomicUsize>,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl BlockingWaitStrategy {
    /// A blocking strategy with no one parked.
    pub fn new() -> Self {
        Self {
            waiters: CachePadded::new(AtomicUsize::new(0)),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Waits like [`WaitStrategy::wait_for`], giving up with [`WaitError::Timeout`] after
    /// `timeout` when one is given.
    pub(crate) fn wait_until(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
        timeout: Option<std::time::Duration>,
    ) -> Result<i64, WaitError> {
        // Spin, then yield, for a few microseconds before parking (as crossbeam's `recv` does):
        // an event that arrives within that time is taken without a park and an unpark. In the
        // peers benchmark's blocking round trip, parking at once is 2.05x crossbeam's p50 (47.8x
        // at p99); with this phase, 0.64-1.00x (p50) and 0.88-1.04x (p99).
        let mut backoff = SpinThenYield::new(SPIN_BEFORE_PARK);
        let mut yields = 0;
        loop {
            if let Some(result) = super::ready(sequence, dependents, alert) {
                return result;
            }
            if backoff.is_yielding() {
                if yields == YIELDS_BEFORE_PARK {
                    break;
                }
                yields += 1;
            }
            backoff.wait();
        }
        // A timeout too long to add to the clock is no timeout.
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut guard = self.mutex.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            fence(Ordering::SeqCst);
            let available = dependents.get();
            if available >= sequence {
                break Ok(available);
            }
            if alert.is_raised() {
                break Err(WaitError::Alerted);
            }
            match deadline {
                None => self.condvar.wait(&mut guard),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break Err(WaitError::Timeout);
                    }
                    self.condvar.wait_for(&mut guard, deadline - now);
                }
            }
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        result
    }
}

impl Default for BlockingWaitStrategy {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitStrategy for BlockingWaitStrategy {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        self.wait_until(sequence, dependents, alert, None)
    }

    #[inline]
    fn signal(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) != 0 {
            self.signal_all();
        }
    }

    fn signal_all(&self) {
        let _guard = self.mutex.lock();
        self.condvar.notify_all();
    }
}
