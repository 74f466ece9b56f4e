//! A cheap cycle clock for round trips: `rdtsc` (invariant TSC) calibrated against `Instant`.

use std::time::{Duration, Instant};

/// Reads the clock, in ticks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn now() -> u64 {
    // SAFETY: `lfence` and `rdtsc` exist on every x86_64 CPU and touch no memory; the fence keeps
    // the read from being hoisted above the loads of the round trip before it.
    unsafe {
        std::arch::x86_64::_mm_lfence();
        std::arch::x86_64::_rdtsc()
    }
}

/// Reads the clock, in ticks (nanoseconds since the first call off x86_64).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn now() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Ticks per nanosecond, measured over `span`.
pub fn ticks_per_ns(span: Duration) -> f64 {
    let (i0, t0) = (Instant::now(), now());
    while i0.elapsed() < span {
        std::hint::spin_loop();
    }
    let (i1, t1) = (Instant::now(), now());
    (t1 - t0) as f64 / (i1 - i0).as_nanos() as f64
}

/// The median cost of one clock read, in ticks (what a round trip's figure includes).
pub fn overhead_ticks() -> u64 {
    let mut samples: Vec<u64> = (0..10_001)
        .map(|_| {
            let a = now();
            let b = now();
            b - a
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}
