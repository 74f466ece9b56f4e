//! `nanostream-loadgen`: publish/subscribe load against any RESP2 server, measuring publish
//! and delivery throughput, publish-to-delivery latency, order and loss.
//!
//! ```text
//! nanostream-loadgen --port 6379 --subscribers 100 --channels 10 --rate 20000 --duration 10
//! ```
//!
//! Subscribers connect and subscribe first (all confirmations awaited), a few threads read
//! them all with mio, and one thread per publisher sends pipelined PUBLISH commands. At the end
//! the outstanding deliveries are awaited for up to 5 s, then the result is printed. The exit
//! code is 1 after a connection or protocol error or if a delivery was lost, with one line on
//! stderr saying which; 2 for a bad command line.

mod args;
mod connection;
mod payload;
mod progress;
mod publisher;
mod reply;
mod report;
mod subscriber;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;

use args::Args;
use connection::Endpoint;
use progress::Progress;
use report::Summary;
use subscriber::Shared;

/// How long to wait for deliveries still in flight once publishing has ended.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the main thread looks at the counters.
const TICK: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(summary) => {
            if summary.missing() > 0 {
                eprintln!(
                    "nanostream-loadgen: lost {} of {} deliveries",
                    summary.missing(),
                    summary.expected
                );
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("nanostream-loadgen: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The whole run; prints the result if the run got as far as publishing.
fn run(args: &Args) -> Result<Summary, String> {
    if let Err(e) = nanostream_net::cli::raise_open_file_limit(u64::MAX) {
        eprintln!("nanostream-loadgen: cannot raise the open-file limit: {e}");
    }
    let endpoint = Endpoint {
        host: args.host.clone(),
        port: args.port,
        password: args.password.clone(),
    };
    let channels: Vec<String> = (0..args.channels).map(Args::channel).collect();
    let origin = Instant::now();

    let streams = subscriber::subscribe_all(&endpoint, args.subscribers, &channels)?;
    let mut subscribers_per_channel = vec![0u64; channels.len()];
    for i in 0..args.subscribers {
        subscribers_per_channel[i % channels.len()] += 1;
    }
    let publisher_streams = (0..args.publishers)
        .map(|id| endpoint.connect().map_err(|e| format!("publisher {id}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let warmup_ns = (start.duration_since(origin) + secs(args.warmup)).as_nanos() as u64;
    let readers = subscriber::spawn_readers(streams, args.publishers as usize, origin, warmup_ns, &shared)?;

    let published = Arc::new(AtomicU64::new(0));
    let stop_publishing = Arc::new(AtomicBool::new(false));
    let limits = split(args.messages.unwrap_or(u64::MAX), args.publishers);
    let mut publishers = Vec::new();
    for (id, stream) in publisher_streams.into_iter().enumerate() {
        let plan = publisher::Plan {
            id: id as u32,
            publishers: args.publishers,
            channels: channels.clone(),
            payload: args.payload as usize,
            rate: args.rate,
            limit: limits[id],
            pipeline: args.pipeline,
            start,
            end: start + secs(args.duration),
            origin,
        };
        let (published, stop) = (Arc::clone(&published), Arc::clone(&stop_publishing));
        let handle = thread::Builder::new()
            .name(format!("publisher-{id}"))
            .spawn(move || {
                let sent = publisher::run(stream, &plan, &published, &stop);
                if sent.is_err() {
                    stop.store(true, Ordering::Relaxed); // the other publishers end too
                }
                sent
            })
            .map_err(|e| format!("cannot start a publisher thread: {e}"))?;
        publishers.push(handle);
    }

    // Publishing: watch for failures and print progress until every publisher is done.
    let mut progress = Progress::new(start);
    let mut next_line = start + Duration::from_secs(1);
    let mut tick = |progress: &mut Progress| {
        thread::sleep(TICK);
        if !args.quiet && Instant::now() >= next_line {
            next_line += Duration::from_secs(1);
            let line = progress.line(
                published.load(Ordering::Relaxed),
                shared.received.load(Ordering::Relaxed),
            );
            eprintln!("{line}");
        }
    };
    while !publishers.iter().all(|p| p.is_finished()) {
        if shared.failure.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            stop_publishing.store(true, Ordering::Relaxed);
        }
        tick(&mut progress);
    }
    let mut per_channel = vec![0u64; channels.len()];
    let mut publish_end = start;
    let mut publish_failure = None;
    for handle in publishers {
        match handle
            .join()
            .map_err(|_| "a publisher thread panicked".to_string())?
        {
            Ok(sent) => {
                for (total, n) in per_channel.iter_mut().zip(&sent.per_channel) {
                    *total += n;
                }
                publish_end = publish_end.max(sent.finished);
            }
            Err(e) => {
                publish_failure.get_or_insert(e);
            }
        }
    }
    let expected: u64 = per_channel
        .iter()
        .zip(&subscribers_per_channel)
        .map(|(m, s)| m * s)
        .sum();

    // Draining: wait for the deliveries still on their way.
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while publish_failure.is_none()
        && shared.received.load(Ordering::Relaxed) < expected
        && Instant::now() < drain_deadline
        && shared.failure.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    {
        tick(&mut progress);
    }
    shared.stop.store(true, Ordering::Relaxed);

    let mut latency = subscriber::histogram();
    let (mut received, mut out_of_order, mut last_delivery) = (0, 0, start);
    for reader in readers {
        let tally = reader
            .join()
            .map_err(|_| "a subscriber thread panicked".to_string())?;
        latency
            .add(&tally.latency)
            .map_err(|e| format!("merging histograms: {e}"))?;
        received += tally.received;
        out_of_order += tally.out_of_order;
        last_delivery = last_delivery.max(tally.last_delivery.unwrap_or(start));
    }
    let summary = Summary {
        host: args.host.clone(),
        port: args.port,
        subscribers: args.subscribers,
        publishers: args.publishers,
        channels: args.channels,
        payload: args.payload,
        rate: args.rate,
        pipeline: args.pipeline,
        published: per_channel.iter().sum(),
        publish_secs: publish_end.duration_since(start).as_secs_f64(),
        expected,
        received,
        delivery_secs: last_delivery.duration_since(start).as_secs_f64(),
        out_of_order,
        latency,
    };
    print!("{}", summary.text());
    if args.json {
        println!("{}", summary.json());
    }
    if let Some(path) = &args.csv {
        summary
            .append_csv(path)
            .map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
    }
    if let Some(failure) =
        publish_failure.or_else(|| shared.failure.lock().unwrap_or_else(|e| e.into_inner()).take())
    {
        return Err(failure);
    }
    Ok(summary)
}

/// A duration from a non-negative number of seconds.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// `total` split over `n` parts as evenly as possible, the first parts taking the remainder.
fn split(total: u64, n: u32) -> Vec<u64> {
    let n64 = u64::from(n);
    (0..n64)
        .map(|i| total / n64 + u64::from(i < total % n64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_is_even_and_complete() {
        assert_eq!(split(10, 3), [4, 3, 3]);
        assert_eq!(split(2, 4), [1, 1, 0, 0]);
        assert_eq!(split(u64::MAX, 1), [u64::MAX]);
    }
}
