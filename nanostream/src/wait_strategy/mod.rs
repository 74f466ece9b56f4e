//! Wait strategies: how a consumer waits for the sequence it needs. The strategies are listed in
//! [`WaitStrategy`]'s docs; each has a file of its own.

mod backoff;
mod blocking;
mod busy_spin;
mod phased_backoff;
mod sleeping;
mod timeout_blocking;
mod yielding;

pub(crate) use backoff::SpinThenYield;
pub use blocking::BlockingWaitStrategy;
pub use busy_spin::BusySpinWaitStrategy;
pub use phased_backoff::PhasedBackoffWaitStrategy;
pub use sleeping::SleepingWaitStrategy;
pub use timeout_blocking::TimeoutBlockingWaitStrategy;
pub use yielding::YieldingWaitStrategy;

use crate::sequence::DependentSequences;
use crate::Alert;

/// Why a wait ended without the sequence being available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitError {
    /// The pipeline's [`Alert`] was raised (halt or shutdown).
    Alerted,
    /// The strategy's timeout passed (only strategies with a timeout return this); the processor
    /// calls its handler's `on_timeout` and waits again.
    Timeout,
}

/// How a consumer waits until the sequences it depends on reach the one it needs.
///
/// A strategy is shared by every producer and consumer of a pipeline. The ones NanoStream has:
///
/// | strategy | waits by | latency | CPU while idle |
/// |---|---|---|---|
/// | [`BusySpinWaitStrategy`] | spinning with a spin-loop hint | lowest | a whole core |
/// | [`YieldingWaitStrategy`] | spinning, then `yield_now` | low | high (gives way to others) |
/// | [`SleepingWaitStrategy`] | spinning, yielding, then short sleeps | medium | low |
/// | [`BlockingWaitStrategy`] | a mutex and condition variable | higher | none |
/// | [`TimeoutBlockingWaitStrategy`] | as blocking, with a timeout that calls `on_timeout` | higher | none |
/// | [`PhasedBackoffWaitStrategy`] | spinning, then yielding, then blocking | adaptive | none once blocked |
///
/// Busy-spin and yielding need a core per consumer: with more spinning threads than cores they
/// starve each other. Pin them (see [`Builder::pin_at_core`](crate::Builder::pin_at_core)).
///
/// Or implement it for a strategy of your own:
///
/// - [`wait_for`](Self::wait_for) returns the minimum of `dependents` once it is at least
///   `sequence` (it may be higher: the consumer then processes everything up to it as one
///   batch), or an error when `alert` is raised or a timeout passes. It must check `alert` while
///   it waits and return [`WaitError::Alerted`] soon after it is raised. The barrier reads the
///   dependents again after it returns and does not rely on the number for safety: a wrong one
///   cannot make a consumer read an event that is not ready, and returning early only makes the
///   consumer wait again. A panic in it halts the pipeline.
/// - [`signal`](Self::signal) is called by producers after each publish and by processors after
///   each batch. Strategies that park threads wake them here; it should cost nothing when no
///   one is parked.
/// - [`signal_all`](Self::signal_all) is called after the alert is raised and must wake every
///   parked waiter.
///
/// A strategy that spins:
///
/// ```
/// use nanostream::{Alert, DependentSequences, WaitError, WaitStrategy};
///
/// struct Spin;
/// impl WaitStrategy for Spin {
///     fn wait_for(&self, sequence: i64, dependents: &DependentSequences, alert: &Alert) -> Result<i64, WaitError> {
///         loop {
///             let available = dependents.get();
///             if available >= sequence {
///                 return Ok(available);
///             }
///             if alert.is_raised() {
///                 return Err(WaitError::Alerted);
///             }
///             std::hint::spin_loop();
///         }
///     }
/// }
/// ```
pub trait WaitStrategy: Send + Sync + 'static {
    /// Waits until `dependents.get() >= sequence` and returns that value.
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError>;

    /// Wakes waiters after a sequence they may wait on advanced. The default does nothing.
    #[inline(always)]
    fn signal(&self) {}

    /// Wakes every waiter unconditionally (after the alert is raised). Defaults to `signal`.
    fn signal_all(&self) {
        self.signal();
    }
}

/// The check at the head of every wait: `Some(Ok(available))` once the dependents have reached
/// `sequence`, `Some(Err(Alerted))` once the alert is raised, `None` to keep waiting.
#[inline(always)]
pub(crate) fn ready(
    sequence: i64,
    dependents: &DependentSequences,
    alert: &Alert,
) -> Option<Result<i64, WaitError>> {
    let available = dependents.get();
    if available >= sequence {
        Some(Ok(available))
    } else if alert.is_raised() {
        Some(Err(WaitError::Alerted))
    } else {
        None
    }
}

impl<W: WaitStrategy> WaitStrategy for crate::sync::Arc<W> {
    #[inline(always)]
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        (**self).wait_for(sequence, dependents, alert)
    }
    #[inline(always)]
    fn signal(&self) {
        (**self).signal();
    }
    fn signal_all(&self) {
        (**self).signal_all();
    }
}
