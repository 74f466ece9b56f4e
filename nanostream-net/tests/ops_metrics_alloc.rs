//! What updating `Metrics` allocates, counted by a global allocator: nothing, so the broker's
//! hot threads can update them per command and per read.
//!
//! This binary holds a single test, and only the test's own thread is counted: the test
//! harness's main thread may still be allocating (to report the test as started) while the test
//! runs, and on a loaded machine it does so during the counted loop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use nanostream_net::ops::{DisconnectReason, Metrics};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted. Const-initialised and without a
    /// destructor, so reading it never allocates.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counting reads a const thread-local and adds to an atomic, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc_zeroed`'s contract, which we forward.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, which we forward.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn updates_and_snapshots_allocate_nothing() {
    const ROUNDS: u64 = if cfg!(miri) { 100 } else { 10_000 };
    COUNTED.with(|c| c.set(true));
    let metrics = Metrics::new();
    // Construction and encoding allocate; check the counter sees them, so that the zero below
    // means something.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(Metrics::new());
    black_box(metrics.encode());
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > before);

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..ROUNDS {
        let reason = DisconnectReason::ALL[i as usize % DisconnectReason::ALL.len()];
        metrics.client_connected();
        metrics.client_disconnected(black_box(reason));
        metrics.rejected(black_box(DisconnectReason::MaxClients));
        metrics.commands(black_box(1));
        metrics.messages_in(black_box(1));
        metrics.messages_out(black_box(2));
        metrics.bytes_in(black_box(64));
        metrics.bytes_out(black_box(128));
        metrics.set_ring(black_box(i), black_box(ROUNDS));
        metrics.set_slowest_backlog(black_box(i * 8));
        black_box(metrics.snapshot());
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(allocations, 0);

    let now = metrics.snapshot();
    assert_eq!(
        (now.clients, now.connections_total, now.commands),
        (0, ROUNDS, ROUNDS)
    );
    assert_eq!(now.rejected_connections, ROUNDS + ROUNDS / 8);
    assert_eq!((now.ring_used, now.ring_capacity), (ROUNDS - 1, ROUNDS));
}
