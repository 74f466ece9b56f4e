//! `nanostream-loadgen` against one server, its result read from the `--json` line.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// One loadgen run's settings.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Subscriber connections, all on one channel.
    pub subscribers: usize,
    /// Messages per second; 0 for flat out.
    pub rate: u64,
    /// PUBLISH commands in flight.
    pub pipeline: u32,
    /// Seconds of publishing, the warmup included.
    pub duration: f64,
    /// Seconds at the start left out of the latency histogram.
    pub warmup: f64,
}

/// Runs the loadgen at `binary` against the server on `port`; returns its numeric figures
/// (`delivery_rate`, `p99_us`, ...). A run that lost messages or failed is an error.
pub fn run(binary: &Path, port: u16, load: Load) -> Result<HashMap<String, f64>, String> {
    let out = Command::new(binary)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--quiet",
            "--json",
        ])
        .args([
            "--subscribers",
            &load.subscribers.to_string(),
            "--publishers",
            "1",
            "--channels",
            "1",
        ])
        .args([
            "--payload",
            "100",
            "--rate",
            &load.rate.to_string(),
            "--pipeline",
            &load.pipeline.to_string(),
        ])
        .args([
            "--duration",
            &load.duration.to_string(),
            "--warmup",
            &load.warmup.to_string(),
        ])
        .env_remove("NANOSTREAM_LOADGEN_CSV")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!(
            "loadgen: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or("loadgen printed no JSON line")?;
    Ok(numbers(line))
}

/// The numeric members of a flat JSON object (the loadgen's line: no nesting, no commas in
/// strings).
fn numbers(line: &str) -> HashMap<String, f64> {
    line.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|member| {
            let (key, value) = member.split_once(':')?;
            Some((key.trim_matches('"').to_owned(), value.parse().ok()?))
        })
        .collect()
}
