//! `wrk` sending one fixed HTTP request over and over, its count read from a line that the Lua
//! script's `done` hook prints.

use std::path::Path;
use std::process::Command;

/// Connections `wrk` keeps open.
pub const CONNECTIONS: u32 = 50;
/// `wrk`'s threads: one per core of the 2-core machine, as redis-benchmark's one thread leaves
/// the second core to the server.
const THREADS: u32 = 2;
/// The prefix of the line the script prints at the end.
const RESULT: &str = "NANOSTREAM_WRK";

/// One HTTP request, sent as is by every connection.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path and query, e.g. `/topics/bench/messages`.
    pub path: &'a str,
    /// `Content-Type` of the body.
    pub content_type: &'a str,
    /// The body.
    pub body: &'a str,
}

/// What a run did.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Requests answered with a 2xx or 3xx status.
    pub requests: u64,
    /// Seconds from the first connection to the end.
    pub seconds: f64,
}

/// Runs `wrk` with [`CONNECTIONS`] connections for `seconds` (whole, at least 1) against
/// `127.0.0.1:port`, the script written to `dir`. Any error (a non-2xx/3xx answer, a timeout, a
/// broken connection) fails the run.
pub fn run(dir: &Path, port: u16, request: &Request<'_>, seconds: f64) -> Result<Outcome, String> {
    let script = dir.join("wrk.lua");
    std::fs::write(&script, lua(request)).map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let out = Command::new("wrk")
        .args(["-t", &THREADS.to_string(), "-c", &CONNECTIONS.to_string()])
        .args(["-d", &format!("{}s", seconds.round().max(1.0))])
        .args(["--timeout", "10s", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}{}", request.path))
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {} {}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT))
        .ok_or_else(|| format!("no {RESULT} line in wrk's output: {stdout:?}"))?;
    let field = |name: &str| -> Result<u64, String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {name} in wrk's line {line:?}"))
    };
    let errors: Vec<String> = ["connect", "read", "write", "status", "timeout"]
        .iter()
        .map(|name| field(name).map(|n| (name, n)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "wrk saw errors: {} (output: {})",
            errors.join(", "),
            stdout.trim()
        ));
    }
    let requests = field("requests")?;
    let micros = field("duration_us")?;
    if requests == 0 || micros == 0 {
        return Err(format!("wrk completed no request: {}", stdout.trim()));
    }
    Ok(Outcome {
        requests,
        seconds: micros as f64 / 1e6,
    })
}

/// The script: the request, and a `done` hook printing the counts on one line.
fn lua(request: &Request<'_>) -> String {
    format!(
        r#"wrk.method = "{}"
wrk.body = "{}"
wrk.headers["Content-Type"] = "{}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("{RESULT} requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
"#,
        quoted(request.method),
        quoted(request.body),
        quoted(request.content_type)
    )
}

/// `s` inside a Lua double-quoted string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}
