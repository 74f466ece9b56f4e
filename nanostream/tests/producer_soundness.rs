//! Safe calls that must not break the ring's invariants, whatever their arguments: a leaked
//! `Publisher` session, batch sizes up to `usize::MAX`, constructors given sizes that cannot be
//! rings, and the capacity a multi-producer ring reports while producers wait for space.

#![cfg(not(loom))]

mod common;

use std::sync::{Arc, Mutex};

use common::{expect_within, finishes, in_order, Gate};
use nanostream::{
    build_multi_producer, build_single_producer, Alert, AvailabilityBuffer, BlockingWaitStrategy, BuildError,
    MultiProducerSequencer, Producer, PublishError, RingBuffer, Sequence, SingleProducer,
    SingleProducerSequencer, TryPublishError,
};

/// What the consumer saw: `(sequence, value)` for every event, in order.
type Log = Arc<Mutex<Vec<(i64, u64)>>>;

/// A single-producer pipeline of `size` slots whose consumer records every event.
fn recorded(size: usize) -> (SingleProducer<u64, BlockingWaitStrategy>, Log) {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let producer = build_single_producer(size, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(move |value: &u64, sequence: i64, _: bool| {
            seen.lock().unwrap().push((sequence, *value));
        })
        .build()
        .unwrap();
    (producer, log)
}

#[test]
fn a_leaked_session_leaves_the_producer_where_the_session_stopped() {
    let (mut producer, log) = recorded(8);
    let mut publisher = producer.publisher();
    for _ in 0..4 {
        publisher
            .publish(|event, sequence| *event = sequence as u64)
            .unwrap();
    }
    std::mem::forget(publisher);

    // The producer continues after the session's last event instead of from sequence 0.
    for expected in 4..12 {
        let sequence = producer
            .publish(|event, sequence| *event = sequence as u64)
            .unwrap();
        assert_eq!(sequence, expected);
    }
    assert_eq!(producer.cursor(), 11);
    producer.shutdown().unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(12));
}

#[test]
fn every_claim_path_continues_after_a_leaked_session() {
    let (mut producer, log) = recorded(8);
    let mark = |event: &mut u64, sequence: i64| *event = sequence as u64;
    // Leak sessions in a row, each followed by a different way of claiming.
    let mut publisher = producer.publisher();
    assert_eq!(publisher.publish(mark), Ok(0));
    std::mem::forget(publisher);
    assert_eq!(producer.try_publish(mark), Ok(1));

    let mut publisher = producer.publisher();
    assert_eq!(publisher.publish(mark), Ok(2));
    std::mem::forget(publisher);
    let high = producer
        .batch_publish(3, |batch| {
            let first = batch.first_sequence();
            for (event, sequence) in batch.zip(first..) {
                *event = sequence as u64;
            }
        })
        .unwrap();
    assert_eq!(high, 5);

    let mut publisher = producer.publisher();
    assert_eq!(publisher.publish(mark), Ok(6));
    std::mem::forget(publisher);
    // A new session after a leaked one starts where the leaked one stopped.
    let mut publisher = producer.publisher();
    assert_eq!(publisher.try_publish(mark), Ok(7));
    drop(publisher);
    assert_eq!(producer.cursor(), 7);
    producer.shutdown().unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(8));
}

#[test]
fn a_leaked_session_cannot_make_the_producer_lap_the_consumer() {
    // The consumer holds the first event at a gate; a producer that forgot where a leaked
    // session stopped would claim the held slot again instead of waiting for it.
    let gate = Gate::new();
    let held = gate.clone();
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let mut producer = build_single_producer(4, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(move |value: &u64, sequence: i64, _: bool| {
            if sequence == 0 {
                held.pass();
            }
            seen.lock().unwrap().push((sequence, *value));
        })
        .build()
        .unwrap();
    let mut publisher = producer.publisher();
    for _ in 0..4 {
        publisher
            .publish(|event, sequence| *event = sequence as u64)
            .unwrap();
    }
    std::mem::forget(publisher);
    gate.expect_waiter();
    assert_eq!(producer.remaining_capacity(), 0);
    assert_eq!(
        producer.try_publish(|event, _| *event = 99),
        Err(TryPublishError::Full)
    );
    gate.open();
    for _ in 4..8 {
        producer
            .publish(|event, sequence| *event = sequence as u64)
            .unwrap();
    }
    producer.shutdown().unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(8));
}

/// Every batch size that is not `1..=size`, up to `usize::MAX`.
fn invalid_batch_sizes(size: usize) -> [usize; 6] {
    [
        0,
        size + 1,
        1 << 62,
        isize::MAX as usize,
        (isize::MAX as usize) + 1,
        usize::MAX,
    ]
}

#[test]
fn huge_batches_are_refused_on_a_single_producer_and_its_session() {
    let (mut producer, log) = recorded(4);
    producer.publish(|event, _| *event = 0).unwrap();
    producer.publish(|event, _| *event = 1).unwrap();
    for n in invalid_batch_sizes(4) {
        assert!(
            matches!(
                producer.batch_publish(n, |_| {}),
                Err(PublishError::InvalidBatch { .. })
            ),
            "batch_publish({n})"
        );
        assert!(
            matches!(
                producer.try_batch_publish(n, |_| {}),
                Err(TryPublishError::InvalidBatch { .. })
            ),
            "try_batch_publish({n})"
        );
        let mut publisher = producer.publisher();
        assert!(matches!(
            publisher.batch_publish(n, |_| {}),
            Err(PublishError::InvalidBatch { .. })
        ));
        assert!(matches!(
            publisher.try_batch_publish(n, |_| {}),
            Err(TryPublishError::InvalidBatch { .. })
        ));
        drop(publisher);
        assert_eq!(producer.cursor(), 1, "a refused batch moves nothing (n = {n})");
    }
    // The producer is still usable, and the consumer saw exactly what was published.
    assert_eq!(producer.publish(|event, _| *event = 2), Ok(2));
    finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(3));
}

#[test]
fn huge_batches_are_refused_on_a_multi_producer() {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let mut producer = build_multi_producer(4, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(move |value: &u64, sequence: i64, _: bool| {
            seen.lock().unwrap().push((sequence, *value));
        })
        .build()
        .unwrap();
    producer.publish(|event, _| *event = 0).unwrap();
    for n in invalid_batch_sizes(4) {
        assert!(matches!(
            producer.batch_publish(n, |_| {}),
            Err(PublishError::InvalidBatch { .. })
        ));
        assert!(matches!(
            producer.try_batch_publish(n, |_| {}),
            Err(TryPublishError::InvalidBatch { .. })
        ));
        assert_eq!(producer.cursor(), 0);
    }
    finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(*log.lock().unwrap(), in_order(1));
}

#[test]
fn constructors_refuse_sizes_that_are_not_rings() {
    let wait = Arc::new(BlockingWaitStrategy::new());
    for size in [0, 3, 6, 1000, (1 << 62) + 1, 1 << 63, usize::MAX] {
        let gating = vec![Arc::new(Sequence::default())];
        let single = SingleProducerSequencer::new(size, gating.clone(), wait.clone(), Arc::new(Alert::new()));
        assert_eq!(single.err(), Some(BuildError::InvalidRingSize { size }));
        let multi = MultiProducerSequencer::new(size, gating, wait.clone(), Arc::new(Alert::new()));
        assert_eq!(multi.err(), Some(BuildError::InvalidRingSize { size }));
        assert_eq!(
            AvailabilityBuffer::new(size).err(),
            Some(BuildError::InvalidRingSize { size })
        );
        assert!(matches!(
            RingBuffer::new(size, || 0u64),
            Err(BuildError::InvalidRingSize { .. })
        ));
    }
}

#[test]
fn a_ring_too_large_for_memory_is_an_error_not_an_abort() {
    let size = 1 << 62;
    match RingBuffer::new(size, || 0u64) {
        Err(BuildError::RingTooLarge { size: s, bytes }) => {
            assert_eq!(s, size);
            assert_eq!(bytes, (1u128 << 62) * 8);
        }
        other => panic!("expected RingTooLarge, got {other:?}"),
    }
    assert!(matches!(
        AvailabilityBuffer::new(size),
        Err(BuildError::RingTooLarge { .. })
    ));
    let error = build_multi_producer(size, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::RingTooLarge { .. }), "{error}");
}

#[test]
fn remaining_capacity_stays_in_range_while_multi_producers_wait() {
    let gate = Gate::new();
    let mut producer = common::held_at_first_event(4, &gate);
    for _ in 0..4 {
        producer.publish(|event, _| *event = 1).unwrap();
    }
    gate.expect_waiter();
    assert_eq!(producer.remaining_capacity(), 0);
    // Two more producers block in a claim; their claims run ahead of the held consumer.
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let mut other = producer.clone();
            std::thread::spawn(move || other.publish(|event, _| *event = 2).map(|_| ()))
        })
        .collect();
    expect_within("both waiting producers have claimed", || producer.cursor() == 5);
    assert_eq!(producer.remaining_capacity(), 0);
    assert!(!producer.has_available_capacity(1));
    gate.open();
    for thread in waiting {
        common::join_within("a waiting producer", thread).unwrap();
    }
    finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn remaining_capacity_stays_in_range_under_contention() {
    const PER_PRODUCER: usize = if cfg!(miri) { 50 } else { 20_000 };
    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .build()
        .unwrap();
    let publishers: Vec<_> = (0..3)
        .map(|_| {
            let mut other = producer.clone();
            std::thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    other.publish(|event, _| *event = i as u64).unwrap();
                }
            })
        })
        .collect();
    let mut samples = 0;
    while publishers.iter().any(|p| !p.is_finished()) {
        let free = producer.remaining_capacity();
        assert!((0..=8).contains(&free), "remaining_capacity() = {free}");
        samples += 1;
        std::thread::yield_now();
    }
    for publisher in publishers {
        publisher.join().unwrap();
    }
    assert!(samples > 0);
    producer.publish(|event, _| *event = 0).unwrap();
    finishes("shutdown", move || producer.shutdown()).unwrap();
}
