//! Zero allocations per event in steady state: a counting global allocator counts every
//! allocation made by the threads of a pipeline (producers, handler threads, a poller's
//! thread) while a window is open. After a warm-up, the window spans `N` publishes (single,
//! batch, batch-with-arguments, through a `Publisher` session, from one or two producers) and
//! their consumption (consumers pace their polls during streams) through
//! processors or a poller; it closes only once the last handler has reached the last sequence,
//! so the handlers' work is inside it. The count must be zero.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, EventHandler, Producer,
    YieldingWaitStrategy,
};

const N: i64 = if cfg!(miri) { 100 } else { 50_000 };
const WARM_UP: i64 = 1_000;

/// Counts allocations (and reallocations) made by tracked threads while the window is open.
struct Counting;

static WINDOW: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is one of the pipeline's (tests in this binary run in parallel; only
    /// the threads of the test counting are tracked).
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if WINDOW.load(Ordering::SeqCst) && TRACKED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// atomics and a const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests share the window: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Tracks the calling thread, and makes it set up its lazily allocated per-thread state now,
/// outside the window: parking_lot allocates a thread's parking data the first time it parks.
/// Tracks the test's own thread until the returned guard drops. Declared after the
/// `ONE_AT_A_TIME` guard, it untracks the thread before the next test may open its window: the
/// test harness allocates on this thread after the test body returns (to send the result), and
/// that must not count in the next test's window (it did, once in a CI run).
fn track_test_thread() -> Untrack {
    track_this_thread();
    Untrack
}

struct Untrack;

impl Drop for Untrack {
    fn drop(&mut self) {
        TRACKED.with(|t| t.set(false));
    }
}

fn track_this_thread() {
    TRACKED.with(|t| t.set(true));
    let lock = parking_lot::Mutex::new(());
    let mut guard = lock.lock();
    let _ = parking_lot::Condvar::new().wait_for(&mut guard, Duration::from_nanos(1));
}

/// Counts the allocations of tracked threads while `measured` runs and until `done` holds.
fn allocations_during(measured: impl FnOnce(), mut done: impl FnMut() -> bool) -> usize {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    WINDOW.store(true, Ordering::SeqCst);
    measured();
    let finished = common::wait_until(common::deadline(), &mut done);
    WINDOW.store(false, Ordering::SeqCst);
    assert!(
        finished,
        "the handlers did not finish within {:?}",
        common::PATIENCE
    );
    ALLOCATIONS.load(Ordering::SeqCst)
}

#[derive(Default, Clone, Copy)]
struct Tick {
    instrument: u32,
    price: i64,
    quantity: i64,
    notional: i64,
}

/// Reads events, checks them, and publishes how far it got.
struct Sum {
    total: i64,
    done: Arc<AtomicI64>,
}

impl EventHandler<Tick> for Sum {
    fn on_event(&mut self, tick: &Tick, sequence: i64, end_of_batch: bool) {
        assert_eq!(
            tick.notional,
            tick.price * tick.quantity,
            "stage 1 enriched {sequence}"
        );
        self.total = self
            .total
            .wrapping_add(tick.notional + i64::from(tick.instrument));
        if end_of_batch {
            self.done.store(sequence, Ordering::Release);
        }
    }
    fn on_start(&mut self) {
        track_this_thread();
    }
}

/// Fills in `notional`: a mutable stage.
struct Enrich;

impl nanostream::EventHandlerMut<Tick> for Enrich {
    fn on_event(&mut self, tick: &mut Tick, _: i64, _: bool) {
        tick.notional = tick.price * tick.quantity;
    }
    fn on_start(&mut self) {
        track_this_thread();
    }
}

fn tick(i: i64) -> Tick {
    Tick {
        instrument: (i % 7) as u32,
        price: 100 + i % 13,
        quantity: 1 + i % 5,
        notional: 0,
    }
}

#[test]
fn single_producer_publish_batch_publish_and_sessions_allocate_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _tracked = track_test_thread();
    let done = Arc::new(AtomicI64::new(-1));
    // Two threads: this one and one consumer, so yielding has a core each.
    let mut producer = build_single_producer(1024, Tick::default, YieldingWaitStrategy::new())
        .handle_events_mut(Enrich)
        .handle_events_with(Sum {
            total: 0,
            done: done.clone(),
        })
        .build()
        .unwrap();
    let mut publish_all = |from: i64, to: i64| {
        let mut i = from;
        while i < to {
            match i % 4 {
                0 => {
                    producer.publish(|t, _| *t = tick(i)).unwrap();
                    i += 1;
                }
                1 => {
                    let n = 16.min(to - i);
                    producer
                        .batch_publish(n as usize, |batch| {
                            for (t, j) in batch.zip(i..) {
                                *t = tick(j);
                            }
                        })
                        .unwrap();
                    i += n;
                }
                2 => {
                    let n = 8.min(to - i);
                    producer
                        .batch_publish_with(0..n as i32, |t, _, k| *t = tick(i + i64::from(k)))
                        .unwrap();
                    i += n;
                }
                _ => {
                    // A Publisher session for a run of single publishes.
                    let mut publisher = producer.publisher();
                    for j in i..to.min(i + 32) {
                        publisher.publish(|t, _| *t = tick(j)).unwrap();
                    }
                    i = to.min(i + 32);
                }
            }
        }
    };
    publish_all(0, WARM_UP);
    common::expect_within("the warm-up is consumed", || {
        done.load(Ordering::Acquire) == WARM_UP - 1
    });

    let allocations = allocations_during(
        || publish_all(WARM_UP, WARM_UP + N),
        || done.load(Ordering::Acquire) == WARM_UP + N - 1,
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(
        allocations, 0,
        "allocations during {N} publishes and their consumption"
    );
}

#[test]
fn two_producers_and_blocking_consumers_allocate_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let done = Arc::new(AtomicI64::new(-1));
    let producer = build_multi_producer(256, Tick::default, BlockingWaitStrategy::new())
        .handle_events_mut(Enrich)
        .handle_events_with(Sum {
            total: 0,
            done: done.clone(),
        })
        .build()
        .unwrap();
    let warmed_up = Arc::new(Barrier::new(3));
    let window_open = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let mut producer = producer.clone();
            let (warmed_up, window_open) = (warmed_up.clone(), window_open.clone());
            std::thread::spawn(move || {
                track_this_thread();
                let mut publish = |count: i64| {
                    for i in 0..count {
                        if i % 2 == 0 {
                            producer.publish(|t, _| *t = tick(i + id)).unwrap();
                        } else {
                            producer
                                .batch_publish(4, |batch| batch.for_each(|t| *t = tick(i)))
                                .unwrap();
                        }
                    }
                };
                publish(WARM_UP / 2);
                warmed_up.wait();
                window_open.wait();
                publish(N / 2);
            })
        })
        .collect();
    // Each producer publishes count/2 single events and count/2 batches of 4.
    let events = |count: i64| 2 * (count / 2 + 4 * (count / 2));
    warmed_up.wait();
    common::expect_within("the warm-up is consumed", || {
        done.load(Ordering::Acquire) == events(WARM_UP / 2) - 1
    });
    let allocations = allocations_during(
        || {
            window_open.wait();
        },
        || done.load(Ordering::Acquire) == events(WARM_UP / 2) + events(N / 2) - 1,
    );
    for thread in threads {
        common::join_within("a producer", thread);
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(
        allocations, 0,
        "allocations during the measured publishes and their consumption"
    );
}

#[test]
fn polling_allocates_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _tracked = track_test_thread();
    let mut producer = build_single_producer(64, Tick::default, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    let mut seen = 0i64;
    // Publishes `bursts` bursts of 16 events, polling each burst (and checking it) in between.
    let mut round = |bursts: i64| {
        for _ in 0..bursts {
            for i in 0..16 {
                producer.publish(|t, _| *t = tick(i)).unwrap();
            }
            let events = poller.poll().unwrap();
            assert_eq!(events.len(), 16);
            for (i, t) in (0..).zip(events.iter()) {
                assert_eq!(t.price, tick(i).price);
            }
            seen += events.len() as i64;
        }
    };
    round(WARM_UP / 16);
    let allocations = allocations_during(|| round(N / 16), || true);
    assert_eq!(seen, (WARM_UP / 16 + N / 16) * 16, "every event was polled");
    common::finishes("shutdown", move || {
        drop(poller);
        producer.shutdown()
    })
    .unwrap();
    assert_eq!(allocations, 0, "allocations during {N} publishes and polls");
}

#[test]
fn the_counter_counts() {
    // The measurement itself works: an allocation on a tracked thread inside the window counts.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _tracked = track_test_thread();
    let allocations = allocations_during(|| drop(std::hint::black_box(Box::new(1u64))), || true);
    assert_eq!(allocations, 1);
}
