//! The LMAX journaller pattern with crash-safe state: journal → business logic gated on the
//! journal's durable watermark, and state rebuilt by replay at start-up.
//!
//! Each run opens the journal, replays every recorded deposit through the same ring buffer to
//! rebuild the balances (the journal handler skips replayed events: they are on disk already),
//! then takes new deposits. The business stage only ever sees a deposit once it is durable
//! (`EveryBatch`: one fdatasync per batch, group commit). Run it twice: the second run starts
//! from the first run's balances.
//!
//! Run: `cargo run --release --example journaled_pipeline -- [DIR] [NEW_EVENTS]`
//! (default `target/journaled_pipeline`, 100000 new deposits per run; delete DIR to start over).

use std::sync::mpsc::{channel, Sender};
use std::time::Instant;

use nanostream::{build_single_producer, BlockingWaitStrategy, EventHandler, Producer};
use nanostream_journal::{
    replay_into, Codec, DecodeError, Durability, Journal, JournalConfig, JournalHandler, JournalReader,
};

const ACCOUNTS: usize = 16;

/// One slot of the ring.
#[derive(Default)]
struct Deposit {
    account: u32,
    amount: i64,
    /// Set by replay: already journaled, not to be written again.
    replayed: bool,
}

/// 12 bytes: account (u32 LE), amount (i64 LE).
struct DepositCodec;

impl Codec<Deposit> for DepositCodec {
    fn encoded_len(&self, _: &Deposit) -> usize {
        12
    }
    fn encode(&self, e: &Deposit, buf: &mut [u8]) {
        buf[..4].copy_from_slice(&e.account.to_le_bytes());
        buf[4..].copy_from_slice(&e.amount.to_le_bytes());
    }
    fn decode(&self, bytes: &[u8], e: &mut Deposit) -> Result<(), DecodeError> {
        if bytes.len() != 12 {
            return Err(DecodeError(format!("{} bytes, expected 12", bytes.len())));
        }
        e.account = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        e.amount = i64::from_le_bytes(bytes[4..].try_into().expect("8 bytes"));
        e.replayed = true;
        Ok(())
    }
}

/// The business logic: balances per account. Reports them at shutdown.
struct Balances {
    balances: [i64; ACCOUNTS],
    events: u64,
    replayed: u64,
    report: Sender<([i64; ACCOUNTS], u64, u64)>,
}

impl EventHandler<Deposit> for Balances {
    fn on_event(&mut self, e: &Deposit, _sequence: i64, _end_of_batch: bool) {
        self.balances[e.account as usize % ACCOUNTS] += e.amount;
        self.events += 1;
        self.replayed += u64::from(e.replayed);
    }
    fn on_shutdown(&mut self) {
        let _ = self.report.send((self.balances, self.events, self.replayed));
    }
}

/// The deposit with journal offset `offset` (so the expected state is known).
fn deposit(offset: u64) -> (u32, i64) {
    ((offset % ACCOUNTS as u64) as u32, (offset % 100) as i64 + 1)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "target/journaled_pipeline".into());
    let new_events: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100_000);

    let journal = Journal::open(&dir, JournalConfig::new().durability(Durability::EveryBatch))?;
    let report = journal.open_report();
    let first_new = journal.next_offset();
    println!(
        "opened {dir}: {} records, {}",
        first_new,
        match (report.scanned, first_new) {
            (true, _) => "tail scanned (no clean shutdown)",
            (false, 0) => "new journal",
            (false, _) => "clean shutdown (the tail matched its marker)",
        }
    );
    if let Some(dropped) = &report.dropped {
        println!("recovery dropped: {dropped}");
    }

    let (journaller, status) = JournalHandler::new(journal, DepositCodec);
    let journaller = journaller.with_filter(|e: &Deposit| !e.replayed);
    let (tx, rx) = channel();
    let mut producer = build_single_producer(1 << 14, Deposit::default, BlockingWaitStrategy::new())
        .handle_events_with(journaller)
        .thread_name("journal")
        .and_then()
        .depends_on(&status.durable_watermark())
        .handle_events_with(Balances {
            balances: [0; ACCOUNTS],
            events: 0,
            replayed: 0,
            report: tx,
        })
        .thread_name("balances")
        .build()?;

    // 1. Rebuild state: replay the journal through the ring before taking new events.
    let start = Instant::now();
    let mut reader = JournalReader::open(&dir)?;
    let replayed = replay_into(&mut reader, &DepositCodec, &mut producer)?;
    println!("replayed {replayed} deposits in {:?}", start.elapsed());

    // 2. New deposits: journaled, made durable per batch, then applied.
    let start = Instant::now();
    for offset in first_new..first_new + new_events {
        let (account, amount) = deposit(offset);
        producer.publish(|e, _| {
            e.account = account;
            e.amount = amount;
            e.replayed = false;
        })?;
    }
    producer.shutdown()?; // drains, makes everything durable, closes the journal cleanly
    let elapsed = start.elapsed();
    println!(
        "took {new_events} new deposits in {elapsed:?} ({:.0}/s), durable watermark {}",
        new_events as f64 / elapsed.as_secs_f64(),
        status.durable_watermark().get()
    );

    let (balances, events, replayed_seen) = rx.recv()?;
    let mut expected = [0i64; ACCOUNTS];
    for offset in 0..first_new + new_events {
        let (account, amount) = deposit(offset);
        expected[account as usize] += amount;
    }
    println!("balances after {events} deposits ({replayed_seen} from replay): {balances:?}");
    assert_eq!(
        balances, expected,
        "state rebuilt from the journal plus new deposits"
    );
    println!("state matches every deposit ever journaled");
    Ok(())
}
