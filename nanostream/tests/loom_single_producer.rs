//! Loom model of the single-producer sequencer: claim, write, publish and wrap-around on a ring
//! of two slots, read back through a [`SequenceBarrier`] over the cursor.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p nanostream --release
//! --test loom_single_producer`.
#![cfg(loom)]

mod loom_common;

use loom::sync::Arc;
use loom::thread;
use loom_common::{barrier_over, Slots};
use nanostream::{Alert, BusySpinWaitStrategy, ClaimError, Sequence, SingleProducerSequencer};

/// Ring size: tiny, so three events already lap it.
const SIZE: usize = 2;
/// Events published: more than `SIZE`, so the producer reuses slot 0 after the consumer freed it.
const EVENTS: i64 = 3;

/// The payload of `sequence`: distinct per lap, so a stale or overwritten slot is detected.
fn payload(sequence: i64) -> i64 {
    sequence * 10 + 7
}

/// The producer claims, writes and publishes `0..EVENTS` one at a time; the consumer must see
/// exactly those, in order, with their payloads, and the producer must never overwrite a slot the
/// consumer has not finished reading (loom's cell tracking turns either into a failure).
#[test]
fn publish_wraps_and_consumer_sees_every_event_in_order() {
    loom::model(|| {
        let wait = Arc::new(BusySpinWaitStrategy);
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let mut sequencer =
            SingleProducerSequencer::new(SIZE, vec![consumed.clone()], wait.clone(), alert.clone()).unwrap();
        let barrier = barrier_over(&[sequencer.cursor_sequence()], &wait, &alert);
        let slots = Arc::new(Slots::new(SIZE, i64::MIN));

        let producer = {
            let slots = slots.clone();
            thread::spawn(move || {
                for expected in 0..EVENTS {
                    let sequence = sequencer.next().expect("no halt in this model");
                    assert_eq!(sequence, expected, "claims are consecutive");
                    slots.write(sequence, payload(sequence));
                    sequencer.publish(sequence);
                }
            })
        };

        let mut next = 0;
        while next < EVENTS {
            let available = barrier.wait_for(next).expect("no alert in this model");
            assert!(
                available >= next && available < EVENTS,
                "available {available}, next {next}"
            );
            for sequence in next..=available {
                assert_eq!(slots.read(sequence), payload(sequence), "sequence {sequence}");
            }
            consumed.set(available);
            next = available + 1;
        }
        producer.join().unwrap();
    });
}

/// A batch claim that fills the ring, then `try_next` while the consumer frees a slot
/// concurrently: `try_next` either fails with `Full` (the consumer has not moved yet) or returns
/// the next sequence and may write its slot without racing the consumer's read of the old lap.
#[test]
fn try_next_on_full_ring_respects_the_consumer() {
    loom::model(|| {
        let wait = Arc::new(BusySpinWaitStrategy);
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let mut sequencer =
            SingleProducerSequencer::new(SIZE, vec![consumed.clone()], wait.clone(), alert.clone()).unwrap();
        let slots = Arc::new(Slots::new(SIZE, i64::MIN));
        let hi = sequencer.next_n(SIZE as i64).unwrap();
        for sequence in 0..=hi {
            slots.write(sequence, payload(sequence));
        }
        sequencer.publish_range(0, hi);
        let cursor = sequencer.cursor_sequence().clone();

        let consumer = {
            let slots = slots.clone();
            let consumed = consumed.clone();
            thread::spawn(move || {
                assert_eq!(cursor.get(), hi);
                assert_eq!(slots.read(0), payload(0));
                consumed.set(0);
            })
        };

        match sequencer.try_next() {
            Ok(sequence) => {
                assert_eq!(sequence, SIZE as i64);
                assert!(consumed.get() >= sequence - SIZE as i64, "lapped the consumer");
                slots.write(sequence, payload(sequence));
            }
            Err(e) => assert_eq!(e, ClaimError::Full),
        }
        consumer.join().unwrap();
    });
}
