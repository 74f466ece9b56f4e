//! Loom models of halt/alert and of wake-ups: a consumer waiting in a barrier and a producer
//! waiting for capacity both give up once the alert is raised, and a consumer parked by the
//! blocking strategy is always woken by a publish.
//!
//! Loom reports a deadlock when every thread is parked (a lost wake-up) and a model failure when a
//! thread spins forever, so "never hangs" is checked, not assumed.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p nanostream --release
//! --test loom_alert`.
#![cfg(loom)]

mod loom_common;

use loom::sync::Arc;
use loom::thread;
use loom_common::{barrier_over, multi_barrier};
use nanostream::{
    Alert, BlockingWaitStrategy, BusySpinWaitStrategy, ClaimError, MultiProducerSequencer, Sequence,
    SingleProducerSequencer, WaitError, WaitStrategy, YieldingWaitStrategy,
};

/// A consumer parked in `wait_for` with the blocking strategy returns `Alerted` after another
/// thread calls `barrier.alert()`, whether the alert comes before it parks, while it is parked, or
/// between its check of the alert and its park.
#[test]
fn blocking_wait_returns_alerted_after_barrier_alert() {
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let cursor = Arc::new(Sequence::default());
        let barrier = Arc::new(barrier_over(&[&cursor], &wait, &alert));

        let consumer = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_for(0))
        };
        barrier.alert();
        assert_eq!(consumer.join().unwrap(), Err(WaitError::Alerted));
        assert!(barrier.is_alerted());
    });
}

/// The same with the yielding strategy and the alert raised by hand (`raise` then
/// `signal_all`, as `halt` does): the spinning consumer notices and returns `Alerted`.
#[test]
fn yielding_wait_returns_alerted_after_raise() {
    loom::model(|| {
        let wait = Arc::new(YieldingWaitStrategy::with_spin_tries(1));
        let alert = Arc::new(Alert::new());
        let cursor = Arc::new(Sequence::default());
        let barrier = barrier_over(&[&cursor], &wait, &alert);

        let consumer = thread::spawn(move || barrier.wait_for(0));
        alert.raise();
        wait.signal_all();
        assert_eq!(consumer.join().unwrap(), Err(WaitError::Alerted));
    });
}

/// A consumer of a multi-producer ring waiting on a slot that was claimed but will never be
/// published (its producer gave up) spins in the barrier, not in the strategy: it too must return
/// `Alerted` once the alert is raised.
#[test]
fn wait_on_claimed_but_unpublished_slot_returns_alerted() {
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let sequencer = MultiProducerSequencer::new(4, vec![consumed], wait.clone(), alert.clone()).unwrap();
        let barrier = Arc::new(multi_barrier(&sequencer, &wait, &alert));

        let consumer = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_for(0))
        };
        assert_eq!(sequencer.next(), Ok(0)); // claimed, never published
        barrier.alert();
        assert_eq!(consumer.join().unwrap(), Err(WaitError::Alerted));
    });
}

/// A single producer waiting for capacity on a full ring whose consumer never moves returns
/// `Halted` once the alert is raised, instead of spinning forever.
#[test]
fn single_producer_waiting_on_full_ring_halts() {
    loom::model(|| {
        let wait = Arc::new(BusySpinWaitStrategy);
        let alert = Arc::new(Alert::new());
        let stuck = Arc::new(Sequence::default());
        let mut sequencer = SingleProducerSequencer::new(2, vec![stuck], wait, alert.clone()).unwrap();
        let hi = sequencer.next_n(2).unwrap();
        sequencer.publish_range(0, hi);

        let producer = thread::spawn(move || sequencer.next());
        alert.raise();
        assert_eq!(producer.join().unwrap(), Err(ClaimError::Halted));
    });
}

/// The same for the multi-producer sequencer, with two producers waiting on the full ring.
#[test]
fn multi_producers_waiting_on_full_ring_halt() {
    loom::model(|| {
        let wait = Arc::new(BusySpinWaitStrategy);
        let alert = Arc::new(Alert::new());
        let stuck = Arc::new(Sequence::default());
        let sequencer = Arc::new(MultiProducerSequencer::new(2, vec![stuck], wait, alert.clone()).unwrap());
        let hi = sequencer.next_n(2).unwrap();
        sequencer.publish_range(0, hi);

        let producer = {
            let sequencer = sequencer.clone();
            thread::spawn(move || sequencer.next())
        };
        alert.raise();
        assert_eq!(producer.join().unwrap(), Err(ClaimError::Halted));
        assert_eq!(sequencer.next(), Err(ClaimError::Halted));
        assert_eq!(sequencer.try_next(), Err(ClaimError::Halted));
    });
}

/// No lost wake-up with a single producer: a consumer that finds nothing published parks on the
/// blocking strategy; the producer's `publish` (which calls `signal`) must wake it, however the
/// publish interleaves with the consumer's check-then-park. A lost wake-up leaves the consumer
/// parked for ever, which loom reports as a deadlock.
#[test]
fn blocking_consumer_is_woken_by_single_producer_publish() {
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let mut sequencer =
            SingleProducerSequencer::new(4, vec![consumed], wait.clone(), alert.clone()).unwrap();
        let barrier = barrier_over(&[sequencer.cursor_sequence()], &wait, &alert);

        let consumer = thread::spawn(move || barrier.wait_for(0));
        let sequence = sequencer.next().unwrap();
        sequencer.publish(sequence);
        assert_eq!(consumer.join().unwrap(), Ok(0));
    });
}

/// No lost wake-up with the multi-producer sequencer: the cursor moves at the claim (which does
/// not signal) and the slot becomes readable at the publish (which does).
#[test]
fn blocking_consumer_is_woken_by_multi_producer_publish() {
    loom::model(|| {
        let wait = Arc::new(BlockingWaitStrategy::new());
        let alert = Arc::new(Alert::new());
        let consumed = Arc::new(Sequence::default());
        let sequencer = MultiProducerSequencer::new(4, vec![consumed], wait.clone(), alert.clone()).unwrap();
        let barrier = multi_barrier(&sequencer, &wait, &alert);

        let consumer = thread::spawn(move || barrier.wait_for(0));
        let sequence = sequencer.next().unwrap();
        sequencer.publish(sequence);
        assert_eq!(consumer.join().unwrap(), Ok(0));
    });
}
