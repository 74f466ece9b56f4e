//! NanoStream against its peers and the hardware floor, in one run.
//!
//! Every scenario runs each implementation in turn, round after round (A B C … A B C …), so
//! that the drift of a shared machine hits them alike; the table reports medians, min–max and
//! NanoStream's ratio to each peer within this run. The same figures go to `target/peers.csv`.
//!
//! ```text
//! cargo bench --bench peers                 # the full run
//! cargo bench --bench peers -- --quick      # a short one (CI builds it, does not judge it)
//! cargo bench --bench peers -- round        # only scenarios whose name contains "round"
//! cargo bench --bench peers -- --impl=Nano  # only implementations whose name contains "Nano"
//! ```
//!
//! Scenarios (after LMAX's performance tests, sized for 2 cores): unicast 1P-1C throughput
//! (single and batch publish), round-trip latency 1P-1C beside the floor (two pinned threads
//! and one cache-padded atomic), 2P-1C throughput, a 3-stage pipeline and a diamond (yielding
//! strategies: 4 threads share 2 cores), and blocking round-trip latency; and, with no target,
//! publish-to-handler latency under a steady feed and under bursts.
//!
//! NanoStream's first row in every scenario is the default configuration (the builder with only
//! the wait strategy and the unicast consumer's pinning), and every ratio and target is taken
//! against it. Beside it, opt-in rows: `streaming back-off` (every consumer built with
//! `.streaming_backoff(StreamingBackoff::enabled())`) and, for single publishes, `publish on the
//! producer` (each `publish` called on the producer instead of a `Publisher` session).

mod alloc_count;
mod clock;
mod contenders;
mod cores;
mod report;
mod scenarios;

use std::time::{Duration, Instant};

use contenders::{
    Chan, Contender, CrossbeamBlock, CrossbeamSpin, Disruptor, DisruptorMulti, Nano, NanoMulti, StdBlock,
    StdSpin, Topology, TwoLineFloor, UserYield,
};
use cores::Cores;
use nanostream::{BlockingWaitStrategy, BusySpinWaitStrategy, YieldingWaitStrategy};
use report::{Results, Target};
use scenarios::{Feed, Figures};

#[global_allocator]
static ALLOCATOR: alloc_count::Counting = alloc_count::Counting;

/// How big a run is.
#[derive(Clone, Copy, Debug)]
struct Size {
    rounds: usize,
    unicast_events: u64,
    round_trips: u64,
    blocking_round_trips: u64,
    pipeline_events: u64,
    feed_events: u64,
}

const FULL: Size = Size {
    rounds: 7,
    unicast_events: 20_000_000,
    round_trips: 1_000_000,
    blocking_round_trips: 200_000,
    pipeline_events: 4_000_000,
    feed_events: 1_000_000,
};

const QUICK: Size = Size {
    rounds: 3,
    unicast_events: 2_000_000,
    round_trips: 100_000,
    blocking_round_trips: 20_000,
    pipeline_events: 400_000,
    feed_events: 100_000,
};

/// Ring size / channel capacity for the throughput scenarios (LMAX uses 64 Ki too).
const BIG_RING: usize = 1 << 16;
/// Ring size for round trips (one value in flight).
const SMALL_RING: usize = 1 << 10;

const UNICAST: &str = "unicast 1P-1C, publish (busy spin)";
const UNICAST_BATCH: &str = "unicast 1P-1C, batch publish of 64 (busy spin)";
const ROUND_TRIP: &str = "round trip 1P-1C (busy spin)";
const TWO_P: &str = "2P-1C (busy spin)";
const PIPELINE: &str = "pipeline 1P → 3 stages (yielding)";
const DIAMOND: &str = "diamond 1P → (A, B) → C (yielding)";
const BLOCKING: &str = "round trip 1P-1C (blocking)";
const FEED_STEADY: &str = "feed latency, steady 10 M events/s (busy spin)";
const FEED_SMALL_BURSTS: &str = "feed latency, bursts of 64 every 5 µs (busy spin)";
const FEED_BURSTS: &str = "feed latency, bursts of 1000 every 50 µs (busy spin)";

type Trial = Box<dyn Fn() -> Figures>;

/// A scenario: its name and one trial per implementation.
struct Scenario {
    name: &'static str,
    trials: Vec<(String, Trial)>,
}

impl Scenario {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            trials: Vec::new(),
        }
    }
    fn with<C: Contender>(mut self, trial: impl Fn() -> Figures + 'static) -> Self {
        self.trials.push((C::name(), Box::new(trial)));
        self
    }
    fn with_named(mut self, name: &str, trial: impl Fn() -> Figures + 'static) -> Self {
        self.trials.push((name.to_owned(), Box::new(trial)));
        self
    }
}

fn scenarios(size: Size, cores: Cores, tpn: f64) -> Vec<Scenario> {
    let n = size.unicast_events;
    macro_rules! tput {
        ($c:ty, $topology:expr, $events:expr, $batch:expr) => {
            move || scenarios::throughput::<$c>($topology, BIG_RING, cores, $events, $batch)
        };
    }
    macro_rules! rt {
        ($c:ty, $trips:expr) => {
            move || scenarios::round_trip::<$c>(SMALL_RING, cores, $trips, tpn)
        };
    }
    macro_rules! two_p {
        ($c:ty) => {
            move || scenarios::throughput_2p::<$c>(BIG_RING, cores, n / 2)
        };
    }
    macro_rules! feed {
        ($c:ty, $burst:expr, $period_ns:expr) => {
            move || {
                let feed = Feed {
                    events: size.feed_events,
                    burst: $burst,
                    period_ns: $period_ns,
                };
                scenarios::feed_latency::<$c>(BIG_RING, cores, feed, tpn)
            }
        };
    }
    macro_rules! feed_scenario {
        ($name:expr, $burst:expr, $period_ns:expr) => {
            Scenario::new($name)
                .with::<NanoSpin>(feed!(NanoSpin, $burst, $period_ns))
                .with::<NanoSpinPaced>(feed!(NanoSpinPaced, $burst, $period_ns))
                .with::<DisSpin>(feed!(DisSpin, $burst, $period_ns))
        };
    }
    type NanoSpin = Nano<BusySpinWaitStrategy>;
    type NanoSpinPaced = Nano<BusySpinWaitStrategy, true, true>;
    type NanoSpinPlain = Nano<BusySpinWaitStrategy, false>;
    type NanoYield = Nano<YieldingWaitStrategy>;
    type NanoYieldPaced = Nano<YieldingWaitStrategy, true, true>;
    type NanoMultiSpin = NanoMulti<BusySpinWaitStrategy>;
    type NanoMultiSpinPaced = NanoMulti<BusySpinWaitStrategy, true>;
    type NanoBlock = Nano<BlockingWaitStrategy>;
    type DisSpin = Disruptor<disruptor::BusySpin>;
    type DisYield = Disruptor<UserYield>;
    let (u, p, rts, brts) = (
        Topology::Unicast,
        size.pipeline_events,
        size.round_trips,
        size.blocking_round_trips,
    );
    let (chain, diamond) = (Topology::Chain3, Topology::Diamond);
    vec![
        Scenario::new(UNICAST)
            .with::<NanoSpin>(tput!(NanoSpin, u, n, 1))
            .with::<NanoSpinPaced>(tput!(NanoSpinPaced, u, n, 1))
            .with::<NanoSpinPlain>(tput!(NanoSpinPlain, u, n, 1))
            .with::<DisSpin>(tput!(DisSpin, u, n, 1))
            .with::<Chan<CrossbeamSpin>>(tput!(Chan<CrossbeamSpin>, u, n, 1))
            .with::<Chan<StdSpin>>(tput!(Chan<StdSpin>, u, n, 1)),
        Scenario::new(UNICAST_BATCH)
            .with::<NanoSpin>(tput!(NanoSpin, u, n, 64))
            .with::<NanoSpinPaced>(tput!(NanoSpinPaced, u, n, 64))
            .with::<DisSpin>(tput!(DisSpin, u, n, 64))
            .with::<Chan<CrossbeamSpin>>(tput!(Chan<CrossbeamSpin>, u, n, 64))
            .with::<Chan<StdSpin>>(tput!(Chan<StdSpin>, u, n, 64)),
        Scenario::new(ROUND_TRIP)
            .with::<NanoSpin>(rt!(NanoSpin, rts))
            .with::<DisSpin>(rt!(DisSpin, rts))
            .with::<Chan<CrossbeamSpin>>(rt!(Chan<CrossbeamSpin>, rts))
            .with::<Chan<StdSpin>>(rt!(Chan<StdSpin>, rts))
            .with::<TwoLineFloor>(rt!(TwoLineFloor, rts))
            .with_named("floor: one padded atomic", move || {
                scenarios::floor_round_trip(cores, rts, tpn)
            }),
        Scenario::new(TWO_P)
            .with::<NanoMultiSpin>(two_p!(NanoMultiSpin))
            .with::<NanoMultiSpinPaced>(two_p!(NanoMultiSpinPaced))
            .with::<DisruptorMulti<disruptor::BusySpin>>(two_p!(DisruptorMulti<disruptor::BusySpin>))
            .with::<Chan<CrossbeamSpin>>(two_p!(Chan<CrossbeamSpin>))
            .with::<Chan<StdSpin>>(two_p!(Chan<StdSpin>)),
        Scenario::new(PIPELINE)
            .with::<NanoYield>(tput!(NanoYield, chain, p, 1))
            .with::<NanoYieldPaced>(tput!(NanoYieldPaced, chain, p, 1))
            .with::<DisSpin>(tput!(DisSpin, chain, p, 1))
            .with::<DisYield>(tput!(DisYield, chain, p, 1))
            .with::<Chan<CrossbeamBlock>>(tput!(Chan<CrossbeamBlock>, chain, p, 1))
            .with::<Chan<StdBlock>>(tput!(Chan<StdBlock>, chain, p, 1)),
        Scenario::new(DIAMOND)
            .with::<NanoYield>(tput!(NanoYield, diamond, p, 1))
            .with::<NanoYieldPaced>(tput!(NanoYieldPaced, diamond, p, 1))
            .with::<DisSpin>(tput!(DisSpin, diamond, p, 1))
            .with::<DisYield>(tput!(DisYield, diamond, p, 1))
            .with::<Chan<CrossbeamBlock>>(tput!(Chan<CrossbeamBlock>, diamond, p, 1))
            .with::<Chan<StdBlock>>(tput!(Chan<StdBlock>, diamond, p, 1)),
        Scenario::new(BLOCKING)
            .with::<NanoBlock>(rt!(NanoBlock, brts))
            .with::<Chan<CrossbeamBlock>>(rt!(Chan<CrossbeamBlock>, brts))
            .with::<Chan<StdBlock>>(rt!(Chan<StdBlock>, brts)),
        feed_scenario!(FEED_STEADY, 1, 100.0),
        feed_scenario!(FEED_SMALL_BURSTS, 64, 5_000.0),
        feed_scenario!(FEED_BURSTS, 1000, 50_000.0),
    ]
}

fn targets() -> Vec<Target> {
    let t = |text, scenario, metric, peer, at_least, bound| Target {
        text,
        scenario,
        metric,
        nano: None,
        peer,
        at_least,
        bound,
    };
    // The same target for an opt-in row: shown on a line of its own, under the default's.
    let opt_in = |target: Target, text, nano| Target {
        text,
        nano: Some(nano),
        ..target
    };
    const PACED: &str = "NanoStream (BusySpin, streaming back-off)";
    vec![
        t(
            "unicast publish ≥ 1.2× disruptor",
            UNICAST,
            "throughput",
            "disruptor",
            true,
            1.2,
        ),
        opt_in(
            t("", UNICAST, "throughput", "disruptor", true, 1.2),
            "(opt-in streaming back-off: unicast publish ≥ 1.2× disruptor)",
            PACED,
        ),
        t(
            "unicast publish ≥ 2× crossbeam",
            UNICAST,
            "throughput",
            "crossbeam",
            true,
            2.0,
        ),
        t(
            "unicast batch ≥ 1.0× disruptor",
            UNICAST_BATCH,
            "throughput",
            "disruptor",
            true,
            1.0,
        ),
        opt_in(
            t("", UNICAST_BATCH, "throughput", "disruptor", true, 1.0),
            "(opt-in streaming back-off: unicast batch ≥ 1.0× disruptor)",
            PACED,
        ),
        t(
            "unicast batch ≥ 2× crossbeam",
            UNICAST_BATCH,
            "throughput",
            "crossbeam",
            true,
            2.0,
        ),
        t(
            "round trip p50 ≤ 1.15× floor",
            ROUND_TRIP,
            "round trip p50",
            "one padded atomic",
            false,
            1.15,
        ),
        t(
            "round trip p99.9 ≤ 1.5× floor",
            ROUND_TRIP,
            "round trip p99.9",
            "one padded atomic",
            false,
            1.5,
        ),
        t(
            "(round trip mean below p99 ≤ 1.15× floor)",
            ROUND_TRIP,
            "round trip mean below p99",
            "one padded atomic",
            false,
            1.15,
        ),
        t(
            "round trip p50 ≤ disruptor",
            ROUND_TRIP,
            "round trip p50",
            "disruptor",
            false,
            1.0,
        ),
        t(
            "round trip p99 ≤ disruptor",
            ROUND_TRIP,
            "round trip p99",
            "disruptor",
            false,
            1.0,
        ),
        t(
            "round trip p99.9 ≤ disruptor",
            ROUND_TRIP,
            "round trip p99.9",
            "disruptor",
            false,
            1.0,
        ),
        t(
            "2P-1C ≥ 1.0× disruptor multi",
            TWO_P,
            "throughput",
            "disruptor",
            true,
            1.0,
        ),
        t(
            "2P-1C ≥ 1.0× crossbeam",
            TWO_P,
            "throughput",
            "crossbeam",
            true,
            1.0,
        ),
        t(
            "blocking round trip p50 ≤ 1.0× crossbeam",
            BLOCKING,
            "round trip p50",
            "crossbeam",
            false,
            1.0,
        ),
        t(
            "blocking round trip p99 ≤ 1.0× crossbeam",
            BLOCKING,
            "round trip p99",
            "crossbeam",
            false,
            1.0,
        ),
    ]
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    // `--impl=NAME`: only implementations whose name contains NAME (for profiling one of them).
    let only_impl: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix("--impl=")).collect();
    let size = if quick { QUICK } else { FULL };
    let cores = Cores::pick();
    let tpn = clock::ticks_per_ns(Duration::from_millis(200));
    let started = Instant::now();

    println!("# NanoStream vs peers{}\n", if quick { " (--quick)" } else { "" });
    println!(
        "- machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!("- rustc: {}", command_line("rustc", &["--version"]));
    println!("- load average at start: {}", load_average());
    println!(
        "- commit: {}",
        command_line("git", &["rev-parse", "--short", "HEAD"])
    );
    println!(
        "- cores: producer pinned to core {}, unicast consumer pinned to core {}; pipeline and diamond \
         stages unpinned; in 2P-1C both producers share core {} (at most two threads spin at once)",
        cores.producer, cores.consumer, cores.producer
    );
    println!(
        "- round-trip clock: lfence+rdtsc, {tpn:.3} ticks/ns, one read ≈ {:.0} ns (included in every round trip alike); the TSC advances in steps of ~10 ns here, so percentiles move in 10 ns steps",
        clock::overhead_ticks() as f64 / tpn
    );
    println!(
        "- size: {} rounds after one warm-up round; {} events per unicast/2P trial, {} per pipeline/diamond \
         trial, {} round trips per round ({} blocking)",
        size.rounds, size.unicast_events, size.pipeline_events, size.round_trips, size.blocking_round_trips
    );

    let mut results = Results::default();
    for scenario in scenarios(size, cores, tpn) {
        if !filters.is_empty() && !filters.iter().any(|f| scenario.name.contains(f.as_str())) {
            continue;
        }
        eprintln!("{} …", scenario.name);
        for round in 0..=size.rounds {
            for (name, trial) in &scenario.trials {
                if !only_impl.is_empty() && !only_impl.iter().any(|i| name.contains(i)) {
                    continue;
                }
                let figures = trial();
                if round > 0 {
                    results.record(scenario.name, name, figures);
                }
            }
        }
    }
    results.note(
        UNICAST,
        "Channels have no batch publish; crossbeam and std consumers spin on `try_recv` (the busy-spin equivalent).",
    );
    results.note(
        UNICAST_BATCH,
        "The channels send the 64 values one by one: they have no batch send.",
    );
    results.note(
        ROUND_TRIP,
        "The producer publishes `i`, the consumer stores it in a padded atomic, the producer spins until it sees it. \
         The one-atomic floor passes `2i-1` / `2i` through a single cache-padded atomic.",
    );
    results.note(
        TWO_P,
        "Both producers run on the producer core, the consumer on the other: the figure is the multi-producer \
         sequencer's cost, not parallel publishing.",
    );
    for s in [PIPELINE, DIAMOND] {
        results.note(
            s,
            "The `disruptor` crate has no yielding wait strategy (only `BusySpin`, `BusySpinWithSpinLoopHint`, \
             `Sleep`): its row uses `BusySpin` as shipped, and a second row a user-written strategy that yields on \
             every empty poll. Channel stages block in `recv` (crossbeam spins and yields before it parks).",
        );
    }
    results.note(
        UNICAST,
        "Every implementation publishes each value on its own (one claim, one cursor store per event) in one loop. \
         NanoStream's first row is the default configuration and runs that loop through a `Publisher` session \
         borrowed from the producer; `streaming back-off`: the same, with the consumer opted in to \
         `StreamingBackoff::enabled()` (it paces its polls while the producer streams); `publish on the producer`: \
         the default configuration with `publish` called on the producer itself.",
    );
    for s in [UNICAST_BATCH, TWO_P, PIPELINE, DIAMOND] {
        results.note(
            s,
            "NanoStream's first row is the default configuration; `streaming back-off`: every consumer opted in to \
             `StreamingBackoff::enabled()`.",
        );
    }
    for s in [FEED_STEADY, FEED_SMALL_BURSTS, FEED_BURSTS] {
        results.note(
            s,
            "Publish-to-handler latency: each event carries the TSC read just before its publish, the handler \
             records the difference (both reads, ~20 ns each here, are in every figure). No target: the \
             `streaming back-off` row shows what the opt-in costs a feed that does not saturate the consumer.",
        );
    }
    results.note(
        BLOCKING,
        "The `disruptor` crate has no blocking wait strategy. The producer spins on the echo; only the consumer \
         side blocks.",
    );
    println!("{}", results.markdown());
    println!("{}", results.targets(&targets()));
    println!(
        "\ntotal time: {:.0} s; load average at the end: {} (other work on this shared machine competes for the same 2 cores)",
        started.elapsed().as_secs_f64(),
        load_average()
    );

    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_owned());
    let path = std::path::Path::new(&target_dir).join("peers.csv");
    match std::fs::write(&path, results.csv()) {
        Ok(()) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}
