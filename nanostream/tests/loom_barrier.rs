//! Loom model of [`SequenceBarrier`] with upstream dependencies: a two-stage chain where stage 1
//! writes into each event before advancing its sequence and stage 2 waits on stage 1.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p nanostream --release
//! --test loom_barrier`.
#![cfg(loom)]

mod loom_common;

use loom::sync::Arc;
use loom::thread;
use loom_common::{barrier_over, Slots};
use nanostream::{Alert, BlockingWaitStrategy, Sequence, SingleProducerSequencer, WaitStrategy};

/// Ring size: three events lap it, so the producer waits for stage 2 (the gating stage).
const SIZE: usize = 2;
/// Events published.
const EVENTS: i64 = 3;

/// An event: the producer writes `value`, stage 1 writes `doubled`, stage 2 reads both.
#[derive(Clone, Copy)]
struct Event {
    value: i64,
    doubled: i64,
}

/// An event before the producer's first write.
const EMPTY: Event = Event {
    value: -1,
    doubled: -1,
};

/// The producer's payload for `sequence`.
fn payload(sequence: i64) -> i64 {
    sequence * 10 + 7
}

/// Producer (main thread) → stage 1 (depends on the cursor, writes `doubled`) → stage 2 (depends
/// on stage 1's sequence), the producer gated on stage 2, with the blocking wait strategy (a
/// waiter parks, so loom need not explore unbounded spinning). Stage 2 must see stage 1's write
/// for every event (no race: the write happens before stage 1's `Release` of its sequence), must
/// never be handed a sequence stage 1 has not finished, and the producer must never reuse a slot
/// stage 2 is still reading.
#[test]
fn stage_two_sees_stage_one_writes_and_never_overtakes_it() {
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let stage1 = Arc::new(Sequence::default());
        let stage2 = Arc::new(Sequence::default());
        let mut sequencer =
            SingleProducerSequencer::new(SIZE, vec![stage2.clone()], wait.clone(), alert.clone()).unwrap();
        let barrier1 = barrier_over(&[sequencer.cursor_sequence()], &wait, &alert);
        let barrier2 = barrier_over(&[&stage1], &wait, &alert);
        let slots = Arc::new(Slots::new(SIZE, EMPTY));

        let first = {
            let (slots, stage1, wait) = (slots.clone(), stage1.clone(), wait.clone());
            thread::spawn(move || {
                let mut next = 0;
                while next < EVENTS {
                    let hi = barrier1.wait_for(next).expect("no alert in this model");
                    for sequence in next..=hi {
                        slots.update(sequence, |e| {
                            assert_eq!(e.value, payload(sequence), "stage 1 read a stale event");
                            e.doubled = e.value * 2;
                        });
                    }
                    stage1.set(hi);
                    // As a processor does after each batch: wake stages parked on this one.
                    wait.signal();
                    next = hi + 1;
                }
            })
        };
        let second = {
            let (slots, stage1, stage2, wait) = (slots.clone(), stage1.clone(), stage2.clone(), wait.clone());
            thread::spawn(move || {
                let mut next = 0;
                while next < EVENTS {
                    let hi = barrier2.wait_for(next).expect("no alert in this model");
                    assert!(hi <= stage1.get(), "stage 2 handed {hi}, ahead of stage 1");
                    for sequence in next..=hi {
                        let event = slots.read(sequence);
                        assert_eq!(event.value, payload(sequence));
                        assert_eq!(event.doubled, payload(sequence) * 2, "missed stage 1's write");
                    }
                    stage2.set(hi);
                    wait.signal();
                    next = hi + 1;
                }
            })
        };

        for expected in 0..EVENTS {
            let sequence = sequencer.next().expect("no halt in this model");
            assert_eq!(sequence, expected);
            slots.update(sequence, |e| {
                e.value = payload(sequence);
                e.doubled = -1;
            });
            sequencer.publish(sequence);
        }
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(stage2.get(), EVENTS - 1);
    });
}

/// A diamond: stages A and B both depend on the cursor and each write their own field of the
/// event; stage C depends on both (a barrier over two sequences, which waits for their minimum).
/// C must see both writes for every event however A and B interleave, so it can never run ahead
/// of the slower of the two.
#[test]
fn stage_after_two_parallel_stages_waits_for_the_slower() {
    /// Two events on a ring of two: no wrap, the point is the minimum of two upstream sequences.
    const DIAMOND_EVENTS: i64 = 2;
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let done = Arc::new(Sequence::default());
        let mut sequencer =
            SingleProducerSequencer::new(SIZE, vec![done.clone()], wait.clone(), alert.clone()).unwrap();
        let cursor = sequencer.cursor_sequence().clone();
        // One cell per writer: A's and B's writes to the same event must not race each other.
        let values = Arc::new(Slots::new(SIZE, EMPTY));
        let from_a = Arc::new(Slots::new(SIZE, EMPTY));
        let from_b = Arc::new(Slots::new(SIZE, EMPTY));

        // Published before the stages start (a fourth thread would make the model too big to
        // explore); the stages still race each other.
        for expected in 0..DIAMOND_EVENTS {
            let sequence = sequencer.next().expect("no halt in this model");
            assert_eq!(sequence, expected);
            values.update(sequence, |e| e.value = payload(sequence));
            sequencer.publish(sequence);
        }

        let parallel_stage = |out: &Arc<Slots<Event>>, factor: i64| {
            let progress = Arc::new(Sequence::default());
            let barrier = barrier_over(&[&cursor], &wait, &alert);
            let (values, out, mine, wait) = (values.clone(), out.clone(), progress.clone(), wait.clone());
            let handle = thread::spawn(move || {
                let mut next = 0;
                while next < DIAMOND_EVENTS {
                    let hi = barrier.wait_for(next).expect("no alert in this model");
                    for sequence in next..=hi {
                        let value = values.read(sequence).value;
                        out.update(sequence, |e| e.value = value * factor);
                    }
                    mine.set(hi);
                    wait.signal();
                    next = hi + 1;
                }
            });
            (progress, handle)
        };
        let (a, stage_a) = parallel_stage(&from_a, 2);
        let (b, stage_b) = parallel_stage(&from_b, 3);

        let barrier_c = barrier_over(&[&a, &b], &wait, &alert);
        let stage_c = {
            let (values, from_a, from_b, done) =
                (values.clone(), from_a.clone(), from_b.clone(), done.clone());
            thread::spawn(move || {
                let mut next = 0;
                while next < DIAMOND_EVENTS {
                    let hi = barrier_c.wait_for(next).expect("no alert in this model");
                    assert!(
                        hi <= a.get() && hi <= b.get(),
                        "stage C handed {hi}, ahead of A or B"
                    );
                    for sequence in next..=hi {
                        let value = values.read(sequence).value;
                        assert_eq!(value, payload(sequence));
                        assert_eq!(from_a.read(sequence).value, value * 2, "missed A's write");
                        assert_eq!(from_b.read(sequence).value, value * 3, "missed B's write");
                    }
                    done.set(hi);
                    next = hi + 1;
                }
            })
        };

        for stage in [stage_a, stage_b, stage_c] {
            stage.join().unwrap();
        }
        assert_eq!(done.get(), DIAMOND_EVENTS - 1);
    });
}
