//! What delivering and matching allocate, counted by a global allocator: nothing. Looking up a
//! channel's subscribers, walking the matching patterns, counting PUBLISH's receivers and
//! matching a glob all work on borrowed data.
//!
//! This binary holds a single test, so no other test thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use nanostream_net::pubsub::{glob_match, ClientId, Registry};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counter is a plain atomic and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract, which we forward.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let r = f();
    (r, ALLOCATIONS.load(Ordering::Relaxed) - before)
}

#[test]
fn publishing_and_matching_allocate_nothing() {
    let mut reg = Registry::new();
    for id in 0..50 {
        reg.subscribe(ClientId(id), b"news.tech");
        reg.psubscribe(ClientId(id), if id % 2 == 0 { b"news.*" } else { b"*.tech" });
    }
    reg.psubscribe(ClientId(99), b"weather.*");

    let (deliveries, allocs) = allocations_in(|| {
        let rx = reg.receivers(b"news.tech");
        let mut n = rx.subscribers().len();
        for (_pattern, ids) in rx {
            n += ids.len();
        }
        n
    });
    assert_eq!((deliveries, allocs), (100, 0));

    let (count, allocs) = allocations_in(|| reg.publish_count(b"news.tech"));
    assert_eq!((count, allocs), (100, 0));

    let (numbers, allocs) = allocations_in(|| (reg.numsub(b"news.tech"), reg.numpat()));
    assert_eq!((numbers, allocs), ((50, 3), 0));

    let pattern = "*a".repeat(500) + "b";
    let subject = "a".repeat(10_000);
    let (matched, allocs) = allocations_in(|| glob_match(pattern.as_bytes(), subject.as_bytes()));
    assert_eq!((matched, allocs), (false, 0));
}
