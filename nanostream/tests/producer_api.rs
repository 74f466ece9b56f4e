//! The `Producer` API: `try_publish` reports `Full` on a full ring with a stalled consumer (and
//! succeeds once it moves), the translator forms `publish_with/2/3`, batch publishing
//! (`batch_publish`, `batch_publish_with`, `try_batch_publish`), capacity queries, and a
//! translator that panics still publishes its claim so consumers do not stall; and the same API
//! through a `Publisher` session, which hands its place in the sequence back to the producer
//! when it ends (also when a translator panics).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use common::Gate;
use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, Producer, PublishError,
    SingleProducer, TryPublishError,
};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Quote {
    id: u64,
    price: i64,
    size: i64,
    venue: u8,
}

/// A handler that records `(sequence, quote)`, blocking at `gate` on the first event.
fn recorder(
    gate: Gate,
    log: Arc<Mutex<Vec<(i64, Quote)>>>,
) -> impl FnMut(&Quote, i64, bool) + Send + 'static {
    move |q: &Quote, sequence: i64, _: bool| {
        if sequence == 0 {
            gate.pass();
        }
        log.lock().unwrap().push((sequence, *q));
    }
}

/// The log of what a recorder saw.
type Log = Arc<Mutex<Vec<(i64, Quote)>>>;

/// A single-producer pipeline of `size` slots whose one consumer records every event, blocking
/// at `gate` on the first.
fn recorded(size: usize, gate: Gate) -> (SingleProducer<Quote, BlockingWaitStrategy>, Log) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let producer = build_single_producer(size, Quote::default, BlockingWaitStrategy::new())
        .handle_events_with(recorder(gate, log.clone()))
        .build()
        .unwrap();
    (producer, log)
}

/// A gate that never stops the recorder.
fn open_gate() -> Gate {
    let gate = Gate::new();
    gate.open();
    gate
}

/// The ids the recorder saw, in order.
fn ids(log: &Log) -> Vec<u64> {
    log.lock().unwrap().iter().map(|(_, q)| q.id).collect()
}

#[test]
fn try_publish_reports_full_while_the_consumer_is_stalled() {
    let gate = Gate::new();
    let (mut producer, log) = recorded(4, gate.clone());
    assert_eq!(producer.buffer_size(), 4);
    assert_eq!(producer.remaining_capacity(), 4);
    for id in 0..4 {
        assert_eq!(producer.try_publish(|q, _| q.id = id), Ok(id as i64));
    }
    gate.expect_waiter(); // the consumer is stuck inside event 0
    assert_eq!(producer.remaining_capacity(), 0);
    assert!(!producer.has_available_capacity(1));
    let error = producer
        .try_publish(|q, _| q.id = 99)
        .expect_err("the ring is full");
    assert_eq!(error, TryPublishError::Full);
    assert_eq!(
        error.to_string(),
        "the ring buffer is full; nothing was published"
    );
    assert_eq!(
        producer.try_publish_with(|q, _, id| q.id = id, 99),
        Err(TryPublishError::Full)
    );
    assert_eq!(producer.try_batch_publish(1, |_| {}), Err(TryPublishError::Full));
    assert_eq!(producer.cursor(), 3, "nothing more was published");

    gate.open();
    common::expect_within("the consumer frees the ring", || {
        producer.has_available_capacity(4)
    });
    assert_eq!(
        producer.try_batch_publish(4, |batch| {
            for (q, id) in batch.zip(4..) {
                q.id = id;
            }
        }),
        Ok(7)
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    let ids: Vec<(i64, u64)> = log.lock().unwrap().iter().map(|(s, q)| (*s, q.id)).collect();
    assert_eq!(
        ids,
        (0..8).map(|i| (i, i as u64)).collect::<Vec<_>>(),
        "the refused events never appeared"
    );
}

#[test]
fn multi_producer_try_publish_reports_full_too() {
    let gate = Gate::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut producer = build_multi_producer(2, Quote::default, BlockingWaitStrategy::new())
        .handle_events_with(recorder(gate.clone(), log.clone()))
        .build()
        .unwrap();
    let mut other = producer.clone();
    assert_eq!(producer.try_publish(|q, _| q.id = 0), Ok(0));
    assert_eq!(other.try_publish(|q, _| q.id = 1), Ok(1));
    gate.expect_waiter();
    assert_eq!(other.try_publish(|q, _| q.id = 2), Err(TryPublishError::Full));
    assert_eq!(producer.try_batch_publish(2, |_| {}), Err(TryPublishError::Full));
    assert_eq!(producer.remaining_capacity(), 0);
    gate.open();
    drop(other);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(log.lock().unwrap().len(), 2);
}

fn set_price(q: &mut Quote, sequence: i64, price: i64) {
    q.id = sequence as u64;
    q.price = price;
}

#[test]
fn translator_forms_pass_their_arguments() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate::new();
    gate.open();
    let mut producer = build_single_producer(16, Quote::default, BlockingWaitStrategy::new())
        .handle_events_with(recorder(gate, log.clone()))
        .build()
        .unwrap();
    // A plain fn as a reusable translator.
    assert_eq!(producer.publish_with(set_price, 100), Ok(0));
    assert_eq!(
        producer.publish_with2(
            |q, s, p, n| *q = Quote {
                id: s as u64,
                price: p,
                size: n,
                venue: 0
            },
            101,
            5
        ),
        Ok(1)
    );
    assert_eq!(
        producer.publish_with3(
            |q, s, p, n, v| *q = Quote {
                id: s as u64,
                price: p,
                size: n,
                venue: v
            },
            102,
            6,
            7
        ),
        Ok(2)
    );
    assert_eq!(producer.try_publish_with(set_price, 103), Ok(3));
    assert_eq!(
        producer.batch_publish_with([(104, 1), (105, 2), (106, 3)], |q, s, (price, size)| {
            *q = Quote {
                id: s as u64,
                price,
                size,
                venue: 9,
            };
        }),
        Ok(6)
    );
    assert_eq!(
        producer.batch_publish_with(vec![107i64], set_price),
        Ok(7),
        "any ExactSizeIterator"
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    let expected = vec![
        Quote {
            id: 0,
            price: 100,
            size: 0,
            venue: 0,
        },
        Quote {
            id: 1,
            price: 101,
            size: 5,
            venue: 0,
        },
        Quote {
            id: 2,
            price: 102,
            size: 6,
            venue: 7,
        },
        Quote {
            id: 3,
            price: 103,
            size: 0,
            venue: 0,
        },
        Quote {
            id: 4,
            price: 104,
            size: 1,
            venue: 9,
        },
        Quote {
            id: 5,
            price: 105,
            size: 2,
            venue: 9,
        },
        Quote {
            id: 6,
            price: 106,
            size: 3,
            venue: 9,
        },
        Quote {
            id: 7,
            price: 107,
            size: 0,
            venue: 0,
        },
    ];
    let log = log.lock().unwrap();
    assert_eq!(
        log.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    assert_eq!(log.iter().map(|(_, q)| *q).collect::<Vec<_>>(), expected);
}

#[test]
fn batch_publish_hands_out_the_claimed_slots_in_order() {
    let (mut producer, log) = recorded(8, open_gate());
    assert_eq!(producer.publish(|q, _| q.id = 1), Ok(0));
    let high = producer
        .batch_publish(5, |mut batch| {
            assert_eq!(batch.len(), 5);
            assert_eq!((batch.first_sequence(), batch.next_sequence()), (1, 1));
            // Hold two slots at once, write them in reverse.
            let (a, b) = (batch.next().unwrap(), batch.next().unwrap());
            b.id = 3;
            a.id = 2;
            assert_eq!(batch.next_sequence(), 3);
            batch.next().unwrap().id = 4;
            // The last two slots are not visited: they are published as they were.
        })
        .unwrap();
    assert_eq!(high, 5);
    // Slots wrap: a batch across the end of the ring.
    assert_eq!(
        producer.batch_publish(8, |batch| {
            for (q, id) in batch.zip(10..) {
                q.id = id;
            }
        }),
        Ok(13)
    );
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(ids(&log), vec![1, 2, 3, 4, 0, 0, 10, 11, 12, 13, 14, 15, 16, 17]);
}

#[test]
fn a_panicking_translator_still_publishes_its_claim() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut producer = build_multi_producer(8, Quote::default, BlockingWaitStrategy::new())
        .handle_events_with(recorder(open_gate(), log.clone()))
        .build()
        .unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        producer.publish(|q, _| {
            q.id = 1;
            panic!("translator failed halfway");
        })
    }));
    assert!(panicked.is_err());
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        producer.batch_publish(2, |mut batch| {
            batch.next().unwrap().id = 2;
            panic!("batch translator failed halfway");
        })
    }));
    assert!(panicked.is_err());
    // Had a claim stayed unpublished, this event would never reach the consumer.
    assert_eq!(producer.publish(|q, _| q.id = 4), Ok(3));
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(
        ids(&log),
        vec![1, 2, 0, 4],
        "published as the translators left them"
    );
}

#[test]
fn a_publisher_session_publishes_in_order_and_the_producer_continues_after_it() {
    const RING: usize = 8;
    const COUNT: u64 = if cfg!(miri) { 40 } else { 1000 };
    let (mut producer, log) = recorded(RING, open_gate());
    assert_eq!(producer.publish(|q, _| q.id = 0), Ok(0));
    {
        // Many laps of a small ring: the session waits for room as the producer would.
        let mut publisher = producer.publisher();
        for id in 1..COUNT {
            assert_eq!(publisher.publish(|q, _| q.id = id), Ok(id as i64));
        }
        // The rest of the Producer API works through the session too.
        assert_eq!(
            publisher.batch_publish(3, |batch| {
                for (q, id) in batch.zip(COUNT..) {
                    q.id = id;
                }
            }),
            Ok(COUNT as i64 + 2)
        );
        assert_eq!(
            publisher.publish_with(|q, _, id| q.id = id, COUNT + 3),
            Ok(COUNT as i64 + 3)
        );
    }
    // The session handed its place back: the producer carries on from the next sequence.
    assert_eq!(producer.publish(|q, _| q.id = COUNT + 4), Ok(COUNT as i64 + 4));
    assert_eq!(producer.cursor(), COUNT as i64 + 4);
    let mut second = producer.publisher();
    assert_eq!(second.publish(|q, _| q.id = COUNT + 5), Ok(COUNT as i64 + 5));
    drop(second);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(ids(&log), (0..COUNT + 6).collect::<Vec<_>>());
}

#[test]
fn a_publisher_session_reports_full_like_the_producer() {
    let gate = Gate::new();
    let (mut producer, log) = recorded(4, gate.clone());
    let mut publisher = producer.publisher();
    for id in 0..4 {
        assert_eq!(publisher.try_publish(|q, _| q.id = id), Ok(id as i64));
    }
    gate.expect_waiter(); // the consumer is stuck inside event 0
    assert_eq!(
        publisher.try_publish(|q, _| q.id = 99),
        Err(TryPublishError::Full)
    );
    assert_eq!(
        publisher.batch_publish(5, |_| {}),
        Err(PublishError::InvalidBatch {
            requested: 5,
            capacity: 4
        }),
        "a batch larger than the ring is refused, not waited for"
    );
    gate.open();
    // The consumer releases its slots when it finishes its batch, after it has logged the
    // events: try until a slot is free (a refused try publishes nothing).
    let mut outcome = Err(TryPublishError::Full);
    common::expect_within("the consumer frees a slot", || {
        outcome = publisher.try_publish(|q, _| q.id = 4);
        outcome != Err(TryPublishError::Full)
    });
    assert_eq!(outcome, Ok(4));
    drop(publisher);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(ids(&log), vec![0, 1, 2, 3, 4]);
}

#[test]
fn a_publisher_session_gets_halted_once_a_handler_fails() {
    let mut producer = build_single_producer(8, Quote::default, BlockingWaitStrategy::new())
        .handle_events_with(|q: &Quote, _: i64, _: bool| assert_ne!(q.id, 1, "bad quote"))
        .build()
        .unwrap();
    let (producer, error) = common::finishes("publishing until the halt is seen", move || {
        let mut publisher = producer.publisher();
        publisher.publish(|q, _| q.id = 1).unwrap(); // the handler fails on this one
                                                     // Publishes succeed until the halt is visible (at the latest when the ring is full and
                                                     // the claim waits for a consumer that is gone); then every one is refused.
        let error = loop {
            if let Err(error) = publisher.publish(|q, _| q.id = 2) {
                break error;
            }
        };
        assert_eq!(
            publisher.try_publish(|q, _| q.id = 3),
            Err(TryPublishError::Halted)
        );
        drop(publisher);
        (producer, error)
    });
    assert_eq!(error, PublishError::Halted);
    common::finishes("shutdown", move || producer.shutdown()).expect_err("the handler failed");
}

#[test]
fn a_publisher_session_that_panics_hands_its_claims_back() {
    let (mut producer, log) = recorded(8, open_gate());
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let mut publisher = producer.publisher();
        publisher.publish(|q, _| q.id = 1).unwrap();
        publisher.publish(|q, _| {
            q.id = 2;
            panic!("translator failed halfway");
        })
    }));
    assert!(panicked.is_err());
    // The panicking publish was published as the translator left it, and the unwinding session
    // handed sequence 1 back to the producer: the next claim is 2, not 0 or 1 again.
    assert_eq!(producer.publish(|q, _| q.id = 3), Ok(2));
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(ids(&log), vec![1, 2, 3]);
}
