//! The ceiling of the cursor protocol: a hand-written 1P-1C ring with no library around it.
//!
//! The producer writes the slot and stores a cache-padded cursor (once per batch); the consumer
//! spins on the cursor, with one `pause` per empty poll (`PAUSE = true`, as NanoStream's
//! `BusySpinWaitStrategy`) or none (as the `disruptor` crate's `BusySpin`), hands every value up to it to the sink, then stores how far it got; the producer reads that
//! only when its cached copy says the ring might be full. That is the protocol NanoStream and the
//! `disruptor` crate both implement, minus everything a library adds (translators, alerts, wait
//! strategies, handler calls, shutdown): no implementation of this protocol behind a
//! `send(&mut self, v)` call can be expected to beat it, so NanoStream ÷ this row is how much of
//! the protocol's speed the library keeps, and this row ÷ `disruptor` is the most a cursor-based
//! design could gain over the `disruptor` crate in the same run.
//!
//! It runs in the single-publish scenario only, the one target the cursor protocol misses. Its
//! `send_batch` works but is a plain indexed loop, not tuned to be a ceiling for batches.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_utils::CachePadded;

use crate::contenders::{Contender, Setup, Topology, Tx};
use crate::cores::pin;

struct Ring {
    slots: Box<[UnsafeCell<u64>]>,
    mask: i64,
    cursor: CachePadded<AtomicI64>,
    consumed: CachePadded<AtomicI64>,
    stop: AtomicBool,
}

// SAFETY: a slot is written only by the producer, only while the consumer's `consumed` says it
// has passed that slot's previous lap and before the `Release` store of `cursor` that publishes
// it; the consumer reads it only after an `Acquire` load of `cursor` has shown it published.
unsafe impl Sync for Ring {}

/// The hand-written cursor ring (unicast only); `PAUSE`: one `pause` per empty poll.
pub struct BareCursor<const PAUSE: bool>;

/// The producer end of [`BareCursor`].
pub struct BareTx {
    ring: Arc<Ring>,
    /// The last claimed sequence.
    next: i64,
    /// The consumer's position at the last look.
    clear_until: i64,
    thread: JoinHandle<()>,
}

impl BareTx {
    /// Claims `n` slots (waiting while the ring is full); returns the first.
    #[inline(always)]
    fn claim(&mut self, n: i64) -> i64 {
        let low = self.next + 1;
        let high = self.next + n;
        while high - (self.ring.mask + 1) > self.clear_until {
            self.clear_until = self.ring.consumed.load(Ordering::Acquire);
            std::hint::spin_loop();
        }
        self.next = high;
        low
    }

    #[inline(always)]
    fn write(&self, sequence: i64, v: u64) {
        // SAFETY: `sequence` was claimed by `claim`, which waited until the consumer had passed
        // its previous lap, and it is not published yet: no other thread touches the slot.
        unsafe { *self.ring.slots[(sequence & self.ring.mask) as usize].get() = v };
    }
}

impl Tx for BareTx {
    #[inline(always)]
    fn send(&mut self, v: u64) {
        let sequence = self.claim(1);
        self.write(sequence, v);
        self.ring.cursor.store(sequence, Ordering::Release);
    }
    #[inline(always)]
    fn send_batch(&mut self, first: u64, n: usize) {
        let low = self.claim(n as i64);
        for i in 0..n {
            self.write(low + i as i64, first + i as u64);
        }
        self.ring.cursor.store(low + n as i64 - 1, Ordering::Release);
    }
    fn stop(self) {
        self.ring.stop.store(true, Ordering::Release);
        self.thread.join().expect("the bare consumer panicked");
    }
}

impl<const PAUSE: bool> Contender for BareCursor<PAUSE> {
    type Tx = BareTx;
    fn name() -> String {
        let poll = if PAUSE { "pause per poll" } else { "no pause" };
        format!("bare cursor ring, {poll} (no library)")
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, mut sink: S) -> Self::Tx {
        assert_eq!(setup.topology, Topology::Unicast, "the bare ring is 1P-1C only");
        assert!(setup.capacity.is_power_of_two());
        let ring = Arc::new(Ring {
            slots: (0..setup.capacity).map(|_| UnsafeCell::new(0)).collect(),
            mask: setup.capacity as i64 - 1,
            cursor: CachePadded::new(AtomicI64::new(-1)),
            consumed: CachePadded::new(AtomicI64::new(-1)),
            stop: AtomicBool::new(false),
        });
        let shared = ring.clone();
        let core = setup.consumer_core;
        let thread = std::thread::spawn(move || {
            pin(core);
            let ring = shared;
            let mut next = 0i64;
            loop {
                let available = ring.cursor.load(Ordering::Acquire);
                if available < next {
                    // `stop` is set after the last publish: once it is seen, one more look at
                    // the cursor finds everything.
                    if ring.stop.load(Ordering::Acquire) && ring.cursor.load(Ordering::Acquire) < next {
                        return;
                    }
                    if PAUSE {
                        std::hint::spin_loop();
                    }
                    continue;
                }
                for sequence in next..=available {
                    // SAFETY: published (the `Acquire` load above), and the producer does not
                    // write this slot again until `consumed` passes it.
                    sink(unsafe { *ring.slots[(sequence & ring.mask) as usize].get() });
                }
                ring.consumed.store(available, Ordering::Release);
                next = available + 1;
            }
        });
        BareTx {
            ring,
            next: -1,
            clear_until: -1,
            thread,
        }
    }
}
