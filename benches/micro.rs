//! Single-thread costs of NanoStream's hot path, with criterion: what one claim + publish, one
//! barrier check and one translator publish cost when nothing else is running, beside a `base`
//! group that measures the measuring (an empty iteration and the clocks the peers bench uses).
//!
//! ```text
//! cargo bench --bench micro
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use nanostream::{
    build_single_producer, Alert, BusySpinWaitStrategy, DependentSequences, Producer, Sequence,
    SequenceBarrier, SingleProducerSequencer, SinglePublished,
};

/// The cost of measuring: an empty iteration, `Instant::now`, and `lfence; rdtsc`.
fn base(c: &mut Criterion) {
    let mut g = c.benchmark_group("base");
    g.bench_function("empty iteration", |b| b.iter(|| black_box(1u64)));
    g.bench_function("Instant::now", |b| b.iter(Instant::now));
    #[cfg(target_arch = "x86_64")]
    g.bench_function("lfence + rdtsc", |b| {
        b.iter(|| {
            // SAFETY: `lfence` and `rdtsc` exist on every x86_64 CPU and touch no memory.
            unsafe {
                std::arch::x86_64::_mm_lfence();
                std::arch::x86_64::_rdtsc()
            }
        })
    });
    g.finish();
}

/// Claim one slot and publish it on the sequencer (no event written). No gating consumer, so
/// the ring never fills: this is the producer's fixed cost per event.
fn claim_publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("sequencer");
    let mut sequencer = SingleProducerSequencer::new(
        1024,
        Vec::new(),
        Arc::new(BusySpinWaitStrategy),
        Arc::new(Alert::new()),
    )
    .unwrap();
    g.bench_function("single claim + publish", |b| {
        b.iter(|| {
            let s = sequencer.next().expect("never full");
            sequencer.publish(black_box(s));
        })
    });
    let mut sequencer = SingleProducerSequencer::new(
        1024,
        Vec::new(),
        Arc::new(BusySpinWaitStrategy),
        Arc::new(Alert::new()),
    )
    .unwrap();
    g.bench_function("single claim + publish of 64", |b| {
        b.iter(|| {
            let hi = sequencer.next_n(64).expect("never full");
            sequencer.publish_range(hi - 63, black_box(hi));
        })
    });
    g.finish();
}

/// One barrier check when the sequence is already available (a consumer's cost per batch).
fn barrier_check(c: &mut Criterion) {
    let cursor = Arc::new(Sequence::new(1 << 40));
    let barrier = SequenceBarrier::new(
        DependentSequences::new(vec![cursor]).unwrap(),
        SinglePublished,
        Arc::new(BusySpinWaitStrategy),
        Arc::new(Alert::new()),
    );
    let mut g = c.benchmark_group("barrier");
    g.bench_function("wait_for, available", |b| {
        b.iter(|| barrier.wait_for(black_box(7)).expect("not alerted"))
    });
    g.bench_function("available_now", |b| {
        b.iter(|| barrier.available_now(black_box(7)))
    });
    g.finish();
}

/// `Producer::publish` with a translator on a pipeline with no consumer: claim, write, publish.
fn translator_publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("producer");
    let mut producer = build_single_producer(1024, || 0u64, BusySpinWaitStrategy)
        .build()
        .expect("a pipeline with no consumer");
    g.bench_function("publish (translator)", |b| {
        let mut v = 0u64;
        b.iter(|| {
            v += 1;
            producer.publish(|e, _| *e = v).expect("running")
        })
    });
    g.bench_function("publish through a Publisher session", |b| {
        let mut publisher = producer.publisher();
        let mut v = 0u64;
        b.iter(|| {
            v += 1;
            publisher.publish(|e, _| *e = v).expect("running")
        })
    });
    g.bench_function("batch_publish of 64", |b| {
        let mut v = 0u64;
        b.iter(|| {
            producer
                .batch_publish(64, |batch| {
                    for e in batch {
                        v += 1;
                        *e = v;
                    }
                })
                .expect("running")
        })
    });
    g.finish();
    producer.shutdown().expect("no handler");
}

mod group {
    use super::*;
    criterion_group!(benches, base, claim_publish, barrier_check, translator_publish);
}
criterion_main!(group::benches);
