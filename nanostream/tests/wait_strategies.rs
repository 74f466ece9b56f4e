//! Every wait strategy delivers every event, in order, through a chain of stages, and `halt`
//! wakes consumers that are waiting (parked, sleeping or spinning) so it returns promptly;
//! `TimeoutBlockingWaitStrategy` calls `on_timeout` when nothing arrives.
//!
//! The tests of this file run one at a time (a lock), so the busy-spin test has the machine's
//! two cores to itself: its producer and its one consumer.

mod common;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, BusySpinWaitStrategy, EventHandler,
    PhasedBackoffWaitStrategy, PollError, Producer, SleepingWaitStrategy, TimeoutBlockingWaitStrategy,
    WaitStrategy, YieldingWaitStrategy,
};

const N: u64 = if cfg!(miri) { 100 } else { 20_000 };

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks order, counts events and records `on_shutdown`.
struct Stage {
    next: i64,
    count: Arc<AtomicU64>,
    ended: Arc<AtomicBool>,
}

impl EventHandler<u64> for Stage {
    fn on_event(&mut self, event: &u64, sequence: i64, _: bool) {
        assert_eq!(sequence, self.next, "sequences arrive in order");
        assert_eq!(
            *event,
            sequence as u64 * 3,
            "the event published at this sequence"
        );
        self.next += 1;
        self.count.fetch_add(1, Ordering::Release);
    }
    fn on_shutdown(&mut self) {
        self.ended.store(true, Ordering::Release);
    }
}

/// Publishes `N` events through a chain of `stages` handlers, waits until the last stage has
/// them all, then halts with every consumer waiting for an event that never comes.
fn delivers_all_and_halts<W: WaitStrategy>(wait_strategy: W, stages: usize) {
    let counts: Vec<_> = (0..stages).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let ended: Vec<_> = (0..stages).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let stage = |i: usize| Stage {
        next: 0,
        count: counts[i].clone(),
        ended: ended[i].clone(),
    };
    let mut builder = build_single_producer(64, || 0u64, wait_strategy).handle_events_with(stage(0));
    for i in 1..stages {
        builder = builder.and_then().handle_events_with(stage(i));
    }
    let mut producer = builder.build().unwrap();
    for i in 0..N {
        producer
            .publish(|e, sequence| {
                assert_eq!(sequence, i as i64);
                *e = i * 3;
            })
            .unwrap();
    }
    let last = counts.last().unwrap();
    common::expect_within("the last stage has every event", || {
        last.load(Ordering::Acquire) == N
    });

    common::finishes("halt with every consumer waiting", move || producer.halt()).expect("no handler failed");
    for (i, (count, ended)) in counts.iter().zip(&ended).enumerate() {
        assert_eq!(count.load(Ordering::Acquire), N, "stage {i}");
        assert!(ended.load(Ordering::Acquire), "stage {i} ran on_shutdown");
    }
}

#[test]
fn busy_spin_delivers_and_halts() {
    let _one = exclusive();
    // Two threads in all: this one publishing, one consumer spinning.
    delivers_all_and_halts(BusySpinWaitStrategy, 1);
}

#[test]
fn yielding_delivers_and_halts() {
    let _one = exclusive();
    delivers_all_and_halts(YieldingWaitStrategy::new(), 3);
    delivers_all_and_halts(YieldingWaitStrategy::with_spin_tries(0), 2);
}

#[test]
fn sleeping_delivers_and_halts() {
    let _one = exclusive();
    delivers_all_and_halts(SleepingWaitStrategy::new(), 3);
    delivers_all_and_halts(SleepingWaitStrategy::with(0, Duration::from_millis(1)), 2);
}

#[test]
fn blocking_delivers_and_halts() {
    let _one = exclusive();
    delivers_all_and_halts(BlockingWaitStrategy::new(), 3);
}

#[test]
fn timeout_blocking_delivers_and_halts() {
    let _one = exclusive();
    delivers_all_and_halts(TimeoutBlockingWaitStrategy::new(Duration::from_millis(1)), 3);
}

#[test]
fn phased_backoff_delivers_and_halts() {
    let _one = exclusive();
    delivers_all_and_halts(PhasedBackoffWaitStrategy::default(), 3);
    // Straight to blocking.
    delivers_all_and_halts(PhasedBackoffWaitStrategy::new(Duration::ZERO, Duration::ZERO), 3);
}

#[test]
fn halt_wakes_parked_consumers_of_a_multi_producer_pipeline() {
    let _one = exclusive();
    let ended = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .and_then()
        .handle_events_with(Stage {
            next: 0,
            count: count.clone(),
            ended: ended.clone(),
        })
        .build()
        .unwrap();
    // Nothing was ever published: both consumers are (or are about to be) parked.
    common::finishes("halt", move || producer.halt()).unwrap();
    assert!(ended.load(Ordering::Acquire));
    assert_eq!(count.load(Ordering::Acquire), 0);
}

/// Records `on_timeout` calls and the sequence they report.
struct Heartbeat {
    timeouts: Arc<AtomicU64>,
    last_timeout_sequence: Arc<AtomicI64>,
    events: Arc<AtomicU64>,
}

impl EventHandler<u64> for Heartbeat {
    fn on_event(&mut self, _: &u64, _: i64, _: bool) {
        self.events.fetch_add(1, Ordering::Release);
    }
    fn on_timeout(&mut self, sequence: i64) {
        self.last_timeout_sequence.store(sequence, Ordering::Release);
        self.timeouts.fetch_add(1, Ordering::Release);
    }
}

#[test]
fn timeout_blocking_calls_on_timeout_when_nothing_arrives() {
    let _one = exclusive();
    let timeouts = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicI64::new(i64::MIN));
    let events = Arc::new(AtomicU64::new(0));
    let mut producer = build_single_producer(
        8,
        || 0u64,
        TimeoutBlockingWaitStrategy::new(Duration::from_millis(2)),
    )
    .handle_events_with(Heartbeat {
        timeouts: timeouts.clone(),
        last_timeout_sequence: last.clone(),
        events: events.clone(),
    })
    .build()
    .unwrap();
    common::expect_within("on_timeout fires before any event", || {
        timeouts.load(Ordering::Acquire) >= 2
    });
    assert_eq!(last.load(Ordering::Acquire), -1, "nothing processed yet");

    for i in 0..5 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::expect_within("the events are handled", || events.load(Ordering::Acquire) == 5);
    let before = timeouts.load(Ordering::Acquire);
    common::expect_within("on_timeout fires again once the events are handled", || {
        timeouts.load(Ordering::Acquire) > before && last.load(Ordering::Acquire) == 4
    });
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn timeout_blocking_poller_wait_reports_no_events() {
    let _one = exclusive();
    let mut producer = build_single_producer(
        8,
        || 0u64,
        TimeoutBlockingWaitStrategy::new(Duration::from_millis(1)),
    )
    .event_poller()
    .build()
    .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    assert_eq!(
        poller.wait().err(),
        Some(PollError::NoEvents),
        "the wait timed out"
    );
    producer.publish(|e, _| *e = 7).unwrap();
    let events = poller.wait().expect("an event is there");
    assert_eq!(events.iter().copied().collect::<Vec<_>>(), vec![7]);
    drop(events);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(poller.wait().err(), Some(PollError::Shutdown));
}
