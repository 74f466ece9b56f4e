//! The ceiling of the cursor protocol: a hand-written 1P-1C ring with no library around it,
//! beside NanoStream and the `disruptor` crate, in the same run.
//!
//! The producer writes the slot and stores a cache-padded cursor; the consumer spins on the
//! cursor, with one `pause` per empty poll (`PAUSE = true`, as NanoStream's
//! `BusySpinWaitStrategy`) or none (as the `disruptor` crate's `BusySpin`), hands every value up
//! to it to the sink, then stores how far it got; the producer reads that only when its cached
//! copy says the ring might be full. That is the protocol NanoStream and the `disruptor` crate
//! both implement, minus everything a library adds (translators, alerts, wait strategies, handler
//! calls, shutdown): NanoStream ÷ ring is how much of the protocol's speed the library keeps, and
//! ring ÷ `disruptor` is the most a cursor-based design could gain over the `disruptor` crate.
//!
//! One scenario: unicast 1P-1C, each of 20 M `u64`s published on its own (NanoStream through a
//! `Publisher` session), producer and consumer pinned to the first two cores, busy spin, 64 Ki
//! slots; every implementation in turn, round after round. Every value must arrive, in order,
//! before a time counts.
//!
//! ```text
//! cargo bench --bench cursor_ceiling              # in experiments/: 7 rounds
//! cargo bench --bench cursor_ceiling -- --quick   # 2 M events, 3 rounds
//! ```

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_utils::CachePadded;
use nanostream_experiments::{median, on_fresh_thread, pin, Cores};

const RING: usize = 1 << 16;

/// One implementation: how to start a consumer that calls `sink`, publish, and stop.
trait Contender: 'static {
    /// The producer end.
    type Tx;
    /// The name in the table.
    const NAME: &'static str;
    /// Starts a consumer pinned to `core` that calls `sink` with each value, in order.
    fn start(core: usize, sink: impl FnMut(u64) + Send + 'static) -> Self::Tx;
    /// Publishes each of `values` on its own.
    fn send_each(tx: &mut Self::Tx, values: std::ops::Range<u64>);
    /// Lets the consumer finish and joins it.
    fn stop(tx: Self::Tx);
}

// ---------------------------------------------------------------------------------------------
// The hand-written ring

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

/// The hand-written cursor ring; `PAUSE`: one `pause` per empty poll.
struct BareCursor<const PAUSE: bool>;

/// The producer end of [`BareCursor`]: the claim counter and the cached consumer position live
/// in the handle, as in both libraries.
struct BareTx {
    ring: Arc<Ring>,
    /// The last claimed sequence.
    next: i64,
    /// The consumer's position at the last look.
    clear_until: i64,
    thread: JoinHandle<()>,
}

impl BareTx {
    #[inline(always)]
    fn send(&mut self, v: u64) {
        let sequence = self.next + 1;
        while sequence - (self.ring.mask + 1) > self.clear_until {
            self.clear_until = self.ring.consumed.load(Ordering::Acquire);
            std::hint::spin_loop();
        }
        self.next = sequence;
        // SAFETY: the loop above waited until the consumer had passed this slot's previous lap,
        // and the slot is not published yet: no other thread touches it.
        unsafe { *self.ring.slots[(sequence & self.ring.mask) as usize].get() = v };
        self.ring.cursor.store(sequence, Ordering::Release);
    }
}

impl<const PAUSE: bool> Contender for BareCursor<PAUSE> {
    type Tx = BareTx;
    const NAME: &'static str = if PAUSE {
        "bare cursor ring, pause per poll (no library)"
    } else {
        "bare cursor ring, no pause (no library)"
    };
    fn start(core: usize, mut sink: impl FnMut(u64) + Send + 'static) -> BareTx {
        let ring = Arc::new(Ring {
            slots: (0..RING).map(|_| UnsafeCell::new(0)).collect(),
            mask: RING as i64 - 1,
            cursor: CachePadded::new(AtomicI64::new(-1)),
            consumed: CachePadded::new(AtomicI64::new(-1)),
            stop: AtomicBool::new(false),
        });
        let shared = ring.clone();
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
    #[inline(always)]
    fn send_each(tx: &mut BareTx, values: std::ops::Range<u64>) {
        for v in values {
            tx.send(v);
        }
    }
    fn stop(tx: BareTx) {
        tx.ring.stop.store(true, Ordering::Release);
        tx.thread.join().expect("the bare consumer panicked");
    }
}

// ---------------------------------------------------------------------------------------------
// NanoStream and the disruptor crate

/// NanoStream, `BusySpinWaitStrategy`; `PACED`: the consumer has the opt-in streaming back-off.
struct Nano<const PACED: bool>;

impl<const PACED: bool> Contender for Nano<PACED> {
    type Tx = nanostream::SingleProducer<u64, nanostream::BusySpinWaitStrategy>;
    const NAME: &'static str = if PACED {
        "NanoStream (BusySpin, streaming back-off)"
    } else {
        "NanoStream (BusySpin)"
    };
    fn start(core: usize, mut sink: impl FnMut(u64) + Send + 'static) -> Self::Tx {
        let builder = nanostream::build_single_producer(RING, || 0u64, nanostream::BusySpinWaitStrategy)
            .handle_events_with(move |e: &u64, _: i64, _: bool| sink(*e))
            .pin_at_core(core);
        let builder = if PACED {
            builder.streaming_backoff(nanostream::StreamingBackoff::enabled())
        } else {
            builder
        };
        builder.build().expect("a valid pipeline")
    }
    #[inline(always)]
    fn send_each(tx: &mut Self::Tx, values: std::ops::Range<u64>) {
        let mut publisher = tx.publisher();
        for v in values {
            nanostream::Producer::publish(&mut publisher, |e, _| *e = v).expect("the pipeline is running");
        }
    }
    fn stop(tx: Self::Tx) {
        tx.shutdown().expect("no handler failed");
    }
}

/// The `disruptor` crate 4.4, `BusySpin`.
struct Disruptor;

impl Contender for Disruptor {
    type Tx = disruptor::SingleProducer<u64, disruptor::SingleConsumerBarrier>;
    const NAME: &'static str = "disruptor 4.4 (BusySpin)";
    fn start(core: usize, mut sink: impl FnMut(u64) + Send + 'static) -> Self::Tx {
        use disruptor::ProcessorSettings as _;
        disruptor::build_single_producer(RING, || 0u64, disruptor::BusySpin)
            .pin_at_core(core)
            .handle_events_with(move |e: &u64, _: i64, _: bool| sink(*e))
            .build()
    }
    #[inline(always)]
    fn send_each(tx: &mut Self::Tx, values: std::ops::Range<u64>) {
        for v in values {
            disruptor::Producer::publish(tx, |e| *e = v);
        }
    }
    fn stop(tx: Self::Tx) {
        drop(tx); // processes every published event, then joins
    }
}

// ---------------------------------------------------------------------------------------------
// The run

/// One trial of `C`: M events/s, after checking every value arrived in order.
fn trial<C: Contender>(cores: Cores, events: u64) -> f64 {
    on_fresh_thread(move || {
        // 0 while running, 1 once the last value arrived with all in order, 2 if out of order.
        let done = Arc::new(CachePadded::new(AtomicU64::new(0)));
        let signal = done.clone();
        let (mut expected, mut in_order) = (0u64, true);
        let sink = move |v: u64| {
            in_order &= v == expected;
            expected += 1;
            if expected == events {
                signal.store(if in_order { 1 } else { 2 }, Ordering::Release);
            }
        };
        let mut tx = C::start(cores.consumer, sink);
        pin(cores.producer);
        let start = Instant::now();
        C::send_each(&mut tx, 0..events);
        let outcome = loop {
            match done.load(Ordering::Acquire) {
                0 => std::hint::spin_loop(),
                v => break v,
            }
        };
        let elapsed = start.elapsed();
        C::stop(tx);
        assert_eq!(outcome, 1, "{}: values arrived out of order", C::NAME);
        events as f64 / elapsed.as_secs_f64() / 1e6
    })
}

type Trial = fn(Cores, u64) -> f64;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (events, rounds) = if quick { (2_000_000, 3) } else { (20_000_000, 7) };
    // Picked before any thread pins itself (the pick reads the calling thread's allowed cores).
    let cores = Cores::pick();
    let contenders: [(&str, Trial); 5] = [
        (Nano::<false>::NAME, trial::<Nano<false>>),
        (Nano::<true>::NAME, trial::<Nano<true>>),
        (Disruptor::NAME, trial::<Disruptor>),
        (BareCursor::<true>::NAME, trial::<BareCursor<true>>),
        (BareCursor::<false>::NAME, trial::<BareCursor<false>>),
    ];
    let mut figures = vec![Vec::new(); contenders.len()];
    for round in 0..=rounds {
        for (i, (_, run)) in contenders.iter().enumerate() {
            let mevents = run(cores, events);
            if round > 0 {
                figures[i].push(mevents);
            }
        }
    }
    let medians: Vec<f64> = figures.iter_mut().map(|v| median(v)).collect();
    let of = |name: &str| {
        medians[contenders
            .iter()
            .position(|(n, _)| *n == name)
            .expect("a contender")]
    };
    println!(
        "unicast 1P-1C, {events} events published one by one, ring of {RING}, producer on core {}, \
         consumer on core {}, busy spin; median [min–max] of {rounds} rounds after one warm-up round\n",
        cores.producer, cores.consumer
    );
    println!("| implementation | M events/s | ÷ disruptor (higher is faster) |\n|---|---:|---:|");
    for (i, (name, _)) in contenders.iter().enumerate() {
        let v = &figures[i];
        println!(
            "| {name} | {:.1} [{:.1}–{:.1}] | {:.2}× |",
            medians[i],
            v[0],
            v[v.len() - 1],
            medians[i] / of(Disruptor::NAME)
        );
    }
    println!("\n| hand-written ring | NanoStream (BusySpin) ÷ ring | NanoStream (BusySpin, streaming back-off) ÷ ring |\n|---|---:|---:|");
    for ring in [BareCursor::<true>::NAME, BareCursor::<false>::NAME] {
        println!(
            "| {ring} | {:.2}× | {:.2}× |",
            of(Nano::<false>::NAME) / of(ring),
            of(Nano::<true>::NAME) / of(ring)
        );
    }
}
