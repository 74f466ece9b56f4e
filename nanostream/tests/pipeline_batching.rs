//! Batching: a processor hands its handler everything available as one batch, cut at
//! `max_batch_size`; `on_batch_start` announces each batch's size and the queue depth, and
//! `end_of_batch` marks its last event.

mod common;

use std::sync::{Arc, Mutex};

use common::Gate;
use nanostream::{build_single_producer, BlockingWaitStrategy, EventHandler, Producer};

/// A batch as recorded: `(batch_size, queue_depth, [(sequence, end_of_batch)])`.
type Batch = (i64, i64, Vec<(i64, bool)>);

/// Records each batch.
struct Batches {
    gate: Gate,
    log: Arc<Mutex<Vec<Batch>>>,
}

impl EventHandler<u64> for Batches {
    fn on_batch_start(&mut self, batch_size: i64, queue_depth: i64) {
        self.log
            .lock()
            .unwrap()
            .push((batch_size, queue_depth, Vec::new()));
    }
    fn on_event(&mut self, _: &u64, sequence: i64, end_of_batch: bool) {
        self.log
            .lock()
            .unwrap()
            .last_mut()
            .expect("a batch was started")
            .2
            .push((sequence, end_of_batch));
        if sequence == 0 {
            self.gate.pass();
        }
    }
}

/// Holds the handler inside event 0 while `backlog` more events pile up, then lets it go.
fn batches_with(max_batch_size: Option<usize>, backlog: u64) -> Vec<Batch> {
    let gate = Gate::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut builder =
        build_single_producer(64, || 0u64, BlockingWaitStrategy::new()).handle_events_with(Batches {
            gate: gate.clone(),
            log: log.clone(),
        });
    if let Some(n) = max_batch_size {
        builder = builder.max_batch_size(n);
    }
    let mut producer = builder.build().unwrap();
    producer.publish(|e, _| *e = 0).unwrap();
    gate.expect_waiter();
    for i in 1..=backlog {
        producer.publish(|e, _| *e = i).unwrap();
    }
    gate.open();
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    let log = log.lock().unwrap().clone();
    // Whatever the batching: every event once, in order; end_of_batch exactly on each last one;
    // each batch as long as announced.
    let all: Vec<i64> = log
        .iter()
        .flat_map(|(_, _, events)| events.iter().map(|(s, _)| *s))
        .collect();
    assert_eq!(all, (0..=backlog as i64).collect::<Vec<_>>());
    for (size, depth, events) in &log {
        assert_eq!(events.len() as i64, *size, "batch {log:?}");
        assert!(depth >= size, "queue depth {depth} below batch size {size}");
        let ends: Vec<bool> = events.iter().map(|(_, end)| *end).collect();
        let mut expected = vec![false; events.len()];
        *expected.last_mut().unwrap() = true;
        assert_eq!(ends, expected, "end_of_batch only on the last event");
    }
    log
}

#[test]
fn a_backlog_is_handed_over_as_one_batch() {
    let log = batches_with(None, 40);
    // Event 0 alone (the handler blocked in it), then the backlog of 40 in one batch.
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[1].0, log[1].1), (40, 40));
}

#[test]
fn max_batch_size_caps_batches() {
    let log = batches_with(Some(4), 40);
    for (size, _, _) in &log {
        assert!(*size <= 4, "a batch of {size} exceeds max_batch_size(4)");
    }
    // The backlog of 40 comes in batches of exactly 4, the first announcing the whole queue.
    assert_eq!(log.len(), 11, "{log:?}");
    assert_eq!((log[1].0, log[1].1), (4, 40));
    assert_eq!((log[2].0, log[2].1), (4, 36));
}
