//! The append path allocates nothing in steady state: a counting global allocator (this test
//! binary's own) counts allocations made by this thread while appending, committing (fdatasync)
//! and handling events through `JournalHandler`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::TempDir;
use nanostream::EventHandler;
use nanostream_journal::{BytesCodec, Durability, Journal, JournalConfig, JournalHandler};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn config(durability: Durability) -> JournalConfig {
    // Large enough that the measured appends never rotate (rotation creates files).
    JournalConfig::new().segment_size(16 << 20).durability(durability)
}

#[test]
fn appending_and_committing_allocate_nothing() {
    let tmp = TempDir::new("alloc");
    for (name, durability) in [("never", Durability::Never), ("batch", Durability::EveryBatch)] {
        let mut j = Journal::open(tmp.join(name), config(durability)).expect("open");
        let payload = [7u8; 100];
        for _ in 0..100 {
            j.append(&payload).expect("warm-up");
        }
        j.commit().expect("commit");
        let n = count(|| {
            for i in 0..20_000u32 {
                j.append(&payload).expect("append");
                j.append_with(1, 4, |buf| buf.copy_from_slice(&i.to_le_bytes()))
                    .expect("append_with");
                if i % 200 == 199 {
                    j.commit().expect("commit");
                }
            }
        });
        assert_eq!(n, 0, "{name}: the append path allocated {n} times");
        j.close().expect("close");
    }
}

#[test]
fn the_journal_handler_allocates_nothing_per_event() {
    let tmp = TempDir::new("alloc-handler");
    let j = Journal::open(tmp.path(), config(Durability::EveryBatch)).expect("open");
    let (mut handler, handle) = JournalHandler::new(j, BytesCodec);
    let event = vec![3u8; 100];
    handler.on_start();
    for seq in 0..100 {
        handler.on_event(&event, seq, seq % 10 == 9);
    }
    let n = count(|| {
        for seq in 100..20_100 {
            handler.on_event(&event, seq, seq % 100 == 99);
        }
    });
    assert_eq!(n, 0, "JournalHandler::on_event allocated {n} times");
    assert_eq!(handle.durable_watermark().get(), 20_099);
    handler.on_shutdown();
    assert!(handle.error().is_none());
}
