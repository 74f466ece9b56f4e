//! A publisher: one thread and one blocking connection, PUBLISH pipelined, optionally paced.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::connection::command;
use crate::payload::Stamp;
use crate::reply::{self, Reply};

/// What a publisher sends and when it stops.
#[derive(Debug, Clone)]
pub struct Plan {
    /// This publisher's index.
    pub id: u32,
    /// How many publishers share the rate and the channels.
    pub publishers: u32,
    /// The channel names, taken in turn.
    pub channels: Vec<String>,
    /// Payload bytes per message.
    pub payload: usize,
    /// Messages per second over all publishers; 0 for flat out.
    pub rate: u64,
    /// At most this many messages from this publisher.
    pub limit: u64,
    /// PUBLISH commands in flight.
    pub pipeline: u32,
    /// When the schedule starts.
    pub start: Instant,
    /// No message is sent at or after this moment.
    pub end: Instant,
    /// The run's clock origin for the send stamps.
    pub origin: Instant,
}

/// What a publisher did.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Messages sent (and acknowledged) per channel.
    pub per_channel: Vec<u64>,
    /// When the last reply came.
    pub finished: Instant,
}

/// Publishes until the plan's limit or end, or until `stop`; counts each batch in `published`.
pub fn run(
    mut stream: TcpStream,
    plan: &Plan,
    published: &AtomicU64,
    stop: &AtomicBool,
) -> Result<Sent, String> {
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    let channels = plan.channels.len() as u64;
    let mut per_channel = vec![0u64; plan.channels.len()];
    let mut payload = vec![b'x'; plan.payload];
    let mut out = Vec::with_capacity(plan.pipeline as usize * (plan.payload + 64));
    let mut input = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    let mut in_flight = 0u32;
    loop {
        let now = Instant::now();
        let sending = sent < plan.limit && now < plan.end && !stop.load(Ordering::Relaxed);
        if !sending && in_flight == 0 {
            break;
        }
        // This publisher's k-th message is message k * publishers + id of the whole run.
        let mut due = None;
        out.clear();
        let mut batch = 0u64;
        while sending && in_flight < plan.pipeline && sent < plan.limit {
            let global = sent * u64::from(plan.publishers) + u64::from(plan.id);
            if plan.rate > 0 {
                let at = plan.start + Duration::from_secs_f64(global as f64 / plan.rate as f64);
                if at > Instant::now() {
                    due = Some(at);
                    break;
                }
            }
            let channel = (global % channels) as usize;
            let stamp = Stamp {
                sent_ns: plan.origin.elapsed().as_nanos() as u64,
                publisher: plan.id,
                seq: per_channel[channel],
            };
            stamp.write(&mut payload);
            command(
                &mut out,
                &[b"PUBLISH", plan.channels[channel].as_bytes(), &payload],
            );
            per_channel[channel] += 1;
            sent += 1;
            batch += 1;
            in_flight += 1;
        }
        if !out.is_empty() {
            stream
                .write_all(&out)
                .map_err(|e| format!("publisher {}: {e}", plan.id))?;
            published.fetch_add(batch, Ordering::Relaxed);
        }
        if in_flight > 0 {
            in_flight -= read_replies(&mut stream, &mut input, &mut chunk)
                .map_err(|e| format!("publisher {}: {e}", plan.id))?;
        } else if let Some(at) = due {
            let wait = at.min(plan.end).saturating_duration_since(Instant::now());
            std::thread::sleep(wait);
        }
    }
    Ok(Sent {
        per_channel,
        finished: Instant::now(),
    })
}

/// Reads at least one reply; returns how many PUBLISH replies were complete.
fn read_replies(stream: &mut TcpStream, input: &mut Vec<u8>, chunk: &mut [u8]) -> Result<u32, String> {
    loop {
        let n = match stream.read(chunk) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        input.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        let mut replies = 0;
        while let Some((reply, used)) = reply::parse(&input[at..]).map_err(|e| e.to_string())? {
            match reply {
                Reply::Integer(_) => replies += 1,
                Reply::Error(e) => return Err(format!("PUBLISH refused: {}", String::from_utf8_lossy(e))),
                other => return Err(format!("unexpected reply to PUBLISH: {other:?}")),
            }
            at += used;
        }
        input.drain(..at);
        if replies > 0 {
            return Ok(replies);
        }
    }
}
