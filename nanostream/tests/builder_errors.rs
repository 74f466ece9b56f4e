//! Bad input: invalid ring sizes, claims larger than the ring, cores that do not exist,
//! `max_batch_size(0)`, handler settings on a poller, a setting before any consumer, a dependency
//! for a stage without consumers. Each is an error (never a panic or a hang) whose `Display`
//! tells the user what to change.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;

use nanostream::{
    build_multi_producer, build_single_producer, Alert, BlockingWaitStrategy, BuildError, Builder,
    ClaimError, ExternalSequence, MultiProducerSequencer, PanicPolicy, Producer, PublishError, Sequence,
    Single, SingleProducerSequencer, StreamingBackoff, TryPublishError,
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
        .handle_events_with(noop)
        .thread_name("matcher")
        .pin_at_core(4096)
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

    // The core belongs to the consumer added last, whatever comes after it.
    let error = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .thread_name("first")
        .and_then()
        .handle_events_with(noop)
        .thread_name("second")
        .pin_at_core(usize::MAX)
        .and_then()
        .handle_events_with(noop)
        .thread_name("third")
        .build()
        .expect_err("no such core");
    assert!(
        matches!(&error, BuildError::InvalidCore { core: usize::MAX, thread, .. } if thread == "second"),
        "{error:?}"
    );
}

#[test]
fn max_batch_size_zero_is_refused() {
    let error = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .max_batch_size(0)
        .build()
        .expect_err("a processor must take at least one event a batch");
    assert_eq!(error, BuildError::InvalidBatchSize);
    assert_eq!(error.to_string(), "max_batch_size must be at least 1");
}

#[test]
fn handler_options_set_for_a_poller_are_an_error() {
    // Reported with the poller's name, even when the name is set after the misplaced option.
    let err = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .pin_at_core(0)
        .thread_name("ticks")
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
        .handle_events_with(noop)
        .event_poller()
        .max_batch_size(4)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        BuildError::OptionNotForPoller {
            option: "max_batch_size",
            ..
        }
    ));
    // Setting the default policy is still a setting the poller cannot use.
    let err = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .on_panic(PanicPolicy::Halt)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::OptionNotForPoller {
                option: "on_panic",
                ..
            }
        ),
        "{err:?}"
    );
    // The same settings on the handler added after the poller are fine.
    let producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .event_poller()
        .thread_name("ticks")
        .handle_events_with(noop)
        .max_batch_size(4)
        .on_panic(PanicPolicy::LogAndContinue)
        .build()
        .expect("the options belong to the handler");
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}

#[test]
fn a_setting_before_any_consumer_is_an_error() {
    type Setting =
        fn(Builder<u64, BlockingWaitStrategy, Single>) -> Builder<u64, BlockingWaitStrategy, Single>;
    let settings: [(&str, Setting); 5] = [
        ("thread_name", |b| b.thread_name("journal")),
        ("pin_at_core", |b| b.pin_at_core(0)),
        ("max_batch_size", |b| b.max_batch_size(16)),
        ("on_panic", |b| b.on_panic(PanicPolicy::LogAndContinue)),
        ("streaming_backoff", |b| {
            b.streaming_backoff(StreamingBackoff::disabled())
        }),
    ];
    for (option, set) in settings {
        let builder = build_single_producer(8, || 0u64, BlockingWaitStrategy::new());
        // `and_then` on an empty builder adds no consumer for the setting to apply to.
        let error = set(builder.and_then())
            .handle_events_with(noop)
            .build()
            .expect_err("the setting has no consumer to apply to");
        assert_eq!(error, BuildError::OptionWithoutConsumer { option });
        assert_eq!(
            error.to_string(),
            format!(
                "{option} was called before any consumer was added: a setting applies to the \
                 consumer added last, so call it after that consumer, e.g. \
                 .handle_events_with(h).{option}(..)"
            )
        );
    }
    // The first mistake is the one reported.
    let error = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .thread_name("journal")
        .pin_at_core(0)
        .handle_events_with(noop)
        .build()
        .expect_err("two settings without a consumer");
    assert_eq!(
        error,
        BuildError::OptionWithoutConsumer {
            option: "thread_name"
        }
    );
}

#[test]
fn a_dependency_for_a_stage_without_consumers_is_an_error() {
    let watermark = ExternalSequence::new();
    let error = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .and_then()
        .depends_on(&watermark)
        .build()
        .expect_err("the second stage has no consumer to gate");
    assert_eq!(error, BuildError::DependencyWithoutConsumer { stage: 2 });
    assert_eq!(
        error.to_string(),
        "depends_on was called for stage 2, but no consumer was added to that stage: add \
         the consumers that must wait for the sequence after it"
    );

    let error = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .depends_on(&watermark)
        .build()
        .expect_err("no consumer at all");
    assert_eq!(error, BuildError::DependencyWithoutConsumer { stage: 1 });

    // With a consumer after it, the same dependency is fine.
    let producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(noop)
        .and_then()
        .depends_on(&watermark)
        .handle_events_with(noop)
        .build()
        .expect("the second stage has a consumer");
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}
