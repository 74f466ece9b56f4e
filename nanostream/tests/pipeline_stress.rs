//! Stress: producers publish into a three-stage diamond (a mutable stage, two parallel readers,
//! then a join) on a 2-core machine, with blocking and yielding strategies.
//!
//! Every handler checks, event by event, that it sees every sequence exactly once and in order,
//! that each producer's events keep their order, that the mutable stage's writes are visible,
//! and (the join) that both parallel handlers had finished the event before it got it. A
//! violation panics inside the handler, which halts the pipeline and comes back from
//! `shutdown` with the handler's message.

mod common;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use nanostream::{
    build_multi_producer, build_single_producer, BlockingWaitStrategy, EventHandler, EventHandlerMut,
    Producer, PublishError, WaitStrategy, YieldingWaitStrategy,
};

const N: u64 = if cfg!(miri) { 100 } else { 200_000 };
const PRODUCERS: usize = 2;
const RING: usize = if cfg!(miri) { 16 } else { 1024 };

/// Written by producers (`producer`, `counter`, `stamp = -1`), enriched by stage 1 (`stamp`).
#[derive(Debug, Clone, Copy)]
struct Event {
    producer: usize,
    counter: u64,
    stamp: i64,
}

impl Default for Event {
    fn default() -> Self {
        Self {
            producer: usize::MAX,
            counter: u64::MAX,
            stamp: -1,
        }
    }
}

fn stamp_of(sequence: i64, event: &Event) -> i64 {
    sequence * 7 + event.producer as i64 * 3 + event.counter as i64
}

/// What every handler checks: sequences in order, each once; per-producer order.
struct Order {
    name: &'static str,
    next_sequence: i64,
    next_counter: [u64; PRODUCERS],
}

impl Order {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            next_sequence: 0,
            next_counter: [0; PRODUCERS],
        }
    }

    fn check(&mut self, event: &Event, sequence: i64) {
        assert_eq!(
            sequence, self.next_sequence,
            "{}: got sequence {sequence}, expected {}",
            self.name, self.next_sequence
        );
        self.next_sequence += 1;
        assert!(
            event.producer < PRODUCERS,
            "{}: bad producer in {event:?}",
            self.name
        );
        let expected = &mut self.next_counter[event.producer];
        assert_eq!(
            event.counter, *expected,
            "{}: producer {} event out of order at sequence {sequence}",
            self.name, event.producer
        );
        *expected += 1;
    }
}

/// Stage 1: alone in its stage, writes `stamp`.
struct Enrich {
    order: Order,
    done: Arc<AtomicI64>,
}

impl EventHandlerMut<Event> for Enrich {
    fn on_event(&mut self, event: &mut Event, sequence: i64, _end_of_batch: bool) {
        self.order.check(event, sequence);
        assert_eq!(
            event.stamp, -1,
            "enrich: sequence {sequence} already stamped (a stale or reused event)"
        );
        event.stamp = stamp_of(sequence, event);
        self.done.store(sequence, Ordering::Release);
    }
}

/// Stages 2 and 3: read the stamp and check that every upstream handler finished the event.
struct Check {
    order: Order,
    upstream: Vec<Arc<AtomicI64>>,
    done: Arc<AtomicI64>,
    seen: Arc<AtomicU64>,
}

impl EventHandler<Event> for Check {
    fn on_event(&mut self, event: &Event, sequence: i64, _end_of_batch: bool) {
        let name = self.order.name;
        self.order.check(event, sequence);
        assert_eq!(
            event.stamp,
            stamp_of(sequence, event),
            "{name}: sequence {sequence} does not carry stage 1's write"
        );
        for (i, upstream) in self.upstream.iter().enumerate() {
            let finished = upstream.load(Ordering::Acquire);
            assert!(
                finished >= sequence,
                "{name}: got sequence {sequence} before upstream handler {i} finished it (it is at {finished})"
            );
        }
        self.done.store(sequence, Ordering::Release);
        self.seen.fetch_add(1, Ordering::Relaxed);
    }
}

struct Counters {
    enrich: Arc<AtomicI64>,
    left: Arc<AtomicI64>,
    right: Arc<AtomicI64>,
    join: Arc<AtomicI64>,
    seen: [Arc<AtomicU64>; 3],
}

impl Counters {
    fn new() -> Self {
        let progress = || Arc::new(AtomicI64::new(-1));
        Self {
            enrich: progress(),
            left: progress(),
            right: progress(),
            join: progress(),
            seen: std::array::from_fn(|_| Arc::new(AtomicU64::new(0))),
        }
    }

    fn check(
        &self,
        name: &'static str,
        upstream: &[&Arc<AtomicI64>],
        done: &Arc<AtomicI64>,
        i: usize,
    ) -> Check {
        Check {
            order: Order::new(name),
            upstream: upstream.iter().map(|u| (*u).clone()).collect(),
            done: done.clone(),
            seen: self.seen[i].clone(),
        }
    }

    fn assert_all_seen(&self, total: u64) {
        for (name, seen) in ["left", "right", "join"].iter().zip(&self.seen) {
            assert_eq!(
                seen.load(Ordering::Relaxed),
                total,
                "{name} did not see every event"
            );
        }
        assert_eq!(self.join.load(Ordering::Acquire), total as i64 - 1);
    }
}

/// Two producer threads, each publishing `N / 2` events (one with single publishes, one with
/// batches of varying size), into enrich -> {left, right} -> join.
fn two_producers_diamond<W: WaitStrategy>(wait_strategy: W) {
    let c = Counters::new();
    let producer = build_multi_producer(RING, Event::default, wait_strategy)
        .handle_events_mut(Enrich {
            order: Order::new("enrich"),
            done: c.enrich.clone(),
        })
        .thread_name("enrich")
        .handle_events_with(c.check("left", &[&c.enrich], &c.left, 0))
        .thread_name("left")
        .handle_events_with(c.check("right", &[&c.enrich], &c.right, 1))
        .thread_name("right")
        .and_then()
        .handle_events_with(c.check("join", &[&c.enrich, &c.left, &c.right], &c.join, 2))
        .thread_name("join")
        .build()
        .expect("a valid pipeline");

    let per_producer = N / PRODUCERS as u64;
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|id| {
            let mut handle = producer.clone();
            std::thread::spawn(move || -> Result<(), PublishError> {
                let mut counter = 0u64;
                while counter < per_producer {
                    if id == 0 {
                        handle.publish(|e, _| {
                            *e = Event {
                                producer: id,
                                counter,
                                stamp: -1,
                            };
                        })?;
                        counter += 1;
                    } else {
                        let n = ((counter % 7) + 1).min(per_producer - counter);
                        handle.batch_publish(n as usize, |batch| {
                            for (i, e) in batch.enumerate() {
                                *e = Event {
                                    producer: id,
                                    counter: counter + i as u64,
                                    stamp: -1,
                                };
                            }
                        })?;
                        counter += n;
                    }
                }
                Ok(())
            })
        })
        .collect();
    let published: Vec<_> = threads
        .into_iter()
        .map(|t| common::join_within("a producer thread", t))
        .collect();
    // A handler's failed check halts the pipeline; its message is the useful one.
    producer.shutdown().expect("every handler's checks held");
    for result in published {
        result.expect("the pipeline never halted");
    }
    c.assert_all_seen(per_producer * PRODUCERS as u64);
}

#[test]
fn two_producers_into_a_diamond_with_blocking_wait() {
    two_producers_diamond(BlockingWaitStrategy::new());
}

#[test]
fn two_producers_into_a_diamond_with_yielding_wait() {
    two_producers_diamond(YieldingWaitStrategy::new());
}

/// The same diamond behind a single producer that publishes in batches of varying size.
#[test]
fn single_producer_batches_into_a_diamond() {
    let c = Counters::new();
    let mut producer = build_single_producer(RING, Event::default, BlockingWaitStrategy::new())
        .handle_events_mut(Enrich {
            order: Order::new("enrich"),
            done: c.enrich.clone(),
        })
        .handle_events_with(c.check("left", &[&c.enrich], &c.left, 0))
        .handle_events_with(c.check("right", &[&c.enrich], &c.right, 1))
        .and_then()
        .handle_events_with(c.check("join", &[&c.enrich, &c.left, &c.right], &c.join, 2))
        .build()
        .expect("a valid pipeline");

    let mut counter = 0u64;
    while counter < N {
        let n = ((counter % 31) + 1).min(N - counter);
        let high = producer
            .batch_publish(n as usize, |batch| {
                for (i, e) in batch.enumerate() {
                    *e = Event {
                        producer: 0,
                        counter: counter + i as u64,
                        stamp: -1,
                    };
                }
            })
            .expect("the pipeline is running");
        counter += n;
        assert_eq!(
            high,
            counter as i64 - 1,
            "batch_publish returns the highest sequence"
        );
    }
    producer.shutdown().expect("every handler's checks held");
    c.assert_all_seen(N);
}
