//! Shutdown: `shutdown` (and dropping the producer) drains every published event through every
//! stage; `shutdown_timeout` names a handler that is stuck and lets its thread exit once it is
//! released; the lifecycle hooks run once each, on the consumer thread.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Gate;
use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, EventHandler, Producer, ShutdownError,
    YieldingWaitStrategy,
};

const N: u64 = if cfg!(miri) { 100 } else { 20_000 };

/// Counts events, and sums them so a skipped or repeated event shows.
fn counter(count: &Arc<AtomicU64>, sum: &Arc<AtomicU64>) -> impl FnMut(&u64, i64, bool) + Send + 'static {
    let (count, sum) = (count.clone(), sum.clone());
    move |e: &u64, _: i64, _: bool| {
        count.fetch_add(1, Ordering::Relaxed);
        sum.fetch_add(*e, Ordering::Relaxed);
    }
}

fn counters(n: usize) -> Vec<(Arc<AtomicU64>, Arc<AtomicU64>)> {
    (0..n)
        .map(|_| (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))))
        .collect()
}

fn assert_drained(counters: &[(Arc<AtomicU64>, Arc<AtomicU64>)]) {
    for (i, (count, sum)) in counters.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), N, "stage {i} saw every event");
        assert_eq!(
            sum.load(Ordering::Relaxed),
            N * (N - 1) / 2,
            "stage {i} saw each event once"
        );
    }
}

#[test]
fn shutdown_drains_every_stage() {
    let c = counters(3);
    // A small ring: the producer laps it many times, and shutdown starts with it full.
    let mut producer = build_single_producer(16, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(counter(&c[0].0, &c[0].1))
        .and_then()
        .handle_events_with(counter(&c[1].0, &c[1].1))
        .and_then()
        .handle_events_with(counter(&c[2].0, &c[2].1))
        .build()
        .unwrap();
    for i in 0..N {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).expect("no handler failed");
    assert_drained(&c);
}

#[test]
fn multi_producer_shutdown_drains_every_stage() {
    let c = counters(2);
    let mut producer = build_multi_producer(16, || 0u64, YieldingWaitStrategy::new())
        .handle_events_with(counter(&c[0].0, &c[0].1))
        .and_then()
        .handle_events_with(counter(&c[1].0, &c[1].1))
        .build()
        .unwrap();
    for i in 0..N {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).expect("no handler failed");
    assert_drained(&c);
}

#[test]
fn dropping_the_producer_drains_too() {
    let c = counters(2);
    let mut producer = build_single_producer(16, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(counter(&c[0].0, &c[0].1))
        .and_then()
        .handle_events_with(counter(&c[1].0, &c[1].1))
        .build()
        .unwrap();
    for i in 0..N {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("dropping the producer", move || drop(producer));
    assert_drained(&c);
}

/// A handler that blocks at a gate the test controls on its first event, and records that its
/// thread ended.
struct Stuck {
    gate: Gate,
    ended: Arc<AtomicBool>,
}

impl EventHandler<u64> for Stuck {
    fn on_event(&mut self, _: &u64, sequence: i64, _: bool) {
        if sequence == 0 {
            self.gate.pass();
        }
    }
    fn on_shutdown(&mut self) {
        self.ended.store(true, Ordering::Release);
    }
}

#[test]
fn shutdown_timeout_names_a_stuck_handler_then_lets_it_exit() {
    let gate = Gate::new();
    let stuck_ended = Arc::new(AtomicBool::new(false));
    let after_ended = Arc::new(AtomicBool::new(false));
    let after_flag = after_ended.clone();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(|_: &u64, _: i64, _: bool| {})
        .thread_name("fast")
        .handle_events_with(Stuck {
            gate: gate.clone(),
            ended: stuck_ended.clone(),
        })
        .thread_name("stuck")
        .and_then()
        .handle_events_with(OnShutdown(after_flag))
        .thread_name("after")
        .build()
        .unwrap();
    for i in 0..3 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    gate.expect_waiter();

    let timeout = Duration::from_millis(50);
    let error = common::finishes("shutdown_timeout", move || producer.shutdown_timeout(timeout))
        .expect_err("a stuck handler cannot drain");
    match &error {
        ShutdownError::Timeout { timeout: t, lagging } => {
            assert_eq!(*t, timeout);
            let mut lagging = lagging.clone();
            lagging.sort();
            // "fast" drained; "stuck" holds event 0; "after" waits behind it.
            assert_eq!(lagging, vec![("after".to_owned(), 3), ("stuck".to_owned(), 3)]);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("shutdown did not finish within 50ms"),
        "{message}"
    );
    assert!(message.contains("'stuck' (3 events behind)"), "{message}");
    assert!(message.contains("'after' (3 events behind)"), "{message}");

    // The pipeline is halted: the consumer behind the stuck one has already left, and the stuck
    // one leaves as soon as its handler returns.
    common::expect_within("the waiting consumer exits", || {
        after_ended.load(Ordering::Acquire)
    });
    assert!(
        !stuck_ended.load(Ordering::Acquire),
        "the stuck handler is still inside on_event"
    );
    gate.open();
    common::expect_within("the released handler's thread exits", || {
        stuck_ended.load(Ordering::Acquire)
    });
}

#[test]
fn shutdown_timeout_succeeds_when_everything_drains() {
    let c = counters(2);
    let mut producer = build_single_producer(16, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(counter(&c[0].0, &c[0].1))
        .and_then()
        .handle_events_with(counter(&c[1].0, &c[1].1))
        .build()
        .unwrap();
    for i in 0..N {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown_timeout", move || {
        producer.shutdown_timeout(common::PATIENCE)
    })
    .expect("drains well within the deadline");
    assert_drained(&c);
}

/// Records that `on_shutdown` ran.
struct OnShutdown(Arc<AtomicBool>);

impl EventHandler<u64> for OnShutdown {
    fn on_event(&mut self, _: &u64, _: i64, _: bool) {}
    fn on_shutdown(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A lifecycle call as recorded: `(hook, thread name, events seen so far)`.
type Call = (&'static str, Option<String>, usize);

/// Records every lifecycle call with the thread it ran on.
#[derive(Clone, Default)]
struct Lifecycle {
    starts: Arc<AtomicUsize>,
    shutdowns: Arc<AtomicUsize>,
    events: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Call>>>,
}

impl Lifecycle {
    fn record(&self, hook: &'static str) {
        let thread = std::thread::current().name().map(str::to_owned);
        let events = self.events.load(Ordering::Relaxed);
        self.log.lock().unwrap().push((hook, thread, events));
    }
}

impl EventHandler<u64> for Lifecycle {
    fn on_event(&mut self, _: &u64, _: i64, _: bool) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }
    fn on_start(&mut self) {
        self.starts.fetch_add(1, Ordering::Relaxed);
        self.record("start");
    }
    fn on_shutdown(&mut self) {
        self.shutdowns.fetch_add(1, Ordering::Relaxed);
        self.record("shutdown");
    }
}

#[test]
fn on_start_and_on_shutdown_run_once_each_on_the_consumer_thread() {
    let hooks = Lifecycle::default();
    let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(hooks.clone())
        .thread_name("hooked")
        .build()
        .unwrap();
    for i in 0..20 {
        producer.publish(|e, _| *e = i).unwrap();
    }
    common::finishes("shutdown", move || producer.shutdown()).unwrap();
    assert_eq!(hooks.starts.load(Ordering::Relaxed), 1);
    assert_eq!(hooks.shutdowns.load(Ordering::Relaxed), 1);
    let thread = Some("hooked".to_owned());
    assert_eq!(
        *hooks.log.lock().unwrap(),
        vec![("start", thread.clone(), 0), ("shutdown", thread, 20)],
        "on_start before the first event, on_shutdown after the last, both on the handler's thread"
    );
}

#[test]
fn halt_runs_on_shutdown_once_too() {
    let hooks = Lifecycle::default();
    let producer = build_multi_producer(8, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(hooks.clone())
        .and_then()
        .handle_events_with(hooks.clone())
        .build()
        .unwrap();
    common::expect_within("both handlers started", || {
        hooks.starts.load(Ordering::Relaxed) == 2
    });
    common::finishes("halt", move || producer.halt()).unwrap();
    assert_eq!(hooks.starts.load(Ordering::Relaxed), 2);
    assert_eq!(hooks.shutdowns.load(Ordering::Relaxed), 2);
    assert_eq!(hooks.events.load(Ordering::Relaxed), 0);
}
