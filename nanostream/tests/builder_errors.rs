//! Bad input: invalid ring sizes, claims larger than the ring, cores that do not exist, a
//! mutable handler that shares its stage, `max_batch_size(0)`. Each is an error (never a panic
//! or a hang) whose `Display` tells the user what to change.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;

use nanostream::{
    build_multi_producer, build_single_producer, Alert, BlockingWaitStrategy, BuildError, ClaimError,
    MultiProducerSequencer, Producer, PublishError, Sequence, SingleProducerSequencer, TryPublishError,
};

fn noop(_: &u64, _: i64, _: bool) {}

#[test]
fn ring_sizes_must_be_powers_of_two() {
    for (size, suggestion) in [(0, 1), (3, 4), (1000, 1024)] {
        let error = build_single_producer(size, || 0u64, BlockingWaitStrategy::new())
            .handle_events_with(noop)
            .build()
            .expect_err("not a power of two");
        assert_eq!(error, BuildError::InvalidRingSize { size });
        assert_eq!(
            error.to_string(),
            format!("ring size {size} is not a power of two greater than zero (try {suggestion})")
        );
        let error = build_multi_producer(size, || 0u64, BlockingWaitStrategy::new())
            .handle_events_with(noop)
            .build()
            .expect_err("not a power of two");
        assert_eq!(error, BuildError::InvalidRingSize { size });
    }
    // The smallest valid ring works.
    let mut producer = build_single_producer(1, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .build()
        .expect("1 is a power of two");
    for i in 0..10 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_batch_larger_than_the_ring_is_refused() {
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .build()
        .unwrap();
    let error = producer.batch_publish(9, |_| {}).expect_err("9 > 8");
    assert_eq!(
        error,
        PublishError::InvalidBatch {
            requested: 9,
            capacity: 8
        }
    );
    assert_eq!(
        error.to_string(),
        "cannot publish a batch of 9 events to a ring of 8: a batch must be between 1 and the ring size"
    );
    assert_eq!(
        producer.batch_publish(0, |_| {}),
        Err(PublishError::InvalidBatch {
            requested: 0,
            capacity: 8
        })
    );
    let error = producer.try_batch_publish(9, |_| {}).expect_err("9 > 8");
    assert_eq!(
        error,
        TryPublishError::InvalidBatch {
            requested: 9,
            capacity: 8
        }
    );
    assert_eq!(
        error.to_string(),
        "cannot publish a batch of 9 events to a ring of 8: a batch must be between 1 and the ring size"
    );
    assert_eq!(
        producer.batch_publish_with(Vec::<u64>::new(), |e, _, v| *e = v),
        Err(PublishError::InvalidBatch {
            requested: 0,
            capacity: 8
        }),
        "an empty batch is refused"
    );
    // Nothing was claimed by the refused batches: a full-size batch still fits.
    assert_eq!(producer.batch_publish(8, |_| {}), Ok(7));
    common::finishes("shutdown", move || producer.shutdown()).unwrap();

    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .build()
        .unwrap();
    assert_eq!(
        producer.batch_publish(9, |_| {}),
        Err(PublishError::InvalidBatch {
            requested: 9,
            capacity: 8
        })
    );
    assert_eq!(producer.batch_publish(8, |_| {}), Ok(7));
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_sequencer_claim_larger_than_the_ring_is_refused() {
    let consumer = Arc::new(Sequence::default());
    let wait = Arc::new(BlockingWaitStrategy::new());
    let mut single =
        SingleProducerSequencer::new(8, vec![consumer.clone()], wait.clone(), Arc::new(Alert::new()))
            .unwrap();
    let error = single.next_n(9).expect_err("9 > 8");
    assert_eq!(
        error,
        ClaimError::InvalidClaim {
            requested: 9,
            capacity: 8
        }
    );
    assert_eq!(
        error.to_string(),
        "cannot claim 9 slots of a ring of 8: a claim must be between 1 and the ring size"
    );
    assert_eq!(
        single.next_n(0),
        Err(ClaimError::InvalidClaim {
            requested: 0,
            capacity: 8
        })
    );
    assert_eq!(
        single.try_next_n(9),
        Err(ClaimError::InvalidClaim {
            requested: 9,
            capacity: 8
        })
    );
    assert_eq!(single.next_n(8), Ok(7), "the refused claims took nothing");

    let multi = MultiProducerSequencer::new(8, vec![consumer], wait, Arc::new(Alert::new())).unwrap();
    assert_eq!(
        multi.next_n(9),
        Err(ClaimError::InvalidClaim {
            requested: 9,
            capacity: 8
        })
    );
    assert_eq!(
        multi.try_next_n(-1),
        Err(ClaimError::InvalidClaim {
            requested: -1,
            capacity: 8
        })
    );
    assert_eq!(multi.next_n(8), Ok(7), "the refused claims took nothing");
}

#[test]
fn pinning_to_a_core_that_does_not_exist_is_refused() {
    let error = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .thread_name("matcher")
        .pin_at_core(4096)
        .handle_events_with(noop)
        .build()
        .expect_err("no machine this runs on has 4097 cores");
    let BuildError::InvalidCore {
        core,
        thread,
        available,
    } = &error
    else {
        panic!("expected InvalidCore, got {error:?}");
    };
    assert_eq!((*core, thread.as_str()), (4096, "matcher"));
    assert!(!available.is_empty() && !available.contains(&4096));
    assert_eq!(
        error.to_string(),
        format!("cannot pin thread 'matcher' to core 4096: this process may run on cores {available:?}")
    );

    let error = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .pin_at_core(usize::MAX)
        .then(noop)
        .build()
        .expect_err("no such core");
    assert!(
        matches!(error, BuildError::InvalidCore { core: usize::MAX, .. }),
        "{error:?}"
    );
}

#[test]
fn a_mutable_handler_must_be_alone_in_its_stage() {
    let error = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .thread_name("reader")
        .handle_events_with(noop)
        .thread_name("writer")
        .handle_events_mut(|e: &mut u64, _: i64, _: bool| *e += 1)
        .build()
        .expect_err("the reader could see a half-written event");
    assert_eq!(
        error,
        BuildError::MutableHandlerNotAlone {
            thread: "writer".to_owned(),
            stage_size: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "mutable handler 'writer' shares its stage with 1 other consumer(s); a mutable handler must \
         be alone in its stage so no one reads an event while it is written"
    );

    // Added first, then joined by others (a handler and a poller): still refused.
    let error = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .thread_name("enrich")
        .then_mut(|e: &mut u64, _: i64, _: bool| *e += 1)
        .handle_events_with(noop)
        .event_poller()
        .build()
        .expect_err("the stage has three consumers");
    assert_eq!(
        error,
        BuildError::MutableHandlerNotAlone {
            thread: "enrich".to_owned(),
            stage_size: 3
        }
    );
    assert!(error
        .to_string()
        .contains("shares its stage with 2 other consumer(s)"));

    // Alone in its stage it is fine.
    let producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .then_mut(|e: &mut u64, _: i64, _: bool| *e += 1)
        .then(noop)
        .build()
        .expect("the mutable handler is alone");
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn max_batch_size_zero_is_refused() {
    let error = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .max_batch_size(0)
        .handle_events_with(noop)
        .build()
        .expect_err("a processor must take at least one event a batch");
    assert_eq!(error, BuildError::InvalidBatchSize);
    assert_eq!(error.to_string(), "max_batch_size must be at least 1");
}

#[test]
fn handler_options_set_for_a_poller_are_an_error() {
    let err = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .pin_at_core(0)
        .thread_name("ticks")
        .event_poller()
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::OptionNotForPoller {
            option: "pin_at_core",
            poller: "ticks".to_owned()
        }
    );
    assert!(
        err.to_string()
            .contains("pin_at_core was set for event poller 'ticks'"),
        "{err}"
    );
    let err = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .max_batch_size(4)
        .event_poller()
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        BuildError::OptionNotForPoller {
            option: "max_batch_size",
            ..
        }
    ));
}
