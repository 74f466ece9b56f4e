//! Loom models of the multi-producer sequencer: two producers claiming and publishing on a tiny
//! ring read through the [`AvailabilityBuffer`], and two producers racing `try_next_n` for the
//! last free slots.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p nanostream --release
//! --test loom_multi_producer`.
#![cfg(loom)]

mod loom_common;

use loom::sync::Arc;
use loom::thread;
use loom_common::{multi_barrier, Slots};
use nanostream::{
    Alert, AvailabilityBuffer, BusySpinWaitStrategy, ClaimError, MultiProducerSequencer, Sequence,
    SequenceBarrier,
};

/// Each slot holds `(producer, index within that producer)`; `EMPTY` before its first write.
type Event = (u8, u8);
const EMPTY: Event = (u8::MAX, u8::MAX);

/// Builds a sequencer over `size` slots gated on one consumer, and that consumer's barrier over
/// the claim cursor and the availability flags.
#[allow(clippy::type_complexity)]
fn pipeline(
    size: usize,
) -> (
    Arc<MultiProducerSequencer<BusySpinWaitStrategy>>,
    SequenceBarrier<BusySpinWaitStrategy, Arc<AvailabilityBuffer>>,
    Arc<Sequence>,
) {
    let wait = Arc::new(BusySpinWaitStrategy);
    let alert = Arc::new(Alert::new());
    let consumed = Arc::new(Sequence::default());
    let sequencer = Arc::new(
        MultiProducerSequencer::new(size, vec![consumed.clone()], wait.clone(), alert.clone()).unwrap(),
    );
    let barrier = multi_barrier(&sequencer, &wait, &alert);
    (sequencer, barrier, consumed)
}

/// Spawns producer `id`, which claims, writes `(id, index)` and publishes `count` events one at
/// a time.
fn spawn_producer(
    id: u8,
    count: u8,
    sequencer: &Arc<MultiProducerSequencer<BusySpinWaitStrategy>>,
    slots: &Arc<Slots<Event>>,
) -> thread::JoinHandle<()> {
    let sequencer = sequencer.clone();
    let slots = slots.clone();
    thread::spawn(move || {
        for index in 0..count {
            let sequence = sequencer.next().expect("no halt in this model");
            slots.write(sequence, (id, index));
            sequencer.publish(sequence);
        }
    })
}

/// Consumes `first..end` through `barrier`, checking that every event comes from a producer
/// (was written before it was read), that each producer's events arrive in the order it
/// published them, and counting them per producer.
fn consume(
    barrier: &SequenceBarrier<BusySpinWaitStrategy, Arc<AvailabilityBuffer>>,
    consumed: &Sequence,
    slots: &Slots<Event>,
    first: i64,
    end: i64,
    seen_per_producer: &mut [u8; 3],
) {
    let mut next = first;
    while next < end {
        let hi = barrier.wait_for(next).expect("no alert in this model");
        assert!(hi >= next && hi < end, "hi {hi}, next {next}");
        for sequence in next..=hi {
            let (id, index) = slots.read(sequence);
            assert!(id < 3, "sequence {sequence} read before it was written");
            assert_eq!(
                index, seen_per_producer[id as usize],
                "producer {id}: events out of order or seen twice"
            );
            seen_per_producer[id as usize] += 1;
        }
        consumed.set(hi);
        next = hi + 1;
    }
}

/// Two producers publish two events each, one claim at a time, through a shared sequencer on a
/// ring of four; the consumer reads through a barrier over the claim cursor and the availability
/// flags. A producer may publish its later sequence before the other publishes its earlier one:
/// the consumer must still read every event exactly once, only after it was written (loom checks
/// the causality of every slot access), and each producer's events in the order it published
/// them.
#[test]
fn two_producers_publish_and_consumer_reads_each_event_once() {
    const SIZE: usize = 4;
    loom::model(|| {
        let (sequencer, barrier, consumed) = pipeline(SIZE);
        let slots = Arc::new(Slots::new(SIZE, EMPTY));
        let producers = [
            spawn_producer(0, 2, &sequencer, &slots),
            spawn_producer(1, 2, &sequencer, &slots),
        ];
        let mut seen = [0u8; 3];
        consume(&barrier, &consumed, &slots, 0, 4, &mut seen);
        assert_eq!(seen, [2, 2, 0], "every event exactly once");
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(sequencer.cursor(), 3);
    });
}

/// Wrap-around with two producers on a ring of two: sequence 0 is already published (by the main
/// thread, "producer 2"), and two producers claim one slot each, so whichever gets sequence 2
/// reuses slot 0 and must wait until the consumer has read sequence 0. The consumer must not take
/// slot 0's lap-0 flag for sequence 2 (it would read a stale event), and the producer must not
/// overwrite slot 0 before it was read (loom's cell tracking reports either).
///
/// (A model where both producers publish several events on the ring of two would let one producer
/// spin for capacity while the consumer spins on a slot the other has claimed but not published:
/// two threads spinning on a third, which loom cannot bound.)
#[test]
fn two_producers_wrap_a_ring_of_two() {
    const SIZE: usize = 2;
    loom::model(|| {
        let (sequencer, barrier, consumed) = pipeline(SIZE);
        let slots = Arc::new(Slots::new(SIZE, EMPTY));
        let first = sequencer.next().unwrap();
        slots.write(first, (2, 0));
        sequencer.publish(first);
        let producers = [
            spawn_producer(0, 1, &sequencer, &slots),
            spawn_producer(1, 1, &sequencer, &slots),
        ];
        let mut seen = [0u8; 3];
        consume(&barrier, &consumed, &slots, 0, 3, &mut seen);
        assert_eq!(seen, [1, 1, 1], "every event exactly once");
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(sequencer.cursor(), 2);
    });
}

/// Two producers race `try_next_n` (one for two slots, one for one) on a ring of four with two
/// slots already claimed, while the consumer frees one slot. Claims never overlap, a claim is
/// always consecutive from the cursor, and no claim laps the consumer's sequence as it was when
/// the claim succeeded: capacity is never exceeded.
#[test]
fn racing_try_next_never_overlaps_or_exceeds_capacity() {
    const SIZE: usize = 4;
    loom::model(|| {
        let wait = Arc::new(BusySpinWaitStrategy);
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let sequencer =
            Arc::new(MultiProducerSequencer::new(SIZE, vec![consumed.clone()], wait, alert).unwrap());
        // Two slots in use: two free, until the consumer finishes sequence 0.
        assert_eq!(sequencer.next_n(2), Ok(1));
        sequencer.publish_range(0, 1);

        let claims: Vec<_> = [2i64, 1]
            .into_iter()
            .map(|n| {
                let sequencer = sequencer.clone();
                let consumed = consumed.clone();
                thread::spawn(move || match sequencer.try_next_n(n) {
                    Ok(hi) => {
                        // The consumer's sequence only grows, so reading it after the claim gives
                        // an upper bound of what the claim was allowed to reach.
                        let limit = consumed.get() + SIZE as i64;
                        assert!(hi <= limit, "claimed up to {hi}, capacity ends at {limit}");
                        Some((hi - n + 1, hi))
                    }
                    Err(e) => {
                        assert_eq!(e, ClaimError::Full);
                        None
                    }
                })
            })
            .collect();
        let consumer = {
            let consumed = consumed.clone();
            thread::spawn(move || consumed.set(0))
        };

        let mut got: Vec<(i64, i64)> = claims.into_iter().filter_map(|t| t.join().unwrap()).collect();
        consumer.join().unwrap();
        got.sort_unstable();
        // Disjoint and gapless from sequence 2, ending at the cursor.
        let mut expected_low = 2;
        for &(low, hi) in &got {
            assert_eq!(low, expected_low, "claims overlap or leave a gap: {got:?}");
            expected_low = hi + 1;
        }
        assert_eq!(sequencer.cursor(), expected_low - 1);
        assert!(sequencer.cursor() <= SIZE as i64, "ring over-claimed: {got:?}");
        // With the consumer at -1 only two slots are free: at least one producer succeeds.
        assert!(!got.is_empty(), "two free slots but no claim succeeded");
    });
}
