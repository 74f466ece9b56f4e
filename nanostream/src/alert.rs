//! [`Alert`]: the pipeline-wide "stop now" flag every waiting party checks.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicBool, Ordering};

/// A flag that tells every waiting consumer and producer of a pipeline to stop.
///
/// It is raised by `halt`, by `shutdown` once every event is processed, and by a processor whose
/// handler failed. Wait strategies check it while they wait, and [`WaitStrategy::signal_all`]
/// wakes the ones that are parked, so no one sleeps through a halt.
///
/// [`WaitStrategy::signal_all`]: crate::WaitStrategy::signal_all
///
/// Every producer reads it on every claim, so it sits on a cache line of its own: a neighbouring
/// allocation that is written often would otherwise make each of those reads a cache miss.
#[derive(Debug, Default)]
pub struct Alert {
    raised: CachePadded<AtomicBool>,
}

impl Alert {
    /// A lowered alert.
    pub fn new() -> Self {
        Self {
            raised: CachePadded::new(AtomicBool::new(false)),
        }
    }

    /// Whether the alert has been raised.
    #[inline(always)]
    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Raises the alert. Callers then wake parked waiters with `signal_all`.
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
    }
}
