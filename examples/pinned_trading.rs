//! Order events through a consumer pinned to its own core with busy-spin, and the latency
//! distribution a trading team reads: p50, p99, p99.9, max.
//!
//! The producer (pinned to one core) stamps each order with the time it publishes it; the
//! risk-and-match handler (pinned to another core, busy-spinning) records publish-to-handle
//! latency in an HDR histogram. Orders are paced (one every `PACE_NS`) so the figures are
//! latencies, not queueing behind a saturated consumer.
//!
//! Run: `cargo run --release --example pinned_trading [orders] [pace_ns]`
//!
//! It needs two cores: one spinning thread per core. With fewer it says so and stops.

use std::sync::mpsc::{channel, Sender};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use nanostream::{build_single_producer, BusySpinWaitStrategy, EventHandler, Producer};

#[derive(Clone, Copy, Default)]
struct Order {
    published_at: Option<Instant>,
    id: u64,
    price: i64,
    quantity: i64,
    buy: bool,
}

/// A toy risk check and top-of-book matcher that records how long each order waited.
struct RiskAndMatch {
    latency: Histogram<u64>,
    position: i64,
    best_bid: i64,
    best_ask: i64,
    fills: u64,
    rejected: u64,
    done: Sender<(Histogram<u64>, u64, u64, i64)>,
}

impl EventHandler<Order> for RiskAndMatch {
    fn on_event(&mut self, order: &Order, _sequence: i64, _end_of_batch: bool) {
        if let Some(published_at) = order.published_at {
            let nanos = published_at.elapsed().as_nanos() as u64;
            self.latency.saturating_record(nanos);
        }
        // Risk: reject orders above a notional limit.
        if order.price * order.quantity > 49_000 {
            self.rejected += 1;
            return;
        }
        // Match against the other side's best price, else rest at the top of book.
        if order.buy && order.price >= self.best_ask || !order.buy && order.price <= self.best_bid {
            self.fills += 1;
            self.position += if order.buy {
                order.quantity
            } else {
                -order.quantity
            };
        } else if order.buy {
            self.best_bid = self.best_bid.max(order.price);
        } else {
            self.best_ask = self.best_ask.min(order.price);
        }
        if order.id.is_multiple_of(1024) {
            self.best_bid = 0; // the book turns over
            self.best_ask = i64::MAX;
        }
    }

    fn on_shutdown(&mut self) {
        let latency = std::mem::replace(&mut self.latency, Histogram::new(3).expect("valid precision"));
        let _ = self
            .done
            .send((latency, self.fills, self.rejected, self.position));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let orders: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
    let pace = Duration::from_nanos(args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000));

    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        println!(
            "pinned_trading needs 2 cores for two spinning threads; this machine offers {}",
            cores.len()
        );
        return Ok(());
    }
    let (producer_core, consumer_core) = (cores[0].id, cores[1].id);

    let (done, results) = channel();
    let handler = RiskAndMatch {
        latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)?,
        position: 0,
        best_bid: 0,
        best_ask: i64::MAX,
        fills: 0,
        rejected: 0,
        done,
    };
    let mut producer = build_single_producer(1 << 16, Order::default, BusySpinWaitStrategy)
        .handle_events_with(handler)
        .pin_at_core(consumer_core)
        .thread_name("risk-and-match")
        .build()?;
    core_affinity::set_for_current(core_affinity::CoreId { id: producer_core });
    println!("producer on core {producer_core}, risk-and-match on core {consumer_core} (busy-spin)");
    println!("publishing {orders} orders, one every {pace:?}");

    let mut next_send = Instant::now();
    for id in 0..orders {
        while Instant::now() < next_send {
            std::hint::spin_loop();
        }
        next_send += pace;
        producer.publish(|order, _sequence| {
            order.id = id;
            order.buy = id % 2 == 0;
            order.price = 10_000 + (id % 17) as i64 - 8;
            order.quantity = 1 + (id % 5) as i64;
            order.published_at = Some(Instant::now());
        })?;
    }
    producer.shutdown()?;

    let (latency, fills, rejected, position) = results.recv()?;
    println!("{fills} fills, {rejected} rejected by risk, net position {position}");
    println!("publish → handler latency over {} orders:", latency.len());
    for (label, q) in [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999), ("p99.99", 0.9999)] {
        println!("  {label:<7}{:>8} ns", latency.value_at_quantile(q));
    }
    println!("  max    {:>8} ns", latency.max());
    Ok(())
}
