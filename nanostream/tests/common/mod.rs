//! Helpers shared by the integration tests: waiting on a condition with a deadline, a gate a
//! handler can block on, and running an operation that might hang on a thread of its own.

#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen at once before it calls it a bug.
/// Generous: a loaded 2-core CI machine in debug mode can be slow, and a pass never depends on
/// it (only a hang is turned into a failure).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A deadline `PATIENCE` from now.
pub fn deadline() -> Instant {
    Instant::now() + PATIENCE
}

/// Polls `cond` until it holds (returns `true`) or `deadline` passes (returns `false`).
///
/// Polls with short sleeps so the threads under test keep the cores. Allocates nothing, so the
/// allocation test can use it inside its counting window.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    let mut pause = Duration::from_micros(20);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

/// Waits for `cond` for up to `PATIENCE`, failing the test with `what` if it never holds.
#[track_caller]
pub fn expect_within(what: &str, cond: impl FnMut() -> bool) {
    assert!(wait_until(deadline(), cond), "timed out waiting until {what}");
}

/// Runs `f` on a thread of its own and returns its result, failing the test (instead of hanging
/// it) when `f` has not returned within `PATIENCE`. For operations a bug could make hang:
/// `shutdown`, `halt`, a publish that should be refused.
#[track_caller]
pub fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::spawn(f);
    join_within(what, thread)
}

/// Joins `thread`, failing the test when it has not finished within `PATIENCE`.
#[track_caller]
pub fn join_within<T>(what: &str, thread: JoinHandle<T>) -> T {
    assert!(
        wait_until(deadline(), || thread.is_finished()),
        "{what} did not finish within {PATIENCE:?}"
    );
    match thread.join() {
        Ok(value) => value,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// A gate a handler blocks on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<GateState>, Condvar)>,
}

#[derive(Default)]
struct GateState {
    open: bool,
    waiting: usize,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks until the gate is open.
    pub fn pass(&self) {
        let (lock, condvar) = &*self.inner;
        let mut state = lock.lock().unwrap();
        state.waiting += 1;
        condvar.notify_all();
        while !state.open {
            state = condvar.wait(state).unwrap();
        }
        state.waiting -= 1;
    }

    /// Opens the gate for good.
    pub fn open(&self) {
        let (lock, condvar) = &*self.inner;
        lock.lock().unwrap().open = true;
        condvar.notify_all();
    }

    /// Whether a thread is blocked at the gate now.
    pub fn has_waiter(&self) -> bool {
        self.inner.0.lock().unwrap().waiting > 0
    }

    /// Waits until a thread is blocked at the gate.
    #[track_caller]
    pub fn expect_waiter(&self) {
        expect_within("a handler blocks at the gate", || self.has_waiter());
    }
}

/// `(sequence, value)` for sequences `0..n` of events whose value is their sequence: what a
/// recording consumer sees when nothing is lost, duplicated or reordered.
pub fn in_order(n: i64) -> Vec<(i64, u64)> {
    (0..n).map(|s| (s, s as u64)).collect()
}

/// A multi-producer pipeline of `size` slots whose one consumer blocks at `gate` on event 0,
/// so the ring fills and stays full until the gate opens.
pub fn held_at_first_event(
    size: usize,
    gate: &Gate,
) -> nanostream::MultiProducer<u64, nanostream::BlockingWaitStrategy> {
    let held = gate.clone();
    nanostream::build_multi_producer(size, || 0u64, nanostream::BlockingWaitStrategy::new())
        .handle_events_with(move |_: &u64, sequence: i64, _: bool| {
            if sequence == 0 {
                held.pass();
            }
        })
        .build()
        .unwrap()
}
