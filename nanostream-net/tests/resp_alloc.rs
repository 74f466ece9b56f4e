//! What parsing allocates, counted by a global allocator: nothing for what a client merely
//! claims, one argument list for a complete request.
//!
//! This binary holds a single test, so no other test thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use nanostream_net::resp::{parse_request, Limits};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract, which we forward.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes requested while `f` runs.
fn counted<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let (a, b) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    let r = f();
    (
        r,
        ALLOCATIONS.load(Ordering::Relaxed) - a,
        BYTES.load(Ordering::Relaxed) - b,
    )
}

#[test]
fn claims_cost_nothing_and_a_request_costs_one_argument_list() {
    let limits = Limits::default();
    let claims: &[&[u8]] = &[
        b"*1000000000\r\n",
        b"*2147483647\r\n$536870912\r\n",
        b"*1\r\n$536870912\r\n",
        b"*1\r\n$536870912\r\nsome bytes of it",
        b"*3\r\n$7\r\npublish\r\n$4\r\nnews\r\n$100000000\r\n",
        b"PUBLISH news \"an inline request still arriving",
    ];
    for claim in claims {
        let (parsed, allocations, bytes) = counted(|| parse_request(claim, &limits).map(|r| r.is_none()));
        assert_eq!(parsed, Ok(true), "{:?}", String::from_utf8_lossy(claim));
        assert_eq!(
            (allocations, bytes),
            (0, 0),
            "{:?}",
            String::from_utf8_lossy(claim)
        );
    }

    // Errors found in a claimed header cost nothing either.
    let (e, allocations, _) = counted(|| parse_request(b"*3000000000\r\n", &limits).is_err());
    assert!(e);
    assert_eq!(allocations, 0);

    // A complete multibulk request: one Vec of exactly its argument count.
    let input = b"*3\r\n$7\r\npublish\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    let (parsed, allocations, bytes) = counted(|| {
        let (req, used) = parse_request(input, &limits).unwrap().unwrap();
        assert_eq!(used, input.len());
        req.len()
    });
    assert_eq!(parsed, 3);
    assert_eq!(allocations, 1);
    assert_eq!(bytes, 3 * size_of::<Cow<'static, [u8]>>());
}
