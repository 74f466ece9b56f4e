//! Market data to remote subscribers: a pipeline whose last stage is a network handler.
//!
//! A simulated feed publishes quotes into a ring; a mutable stage computes each quote's mid
//! price and spread; the last stage publishes every enriched quote to the `ticks` channel of
//! an embedded broker, where any Redis client can watch it live:
//!
//! ```sh
//! cargo run --release --example market_data            # terminal 1 (Ctrl-C stops it)
//! redis-cli -p 6380 SUBSCRIBE ticks                    # terminal 2
//! redis-cli -p 6380 PSUBSCRIBE 'ticks*'                # or by pattern
//! ```
//!
//! Flags: `--port P` (6380), `--rate QUOTES_PER_SECOND` (20), `--count N` (stop after N
//! quotes; 0, the default, runs until Ctrl-C).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use nanostream::{build_single_producer, BlockingWaitStrategy, EventHandlerMut, Producer};
use nanostream_net::{Server, ServerConfig};

/// One quote as it travels through the ring.
#[derive(Debug, Default, Clone)]
struct Quote {
    symbol: &'static str,
    bid: f64,
    ask: f64,
    /// Set by the enrichment stage.
    mid: f64,
    spread_bps: f64,
}

/// The mutable stage: derives the mid price and the spread in basis points.
struct Enrich;

impl EventHandlerMut<Quote> for Enrich {
    fn on_event(&mut self, quote: &mut Quote, _sequence: i64, _end_of_batch: bool) {
        quote.mid = (quote.bid + quote.ask) / 2.0;
        quote.spread_bps = (quote.ask - quote.bid) / quote.mid * 10_000.0;
    }
}

/// How a quote looks on the wire: one JSON object per message.
fn encode(quote: &Quote, out: &mut Vec<u8>) {
    let mut text = String::with_capacity(96);
    let _ = write!(
        text,
        r#"{{"symbol":"{}","bid":{:.2},"ask":{:.2},"mid":{:.3},"spread_bps":{:.2}}}"#,
        quote.symbol, quote.bid, quote.ask, quote.mid, quote.spread_bps
    );
    out.extend_from_slice(text.as_bytes());
}

/// A tiny deterministic random walk, so that the example needs no extra crate.
struct Feed {
    state: u64,
    prices: [(&'static str, f64); 3],
}

impl Feed {
    fn next(&mut self, quote: &mut Quote) {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let which = (self.state % 3) as usize;
        let step = ((self.state >> 8) % 21) as f64 / 100.0 - 0.10;
        let (symbol, price) = &mut self.prices[which];
        *price = (*price + step).max(1.0);
        quote.symbol = symbol;
        quote.bid = *price - 0.01;
        quote.ask = *price + 0.01 + ((self.state >> 20) % 3) as f64 / 100.0;
    }
}

fn flag(name: &str, default: u64) -> Result<u64, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).ok_or(format!("{name} needs a value"))?.parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = u16::try_from(flag("--port", 6380)?)?;
    let rate = flag("--rate", 20)?.max(1);
    let count = flag("--count", 0)?;

    let server = Server::start(ServerConfig {
        bind: Some(([127, 0, 0, 1], port).into()),
        ..ServerConfig::default()
    })?;
    println!(
        "publishing quotes to channel `ticks` on {}: try `redis-cli -p {} SUBSCRIBE ticks`",
        server.local_addr().expect("a plain listener"),
        server.local_addr().expect("a plain listener").port(),
    );

    let mut producer = build_single_producer(1024, Quote::default, BlockingWaitStrategy::new())
        .handle_events_mut(Enrich)
        .and_then()
        .handle_events_with(server.network_handler("ticks", encode))
        .build()?;

    let mut feed = Feed {
        state: 0x9E37_79B9_7F4A_7C15,
        prices: [("AAPL", 190.0), ("MSFT", 410.0), ("NVDA", 120.0)],
    };
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now();
    let mut sent = 0u64;
    while count == 0 || sent < count {
        let due = start + interval * u32::try_from(sent).unwrap_or(u32::MAX);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        producer.publish(|quote, _| feed.next(quote))?;
        sent += 1;
    }
    producer.shutdown()?;
    server.shutdown();
    println!("published {sent} quotes");
    Ok(())
}
