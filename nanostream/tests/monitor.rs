//! `PipelineMonitor`: consumer names, progress, lag and the ring's fill level, read from
//! another thread while a consumer is stalled and after it catches up.

mod common;

use common::Gate;
use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, ConsumerStatus, Producer,
};

#[test]
fn monitor_reports_lag_and_fill_level_from_another_thread() {
    let gate = Gate::new();
    let held = gate.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .thread_name("fast")
        .handle_events_with(move |_: &u64, sequence: i64, _: bool| {
            if sequence == 0 {
                held.pass();
            }
        })
        .thread_name("slow")
        .and_then()
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .thread_name("last")
        .build()
        .unwrap();
    let monitor = producer.monitor();
    assert_eq!(monitor.cursor(), -1);
    assert_eq!(monitor.fill_level(), 0);
    for i in 0..5 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    gate.expect_waiter();

    let observer = monitor.clone();
    let stalled = common::finishes("reading the monitor", move || {
        common::expect_within("'fast' catches up", || {
            observer.consumer("fast").is_some_and(|c| c.lag == 0)
        });
        (
            observer.cursor(),
            observer.capacity(),
            observer.fill_level(),
            observer.consumers(),
            observer.consumer("nope"),
        )
    });
    let status = |name: &str, sequence: i64, lag: i64| ConsumerStatus {
        name: name.to_owned(),
        sequence,
        lag,
    };
    assert_eq!(
        stalled,
        (
            4,
            8,
            5, // "last" (the gating stage) has finished nothing
            vec![status("fast", 4, 0), status("slow", -1, 5), status("last", -1, 5)],
            None,
        )
    );

    gate.open();
    let observer = monitor.clone();
    common::finishes("reading the monitor", move || {
        common::expect_within("the pipeline drains", || observer.fill_level() == 0);
        assert!(
            observer.consumers().iter().all(|c| c.sequence == 4 && c.lag == 0),
            "{observer:?}"
        );
    });
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(
        monitor.consumer("last").map(|c| c.sequence),
        Some(4),
        "usable after shutdown"
    );
}

#[test]
fn monitor_names_default_consumers_and_pollers() {
    let mut producer = build_multi_producer(4, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .event_poller()
        .build()
        .unwrap();
    let mut poller = producer.take_event_pollers().pop().unwrap();
    let monitor = producer.monitor();
    let names: Vec<String> = monitor.consumers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["nanostream-processor-1", "nanostream-poller-2"]);
    for i in 0..4 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    // The poller has taken nothing: the ring is full.
    assert_eq!(monitor.fill_level(), 4);
    assert_eq!(monitor.consumer("nanostream-poller-2").map(|c| c.lag), Some(4));
    drop(poller.poll().unwrap());
    common::expect_within("the ring drains", || monitor.fill_level() == 0);
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
}
