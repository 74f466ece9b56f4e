//! The broker against redis-server, over the wire, in one run.
//!
//! ```text
//! cargo bench --bench broker                            # the full run (about 6 min)
//! NANOSTREAM_BENCH_QUICK=1 cargo bench --bench broker   # a smoke run (about 70 s)
//! NANOSTREAM_BENCH_ROUNDS=5 cargo bench --bench broker  # more rounds per scenario
//! NANOSTREAM_BENCH_ONLY=XADD cargo bench --bench broker  # only the scenarios whose row names hold XADD
//! NANOSTREAM_BENCH_BROKER_CMD="redis-server --save '' --appendonly no --port {port}" \
//!     cargo bench --bench broker                        # another server in the broker's place
//! ```
//!
//! It first builds the release binaries of `nanostream-net` (`cargo build --release -p
//! nanostream-net --bins`), then starts redis-server (persistence off) and the broker
//! (`target/release/nanostream-broker --port {port}`, or the shell command in
//! `NANOSTREAM_BENCH_BROKER_CMD`, `{port}` filled in), each on a free 127.0.0.1 port. Every
//! scenario runs on both servers in turn, round after round (redis-server, broker, redis-server,
//! broker, …), so that the drift of a shared machine hits them alike; each cell is the median
//! [min–max] of the rounds and the ratio is broker ÷ redis-server of the medians. For req/s, msg/s
//! and entries/s higher is better; for µs, ms and KiB lower is better.
//!
//! Scenarios:
//! - **PUBLISH** of 100 B from `redis-benchmark` (50 clients, `-P 1` and `-P 64`), with no
//!   subscriber and with one that reads and discards every message: requests per second.
//! - **fan-out, flat out**: `nanostream-loadgen`, one publisher (8 PUBLISH in flight) and 1, 10
//!   or 100 subscribers on one channel: deliveries per second over all subscribers.
//! - **fan-out, paced**: the same at a fixed 20 000 deliveries per second (so 20 000, 2 000 or
//!   200 messages per second), well within both servers' capacity, so that latency is the
//!   servers' and not a queue's: publish-to-delivery p50, p99 and p99.9.
//! - **idle connections**: a fresh server of each kind, 10 000 connections that each answered
//!   one PING, and the growth of the server's VmRSS per connection.
//!
//! Durable streams, each run on a fresh server of each kind with a fresh temporary data directory
//! (removed after): redis-server with `--appendonly yes --save '' --dir TMP` and `--appendfsync
//! always` or `everysec`, against the broker with `--data-dir TMP` and `--fsync batch` or
//! `interval:1000` respectively (appended to `NANOSTREAM_BENCH_BROKER_CMD` when it is set):
//! - **XADD** of 100 B from `redis-benchmark` (50 clients, `-P 1` and `-P 64`), at both
//!   settings: requests per second.
//! - **consumption**: a stream preloaded with 100 B entries (200 000, not timed), drained by one
//!   consumer doing `XREADGROUP GROUP g c COUNT 100 STREAMS bench >` and `XACK` of what it got,
//!   pipelined with the next XREADGROUP; always / batch: entries per second.
//! - **recovery**: a stream filled with 1 GiB of 1 KiB entries (64 MiB in the quick run),
//!   everysec / interval:1000 (redis-server's AOF not rewritten on the way), the server killed
//!   with SIGKILL and restarted on its directory: milliseconds from the restart's spawn until
//!   XLEN answers the full length.
//!
//! HTTP and WebSocket against RESP on the same broker (`broker/http.rs`): each round starts a
//! fresh broker with `--fsync batch --data-dir TMP --http-port P` and runs both sides on it,
//! alternating which goes first; the ratio is HTTP (or WebSocket) ÷ RESP:
//! - **HTTP produce**: `wrk` (2 threads, 50 connections, the run's duration) posting to
//!   `/topics/bench/messages` one JSON object of one 100 B field, or NDJSON of 100 or 1000 such
//!   lines, against `redis-benchmark` XADD of the same field (50 clients, `-P 1` and `-P 64`):
//!   entries per second, checked against XLEN.
//! - **WebSocket delivery**: one subscriber on `/ws/channels/bench?format=raw` against one RESP
//!   `SUBSCRIBE bench`, while `redis-benchmark` publishes 100 B to `bench` (50 clients, `-P 64`,
//!   or `-P 1` and a tenth as many messages): messages per second from the first arrival to the
//!   last, every payload checked, within 30 s.
//!
//! The tables are printed as markdown and written to `target/broker.csv`, one after the other.

#[path = "broker/delivery.rs"]
mod delivery;
#[path = "broker/http.rs"]
mod http;
#[path = "broker/idle.rs"]
mod idle;
#[path = "broker/loadgen.rs"]
mod loadgen;
#[path = "broker/redis_benchmark.rs"]
mod redis_benchmark;
#[path = "broker/report.rs"]
mod report;
#[path = "broker/server.rs"]
mod server;
#[path = "broker/sink.rs"]
mod sink;
#[path = "broker/streams.rs"]
mod streams;
#[path = "broker/temp_dir.rs"]
mod temp_dir;
#[path = "broker/wrk.rs"]
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use loadgen::Load;
use report::{Metric, Results, Target, SERVERS};
use server::Server;
use streams::Durability;

/// How big a run is.
#[derive(Clone, Copy, Debug)]
struct Size {
    rounds: usize,
    publish_p1: u64,
    publish_p64: u64,
    duration: f64,
    warmup: f64,
    idle_connections: usize,
    /// XADD requests per run at `-P 1` and `-P 64` under `appendfsync always` / `--fsync batch`.
    xadd_always: (u64, u64),
    /// The same under `appendfsync everysec` / `--fsync interval:1000`.
    xadd_everysec: (u64, u64),
    /// Entries preloaded and drained by the consumer group.
    consume_entries: u64,
    /// Bytes of 1 KiB entries written before the kill of the recovery scenario.
    recovery_bytes: u64,
    /// Messages published to the subscriber of the WebSocket delivery scenario.
    deliveries: u64,
}

const FULL: Size = Size {
    rounds: 3,
    publish_p1: 300_000,
    publish_p64: 3_000_000,
    duration: 4.0,
    warmup: 1.0,
    idle_connections: 10_000,
    xadd_always: (40_000, 1_000_000),
    xadd_everysec: (200_000, 2_000_000),
    consume_entries: 200_000,
    recovery_bytes: 1 << 30,
    deliveries: 1_000_000,
};

const QUICK: Size = Size {
    rounds: 2,
    publish_p1: 50_000,
    publish_p64: 500_000,
    duration: 1.0,
    warmup: 0.3,
    idle_connections: 10_000,
    xadd_always: (20_000, 300_000),
    xadd_everysec: (50_000, 500_000),
    consume_entries: 50_000,
    recovery_bytes: 64 << 20,
    deliveries: 300_000,
};

/// Deliveries per second of the paced fan-out, over all subscribers.
const PACED_DELIVERIES: u64 = 20_000;
/// PUBLISH commands in flight in the flat-out fan-out.
const FLAT_OUT_PIPELINE: u32 = 8;

/// redis-server as the reference: no persistence, loopback only.
const REDIS_CMD: &str = "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no";

/// One measurement, run on each server in turn.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// redis-benchmark PUBLISH with this pipeline depth and number of reading subscribers.
    Publish { pipeline: u32, subscribers: usize },
    /// loadgen with this many subscribers, flat out.
    FanOut { subscribers: usize },
    /// loadgen with this many subscribers at [`PACED_DELIVERIES`] per second.
    Paced { subscribers: usize },
    /// Memory per idle connection on a fresh server.
    Idle,
    /// redis-benchmark XADD with this pipeline depth on a fresh durable server.
    Xadd { durability: Durability, pipeline: u32 },
    /// A consumer group draining a preloaded stream on a fresh durable server.
    Consume,
    /// Restart after SIGKILL on a server holding this many bytes of stream entries.
    Recovery { bytes: u64 },
}

impl Scenario {
    fn metrics(self) -> Vec<Metric> {
        let metric = |name: String, unit, target| Metric { name, unit, target };
        match self {
            Scenario::Publish {
                pipeline,
                subscribers,
            } => {
                let target = match (pipeline, subscribers) {
                    (1, _) => Some(Target::AtLeast(1.0)),
                    (_, 1) => Some(Target::AtLeast(1.5)),
                    _ => None,
                };
                let who = if subscribers == 0 {
                    "no subscriber".to_string()
                } else {
                    format!("{subscribers} subscriber")
                };
                vec![metric(format!("PUBLISH -P {pipeline}, {who}"), "req/s", target)]
            }
            Scenario::FanOut { subscribers } => {
                let target = (subscribers >= 10).then_some(Target::AtLeast(1.5));
                vec![metric(
                    format!("fan-out to {subscribers}, flat out: delivery"),
                    "msg/s",
                    target,
                )]
            }
            Scenario::Paced { subscribers } => {
                let name = |q| format!("fan-out to {subscribers}, {PACED_DELIVERIES} deliveries/s: {q}");
                vec![
                    metric(name("p50"), "µs", None),
                    metric(name("p99"), "µs", Some(Target::AtMost(1.0))),
                    metric(name("p99.9"), "µs", None),
                ]
            }
            Scenario::Idle => vec![metric("idle connections: memory".into(), "KiB/conn", None)],
            Scenario::Xadd { durability, pipeline } => vec![metric(
                format!("XADD -P {pipeline}, {}", durability.label()),
                "req/s",
                Some(Target::AtLeast(1.5)),
            )],
            Scenario::Consume => vec![metric(
                format!("XREADGROUP COUNT 100 + XACK, {}", Durability::Always.label()),
                "entries/s",
                Some(Target::AtLeast(1.5)),
            )],
            Scenario::Recovery { bytes } => vec![metric(
                format!(
                    "restart after kill -9, {} MiB of 1 KiB entries, {}: until XLEN",
                    bytes >> 20,
                    Durability::Everysec.label()
                ),
                "ms",
                Some(Target::AtMost(1.0)),
            )],
        }
    }

    /// Runs on server `which` (0: redis-server, 1: the broker): `server` is the long-running one,
    /// `command` its command.
    fn run(
        self,
        size: Size,
        which: usize,
        server: &Server,
        command: &str,
        loadgen: &Path,
    ) -> Result<Vec<f64>, String> {
        match self {
            Scenario::Publish {
                pipeline,
                subscribers,
            } => {
                let requests = if pipeline == 1 {
                    size.publish_p1
                } else {
                    size.publish_p64
                };
                Ok(vec![redis_benchmark::publish(
                    server.port,
                    requests,
                    pipeline,
                    subscribers,
                )?])
            }
            Scenario::FanOut { subscribers } => {
                let load = Load {
                    subscribers,
                    rate: 0,
                    pipeline: FLAT_OUT_PIPELINE,
                    duration: size.duration,
                    warmup: size.warmup,
                };
                let figures = loadgen::run(loadgen, server.port, load)?;
                Ok(vec![figure(&figures, "delivery_rate")?])
            }
            Scenario::Paced { subscribers } => {
                let load = Load {
                    subscribers,
                    rate: PACED_DELIVERIES / subscribers as u64,
                    pipeline: 1,
                    duration: size.duration,
                    warmup: size.warmup,
                };
                let figures = loadgen::run(loadgen, server.port, load)?;
                ["p50_us", "p99_us", "p999_us"]
                    .iter()
                    .map(|k| figure(&figures, k))
                    .collect()
            }
            Scenario::Idle => {
                let fresh = Server::start(server.name, command)?;
                Ok(vec![idle::kib_per_connection(&fresh, size.idle_connections)?])
            }
            Scenario::Xadd { durability, pipeline } => {
                let (p1, p64) = match durability {
                    Durability::Always => size.xadd_always,
                    Durability::Everysec => size.xadd_everysec,
                };
                let requests = if pipeline == 1 { p1 } else { p64 };
                Ok(vec![streams::xadd(
                    which, command, durability, requests, pipeline,
                )?])
            }
            Scenario::Consume => Ok(vec![streams::consume(which, command, size.consume_entries)?]),
            Scenario::Recovery { bytes } => Ok(vec![streams::recovery(which, command, bytes)?]),
        }
    }
}

fn figure(figures: &std::collections::HashMap<String, f64>, key: &str) -> Result<f64, String> {
    figures
        .get(key)
        .copied()
        .ok_or_else(|| format!("loadgen reported no {key}"))
}

fn main() {
    if let Err(e) = bench() {
        eprintln!("broker bench: {e}");
        std::process::exit(1);
    }
}

fn bench() -> Result<(), String> {
    let quick = std::env::var("NANOSTREAM_BENCH_QUICK").is_ok_and(|v| v == "1");
    let mut size = if quick { QUICK } else { FULL };
    if let Ok(rounds) = std::env::var("NANOSTREAM_BENCH_ROUNDS") {
        size.rounds = rounds
            .parse()
            .map_err(|_| format!("NANOSTREAM_BENCH_ROUNDS={rounds} is not a number"))?;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building: cargo build --release -p nanostream-net --bins");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "nanostream-net", "--bins"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release -p nanostream-net --bins failed ({status})"
        ));
    }
    let loadgen = target.join("release/nanostream-loadgen");
    let broker_cmd = match std::env::var("NANOSTREAM_BENCH_BROKER_CMD") {
        Ok(cmd) => cmd,
        Err(_) => {
            let broker = target.join("release/nanostream-broker");
            if !broker.exists() {
                return Err(format!(
                    "{} does not exist; build it, or set NANOSTREAM_BENCH_BROKER_CMD to another server's \
                     command with {{port}} for its port",
                    broker.display()
                ));
            }
            format!("{} --port {{port}}", broker.display())
        }
    };
    match idle::raise_open_files() {
        Ok(limit) if (limit as usize) < size.idle_connections + 100 => {
            eprintln!("open-file limit {limit}: the idle-connection scenario will fail")
        }
        Ok(_) => {}
        Err(e) => eprintln!("cannot raise the open-file limit: {e}"),
    }

    let commands = [REDIS_CMD.to_string(), broker_cmd];
    println!("{}", machine(&root, &commands));
    let servers = [
        Server::start(SERVERS[0], &commands[0])?,
        Server::start(SERVERS[1], &commands[1])?,
    ];

    let mut scenarios = Vec::new();
    for pipeline in [1, 64] {
        for subscribers in [0, 1] {
            scenarios.push(Scenario::Publish {
                pipeline,
                subscribers,
            });
        }
    }
    scenarios.extend([1, 10, 100].map(|subscribers| Scenario::FanOut { subscribers }));
    scenarios.extend([1, 10, 100].map(|subscribers| Scenario::Paced { subscribers }));
    scenarios.push(Scenario::Idle);
    for durability in [Durability::Always, Durability::Everysec] {
        for pipeline in [1, 64] {
            scenarios.push(Scenario::Xadd { durability, pipeline });
        }
    }
    scenarios.push(Scenario::Consume);
    scenarios.push(Scenario::Recovery {
        bytes: size.recovery_bytes,
    });

    let only = std::env::var("NANOSTREAM_BENCH_ONLY").ok();
    if let Some(only) = &only {
        scenarios.retain(|s| s.metrics()[0].name.contains(only.as_str()));
    }

    let started = Instant::now();
    let mut results = Results::default();
    for scenario in scenarios {
        let metrics = scenario.metrics();
        eprintln!(
            "[{:5.0} s] {} …",
            started.elapsed().as_secs_f64(),
            metrics[0].name
        );
        for _ in 0..size.rounds {
            for (i, server) in servers.iter().enumerate() {
                match scenario.run(size, i, server, &commands[i], &loadgen) {
                    Ok(values) => results.record(&metrics, i, &values),
                    Err(e) => {
                        eprintln!("  {}: {e}", SERVERS[i]);
                        results.fail(&metrics, i, e);
                    }
                }
            }
        }
    }
    drop(servers);
    let http_results = http::run(&http::scenarios(), size, &commands[1], only.as_deref(), started);

    println!(
        "median [min–max] of {} rounds, {:.0} s in all\n",
        size.rounds,
        started.elapsed().as_secs_f64()
    );
    let tables: Vec<&Results> = [&results, &http_results]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    let markdown: Vec<String> = tables.iter().map(|r| r.markdown()).collect();
    print!("{}", markdown.join("\n"));
    let csv = target.join("broker.csv");
    let text: Vec<String> = tables.iter().map(|r| r.csv()).collect();
    std::fs::write(&csv, text.join("\n")).map_err(|e| format!("cannot write {}: {e}", csv.display()))?;
    println!("\nwritten to {}", csv.display());
    Ok(())
}

/// What the figures were measured on: commit, rustc, cores, load, the servers' commands.
fn machine(root: &Path, commands: &[String; 2]) -> String {
    let first_line = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into())
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // Other work on the machine widens every range: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let durable = |d: Durability| {
        format!(
            "durable, {}: `{}` against `{}`\n",
            d.label(),
            d.command(0, &commands[0]),
            d.command(1, &commands[1])
        )
    };
    format!(
        "commit {}, {}, {cores} cores ({cpu}), load average {}\nredis-server: {} ({})\nbroker: {}\n{}{}\
         HTTP and WebSocket against RESP: `{}`\n",
        first_line("git", &["rev-parse", "--short", "HEAD"]),
        first_line("rustc", &["--version"]),
        load.join(" "),
        commands[0],
        first_line("redis-server", &["--version"]),
        commands[1],
        durable(Durability::Always),
        durable(Durability::Everysec),
        http::command(&commands[1]),
    )
}
