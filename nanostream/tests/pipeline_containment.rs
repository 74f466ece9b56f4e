//! What a consumer thread runs besides `on_event` cannot break the pipeline: a wait strategy of
//! the user's that panics or answers wrongly, a back-off interval too long for the clock, a
//! panic in `on_start` or `on_batch_start` under each policy; and shutdown, drop and
//! `shutdown_timeout` never wait without the bound their docs give.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{expect_within, finishes, in_order, Gate};
use nanostream::{
    build_multi_producer, build_single_producer, Alert, BlockingWaitStrategy, BuildError, DependentSequences,
    EventHandler, PanicPolicy, Producer, PublishError, ShutdownError, StreamingBackoff, WaitError,
    WaitStrategy, YieldingWaitStrategy,
};

/// What the consumer saw: `(sequence, value)` for every event, in order.
type Log = Arc<Mutex<Vec<(i64, u64)>>>;

/// A wait strategy that says everything is available at once, whatever the dependents say.
struct Liar;

impl WaitStrategy for Liar {
    fn wait_for(&self, _: i64, _: &DependentSequences, alert: &Alert) -> Result<i64, WaitError> {
        if alert.is_raised() {
            return Err(WaitError::Alerted);
        }
        Ok(i64::MAX)
    }
}

#[test]
fn a_wait_strategy_that_overstates_progress_cannot_expose_unpublished_events() {
    const EVENTS: i64 = if cfg!(miri) { 20 } else { 2_000 };
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let mut producer = build_single_producer(8, || u64::MAX, Liar)
        .handle_events_with(move |value: &u64, sequence: i64, _: bool| {
            seen.lock().unwrap().push((sequence, *value));
        })
        .build()
        .unwrap();
    finishes("publishing and shutdown", move || {
        for _ in 0..EVENTS {
            producer
                .publish(|event, sequence| *event = sequence as u64)
                .unwrap();
        }
        producer.shutdown()
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(EVENTS));
}

/// A wait strategy that panics on its `n`th wait.
struct PanicsOnWait {
    waits: Arc<AtomicUsize>,
    panic_on: usize,
    inner: BlockingWaitStrategy,
}

impl WaitStrategy for PanicsOnWait {
    fn wait_for(
        &self,
        sequence: i64,
        dependents: &DependentSequences,
        alert: &Alert,
    ) -> Result<i64, WaitError> {
        if self.waits.fetch_add(1, Ordering::Relaxed) + 1 == self.panic_on {
            panic!("the wait strategy broke");
        }
        self.inner.wait_for(sequence, dependents, alert)
    }
    fn signal(&self) {
        self.inner.signal();
    }
    fn signal_all(&self) {
        self.inner.signal_all();
    }
}

#[test]
fn a_panicking_wait_strategy_halts_the_pipeline_instead_of_killing_one_thread() {
    for policy in [PanicPolicy::Halt, PanicPolicy::LogAndContinue] {
        let waits = Arc::new(AtomicUsize::new(0));
        let strategy = PanicsOnWait {
            waits: waits.clone(),
            panic_on: 1,
            inner: BlockingWaitStrategy::new(),
        };
        let mut producer = build_single_producer(4, || 0u64, strategy)
            .handle_events_with(|_: &u64, _: i64, _: bool| {})
            .on_panic(policy)
            .build()
            .unwrap();
        // The consumer waits for the first event, and its strategy panics. Without the halt,
        // the consumer would be dead and the fifth publish would wait for ever.
        expect_within("the consumer waited", || waits.load(Ordering::Relaxed) >= 1);
        let outcome = finishes("publishing into a ring whose consumer died", move || {
            let mut outcome = Ok(0);
            for _ in 0..5 {
                outcome = producer.publish(|event, _| *event = 1);
                if outcome.is_err() {
                    break;
                }
            }
            (outcome, producer.shutdown())
        });
        assert_eq!(outcome.0, Err(PublishError::Halted), "{policy:?}");
        match outcome.1 {
            Err(ShutdownError::HandlerFailed { failures }) => {
                assert_eq!(failures.len(), 1);
                assert!(failures[0].1.contains("the wait strategy broke"), "{failures:?}");
                assert!(
                    failures[0].1.contains("wait strategy or back-off"),
                    "{failures:?}"
                );
            }
            other => panic!("{policy:?}: expected HandlerFailed, got {other:?}"),
        }
    }
}

#[test]
fn a_back_off_interval_above_the_maximum_is_a_build_error() {
    let error = build_single_producer(64, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .streaming_backoff(StreamingBackoff::new(Duration::MAX))
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        BuildError::InvalidStreamingInterval {
            interval: Duration::MAX,
            max: StreamingBackoff::MAX_INTERVAL,
        }
    );
    assert!(
        error.to_string().contains("above the maximum of 3600s"),
        "{error}"
    );
}

#[test]
fn the_longest_back_off_interval_neither_panics_nor_hangs() {
    const EVENTS: i64 = if cfg!(miri) { 200 } else { 20_000 };
    let gate = Gate::new();
    let held = gate.clone();
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    // Small batches of many events in a row start the back-off.
    let mut producer = build_single_producer(64, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(move |value: &u64, sequence: i64, _: bool| {
            if sequence == 0 {
                held.pass();
            }
            seen.lock().unwrap().push((sequence, *value));
        })
        .max_batch_size(8)
        .streaming_backoff(
            StreamingBackoff::new(StreamingBackoff::MAX_INTERVAL)
                .min_batch(1)
                .after_polls(2),
        )
        .build()
        .unwrap();
    let publishing = std::thread::spawn(move || {
        for _ in 0..EVENTS {
            producer.publish(|event, sequence| *event = sequence as u64)?;
        }
        producer.shutdown().map_err(|_| PublishError::Halted)
    });
    gate.expect_waiter();
    gate.open();
    common::join_within("publishing and shutdown", publishing).unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(EVENTS));
}

/// A handler whose `on_start` and/or `on_batch_start` panic, recording the events it sees.
struct Fragile {
    start_panics: bool,
    batch_start_panics: bool,
    seen: Log,
}

impl EventHandler<u64> for Fragile {
    fn on_event(&mut self, value: &u64, sequence: i64, _: bool) {
        self.seen.lock().unwrap().push((sequence, *value));
    }
    fn on_start(&mut self) {
        if self.start_panics {
            panic!("on_start failed");
        }
    }
    fn on_batch_start(&mut self, _: i64, _: i64) {
        if self.batch_start_panics {
            panic!("on_batch_start failed");
        }
    }
}

fn run_fragile(policy: PanicPolicy, start_panics: bool, batch_start_panics: bool) -> (Vec<(i64, u64)>, bool) {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(Fragile {
            start_panics,
            batch_start_panics,
            seen: log.clone(),
        })
        .on_panic(policy)
        .build()
        .unwrap();
    // Under `Halt` the alert may be up before the first publish; the callers check what the
    // handler saw.
    for _ in 0..3 {
        if producer
            .publish(|event, sequence| *event = sequence as u64)
            .is_err()
        {
            break;
        }
    }
    let result = finishes("shutdown", move || producer.shutdown());
    let seen = log.lock().unwrap().clone();
    (seen, result.is_ok())
}

#[test]
fn a_panic_in_on_batch_start_never_skips_an_event() {
    // Under LogAndContinue every event still reaches on_event.
    let (seen, ok) = run_fragile(PanicPolicy::LogAndContinue, false, true);
    assert_eq!(seen, in_order(3));
    assert!(ok);
    // Under Halt the pipeline stops before the batch: nothing is counted as processed.
    let (seen, ok) = run_fragile(PanicPolicy::Halt, false, true);
    assert_eq!(seen, vec![]);
    assert!(!ok);
}

#[test]
fn a_panic_in_on_start_follows_the_policy() {
    let (seen, ok) = run_fragile(PanicPolicy::LogAndContinue, true, false);
    assert_eq!(seen, in_order(3));
    assert!(ok);
    let (seen, ok) = run_fragile(PanicPolicy::Halt, true, false);
    assert_eq!(seen, vec![]);
    assert!(!ok);
}

#[test]
fn shutdown_timeout_accepts_the_longest_duration() {
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .build()
        .unwrap();
    producer.publish(|event, _| *event = 1).unwrap();
    finishes("shutdown_timeout(MAX)", move || {
        producer.shutdown_timeout(Duration::MAX)
    })
    .unwrap();

    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .build()
        .unwrap();
    producer.publish(|event, _| *event = 1).unwrap();
    finishes("shutdown_timeout(MAX)", move || {
        producer.shutdown_timeout(Duration::MAX)
    })
    .unwrap();
}

#[test]
fn a_timed_out_shutdown_of_a_clone_halts_the_pipeline_as_its_error_says() {
    let gate = Gate::new();
    let mut producer = common::held_at_first_event(4, &gate);
    let mut other = producer.clone();
    for _ in 0..4 {
        producer.publish(|event, _| *event = 1).unwrap();
    }
    gate.expect_waiter();
    // `other` is alive, so this clone's shutdown times out ...
    let error = finishes("shutdown_timeout", move || {
        producer.shutdown_timeout(Duration::from_millis(1))
    });
    assert!(matches!(error, Err(ShutdownError::Timeout { .. })), "{error:?}");
    // ... and the pipeline is halted: the other clone is refused instead of waiting for space.
    let refused = finishes("publishing after the halt", move || {
        let outcome = other.publish(|event, _| *event = 2);
        (outcome, other)
    });
    assert_eq!(refused.0, Err(PublishError::Halted));
    gate.open();
    let last = refused.1;
    finishes("the last clone's shutdown", move || last.shutdown()).unwrap();
}

#[test]
fn dropping_the_producer_gives_up_on_a_stuck_handler_and_an_unpolled_poller() {
    // A handler stuck on its first event.
    let gate = Gate::new();
    let held = gate.clone();
    let returned = Arc::new(AtomicBool::new(false));
    let mut stuck = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(move |_: &u64, _: i64, _: bool| held.pass())
        .build()
        .unwrap();
    stuck.publish(|event, _| *event = 1).unwrap();
    stuck.publish(|event, _| *event = 2).unwrap();
    gate.expect_waiter();

    // An event poller taken and never polled.
    let mut unpolled = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let pollers = unpolled.take_event_pollers();
    unpolled.publish(|event, _| *event = 1).unwrap();

    let done = returned.clone();
    let dropping = std::thread::spawn(move || {
        let a = std::thread::spawn(move || drop(stuck));
        let b = std::thread::spawn(move || drop(unpolled));
        a.join().unwrap();
        b.join().unwrap();
        done.store(true, Ordering::Release);
    });
    expect_within("both drops return", || returned.load(Ordering::Acquire));
    dropping.join().unwrap();
    drop(pollers);
    // The stuck handler's thread exits once it is let go.
    gate.open();
}

#[test]
fn a_wait_strategy_panicking_for_a_dropped_poller_halts_the_pipeline() {
    let waits = Arc::new(AtomicUsize::new(0));
    let strategy = PanicsOnWait {
        waits: waits.clone(),
        panic_on: 1,
        inner: BlockingWaitStrategy::new(),
    };
    let mut producer = build_single_producer(4, || 0u64, strategy)
        .event_poller()
        .build()
        .unwrap();
    // The dropped poller's thread releases events on its behalf; the first time it has to
    // wait, the strategy panics. Without the halt, the ring would fill and stay full.
    drop(producer.take_event_pollers());
    expect_within("the dropped poller's thread waited", || {
        waits.load(Ordering::Relaxed) >= 1
    });
    let outcome = finishes("publishing into a ring whose poller's thread died", move || {
        let mut outcome = Ok(0);
        for _ in 0..5 {
            outcome = producer.publish(|event, _| *event = 1);
            if outcome.is_err() {
                break;
            }
        }
        drop(producer);
        outcome
    });
    assert_eq!(outcome, Err(PublishError::Halted));
}
