//! `redis-benchmark` sending PUBLISH or XADD, its requests per second read from its CSV output.

use std::process::Command;

use crate::sink::Sink;

/// The channel PUBLISH goes to.
pub const CHANNEL: &str = "bench:chan";
/// The stream XADD appends to.
pub const STREAM: &str = "bench";
/// Payload bytes per PUBLISH or XADD.
const PAYLOAD: usize = 100;
/// Client connections of redis-benchmark.
const CLIENTS: u32 = 50;

/// Runs `requests` PUBLISH of 100 B from 50 clients with `pipeline` commands in flight each,
/// with `subscribers` sinks reading the channel; returns requests per second.
pub fn publish(port: u16, requests: u64, pipeline: u32, subscribers: usize) -> Result<f64, String> {
    let sinks = (0..subscribers)
        .map(|_| Sink::subscribe(port, CHANNEL))
        .collect::<Result<Vec<_>, _>>()?;
    let rps = publish_on(port, CHANNEL, requests, pipeline);
    drop(sinks);
    rps
}

/// Runs `requests` PUBLISH of 100 B to `channel` from 50 clients with `pipeline` commands in
/// flight each; returns requests per second.
pub fn publish_on(port: u16, channel: &str, requests: u64, pipeline: u32) -> Result<f64, String> {
    run(
        port,
        requests,
        pipeline,
        &["publish", channel, &"x".repeat(PAYLOAD)],
    )
}

/// Runs `requests` `XADD bench * f <100 B>` from 50 clients with `pipeline` commands in flight
/// each; returns requests per second.
pub fn xadd(port: u16, requests: u64, pipeline: u32) -> Result<f64, String> {
    run(
        port,
        requests,
        pipeline,
        &["XADD", STREAM, "*", "f", &"x".repeat(PAYLOAD)],
    )
}

fn run(port: u16, requests: u64, pipeline: u32, command: &[&str]) -> Result<f64, String> {
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            &CLIENTS.to_string(),
        ])
        .args(["-n", &requests.to_string(), "-P", &pipeline.to_string(), "--csv"])
        .args(command)
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    rps(&stdout).ok_or_else(|| format!("no requests per second in redis-benchmark's output: {stdout:?}"))
}

/// The `rps` column of the data line of `redis-benchmark --csv`.
fn rps(csv: &str) -> Option<f64> {
    let mut lines = csv.lines().filter(|l| l.starts_with('"'));
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let column = header.iter().position(|h| h.trim_matches('"') == "rps")?;
    let data = lines.next()?;
    // The test name (first column) is quoted and has no comma; the figures follow it.
    data.split(',').nth(column)?.trim_matches('"').parse().ok()
}
