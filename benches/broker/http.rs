//! The broker's HTTP and WebSocket API against its own RESP path, on the same broker: produce
//! over HTTP (`wrk`) against XADD (`redis-benchmark`), and deliveries to a WebSocket subscriber
//! against a RESP one.
//!
//! Each round starts a fresh broker with `--fsync batch --data-dir TMP --http-port P` (a fresh
//! temporary directory, removed after) and runs both sides on it, RESP first in even rounds and
//! HTTP first in odd ones, so that neither always meets the longer stream or the warmer caches.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::delivery::{Kind, Subscriber, PROBE};
use crate::redis_benchmark::{self, STREAM};
use crate::report::{Columns, Metric, Results, Target};
use crate::server::{self, Server};
use crate::streams::{connect, xlen};
use crate::temp_dir::TempDir;
use crate::wrk::{self, Request};
use crate::Size;

/// The two sides of every row: RESP (reference) and HTTP or WebSocket.
pub const COLUMNS: Columns = Columns {
    names: ["RESP", "HTTP / WebSocket"],
    ratio: "÷ RESP",
    csv: ["resp", "http"],
};

/// The channel the delivery scenario publishes to.
const CHANNEL: &str = "bench";
/// Payload bytes of each field value and each published message.
const PAYLOAD: usize = 100;
/// How long the subscriber may take to receive every message of one run.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the broker's HTTP listener may take to answer `/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// The target for batched produce: HTTP within 2× of RESP XADD `-P 64`.
const BATCH_TARGET: Target = Target::AtLeast(0.5);

/// One row group, measured on both sides of one broker per round.
#[derive(Clone, Copy, Debug)]
pub enum Scenario {
    /// `POST /topics/bench/messages` of one JSON object against XADD `-P 1` and `-P 64`.
    ProduceSingle,
    /// `POST /topics/bench/messages` of this many NDJSON lines against XADD `-P 64`.
    ProduceNdjson { lines: usize },
    /// Deliveries of redis-benchmark's PUBLISH (50 clients, this many in flight each) to one
    /// WebSocket subscriber against one RESP subscriber.
    Delivery { pipeline: u32 },
}

/// Every scenario of this module, in the order they run.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::ProduceSingle,
        Scenario::ProduceNdjson { lines: 100 },
        Scenario::ProduceNdjson { lines: 1000 },
        Scenario::Delivery { pipeline: 64 },
        Scenario::Delivery { pipeline: 1 },
    ]
}

impl Scenario {
    /// The rows it fills.
    pub fn metrics(self) -> Vec<Metric> {
        let metric = |name: String, target| Metric {
            name,
            unit: "msg/s",
            target,
        };
        match self {
            Scenario::ProduceSingle => [1, 64]
                .iter()
                .map(|p| {
                    metric(
                        format!(
                            "HTTP produce, 1 JSON object of 100 B per POST, wrk -c 50; RESP: -c 50 -P {p}"
                        ),
                        None,
                    )
                })
                .collect(),
            Scenario::ProduceNdjson { lines } => vec![metric(
                format!("HTTP produce, NDJSON of {lines} × 100 B per POST, wrk -c 50; RESP: -c 50 -P 64"),
                Some(BATCH_TARGET),
            )],
            Scenario::Delivery { pipeline } => vec![
                metric(
                    format!("WebSocket delivery of 100 B, format=raw, publisher -c 50 -P {pipeline}; RESP: SUBSCRIBE"),
                    None,
                ),
                metric(
                    format!("WebSocket delivery, publisher -c 50 -P {pipeline}: its PUBLISH rate meanwhile"),
                    None,
                ),
            ],
        }
    }

    /// Runs side `which` (0: RESP, 1: HTTP or WebSocket) on `broker`: one value per metric.
    fn run(self, size: Size, which: usize, broker: &HttpBroker) -> Result<Vec<f64>, String> {
        match (self, which) {
            (Scenario::ProduceSingle, 0) => Ok(vec![
                broker.xadd(size.xadd_always.0, 1)?,
                broker.xadd(size.xadd_always.1, 64)?,
            ]),
            (Scenario::ProduceSingle, _) => {
                let rate = broker.produce(1, size.duration)?;
                Ok(vec![rate, rate])
            }
            (Scenario::ProduceNdjson { .. }, 0) => Ok(vec![broker.xadd(size.xadd_always.1, 64)?]),
            (Scenario::ProduceNdjson { lines }, _) => Ok(vec![broker.produce(lines, size.duration)?]),
            (Scenario::Delivery { pipeline }, which) => {
                let kind = if which == 0 { Kind::Resp } else { Kind::WebSocket };
                // One in flight per client publishes about a tenth as fast: a tenth as many.
                let messages = if pipeline == 1 {
                    size.deliveries / 10
                } else {
                    size.deliveries
                };
                broker.delivery(kind, messages, pipeline)
            }
        }
    }
}

/// Runs `scenarios` (those with a row whose name holds `only`, when given), `size.rounds` rounds
/// each, on a fresh broker per round started from `base` (the broker's command, `{port}` in it).
pub fn run(scenarios: &[Scenario], size: Size, base: &str, only: Option<&str>, started: Instant) -> Results {
    let mut results = Results::new(COLUMNS);
    for &scenario in scenarios {
        let metrics = scenario.metrics();
        if let Some(only) = only {
            if !metrics.iter().any(|m| m.name.contains(only)) {
                continue;
            }
        }
        eprintln!(
            "[{:5.0} s] {} …",
            started.elapsed().as_secs_f64(),
            metrics[0].name
        );
        for round in 0..size.rounds {
            let broker = match HttpBroker::start(base) {
                Ok(broker) => broker,
                Err(e) => {
                    eprintln!("  broker: {e}");
                    results.fail(&metrics, 1, e);
                    continue;
                }
            };
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                match scenario.run(size, which, &broker) {
                    Ok(values) => results.record(&metrics, which, &values),
                    Err(e) => {
                        eprintln!("  {}: {e}", COLUMNS.names[which]);
                        results.fail(&metrics, which, e);
                    }
                }
            }
        }
    }
    results
}

/// The broker's command for these scenarios: `base`, durable with `--fsync batch`, and an HTTP
/// port; `{port}`, `{dir}` and `{http_port}` left in.
pub fn command(base: &str) -> String {
    format!("{base} --fsync batch --data-dir '{{dir}}' --http-port {{http_port}}")
}

/// A fresh broker with its HTTP listener, on a fresh data directory. Fields drop in order: the
/// broker is killed before its directory is removed.
struct HttpBroker {
    server: Server,
    http_port: u16,
    dir: TempDir,
}

impl HttpBroker {
    fn start(base: &str) -> Result<HttpBroker, String> {
        let dir = TempDir::new()?;
        let http_port = server::free_port();
        let command = command(base)
            .replace("{dir}", &dir.path().to_string_lossy())
            .replace("{http_port}", &http_port.to_string());
        let server = Server::start(crate::report::SERVERS[1], &command)?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match http(http_port, "GET", "/health", "text/plain", "") {
                Ok((200, _)) => break,
                Ok((status, body)) if Instant::now() >= deadline => {
                    return Err(format!("GET /health answered {status}: {body}"))
                }
                Err(e) if Instant::now() >= deadline => return Err(format!("GET /health: {e}")),
                _ => thread::sleep(Duration::from_millis(20)),
            }
        }
        Ok(HttpBroker {
            server,
            http_port,
            dir,
        })
    }

    fn stream_length(&self) -> Result<u64, String> {
        xlen(&mut connect(self.server.port)?)
    }

    /// `requests` XADD of 100 B from redis-benchmark (`-c 50 -P pipeline`): entries per second,
    /// once XLEN has grown by every one of them.
    fn xadd(&self, requests: u64, pipeline: u32) -> Result<f64, String> {
        let before = self.stream_length()?;
        let rate = redis_benchmark::xadd(self.server.port, requests, pipeline)?;
        // redis-benchmark sends whole pipelines: up to 50 × (pipeline - 1) more than asked.
        let added = self.stream_length()? - before;
        if added < requests || added > requests + 50 * u64::from(pipeline - 1) {
            return Err(format!("XLEN grew by {added} after {requests} XADD"));
        }
        Ok(rate)
    }

    /// `wrk` posting `lines` entries of one 100 B field per request (a JSON object when 1, NDJSON
    /// otherwise) for `seconds`: entries per second, once one request was checked against the
    /// contract and XLEN has grown by every entry wrk counted.
    fn produce(&self, lines: usize, seconds: f64) -> Result<f64, String> {
        let object = format!("{{\"f\":\"{}\"}}", "x".repeat(PAYLOAD));
        let (content_type, body) = if lines == 1 {
            ("application/json", object)
        } else {
            ("application/x-ndjson", format!("{object}\n").repeat(lines))
        };
        let path = format!("/topics/{STREAM}/messages");
        let (status, reply) = http(self.http_port, "POST", &path, content_type, &body)?;
        if status != 201 {
            return Err(format!(
                "POST {path} of {lines} entries answered {status}: {reply:?}"
            ));
        }
        let reply: serde_json::Value = serde_json::from_str(&reply)
            .map_err(|e| format!("POST {path} answered {status} {reply:?}: {e}"))?;
        let ids = if lines == 1 {
            usize::from(reply["id"].is_string())
        } else {
            reply["ids"].as_array().map_or(0, |ids| ids.len())
        };
        if ids != lines {
            return Err(format!(
                "POST {path} of {lines} entries answered {status} {reply}"
            ));
        }

        let before = self.stream_length()?;
        let request = Request {
            method: "POST",
            path: &path,
            content_type,
            body: &body,
        };
        let outcome = wrk::run(self.dir.path(), self.http_port, &request, seconds)?;
        // wrk stops with up to one request per connection in flight, which the broker may add.
        let added = self.stream_length()? - before;
        let counted = outcome.requests * lines as u64;
        if added < counted || added > counted + u64::from(wrk::CONNECTIONS) * lines as u64 {
            return Err(format!(
                "XLEN grew by {added} after {} requests of {lines} entries",
                outcome.requests
            ));
        }
        Ok(counted as f64 / outcome.seconds)
    }

    /// One subscriber of `kind` on [`CHANNEL`] while redis-benchmark publishes `messages` of
    /// 100 B to it (`-c 50 -P pipeline`): the subscriber's deliveries per second (first to last
    /// arrival), and the publishing rate redis-benchmark reports.
    fn delivery(&self, kind: Kind, messages: u64, pipeline: u32) -> Result<Vec<f64>, String> {
        let port = match kind {
            Kind::Resp => self.server.port,
            Kind::WebSocket => self.http_port,
        };
        let payload = "x".repeat(PAYLOAD);
        let subscriber = Subscriber::start(
            kind,
            port,
            CHANNEL,
            payload.clone().into_bytes(),
            messages,
            Instant::now() + DELIVERY_TIMEOUT,
        )?;
        // A WebSocket's subscription may be registered after the upgrade's answer: publish
        // probes until one arrives, so that the timed messages all have a receiver.
        let mut con = connect(self.server.port)?;
        let deadline = Instant::now() + READY_TIMEOUT;
        while !subscriber.probed() {
            redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(PROBE)
                .query::<u64>(&mut con)
                .map_err(|e| format!("PUBLISH probe: {e}"))?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "no probe reached the subscriber within {READY_TIMEOUT:?}"
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
        let published = redis_benchmark::publish_on(self.server.port, CHANNEL, messages, pipeline)?;
        let counted = subscriber.finish()?;
        Ok(vec![counted.rate(), published])
    }
}

/// One HTTP/1.1 request on a connection of its own: the status and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("HTTP port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no end of headers in {response:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line in {head:?}"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    Ok((status, if chunked { dechunk(body) } else { body.to_owned() }))
}

/// The data of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
