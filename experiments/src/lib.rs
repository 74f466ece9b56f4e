//! What the experiments share: which cores the producer and the consumer run on, and pinning
//! (the same choice as the `peers` benchmark makes).

/// The producer's and the consumer's core.
#[derive(Clone, Copy, Debug)]
pub struct Cores {
    /// Where the producer (the measuring thread) runs.
    pub producer: usize,
    /// Where the consumer runs.
    pub consumer: usize,
}

impl Cores {
    /// The first two cores this (not yet pinned) thread may use; one core twice on a 1-core box.
    pub fn pick() -> Self {
        let ids: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let producer = ids.first().copied().unwrap_or(0);
        let consumer = ids.get(1).copied().unwrap_or(producer);
        Self { producer, consumer }
    }
}

/// Pins the calling thread to `core` (panics if the kernel refuses: the figures would lie).
pub fn pin(core: usize) {
    assert!(
        core_affinity::set_for_current(core_affinity::CoreId { id: core }),
        "could not pin to core {core}"
    );
}

/// Runs `f` on a fresh, unpinned thread and returns its result (the `disruptor` crate checks a
/// consumer's core against the *calling* thread's mask, so it must be built from an unpinned one).
pub fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(f).join().expect("a trial panicked")
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
