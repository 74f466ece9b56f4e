//! The LMAX shape: decode → (journal ∥ replicate) → business logic.
//!
//! A producer publishes raw order messages (bytes as they would come off the wire). A mutable
//! first stage decodes them in place into typed fields. Two handlers then run in parallel on the
//! decoded event: a journaller (appends to an in-memory log and "flushes" at the end of each
//! batch: group commit) and a replicator (one packet to a replica per batch). Business logic runs
//! after both, so it only sees an order once it is journalled and replicated; it keeps net
//! positions per account. Each stage prints what it did when the pipeline shuts down.
//!
//! Run: `cargo run --release --example pipeline`

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc::{channel, Sender};
use std::time::Instant;

use nanostream::{build_single_producer, EventHandler, EventHandlerMut, PhasedBackoffWaitStrategy, Producer};

/// One slot of the ring: the raw message plus the fields the decoder fills in.
#[derive(Default)]
struct OrderEvent {
    raw: [u8; 32],
    raw_len: usize,
    account: u32,
    side: i64,
    quantity: i64,
    price: i64,
}

const ORDERS: u32 = 1_000_000;
const ACCOUNTS: u32 = 1_000;

/// Writes an order as a client would send it: `account,side,quantity,price`.
fn encode(event: &mut OrderEvent, account: u32, buy: bool, quantity: i64, price: i64) {
    let mut out = &mut event.raw[..];
    let side = if buy { 'B' } else { 'S' };
    write!(out, "{account},{side},{quantity},{price}").expect("an order fits in 32 bytes");
    event.raw_len = 32 - out.len();
}

/// Stage 1 (mutable, in a stage of its own): parses the raw bytes into fields.
struct Decoder {
    malformed: u64,
    report: Sender<String>,
}

impl EventHandlerMut<OrderEvent> for Decoder {
    fn on_event(&mut self, e: &mut OrderEvent, _sequence: i64, _end_of_batch: bool) {
        let text = std::str::from_utf8(&e.raw[..e.raw_len]).unwrap_or("");
        let mut fields = text.split(',');
        let mut next = || fields.next().unwrap_or("");
        let parsed = (next().parse(), next(), next().parse(), next().parse());
        match parsed {
            (Ok(account), side @ ("B" | "S"), Ok(quantity), Ok(price)) => {
                e.account = account;
                e.side = if side == "B" { 1 } else { -1 };
                e.quantity = quantity;
                e.price = price;
            }
            _ => {
                self.malformed += 1;
                e.quantity = 0;
            }
        }
    }

    fn on_shutdown(&mut self) {
        let _ = self
            .report
            .send(format!("decode:    {} malformed messages", self.malformed));
    }
}

/// Stage 2a: appends every order to a log; one flush per batch.
struct Journal {
    log: Vec<u8>,
    flushes: u64,
    report: Sender<String>,
}

impl EventHandler<OrderEvent> for Journal {
    fn on_event(&mut self, e: &OrderEvent, _sequence: i64, end_of_batch: bool) {
        self.log.extend_from_slice(&e.raw[..e.raw_len]);
        self.log.push(b'\n');
        if end_of_batch {
            self.flushes += 1; // a real journal would fdatasync here
        }
    }

    fn on_shutdown(&mut self) {
        let _ = self.report.send(format!(
            "journal:   {} bytes appended in {} flushes (group commit: {:.0} orders a flush)",
            self.log.len(),
            self.flushes,
            ORDERS as f64 / self.flushes.max(1) as f64
        ));
    }
}

/// Stage 2b, in parallel with the journal: one packet to a replica per batch.
struct Replicator {
    in_packet: u64,
    packets: u64,
    largest: u64,
    report: Sender<String>,
}

impl EventHandler<OrderEvent> for Replicator {
    fn on_event(&mut self, _e: &OrderEvent, _sequence: i64, end_of_batch: bool) {
        self.in_packet += 1;
        if end_of_batch {
            self.packets += 1;
            self.largest = self.largest.max(self.in_packet);
            self.in_packet = 0;
        }
    }

    fn on_shutdown(&mut self) {
        let _ = self.report.send(format!(
            "replicate: {} packets, the largest carrying {} orders",
            self.packets, self.largest
        ));
    }
}

/// Stage 3, after journal and replicate: net positions per account.
struct Positions {
    positions: HashMap<u32, i64>,
    notional: i64,
    report: Sender<String>,
}

impl EventHandler<OrderEvent> for Positions {
    fn on_event(&mut self, e: &OrderEvent, _sequence: i64, _end_of_batch: bool) {
        *self.positions.entry(e.account).or_default() += e.side * e.quantity;
        self.notional += e.quantity * e.price;
    }

    fn on_shutdown(&mut self) {
        let flat = self.positions.values().filter(|p| **p == 0).count();
        let _ = self.report.send(format!(
            "business:  {} accounts, {flat} flat, traded notional {}",
            self.positions.len(),
            self.notional
        ));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (report, reports) = channel();

    // Five threads (the producer and four stages) share the machine's cores: a phased back-off
    // strategy spins briefly for bursts, then blocks instead of starving the others.
    let mut producer =
        build_single_producer(1 << 14, OrderEvent::default, PhasedBackoffWaitStrategy::default())
            // a mutable stage of its own: decodes in place
            .handle_events_mut(Decoder {
                malformed: 0,
                report: report.clone(),
            })
            .thread_name("decode")
            // after decode, two handlers in parallel: each sees every decoded order
            .handle_events_with(Journal {
                log: Vec::with_capacity(32 << 20),
                flushes: 0,
                report: report.clone(),
            })
            .thread_name("journal")
            .handle_events_with(Replicator {
                in_packet: 0,
                packets: 0,
                largest: 0,
                report: report.clone(),
            })
            .thread_name("replicate")
            // after both journal and replicate
            .and_then()
            .handle_events_with(Positions {
                positions: HashMap::new(),
                notional: 0,
                report,
            })
            .thread_name("business")
            .build()?;

    let monitor = producer.monitor();
    let start = Instant::now();
    for i in 0..ORDERS {
        // Each account buys in one round and sells the same quantity in the next, so all end flat.
        let account = i % ACCOUNTS;
        let round = i / ACCOUNTS;
        let buy = round.is_multiple_of(2);
        let quantity = 10 + (round / 2 % 5) as i64;
        producer.publish(|event, _sequence| encode(event, account, buy, quantity, 100 + (i % 7) as i64))?;
    }
    let published = start.elapsed();
    let lag = monitor.consumers();
    producer.shutdown()?;
    let drained = start.elapsed();

    println!("published {ORDERS} orders in {published:.2?}; every stage done after {drained:.2?}");
    println!("lag behind the producer when it finished publishing:");
    for consumer in lag {
        println!("  {:<10} {:>6} orders", consumer.name, consumer.lag);
    }
    for line in reports.try_iter() {
        println!("{line}");
    }
    Ok(())
}
