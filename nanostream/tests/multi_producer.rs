//! The multi-producer handle: clones publish from several threads; `shutdown` on one clone
//! waits for the others to be dropped (and processes what they publish meanwhile); dropping
//! the last clone shuts the pipeline down; `halt` on one clone stops the others' publishing.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use nanostream::{
    build_multi_producer, BlockingWaitStrategy, EventHandler, Producer, PublishError, YieldingWaitStrategy,
};

const N: u64 = if cfg!(miri) { 100 } else { 20_000 };

/// Counts events, sums them, and records `on_shutdown`.
#[derive(Clone, Default)]
struct Tally {
    count: Arc<AtomicU64>,
    sum: Arc<AtomicU64>,
    shut_down: Arc<AtomicBool>,
}

impl EventHandler<u64> for Tally {
    fn on_event(&mut self, e: &u64, _: i64, _: bool) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(*e, Ordering::Relaxed);
    }
    fn on_shutdown(&mut self) {
        self.shut_down.store(true, Ordering::Release);
    }
}

#[test]
fn clones_publish_from_several_threads() {
    let tally = Tally::default();
    let producer = build_multi_producer(64, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(tally.clone())
        .build()
        .unwrap();
    let threads: Vec<_> = (0..3u64)
        .map(|id| {
            let mut clone = producer.clone();
            std::thread::spawn(move || {
                for i in 0..N {
                    clone.publish(|e, _| *e = id * N + i).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        common::join_within("a producer thread", thread);
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    let total = 3 * N;
    assert_eq!(tally.count.load(Ordering::Relaxed), total);
    assert_eq!(tally.sum.load(Ordering::Relaxed), total * (total - 1) / 2);
}

#[test]
fn shutdown_waits_for_the_other_clones_to_drop() {
    let tally = Tally::default();
    let producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(tally.clone())
        .build()
        .unwrap();
    let mut other = producer.clone();
    let (go, wait_for_go) = mpsc::channel::<()>();
    let shutting_down = Arc::new(AtomicBool::new(false));
    let flag = shutting_down.clone();
    let shutdown = std::thread::spawn(move || {
        flag.store(true, Ordering::Release);
        producer.shutdown()
    });
    let publisher = std::thread::spawn(move || {
        wait_for_go.recv().unwrap();
        // Shutdown has been called on the other clone; this one still publishes, and every
        // event must get through.
        for i in 0..100 {
            other
                .publish(|e, _| *e = i)
                .expect("shutdown waits for this clone");
        }
        other
    });
    common::expect_within("shutdown is called", || shutting_down.load(Ordering::Acquire));
    go.send(()).unwrap();
    let other = common::join_within("the second clone's publishing", publisher);
    assert!(
        !shutdown.is_finished(),
        "shutdown returned while another clone was alive"
    );
    assert!(
        !tally.shut_down.load(Ordering::Acquire),
        "the pipeline stopped under a live clone"
    );
    drop(other);
    common::join_within("shutdown", shutdown).expect("no handler failed");
    assert_eq!(tally.count.load(Ordering::Relaxed), 100);
    assert!(tally.shut_down.load(Ordering::Acquire));
}

#[test]
fn dropping_the_last_clone_shuts_the_pipeline_down() {
    let tally = Tally::default();
    let mut producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(tally.clone())
        .build()
        .unwrap();
    let mut clones: Vec<_> = (0..3).map(|_| producer.clone()).collect();
    for (i, clone) in clones.iter_mut().enumerate() {
        clone.publish(|e, _| *e = i as u64).unwrap();
    }
    producer.publish(|e, _| *e = 3).unwrap();
    drop(producer);
    let last = clones.pop().unwrap();
    drop(clones);
    assert!(!tally.shut_down.load(Ordering::Acquire), "a clone is still alive");
    common::finishes("dropping the last clone", move || drop(last));
    // Dropping the last clone drained and joined the pipeline before it returned.
    assert!(tally.shut_down.load(Ordering::Acquire));
    assert_eq!(tally.count.load(Ordering::Relaxed), 4);
    assert_eq!(tally.sum.load(Ordering::Relaxed), 6);
}

#[test]
fn halt_on_one_clone_stops_the_others() {
    let tally = Tally::default();
    let producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(tally.clone())
        .build()
        .unwrap();
    let mut other = producer.clone();
    other.publish(|e, _| *e = 1).unwrap();
    common::finishes("halt", move || producer.halt()).expect("not the last handle: nothing to report");
    assert_eq!(other.publish(|e, _| *e = 2), Err(PublishError::Halted));
    common::finishes("dropping the last clone", move || drop(other));
    assert!(tally.shut_down.load(Ordering::Acquire));
}
