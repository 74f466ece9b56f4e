//! Publication flags in the slots versus the LMAX cursor: the bare protocol experiment behind
//! NanoStream's choice to keep the cursor (`experiments/README.md`).
//!
//! Eight bare 1P-1C protocols stream `u64`s through a ring of 64 Ki slots, producer and consumer
//! pinned to the first two cores this process may use (as in `peers`), busy-spinning,
//! interleaved over several rounds, publishing one event at a time and then in batches of 64:
//!
//! - `cursor`: the LMAX protocol. The producer writes the slot, then stores a shared cursor (once
//!   per batch); the consumer spins on the cursor.
//! - `cursor + 1 store`: `cursor` plus one more store per publish to a line no other core reads:
//!   the library's producer, whose claim counter stays in memory (in a register it would be
//!   `cursor`).
//! - `flag in slot`: the producer writes the event and then a sequence stamp in the same slot
//!   (same cache line); the consumer spins on the stamp of the slot it wants next.
//! - `flag array`: the same stamps, in an array of their own.
//! - `flag in slot + 1 store`: `flag in slot` plus one more store per publish to a line no other
//!   core reads (what a per-publish cursor store, or a producer counter kept in memory, costs).
//! - `cursor, 16-byte slots`: the cursor protocol over the slots of `flag in slot` (event and
//!   stamp), stamps unused: what the flag's footprint alone costs.
//! - `flag per line of 7`: seven events and one stamp (the highest published of the seven) per
//!   64-byte line, so the footprint grows by 1/7 instead of doubling.
//! - `flag per line of 7 + 1 store`: as above, plus the store of `flag in slot + 1 store`.
//!
//! `cargo bench --bench slot_flags` (in `experiments/`) prints two markdown tables (M events/s,
//! median and min–max).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use nanostream_experiments::{pin, Cores};

/// Events per trial, and rounds after one warm-up round: (full run, `-- --quick`).
const EVENTS: (i64, i64) = (20_000_000, 2_000_000);
const SIZE: usize = 1 << 16;
const MASK: i64 = SIZE as i64 - 1;
const ROUNDS: (usize, usize) = (7, 3);

/// A slot with its stamp in front of the event.
#[repr(C)]
struct Slot {
    stamp: AtomicI64,
    event: UnsafeCell<u64>,
}

struct Ring {
    slots: Box<[Slot]>,
    plain: Box<[UnsafeCell<u64>]>,
    blocks: Box<[Block]>,
    stamps: Box<[AtomicI64]>,
    cursor: CachePadded<AtomicI64>,
    consumed: CachePadded<AtomicI64>,
}

// SAFETY: every `UnsafeCell` in the ring is written by the producer only before it publishes the
// slot (stamp or cursor, `Release`) and read by the consumer only after it sees that (`Acquire`);
// the producer does not write a slot again before the consumer's `consumed` has passed it.
unsafe impl Sync for Ring {}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    Cursor,
    CursorPlusStore,
    FlagInSlot,
    FlagArray,
    FlagInSlotPlusStore,
    CursorOverSlots,
    FlagPerLine,
    FlagPerLinePlusStore,
}

impl Protocol {
    const ALL: [Protocol; 8] = [
        Protocol::Cursor,
        Protocol::CursorPlusStore,
        Protocol::FlagInSlot,
        Protocol::FlagArray,
        Protocol::FlagInSlotPlusStore,
        Protocol::CursorOverSlots,
        Protocol::FlagPerLine,
        Protocol::FlagPerLinePlusStore,
    ];
    fn name(self) -> &'static str {
        match self {
            Protocol::Cursor => "cursor (LMAX)",
            Protocol::CursorPlusStore => "cursor + 1 store",
            Protocol::FlagInSlot => "flag in slot",
            Protocol::FlagArray => "flag array",
            Protocol::FlagInSlotPlusStore => "flag in slot + 1 store",
            Protocol::CursorOverSlots => "cursor, 16-byte slots",
            Protocol::FlagPerLine => "flag per line of 7",
            Protocol::FlagPerLinePlusStore => "flag per line of 7 + 1 store",
        }
    }
}

/// Seven events and the stamp of the highest published one, in one cache line.
#[repr(C, align(64))]
struct Block {
    stamp: AtomicI64,
    events: [UnsafeCell<u64>; PER_LINE],
}

const PER_LINE: usize = 7;

fn block(ring: &Ring, sequence: i64) -> (&Block, usize) {
    let index = (sequence & MASK) as usize;
    (&ring.blocks[index / PER_LINE], index % PER_LINE)
}

/// Whether `next` is published, as the consumer sees it under `protocol`.
fn published(ring: &Ring, protocol: Protocol, next: i64) -> bool {
    let index = (next & MASK) as usize;
    match protocol {
        Protocol::Cursor | Protocol::CursorPlusStore | Protocol::CursorOverSlots => {
            ring.cursor.load(Ordering::Acquire) >= next
        }
        Protocol::FlagArray => ring.stamps[index].load(Ordering::Acquire) == next,
        Protocol::FlagInSlot | Protocol::FlagInSlotPlusStore => {
            ring.slots[index].stamp.load(Ordering::Acquire) == next
        }
        Protocol::FlagPerLine | Protocol::FlagPerLinePlusStore => {
            block(ring, next).0.stamp.load(Ordering::Acquire) >= next
        }
    }
}

fn read(ring: &Ring, protocol: Protocol, sequence: i64) -> u64 {
    let index = (sequence & MASK) as usize;
    let cell = match protocol {
        Protocol::Cursor | Protocol::CursorPlusStore | Protocol::FlagArray => &ring.plain[index],
        Protocol::FlagInSlot | Protocol::FlagInSlotPlusStore | Protocol::CursorOverSlots => {
            &ring.slots[index].event
        }
        Protocol::FlagPerLine | Protocol::FlagPerLinePlusStore => {
            let (block, at) = block(ring, sequence);
            &block.events[at]
        }
    };
    // SAFETY: `published` returned true for `sequence` (Acquire), so the producer's write is
    // visible and it will not write this slot again until `consumed` passes `sequence`.
    unsafe { *cell.get() }
}

/// One trial: returns M events/s.
fn trial(protocol: Protocol, batch: i64, cores: Cores, events: i64) -> f64 {
    let ring = Arc::new(Ring {
        slots: (0..SIZE)
            .map(|_| Slot {
                stamp: AtomicI64::new(-1),
                event: UnsafeCell::new(0),
            })
            .collect(),
        plain: (0..SIZE).map(|_| UnsafeCell::new(0)).collect(),
        blocks: (0..SIZE.div_ceil(PER_LINE))
            .map(|_| Block {
                stamp: AtomicI64::new(-1),
                events: std::array::from_fn(|_| UnsafeCell::new(0)),
            })
            .collect(),
        stamps: (0..SIZE).map(|_| AtomicI64::new(-1)).collect(),
        cursor: CachePadded::new(AtomicI64::new(-1)),
        consumed: CachePadded::new(AtomicI64::new(-1)),
    });
    let consumer = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            pin(cores.consumer);
            let mut sum = 0u64;
            let mut next = 0;
            while next < events {
                if !published(&ring, protocol, next) {
                    std::hint::spin_loop();
                    continue;
                }
                let mut high = next;
                while high + 1 < events
                    && high + 1 < next + SIZE as i64
                    && published(&ring, protocol, high + 1)
                {
                    high += 1;
                }
                for sequence in next..=high {
                    sum = sum.wrapping_add(read(&ring, protocol, sequence));
                }
                ring.consumed.store(high, Ordering::Release);
                next = high + 1;
            }
            sum
        })
    };
    pin(cores.producer);
    let mut other_line = 0i64;
    let mut clear_until = -1i64;
    let start = Instant::now();
    let mut low = 0i64;
    while low < events {
        let high = low + batch - 1;
        while high - SIZE as i64 > clear_until {
            clear_until = ring.consumed.load(Ordering::Acquire);
        }
        match protocol {
            Protocol::Cursor | Protocol::CursorPlusStore | Protocol::FlagArray => {
                for sequence in low..=high {
                    let index = (sequence & MASK) as usize;
                    // SAFETY: the consumer has passed `high - SIZE >= sequence - SIZE` (checked
                    // above) and does not read this slot before the publish below.
                    unsafe { *ring.plain[index].get() = sequence as u64 };
                }
                if protocol != Protocol::FlagArray {
                    ring.cursor.store(high, Ordering::Release);
                } else {
                    for sequence in low..=high {
                        ring.stamps[(sequence & MASK) as usize].store(sequence, Ordering::Release);
                    }
                }
            }
            Protocol::CursorOverSlots => {
                for sequence in low..=high {
                    // SAFETY: as above.
                    unsafe { *ring.slots[(sequence & MASK) as usize].event.get() = sequence as u64 };
                }
                ring.cursor.store(high, Ordering::Release);
            }
            Protocol::FlagInSlot | Protocol::FlagInSlotPlusStore => {
                for sequence in low..=high {
                    let slot = &ring.slots[(sequence & MASK) as usize];
                    // SAFETY: as above.
                    unsafe { *slot.event.get() = sequence as u64 };
                    slot.stamp.store(sequence, Ordering::Release);
                }
            }
            Protocol::FlagPerLine | Protocol::FlagPerLinePlusStore => {
                for sequence in low..=high {
                    let (block, at) = block(&ring, sequence);
                    // SAFETY: as above.
                    unsafe { *block.events[at].get() = sequence as u64 };
                    // The stamp goes in when the line is full or the batch ends.
                    if at == PER_LINE - 1 || sequence == high || (sequence & MASK) == MASK {
                        block.stamp.store(sequence, Ordering::Release);
                    }
                }
            }
        }
        if matches!(
            protocol,
            Protocol::CursorPlusStore | Protocol::FlagInSlotPlusStore | Protocol::FlagPerLinePlusStore
        ) {
            // SAFETY: `other_line` is a live local; the volatile write only stops the compiler
            // from keeping it in a register.
            unsafe { std::ptr::write_volatile(&mut other_line, high) };
        }
        low = high + 1;
    }
    let sum = consumer.join().expect("the consumer does not panic");
    let elapsed = start.elapsed().as_secs_f64();
    std::hint::black_box(other_line);
    assert_eq!(
        sum,
        (events as u64 - 1) * events as u64 / 2,
        "an event was lost or repeated"
    );
    events as f64 / elapsed / 1e6
}

fn main() {
    // Picked before this thread pins itself (the pick reads the calling thread's allowed cores).
    let cores = Cores::pick();
    let quick = std::env::args().any(|a| a == "--quick");
    let (events, rounds) = if quick {
        (EVENTS.1, ROUNDS.1)
    } else {
        (EVENTS.0, ROUNDS.0)
    };
    println!(
        "1P-1C, {events} u64 events, ring of {SIZE}, producer on core {}, consumer on core {}, busy spin",
        cores.producer, cores.consumer
    );
    println!("median [min–max] of {rounds} rounds after one warm-up round");
    for batch in [1, 64] {
        let mut figures = vec![Vec::new(); Protocol::ALL.len()];
        for _ in 0..=rounds {
            for (i, protocol) in Protocol::ALL.into_iter().enumerate() {
                figures[i].push(trial(protocol, batch, cores, events));
            }
        }
        println!("\n| protocol, batches of {batch} | M events/s | ÷ cursor |");
        println!("|---|---:|---:|");
        let median = |v: &mut Vec<f64>| {
            v.remove(0); // warm-up
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let medians: Vec<f64> = figures.iter_mut().map(median).collect();
        for (i, protocol) in Protocol::ALL.into_iter().enumerate() {
            let v = &figures[i];
            println!(
                "| {} | {:.1} [{:.1}–{:.1}] | {:.2}× |",
                protocol.name(),
                medians[i],
                v[0],
                v[v.len() - 1],
                medians[i] / medians[0]
            );
        }
    }
}
