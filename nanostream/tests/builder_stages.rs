//! The builder's stage grammar, observed from outside: which consumer waits for which, and
//! which consumer a setting lands on. `handle_events_with` and `event_poller` join the current
//! stage, `handle_events_mut` gets a stage of its own, `and_then` starts the next stage, settings
//! apply to the consumer added last, `depends_on` to the stage of the consumer added last
//! or the one `and_then` opened.
//!
//! Event pollers make the order deterministic: the test drives them, and a poller of a later
//! stage gets nothing (`PollError::NoEvents`) until every consumer of the stage before it has
//! released the event.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::Gate;
use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, ExternalSequence, PanicPolicy,
    PollError, Producer, ShutdownError, YieldingWaitStrategy,
};

const N: u64 = if cfg!(miri) { 200 } else { 20_000 };

#[derive(Default)]
struct Order {
    price: u64,
    quantity: u64,
    notional: u64,
}

/// The root README's shape: `.handle_events_mut(a).handle_events_with(b)` is the chain a → b.
#[test]
fn a_reader_added_after_a_mutable_handler_sees_its_writes_for_every_event() {
    let stale = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let (bad, count) = (stale.clone(), seen.clone());
    let mut producer = build_single_producer(64, Order::default, YieldingWaitStrategy::new())
        .handle_events_mut(|o: &mut Order, _: i64, _: bool| o.notional = o.price * o.quantity)
        .thread_name("enrich")
        .handle_events_with(move |o: &Order, _: i64, _: bool| {
            if o.notional != o.price * o.quantity {
                bad.fetch_add(1, Ordering::Relaxed);
            }
            count.fetch_add(1, Ordering::Relaxed);
        })
        .thread_name("reader")
        .build()
        .expect("a mutable handler followed by a reader is a chain, not a shared stage");
    for i in 1..=N {
        producer
            .publish(|o, _| {
                o.price = i;
                o.quantity = i % 7 + 1;
                o.notional = 0; // so a slot's previous lap cannot pass for this event's enrichment
            })
            .unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), N);
    assert_eq!(
        stale.load(Ordering::Relaxed),
        0,
        "events the reader saw before enrichment"
    );
}

/// A poller, then a mutable handler, then a poller: three stages, each waiting for the one before.
#[test]
fn a_mutable_handler_waits_for_the_stage_before_and_the_next_consumer_waits_for_it() {
    let gate = Gate::new();
    let held = gate.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .thread_name("before")
        .handle_events_mut(move |e: &mut u64, sequence: i64, _: bool| {
            *e *= 10;
            if sequence == 0 {
                held.pass(); // written, not yet released
            }
        })
        .event_poller()
        .thread_name("after")
        .build()
        .unwrap();
    let mut pollers = producer.take_event_pollers();
    let mut after = pollers.pop().expect("two pollers");
    let mut before = pollers.pop().expect("two pollers");
    producer.publish(|e, _| *e = 7).unwrap();

    assert_eq!(after.poll().err(), Some(PollError::NoEvents));
    {
        let events = before.poll().expect("the first stage sees the event at once");
        assert_eq!(
            events.iter().copied().collect::<Vec<_>>(),
            vec![7],
            "the mutable handler has not run: it waits for the first stage"
        );
    }
    gate.expect_waiter(); // the mutable handler has written event 0 and holds it
    assert_eq!(
        after.poll().err(),
        Some(PollError::NoEvents),
        "the poller added after the mutable handler is in the next stage"
    );
    gate.open();
    let events = after.wait().expect("released by the mutable handler");
    assert_eq!(events.iter().copied().collect::<Vec<_>>(), vec![70]);
    drop(events);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_diamond_waits_for_both_parallel_consumers() {
    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .thread_name("left")
        .event_poller()
        .thread_name("right")
        .and_then()
        .event_poller()
        .thread_name("join")
        .build()
        .unwrap();
    let names: Vec<_> = producer
        .monitor()
        .consumers()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["left", "right", "join"]);
    let [mut left, mut right, mut join] = <[_; 3]>::try_from(producer.take_event_pollers())
        .unwrap_or_else(|p| panic!("three pollers, got {}", p.len()));
    producer.publish(|e, _| *e = 5).unwrap();

    assert_eq!(join.poll().err(), Some(PollError::NoEvents));
    assert_eq!(left.poll().expect("stage 1").len(), 1);
    assert_eq!(
        join.poll().err(),
        Some(PollError::NoEvents),
        "right has not released it yet"
    );
    assert_eq!(right.poll().expect("stage 1, in parallel with left").len(), 1);
    assert_eq!(
        join.poll()
            .expect("both released it")
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![5]
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn and_then_on_an_empty_stage_adds_no_stage() {
    // Leading and doubled `and_then`s: still two stages, the second waiting for the first.
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .and_then()
        .event_poller()
        .and_then()
        .and_then()
        .event_poller()
        .build()
        .unwrap();
    let [mut first, mut second] = <[_; 2]>::try_from(producer.take_event_pollers())
        .unwrap_or_else(|p| panic!("two pollers, got {}", p.len()));
    producer.publish(|e, _| *e = 1).unwrap();
    assert_eq!(
        second.poll().err(),
        Some(PollError::NoEvents),
        "waits for the first poller"
    );
    assert_eq!(first.poll().expect("waits for the producer only").len(), 1);
    assert_eq!(second.poll().expect("released by the first").len(), 1);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn depends_on_gates_the_stage_of_the_consumer_added_last() {
    let watermark = ExternalSequence::new();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .depends_on(&watermark)
        .and_then()
        .event_poller()
        .build()
        .unwrap();
    let [mut first, mut second] = <[_; 2]>::try_from(producer.take_event_pollers())
        .unwrap_or_else(|p| panic!("two pollers, got {}", p.len()));
    producer.publish(|e, _| *e = 1).unwrap();
    assert_eq!(
        first.poll().err(),
        Some(PollError::NoEvents),
        "the first stage waits for the watermark"
    );
    watermark.set(0);
    assert_eq!(first.poll().expect("the watermark passed event 0").len(), 1);
    assert_eq!(second.poll().expect("released by the first").len(), 1);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn depends_on_after_and_then_gates_the_new_stage() {
    let watermark = ExternalSequence::new();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .and_then()
        .depends_on(&watermark)
        .event_poller()
        .build()
        .unwrap();
    let [mut first, mut second] = <[_; 2]>::try_from(producer.take_event_pollers())
        .unwrap_or_else(|p| panic!("two pollers, got {}", p.len()));
    producer.publish(|e, _| *e = 1).unwrap();
    assert_eq!(
        first
            .poll()
            .expect("the first stage does not wait for the watermark")
            .len(),
        1
    );
    assert_eq!(
        second.poll().err(),
        Some(PollError::NoEvents),
        "the second stage waits for the watermark"
    );
    watermark.set(0);
    assert_eq!(second.poll().expect("the watermark passed event 0").len(), 1);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

type Observed = Arc<Mutex<Vec<(&'static str, Option<String>)>>>;

/// A handler that records, at its first event, the name of the thread it runs on.
fn records_its_thread(label: &'static str, observed: &Observed) -> impl FnMut(&u64, i64, bool) + Send {
    let observed = observed.clone();
    move |_: &u64, sequence: i64, _: bool| {
        if sequence == 0 {
            let name = std::thread::current().name().map(str::to_owned);
            observed.lock().unwrap().push((label, name));
        }
    }
}

#[test]
fn thread_name_applies_to_the_consumer_added_last() {
    let observed = Observed::default();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(records_its_thread("journal", &observed))
        .thread_name("journal")
        .handle_events_mut(|e: &mut u64, _: i64, _: bool| *e += 1)
        .handle_events_with(records_its_thread("replicate", &observed))
        .thread_name("replicate")
        .event_poller()
        .thread_name("ticks")
        .and_then()
        .handle_events_with(records_its_thread("unnamed", &observed))
        .build()
        .unwrap();
    let monitor = producer.monitor();
    let names: Vec<_> = monitor.consumers().into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "journal",
            "nanostream-processor-2",
            "replicate",
            "ticks",
            "nanostream-processor-5"
        ]
    );
    let mut ticks = producer.take_event_pollers().pop().expect("one poller");
    producer.publish(|e, _| *e = 1).unwrap();
    assert_eq!(ticks.wait().expect("after the mutable handler").len(), 1);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();

    let mut observed = observed.lock().unwrap().clone();
    observed.sort();
    let named = |name: &str| Some(name.to_owned());
    assert_eq!(
        observed,
        vec![
            ("journal", named("journal")),
            ("replicate", named("replicate")),
            ("unnamed", named("nanostream-processor-5")),
        ]
    );
}

#[test]
fn on_panic_applies_to_the_consumer_added_last() {
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, sequence: i64, _: bool| {
            if sequence == 1 {
                panic!("tolerated");
            }
        })
        .on_panic(PanicPolicy::LogAndContinue)
        .thread_name("tolerant")
        .handle_events_with(|_: &u64, sequence: i64, _: bool| {
            if sequence == 3 {
                panic!("fatal");
            }
        })
        .thread_name("strict")
        .build()
        .unwrap();
    for i in 0..5 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    let error = common::finishes("shutdown", move || producer.shutdown()).expect_err("strict panicked");
    let ShutdownError::HandlerFailed { failures } = error else {
        panic!("expected HandlerFailed, got {error:?}");
    };
    assert_eq!(
        failures,
        vec![(
            "strict".to_owned(),
            "fatal (in on_event at sequence 3)".to_owned()
        )]
    );
}
