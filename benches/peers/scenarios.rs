//! One body per scenario, generic over the [`Contender`]: the same code times every
//! implementation, and checks that every value arrives, in order, before its time counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;

use crate::alloc_count::allocations;
use crate::clock;
use crate::contenders::{Contender, Setup, Topology, Tx};
use crate::cores::{on_fresh_thread, pin, Cores};

/// One trial's figures: `(metric, unit, value)`.
pub type Figures = Vec<(&'static str, &'static str, f64)>;

/// Set by the sink once the last value arrived: 1 if all arrived in order, 2 if not.
type Done = Arc<CachePadded<AtomicU64>>;

/// Starts `C` with `topology` ending in `sink` (the unicast consumer on the consumer core), then
/// pins the calling thread, the producer, to the producer core.
fn start<C: Contender>(
    topology: Topology,
    capacity: usize,
    cores: Cores,
    sink: impl FnMut(u64) + Send + 'static,
) -> C::Tx {
    let setup = Setup {
        topology,
        capacity,
        consumer_core: cores.consumer,
    };
    let tx = C::start(setup, sink);
    pin(cores.producer);
    tx
}

fn wait_done(done: &Done) -> bool {
    loop {
        match done.load(Ordering::Acquire) {
            0 => std::hint::spin_loop(),
            1 => return true,
            _ => return false,
        }
    }
}

/// Throughput of one producer: `events` values published one at a time (`batch == 1`) or in
/// batches of `batch`, timed until the last stage has seen the last one.
pub fn throughput<C: Contender>(
    topology: Topology,
    capacity: usize,
    cores: Cores,
    events: u64,
    batch: usize,
) -> Figures {
    on_fresh_thread(move || {
        let done: Done = Arc::default();
        let signal = done.clone();
        let mut expected = 0u64;
        let mut in_order = true;
        let sink = move |v: u64| {
            in_order &= v == expected;
            expected += 1;
            if expected == events {
                signal.store(if in_order { 1 } else { 2 }, Ordering::Release);
            }
        };
        let mut tx = start::<C>(topology, capacity, cores, sink);
        let allocs = allocations();
        let start = Instant::now();
        if batch == 1 {
            tx.send_each(0..events);
        } else {
            assert_eq!(events % batch as u64, 0);
            let mut v = 0;
            while v < events {
                tx.send_batch(v, batch);
                v += batch as u64;
            }
        }
        let ok = wait_done(&done);
        let elapsed = start.elapsed();
        let allocs = allocations() - allocs;
        tx.stop();
        assert!(ok, "{}: values arrived out of order", C::name());
        vec![
            ("throughput", "events/s", events as f64 / elapsed.as_secs_f64()),
            ("allocations per event", "allocs", allocs as f64 / events as f64),
        ]
    })
}

/// Throughput of two producers (both on the producer core, so at most two threads spin at a
/// time), each publishing `events_each` values tagged with its id; the consumer checks each
/// producer's values arrive in order.
pub fn throughput_2p<C>(capacity: usize, cores: Cores, events_each: u64) -> Figures
where
    C: Contender,
    C::Tx: Clone,
{
    on_fresh_thread(move || {
        let done: Done = Arc::default();
        let signal = done.clone();
        let mut next = [0u64; 2];
        let mut in_order = true;
        let mut seen = 0;
        let sink = move |v: u64| {
            let producer = (v >> 32) as usize & 1;
            in_order &= v & 0xffff_ffff == next[producer];
            next[producer] += 1;
            seen += 1;
            if seen == 2 * events_each {
                signal.store(if in_order { 1 } else { 2 }, Ordering::Release);
            }
        };
        let tx = start::<C>(Topology::Unicast, capacity, cores, sink);
        let start = Instant::now();
        std::thread::scope(|s| {
            for id in 0..2u64 {
                let mut tx = tx.clone();
                s.spawn(move || {
                    pin(cores.producer);
                    for i in 0..events_each {
                        tx.send(id << 32 | i);
                    }
                });
            }
        });
        let ok = wait_done(&done);
        let elapsed = start.elapsed();
        tx.stop();
        assert!(ok, "{}: a producer's values arrived out of order", C::name());
        vec![(
            "throughput",
            "events/s",
            2.0 * events_each as f64 / elapsed.as_secs_f64(),
        )]
    })
}

/// Times `trips` calls of `once(i)` (after `warmup` untimed ones) in clock ticks.
fn time_round_trips(warmup: u64, trips: u64, mut once: impl FnMut(u64)) -> Histogram<u64> {
    let mut histogram = Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds");
    for i in 1..=warmup {
        once(i);
    }
    for i in warmup + 1..=warmup + trips {
        let t0 = clock::now();
        once(i);
        let t1 = clock::now();
        histogram.saturating_record((t1 - t0).max(1));
    }
    histogram
}

/// The percentiles of a round-trip histogram, in nanoseconds.
fn latency_figures(h: &Histogram<u64>, ticks_per_ns: f64) -> Figures {
    let ns = |ticks: u64| ticks as f64 / ticks_per_ns;
    // The TSC of this machine advances in steps of ~10 ns, so single percentiles are quantized;
    // the mean below p99 is not (the step's phase is random), and resolves sub-step differences.
    let p99 = h.value_at_quantile(0.99);
    let (sum, count) =
        h.iter_recorded()
            .filter(|v| v.value_iterated_to() <= p99)
            .fold((0.0, 0u64), |(s, c), v| {
                (
                    s + v.value_iterated_to() as f64 * v.count_at_value() as f64,
                    c + v.count_at_value(),
                )
            });
    vec![
        (
            "round trip mean below p99",
            "ns",
            ns(1) * sum / count.max(1) as f64,
        ),
        ("round trip p50", "ns", ns(h.value_at_quantile(0.50))),
        ("round trip p99", "ns", ns(h.value_at_quantile(0.99))),
        ("round trip p99.9", "ns", ns(h.value_at_quantile(0.999))),
        ("round trip max", "ns", ns(h.max())),
    ]
}

/// Round-trip latency: publish `i`, the consumer echoes it on a padded atomic, the producer
/// spins until it sees it.
pub fn round_trip<C: Contender>(capacity: usize, cores: Cores, trips: u64, ticks_per_ns: f64) -> Figures {
    on_fresh_thread(move || {
        let echo: Arc<CachePadded<AtomicU64>> = Arc::default();
        let back = echo.clone();
        let sink = move |v: u64| back.store(v, Ordering::Release);
        let mut tx = start::<C>(Topology::Unicast, capacity, cores, sink);
        let h = time_round_trips(trips / 10, trips, |i| {
            tx.send(i);
            while echo.load(Ordering::Acquire) != i {
                std::hint::spin_loop();
            }
        });
        tx.stop();
        latency_figures(&h, ticks_per_ns)
    })
}

/// The floor: two pinned threads passing one cache-padded atomic back and forth. The producer
/// stores `2i - 1`, the other thread answers `2i` in the same atomic.
pub fn floor_round_trip(cores: Cores, trips: u64, ticks_per_ns: f64) -> Figures {
    on_fresh_thread(move || {
        let cell: Arc<CachePadded<AtomicU64>> = Arc::default();
        let other = cell.clone();
        let echo = std::thread::spawn(move || {
            pin(cores.consumer);
            loop {
                let v = other.load(Ordering::Acquire);
                if v == u64::MAX {
                    return;
                }
                if v % 2 == 1 {
                    other.store(v + 1, Ordering::Release);
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        pin(cores.producer);
        let h = time_round_trips(trips / 10, trips, |i| {
            cell.store(2 * i - 1, Ordering::Release);
            while cell.load(Ordering::Acquire) != 2 * i {
                std::hint::spin_loop();
            }
        });
        cell.store(u64::MAX, Ordering::Release);
        echo.join().expect("the echo thread panicked");
        latency_figures(&h, ticks_per_ns)
    })
}

/// A feed: `events` published in bursts of `burst` back to back, one burst every `period_ns`
/// (a steady feed is bursts of 1).
#[derive(Clone, Copy, Debug)]
pub struct Feed {
    /// Events in all.
    pub events: u64,
    /// Events published back to back.
    pub burst: u64,
    /// From the start of one burst to the start of the next.
    pub period_ns: f64,
}

/// Publish-to-handler latency under a `feed`. Each event carries the clock reading taken just
/// before its publish; the consumer records `now - then` in a histogram it owns (sized up
/// front, so recording allocates nothing) and hands it back after the last event. Both clock
/// reads are in every figure alike.
pub fn feed_latency<C: Contender>(capacity: usize, cores: Cores, feed: Feed, ticks_per_ns: f64) -> Figures {
    on_fresh_thread(move || {
        let done: Arc<std::sync::Mutex<Option<Histogram<u64>>>> = Arc::default();
        let out = done.clone();
        let mut histogram = Some(Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds"));
        let mut seen = 0;
        let sink = move |sent: u64| {
            let now = clock::now();
            if let Some(h) = histogram.as_mut() {
                h.saturating_record(now.saturating_sub(sent).max(1));
            }
            seen += 1;
            if seen == feed.events {
                *out.lock().expect("the histogram's lock is never poisoned") = histogram.take();
            }
        };
        let mut tx = start::<C>(Topology::Unicast, capacity, cores, sink);
        let period = (feed.period_ns * ticks_per_ns) as u64;
        let mut next_burst = clock::now();
        let mut sent = 0;
        while sent < feed.events {
            while clock::now() < next_burst {
                std::hint::spin_loop();
            }
            for _ in 0..feed.burst.min(feed.events - sent) {
                tx.send(clock::now());
                sent += 1;
            }
            next_burst += period;
        }
        tx.stop();
        let h = done
            .lock()
            .expect("the histogram's lock is never poisoned")
            .take()
            .unwrap_or_else(|| panic!("{}: not every event arrived", C::name()));
        let ns = |ticks: u64| ticks as f64 / ticks_per_ns;
        vec![
            ("latency p50", "ns", ns(h.value_at_quantile(0.50))),
            ("latency p99", "ns", ns(h.value_at_quantile(0.99))),
            ("latency p99.9", "ns", ns(h.value_at_quantile(0.999))),
            ("latency max", "ns", ns(h.max())),
        ]
    })
}
