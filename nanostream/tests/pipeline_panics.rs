//! Panicking handlers: under the default `PanicPolicy::Halt` the panic comes back from
//! `shutdown` as `ShutdownError::HandlerFailed` with the handler's name and message, and
//! producers waiting on a full ring get `PublishError::Halted` instead of hanging; under
//! `PanicPolicy::LogAndContinue` the event is skipped and processing goes on.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::Gate;
use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, EventHandler, PanicPolicy, Producer,
    PublishError, ShutdownError, TryPublishError,
};

fn failures(error: ShutdownError) -> Vec<(String, String)> {
    match error {
        ShutdownError::HandlerFailed { failures } => failures,
        other => panic!("expected HandlerFailed, got {other:?}"),
    }
}

#[test]
fn a_panicking_handler_comes_back_from_shutdown_with_its_name_and_message() {
    let after_panic = Arc::new(AtomicU64::new(0));
    let seen = after_panic.clone();
    let mut producer = build_single_producer(16, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(move |_: &u64, sequence: i64, _: bool| {
            if sequence == 5 {
                panic!("bad price at sequence {sequence}");
            }
        })
        .thread_name("risk")
        .and_then()
        .handle_events_with(move |_: &u64, _: i64, _: bool| {
            seen.fetch_add(1, Ordering::Relaxed);
        })
        .thread_name("audit")
        .build()
        .unwrap();
    for i in 0..10 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    let error = common::finishes("shutdown", move || producer.shutdown()).expect_err("a handler panicked");
    assert_eq!(
        error.to_string(),
        "handler failure: 'risk' panicked: bad price at sequence 5 (in on_event at sequence 5)"
    );
    assert_eq!(
        failures(error),
        vec![(
            "risk".to_owned(),
            "bad price at sequence 5 (in on_event at sequence 5)".to_owned()
        )]
    );
    // The stage after it never saw the failed event.
    assert!(after_panic.load(Ordering::Relaxed) <= 5);
}

#[test]
fn a_panic_in_on_start_is_reported_too() {
    struct FailsToStart;
    impl EventHandler<u64> for FailsToStart {
        fn on_event(&mut self, _: &u64, _: i64, _: bool) {}
        fn on_start(&mut self) {
            panic!("cannot open the journal");
        }
    }
    let producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(FailsToStart)
        .thread_name("journal")
        .build()
        .unwrap();
    let error = common::finishes("shutdown", move || producer.shutdown()).expect_err("on_start panicked");
    assert_eq!(
        failures(error),
        vec![(
            "journal".to_owned(),
            "cannot open the journal (in on_start)".to_owned()
        )]
    );
}

/// A handler that, at its first event, blocks at `gate` and then panics.
fn panics_after(gate: Gate) -> impl FnMut(&u64, i64, bool) + Send + 'static {
    move |_: &u64, sequence: i64, _: bool| {
        if sequence == 0 {
            gate.pass();
            panic!("downstream connection lost");
        }
    }
}

#[test]
fn a_producer_waiting_on_a_full_ring_gets_halted_instead_of_hanging() {
    const RING: usize = 8;
    let gate = Gate::new();
    let mut producer = build_single_producer(RING, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(panics_after(gate.clone()))
        .thread_name("sink")
        .build()
        .unwrap();
    let about_to_block = Arc::new(AtomicBool::new(false));
    let flag = about_to_block.clone();
    let publisher = std::thread::spawn(move || {
        // The handler holds event 0, so RING events fit and the next one must wait.
        for i in 0..RING as u64 {
            producer.publish(|e, _| *e = i).expect("the ring has room");
        }
        flag.store(true, Ordering::Release);
        let blocked = producer.publish(|e, _| *e = 99);
        (producer, blocked)
    });
    gate.expect_waiter();
    common::expect_within("the producer fills the ring", || {
        about_to_block.load(Ordering::Acquire)
    });
    gate.open(); // the handler panics now

    let (mut producer, blocked) = common::join_within("the blocked publish", publisher);
    let error = blocked.expect_err("no consumer will free a slot again");
    assert_eq!(error, PublishError::Halted);
    assert_eq!(
        error.to_string(),
        "the pipeline has halted; the event was not published"
    );
    assert_eq!(
        producer.try_publish(|e, _| *e = 100),
        Err(TryPublishError::Halted)
    );
    assert_eq!(
        producer.batch_publish(2, |_| {}),
        Err(PublishError::Halted),
        "a batch is refused as well"
    );
    let error = common::finishes("shutdown", move || producer.shutdown()).expect_err("the handler panicked");
    assert_eq!(
        failures(error),
        vec![(
            "sink".to_owned(),
            "downstream connection lost (in on_event at sequence 0)".to_owned()
        )]
    );
}

#[test]
fn every_multi_producer_clone_waiting_on_a_full_ring_gets_halted() {
    const RING: usize = 8;
    let gate = Gate::new();
    let mut producer = build_multi_producer(RING, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(panics_after(gate.clone()))
        .thread_name("sink")
        .build()
        .unwrap();
    for i in 0..RING as u64 {
        producer.publish(|e, _| *e = i).expect("the ring has room");
    }
    gate.expect_waiter();
    let publishers: Vec<_> = (0..2)
        .map(|_| {
            let mut clone = producer.clone();
            std::thread::spawn(move || clone.publish(|e, _| *e = 99))
        })
        .collect();
    gate.open();
    for publisher in publishers {
        assert_eq!(
            common::join_within("a blocked publish", publisher),
            Err(PublishError::Halted)
        );
    }
    let error = common::finishes("shutdown", move || producer.shutdown()).expect_err("the handler panicked");
    assert_eq!(failures(error)[0].0, "sink");
}

#[test]
fn log_and_continue_skips_the_event_and_goes_on() {
    const N: i64 = if cfg!(miri) { 50 } else { 1_000 };
    let handled = Arc::new(Mutex::new(Vec::new()));
    let downstream = Arc::new(AtomicU64::new(0));
    let (record, count) = (handled.clone(), downstream.clone());
    let mut producer = build_single_producer(16, || 0i64, BlockingWaitStrategy::new())
        .handle_events_with(move |e: &i64, _: i64, _: bool| {
            if e % 10 == 3 {
                panic!("cannot handle {e}");
            }
            record.lock().unwrap().push(*e);
        })
        .on_panic(PanicPolicy::LogAndContinue)
        .and_then()
        .handle_events_with(move |_: &i64, _: i64, _: bool| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    for i in 0..N {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).expect("panics were logged, not fatal");
    let expected: Vec<i64> = (0..N).filter(|e| e % 10 != 3).collect();
    assert_eq!(*handled.lock().unwrap(), expected, "every other event, in order");
    assert_eq!(
        downstream.load(Ordering::Relaxed),
        N as u64,
        "a skipped event still reaches the next stage"
    );
}
