//! A stage gated on an `ExternalSequence` is woken when the sequence is set, whichever wait
//! strategy parks it, and a plain `shutdown` drains it once the sequence reaches the cursor.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{expect_within, finishes};
use nanostream::{
    build_multi_producer, build_single_producer, Alert, BlockingWaitStrategy, DependentSequences,
    ExternalSequence, PhasedBackoffWaitStrategy, Producer, TimeoutBlockingWaitStrategy, WaitError,
    WaitStrategy,
};

/// A strategy that counts the consumers inside `wait_for`, so the test knows one is waiting.
struct Counting<W> {
    inner: W,
    waiting: Arc<AtomicI64>,
}

impl<W: WaitStrategy> WaitStrategy for Counting<W> {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let result = self.inner.wait_for(sequence, dependents, alert);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }
    fn signal(&self) {
        self.inner.signal();
    }
    fn signal_all(&self) {
        self.inner.signal_all();
    }
}

/// Publishes 10 events into a pipeline whose only stage is gated on an external sequence, lets
/// the consumer park, then releases the events by setting the sequence alone.
fn parked_consumer_wakes_on_set<W: WaitStrategy>(strategy: W) {
    let released = ExternalSequence::new();
    let last_seen = Arc::new(AtomicI64::new(-1));
    let seen = last_seen.clone();
    let waiting = Arc::new(AtomicI64::new(0));
    let strategy = Counting {
        inner: strategy,
        waiting: waiting.clone(),
    };
    let mut producer = build_single_producer(16, || 0u64, strategy)
        .handle_events_with(move |_: &u64, sequence: i64, _: bool| seen.store(sequence, Ordering::Release))
        .depends_on(&released)
        .build()
        .unwrap();
    for i in 0..10 {
        producer.publish(|event, _| *event = i).unwrap();
    }
    // Nothing is released yet: the consumer waits, and after the strategy's short spin it
    // parks. No publish follows, so only `set` can wake it.
    expect_within("the consumer waits", || waiting.load(Ordering::SeqCst) == 1);
    assert_eq!(last_seen.load(Ordering::Acquire), -1);
    released.set(4);
    expect_within("the consumer takes events 0..=4", || {
        last_seen.load(Ordering::Acquire) == 4
    });
    released.set(9);
    finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(last_seen.load(Ordering::Acquire), 9);
}

#[test]
fn a_blocking_consumer_wakes_when_its_external_dependency_is_set() {
    parked_consumer_wakes_on_set(BlockingWaitStrategy::new());
}

#[test]
fn a_timeout_blocking_consumer_wakes_when_its_external_dependency_is_set() {
    // The timeout is far longer than the test's patience: only `set` can wake it in time.
    parked_consumer_wakes_on_set(TimeoutBlockingWaitStrategy::new(Duration::from_secs(3600)));
}

#[test]
fn a_phased_backoff_consumer_wakes_when_its_external_dependency_is_set() {
    parked_consumer_wakes_on_set(PhasedBackoffWaitStrategy::new(Duration::ZERO, Duration::ZERO));
}

#[test]
fn one_external_sequence_gates_stages_of_two_pipelines() {
    let released = ExternalSequence::new();
    let counts: Vec<Arc<AtomicI64>> = (0..2).map(|_| Arc::new(AtomicI64::new(0))).collect();
    let single = {
        let count = counts[0].clone();
        build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
            .handle_events_with(move |_: &u64, _: i64, _: bool| {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .depends_on(&released)
            .build()
            .unwrap()
    };
    let multi = {
        let count = counts[1].clone();
        build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
            .handle_events_with(move |_: &u64, _: i64, _: bool| {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .depends_on(&released)
            .build()
            .unwrap()
    };
    let (mut single, mut multi) = (single, multi);
    for _ in 0..3 {
        single.publish(|event, _| *event = 1).unwrap();
        multi.publish(|event, _| *event = 1).unwrap();
    }
    released.set(2);
    expect_within("both pipelines take their three events", || {
        counts.iter().all(|c| c.load(Ordering::Relaxed) == 3)
    });
    finishes("shutdown", move || single.shutdown()).unwrap();
    finishes("shutdown", move || multi.shutdown()).unwrap();
    assert_eq!(
        format!("{released:?}"),
        "ExternalSequence { value: 2, gated_stages: 2 }"
    );
}
