//! [`SpinThenYield`]: the bounded back-off shared by waits that must not park.

use std::time::{Duration, Instant};

use crate::sync;

/// Spins with a spin-loop hint until `spin_for` has passed, then yields on every call.
///
/// The clock is read once every 64 calls (it costs more than a spin); under loom the spin phase
/// is skipped so models stay small.
#[derive(Debug)]
pub(crate) struct SpinThenYield {
    spin_for: Duration,
    calls: u32,
    started: Option<Instant>,
    yielding: bool,
}

impl SpinThenYield {
    pub(crate) fn new(spin_for: Duration) -> Self {
        Self {
            spin_for,
            calls: 0,
            started: None,
            yielding: cfg!(loom) || spin_for.is_zero(),
        }
    }

    /// Spends one turn of waiting.
    #[inline]
    pub(crate) fn wait(&mut self) {
        if self.yielding {
            sync::yield_now();
            return;
        }
        self.calls = self.calls.wrapping_add(1);
        if self.calls.is_multiple_of(64) {
            let started = *self.started.get_or_insert_with(Instant::now);
            self.yielding = started.elapsed() >= self.spin_for;
        }
        sync::spin_loop();
    }

    /// Whether the spin phase is over.
    pub(crate) fn is_yielding(&self) -> bool {
        self.yielding
    }
}
