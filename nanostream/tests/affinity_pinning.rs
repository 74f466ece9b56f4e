//! Core pinning: a pipeline built from a thread pinned to core 0 can still pin its handler to
//! core 1 (the builder checks the cores the process may use, not the calling thread's mask),
//! and the handler really runs there.

mod common;

use std::sync::{Arc, Mutex};

use nanostream::{build_single_producer, BlockingWaitStrategy, EventHandler, Producer};

/// Records the cores its thread may run on, at start and at its last event.
struct WhereAmI {
    at_start: Arc<Mutex<Option<Vec<usize>>>>,
    at_event: Arc<Mutex<Option<Vec<usize>>>>,
}

fn cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .expect("the affinity mask is readable")
        .into_iter()
        .map(|c| c.id)
        .collect()
}

impl EventHandler<u64> for WhereAmI {
    fn on_event(&mut self, _: &u64, _: i64, end_of_batch: bool) {
        if end_of_batch {
            *self.at_event.lock().unwrap() = Some(cores());
        }
    }
    fn on_start(&mut self) {
        *self.at_start.lock().unwrap() = Some(cores());
    }
}

#[test]
fn a_handler_is_pinned_to_core_1_when_the_builder_runs_on_core_0() {
    let available = cores();
    if !(available.contains(&0) && available.contains(&1)) {
        println!("skipped: this test needs cores 0 and 1, this process may use {available:?}");
        return;
    }
    // libtest runs each test on a thread of its own: pinning it does not leak into other tests.
    assert!(
        core_affinity::set_for_current(core_affinity::CoreId { id: 0 }),
        "pin the test thread to core 0"
    );
    assert_eq!(cores(), vec![0]);

    let at_start = Arc::new(Mutex::new(None));
    let at_event = Arc::new(Mutex::new(None));
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(WhereAmI {
            at_start: at_start.clone(),
            at_event: at_event.clone(),
        })
        .thread_name("pinned")
        .pin_at_core(1)
        .build()
        .expect("core 1 is available to the process even though this thread is on core 0");
    for i in 0..10 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(*at_start.lock().unwrap(), Some(vec![1]), "pinned before on_start");
    assert_eq!(
        *at_event.lock().unwrap(),
        Some(vec![1]),
        "still pinned while handling events"
    );
    assert_eq!(cores(), vec![0], "the calling thread keeps its own pinning");
}
