//! Event pollers: `poll` and `wait` hand out published events in order and hold them until the
//! guard is dropped; a poller in stage 1 gates a processor in stage 2; after shutdown a poller
//! reports `PollError::Shutdown`; a dropped (or never taken) poller does not block shutdown.

mod common;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, PollError, Producer, TryPublishError,
};

const N: u64 = if cfg!(miri) { 100 } else { 20_000 };

#[test]
fn poll_hands_out_events_in_order_and_holds_them_until_the_guard_drops() {
    let mut producer = build_single_producer(4, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().expect("one poller");
    assert!(producer.take_event_pollers().is_empty(), "taken once");
    assert_eq!(poller.poll().err(), Some(PollError::NoEvents));
    assert_eq!(PollError::NoEvents.to_string(), "no events available");

    for i in 0..4 {
        producer.publish(|e, _| *e = 10 + i).unwrap();
    }
    assert_eq!(
        producer.try_publish(|e, _| *e = 0),
        Err(TryPublishError::Full),
        "the poller gates the ring"
    );
    {
        let events = poller.poll().expect("four events");
        assert_eq!(events.len(), 4);
        assert!(!events.is_empty());
        assert_eq!(events.sequences(), 0..=3);
        assert_eq!(events.iter().copied().collect::<Vec<_>>(), vec![10, 11, 12, 13]);
        assert_eq!(
            events
                .iter_with_sequence()
                .map(|(s, e)| (s, *e))
                .collect::<Vec<_>>(),
            vec![(0, 10), (1, 11), (2, 12), (3, 13)]
        );
        assert_eq!(
            producer.try_publish(|e, _| *e = 0),
            Err(TryPublishError::Full),
            "events are held while the guard lives"
        );
    }
    assert_eq!(
        poller.sequence(),
        3,
        "the guard released everything it handed out"
    );
    assert_eq!(producer.try_publish(|e, _| *e = 14), Ok(4));
    let events = poller.poll().unwrap();
    assert_eq!((&events).into_iter().copied().collect::<Vec<_>>(), vec![14]);
    drop(events);
    assert_eq!(poller.poll().err(), Some(PollError::NoEvents));
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn poll_and_wait_report_shutdown_after_shutdown() {
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    producer.publish(|e, _| *e = 1).unwrap();
    assert_eq!(poller.wait().unwrap().len(), 1);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(poller.poll().err(), Some(PollError::Shutdown));
    assert_eq!(poller.wait().err(), Some(PollError::Shutdown));
    assert_eq!(PollError::Shutdown.to_string(), "the pipeline has shut down");
}

#[test]
fn a_poller_in_stage_one_gates_a_processor_in_stage_two() {
    let released = Arc::new(AtomicI64::new(-1));
    let processed = Arc::new(AtomicU64::new(0));
    let (upstream, count) = (released.clone(), processed.clone());
    let mut producer = build_single_producer(64, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .and_then()
        .handle_events_with(move |e: &u64, sequence: i64, _: bool| {
            let done = upstream.load(Ordering::Acquire);
            assert!(
                done >= sequence,
                "got {sequence} before the poller released it (at {done})"
            );
            assert_eq!(*e, sequence as u64 * 2);
            count.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    let driver = std::thread::spawn(move || {
        let mut next = 0u64;
        loop {
            match poller.wait() {
                Ok(events) => {
                    for (sequence, e) in events.iter_with_sequence() {
                        assert_eq!((sequence, *e), (next as i64, next * 2), "in order, each once");
                        next += 1;
                    }
                    // Recorded before the guard releases the events to stage 2.
                    released.store(*events.sequences().end(), Ordering::Release);
                }
                Err(PollError::Shutdown) => return next,
                Err(PollError::NoEvents) => unreachable!("a blocking wait does not time out"),
            }
        }
    });
    for i in 0..N {
        producer.publish(|e, _| *e = i * 2).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).expect("the processor's checks held");
    assert_eq!(common::join_within("the poller's thread", driver), N);
    assert_eq!(processed.load(Ordering::Relaxed), N);
}

#[test]
fn multi_producer_pollers_see_every_producer() {
    let mut producer = build_multi_producer(16, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    let per_producer = N / 10;
    let threads: Vec<_> = (0..2)
        .map(|id| {
            let mut clone = producer.clone();
            std::thread::spawn(move || {
                for i in 0..per_producer {
                    clone.publish(|e, _| *e = id * per_producer + i).unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    while seen.len() < 2 * per_producer as usize {
        let events = poller.wait().expect("the pipeline is running");
        seen.extend(events.iter().copied());
    }
    for thread in threads {
        common::join_within("a producer", thread);
    }
    for id in 0..2 {
        let mine: Vec<u64> = seen.iter().copied().filter(|e| e / per_producer == id).collect();
        let expected: Vec<u64> = (0..per_producer).map(|i| id * per_producer + i).collect();
        assert_eq!(mine, expected, "producer {id}'s events, each once, in order");
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_dropped_poller_does_not_block_shutdown() {
    let processed = Arc::new(AtomicU64::new(0));
    let count = processed.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .handle_events_with(move |_: &u64, _: i64, _: bool| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    for i in 0..6 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    assert_eq!(poller.poll().unwrap().len(), 6);
    producer.publish(|e, _| *e = 6).unwrap();
    drop(poller); // with event 6 unread
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(processed.load(Ordering::Relaxed), 7);
}

#[test]
fn a_poller_never_taken_does_not_block_shutdown() {
    let processed = Arc::new(AtomicU64::new(0));
    let count = processed.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .handle_events_with(move |_: &u64, _: i64, _: bool| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    for i in 0..3 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(processed.load(Ordering::Relaxed), 3);

    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    producer.publish(|e, _| *e = 1).unwrap();
    common::finishes("multi-producer shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_dropped_poller_in_stage_one_lets_later_stages_drain() {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .and_then()
        .handle_events_with(move |_: &u64, _: i64, _: bool| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let poller = producer.take_event_pollers().pop().unwrap();
    for i in 0..3 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    drop(poller);
    // More than the ring holds: the dropped poller must keep releasing slots.
    for i in 3..40 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(
        seen.load(Ordering::Relaxed),
        40,
        "the stage after the dropped poller saw everything"
    );
}

#[test]
fn a_dropped_poller_does_not_hold_back_producers() {
    let mut producer = build_single_producer(4, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .build()
        .unwrap();
    let poller = producer.take_event_pollers().pop().unwrap();
    drop(poller);
    let producer = common::finishes("publishing 5 times a ring of 4", move || {
        for i in 0..20 {
            producer.publish(|e, _| *e = i).unwrap();
        }
        producer
    });
    producer.shutdown().unwrap();
}
