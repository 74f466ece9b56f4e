//! A consumer pacing its polls during a stream ([`StreamingBackoff`]) still sees every event in
//! order, sees the tail of a stream without waiting out its interval, and does not hold up
//! shutdown.
//!
//! The pacing consumers here use an hour-long interval: only the back-off's own exits (the
//! producer stopped moving, the pipeline stopped) can end its waits, so a bug in them shows up
//! as a test that times out, not as a slow one.

#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nanostream::{build_single_producer, BuildError, Producer, StreamingBackoff, YieldingWaitStrategy};

const COUNT: u64 = if cfg!(miri) { 2_000 } else { 400_000 };

/// Starts pacing after two polls of one event or more, then waits up to an hour between polls.
fn eager_hour_long_backoff() -> StreamingBackoff {
    StreamingBackoff::new(Duration::from_secs(3600))
        .min_batch(1)
        .after_polls(2)
}

#[test]
fn a_pacing_consumer_sees_every_event_in_order_and_the_tail_of_each_burst() {
    let seen = Arc::new(AtomicU64::new(0));
    let out_of_order = Arc::new(AtomicI64::new(-1));
    let (count, bad) = (seen.clone(), out_of_order.clone());
    let mut producer = build_single_producer(1024, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(move |e: &u64, sequence: i64, _: bool| {
            if *e != count.load(Ordering::Relaxed) {
                bad.compare_exchange(-1, sequence, Ordering::Relaxed, Ordering::Relaxed)
                    .ok();
            }
            count.store(*e + 1, Ordering::Release);
        })
        .streaming_backoff(eager_hour_long_backoff())
        .build()
        .unwrap();

    // Bursts of very different lengths, each followed by a wait for its last event: the
    // consumer must deliver a burst's tail although no further publish comes to end its wait.
    let mut next = 0u64;
    for burst in [COUNT / 2, 1, 7, 1000, COUNT / 4, 3] {
        for _ in 0..burst {
            producer.publish(|e, _| *e = next).unwrap();
            next += 1;
        }
        let until = next;
        common::expect_within("the consumer sees the last event of a burst", || {
            seen.load(Ordering::Acquire) == until
        });
    }
    assert_eq!(
        out_of_order.load(Ordering::Relaxed),
        -1,
        "an event arrived out of order"
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn shutdown_does_not_wait_out_a_pacing_interval() {
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    let mut producer = build_single_producer(1024, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(move |_: &u64, _: i64, _: bool| {
            count.fetch_add(1, Ordering::Relaxed);
        })
        .streaming_backoff(eager_hour_long_backoff())
        .build()
        .unwrap();
    for i in 0..COUNT {
        producer.publish(|e, _| *e = i).unwrap();
    }
    // Shut down while the stream may still be pacing: shutdown drains, then stops the consumer.
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), COUNT);
}

#[test]
fn a_disabled_backoff_and_the_default_deliver_the_same_stream() {
    for backoff in [StreamingBackoff::disabled(), StreamingBackoff::default()] {
        let sum = Arc::new(AtomicU64::new(0));
        let total = sum.clone();
        let mut producer = build_single_producer(256, || 0u64, YieldingWaitStrategy::new())
            .handle_events_with(move |e: &u64, _: i64, _: bool| {
                total.fetch_add(*e, Ordering::Relaxed);
            })
            .streaming_backoff(backoff)
            .build()
            .unwrap();
        for i in 0..COUNT {
            producer.publish(|e, _| *e = i).unwrap();
        }
        common::finishes("shutdown", move || producer.shutdown()).unwrap();
        assert_eq!(
            sum.load(Ordering::Relaxed),
            COUNT * (COUNT - 1) / 2,
            "{backoff:?}"
        );
    }
}

#[test]
fn a_streaming_backoff_is_not_an_option_for_an_event_poller() {
    let err = build_single_producer(8, || 0u64, YieldingWaitStrategy::new())
        .event_poller()
        .streaming_backoff(StreamingBackoff::disabled())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::OptionNotForPoller {
                option: "streaming_backoff",
                ..
            }
        ),
        "{err}"
    );
}
