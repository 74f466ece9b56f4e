//! `JournalHandler` in a NanoStream pipeline: the durable watermark gates business logic under
//! every policy, drains at shutdown, a sync failure halts the pipeline, and replay rebuilds state.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TempDir;
use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
use nanostream_journal::{
    replay_into, BytesCodec, Codec, DecodeError, Durability, Error, Journal, JournalConfig, JournalHandler,
    JournalReader, JournalStatus,
};

fn config(durability: Durability) -> JournalConfig {
    JournalConfig::new()
        .segment_size(64 << 10)
        .durability(durability)
        .idle_sync(Duration::from_millis(2))
}

/// Runs `n` events through journal → (gated) business; returns what business saw.
fn run(dir: &std::path::Path, durability: Durability, n: u64) -> (JournalStatus, u64) {
    let journal = Journal::open(dir, config(durability)).expect("open");
    let base = journal.next_offset();
    let (journaller, status) = JournalHandler::new(journal, BytesCodec);
    let seen = Arc::new(AtomicU64::new(0));
    let (seen2, status2) = (Arc::clone(&seen), status.clone());
    let mut producer = build_single_producer(256, || vec![0u8; 8], BlockingWaitStrategy::new())
        .handle_events_with(journaller)
        .and_then()
        .depends_on(&status.durable_watermark())
        .handle_events_with(move |e: &Vec<u8>, seq: i64, _: bool| {
            // Business logic only ever sees events that are durable under the policy.
            let offset = base + seq as u64;
            assert!(
                status2.durable_next_offset() > offset,
                "event {seq} seen before durable"
            );
            assert_eq!(
                u64::from_le_bytes(e[..8].try_into().expect("8 bytes")),
                seq as u64
            );
            seen2.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("pipeline");
    for i in 0..n {
        producer
            .publish(|e, _| e.copy_from_slice(&i.to_le_bytes()))
            .expect("publish");
    }
    producer.shutdown().expect("clean shutdown");
    (status, seen.load(Ordering::Relaxed))
}

#[test]
fn business_logic_sees_only_durable_events_under_every_policy() {
    let tmp = TempDir::new("handler-policies");
    for (name, durability) in [
        ("never", Durability::Never),
        ("batch", Durability::EveryBatch),
        ("interval", Durability::Interval(Duration::from_millis(2))),
        ("every-n", Durability::EveryN(64)),
    ] {
        let dir = tmp.join(name);
        let (status, seen) = run(&dir, durability, 3000);
        assert_eq!(seen, 3000, "{name}: every event drained at shutdown");
        assert_eq!(status.durable_watermark().get(), 2999, "{name}");
        assert!(status.error().is_none());
        assert!(dir.join("clean-shutdown").exists(), "{name}: closed cleanly");
        let j = Journal::open(&dir, config(durability)).expect("reopen");
        assert_eq!(j.next_offset(), 3000, "{name}");
    }
}

#[test]
fn a_sync_failure_halts_the_pipeline_and_surfaces() {
    let tmp = TempDir::new("handler-syncfail");
    let journal = Journal::open(tmp.path(), config(Durability::EveryBatch)).expect("open");
    journal.inject_sync_failure();
    let (journaller, status) = JournalHandler::new(journal, BytesCodec);
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = Arc::clone(&seen);
    let mut producer = build_single_producer(64, || vec![0u8; 8], BlockingWaitStrategy::new())
        .handle_events_with(journaller)
        .thread_name("journal")
        .and_then()
        .depends_on(&status.durable_watermark())
        .handle_events_with(move |_: &Vec<u8>, _: i64, _: bool| {
            seen2.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("pipeline");
    for _ in 0..10 {
        if producer.publish(|_, _| {}).is_err() {
            break; // halted
        }
    }
    let err = producer.shutdown().expect_err("the journal's failure surfaces");
    let message = err.to_string();
    assert!(message.contains("sync"), "{message}");
    assert!(matches!(status.error().as_deref(), Some(Error::Sync { .. })));
    let failure = status.sync_failure().expect("the io::Error is kept");
    assert_eq!(failure.error.raw_os_error(), Some(libc::EIO));
    assert_eq!(
        seen.load(Ordering::Relaxed),
        0,
        "nothing un-durable reached business logic"
    );
    assert_eq!(status.durable_watermark().get(), -1);
}

/// An event that knows whether it is being replayed.
#[derive(Default)]
struct Deposit {
    amount: u64,
    replayed: bool,
}

struct DepositCodec;

impl Codec<Deposit> for DepositCodec {
    fn encoded_len(&self, _: &Deposit) -> usize {
        8
    }
    fn encode(&self, e: &Deposit, buf: &mut [u8]) {
        buf.copy_from_slice(&e.amount.to_le_bytes());
    }
    fn decode(&self, bytes: &[u8], e: &mut Deposit) -> Result<(), DecodeError> {
        let b: [u8; 8] = bytes
            .try_into()
            .map_err(|_| DecodeError(format!("{} bytes, expected 8", bytes.len())))?;
        e.amount = u64::from_le_bytes(b);
        e.replayed = true;
        Ok(())
    }
}

/// One run: replay the journal, then take `new` deposits. Returns the rebuilt balance.
fn balance_run(dir: &std::path::Path, new: &[u64]) -> u64 {
    let journal = Journal::open(dir, config(Durability::EveryBatch)).expect("open");
    let (journaller, status) = JournalHandler::new(journal, DepositCodec);
    let journaller = journaller.with_filter(|e: &Deposit| !e.replayed);
    let balance = Arc::new(AtomicU64::new(0));
    let b = Arc::clone(&balance);
    let mut producer = build_single_producer(64, Deposit::default, BlockingWaitStrategy::new())
        .handle_events_with(journaller)
        .and_then()
        .depends_on(&status.durable_watermark())
        .handle_events_with(move |e: &Deposit, _: i64, _: bool| {
            b.fetch_add(e.amount, Ordering::Relaxed);
        })
        .build()
        .expect("pipeline");
    let mut reader = JournalReader::open(dir).expect("reader");
    replay_into(&mut reader, &DepositCodec, &mut producer).expect("replay");
    for &amount in new {
        producer
            .publish(|e, _| {
                e.amount = amount;
                e.replayed = false;
            })
            .expect("publish");
    }
    producer.shutdown().expect("shutdown");
    balance.load(Ordering::Relaxed)
}

#[test]
fn replay_rebuilds_state_and_is_not_journaled_twice() {
    let tmp = TempDir::new("handler-replay");
    assert_eq!(balance_run(tmp.path(), &[1, 2, 3]), 6);
    assert_eq!(balance_run(tmp.path(), &[10]), 16);
    assert_eq!(balance_run(tmp.path(), &[]), 16);
    let j = Journal::open(tmp.path(), config(Durability::EveryBatch)).expect("open");
    assert_eq!(j.next_offset(), 4, "replayed events were not appended again");
}

#[test]
fn replay_reports_undecodable_records() {
    let tmp = TempDir::new("handler-decode");
    let mut j = Journal::open(tmp.path(), config(Durability::EveryBatch)).expect("open");
    j.append(&5u64.to_le_bytes()).expect("append");
    j.append(b"bad").expect("append");
    j.close().expect("close");
    let mut producer = build_single_producer(64, Deposit::default, BlockingWaitStrategy::new())
        .handle_events_with(|_: &Deposit, _: i64, _: bool| {})
        .build()
        .expect("pipeline");
    let mut reader = JournalReader::open(tmp.path()).expect("reader");
    let err = replay_into(&mut reader, &DepositCodec, &mut producer).expect_err("bad record");
    assert!(matches!(err, Error::Decode { offset: 1, .. }), "{err}");
    producer.shutdown().expect("shutdown");
}
