//! Running a broker from its flags until it is told to stop.

use crate::streams::keyspace::KeyspaceConfig;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};
use thiserror::Error;

use super::{BrokerArgs, ProtectedMode};
use crate::ops::{Metrics, OpsServer};
use crate::resp::Limits;
use crate::server::{Profile, Server, ServerConfig, ServerError, TlsSettings};

/// Why the broker could not run. `Display` is the one line it prints before exiting 1.
#[derive(Debug, Error)]
pub enum RunError {
    /// Listening on a non-loopback address without a password.
    #[error(
        "refusing to listen on {0} without a password (protected mode): set --requirepass, \
         bind to a loopback address, or pass --protected-mode no"
    )]
    Protected(std::net::IpAddr),
    /// A flag's value is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The server could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The operations endpoint could not start.
    #[error("cannot serve /health and /metrics on {addr}: {source}")]
    Ops {
        /// Its address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The server stopped on its own: its broker thread failed (the log says how).
    #[error("the broker stopped unexpectedly (see the log above)")]
    Stopped,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Turns the flags into a server configuration, refusing what protected mode forbids.
pub fn config(args: &BrokerArgs) -> Result<ServerConfig, RunError> {
    if args.protected_mode == ProtectedMode::Yes && !args.bind.is_loopback() && args.requirepass.is_none() {
        return Err(RunError::Protected(args.bind));
    }
    let limits = Limits::builder()
        .max_bulk_len(args.max_payload)
        .build()
        .map_err(|e| RunError::Invalid(format!("--max-payload: {e}")))?;
    let tls = match (args.tls_port, &args.tls_cert, &args.tls_key) {
        (Some(port), Some(cert), Some(key)) => Some(TlsSettings {
            addr: SocketAddr::new(args.bind, port),
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    Ok(ServerConfig {
        bind: (args.port != 0).then(|| SocketAddr::new(args.bind, args.port)),
        tls,
        password: args.requirepass.clone(),
        max_clients: args.max_clients,
        limits,
        output_limit: args.client_output_limit,
        ring_size: args.ring_size,
        profile: if args.low_latency {
            Profile::LowLatency
        } else {
            Profile::Shared
        },
        streams: Some(KeyspaceConfig {
            data_dir: args.data_dir.clone(),
            fsync: args.fsync,
            segment_size: segment_size(args.segment_size)?,
        }),
    })
}

/// A segment size the journal accepts: from 64 KiB to 1 GiB.
fn segment_size(bytes: usize) -> Result<u64, RunError> {
    const RANGE: std::ops::RangeInclusive<usize> = (64 << 10)..=(1 << 30);
    if RANGE.contains(&bytes) {
        Ok(bytes as u64)
    } else {
        Err(RunError::Invalid(format!(
            "--segment-size: {bytes} bytes is outside 64kb..1gb"
        )))
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Runs the broker until SIGTERM or Ctrl-C, then stops it gracefully.
pub fn run(args: BrokerArgs) -> Result<(), RunError> {
    init_logging(&args.log_level);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(RunError::Signals)?;
    }
    run_until(args, stop)
}

/// Runs the broker until `stop` is set (the binary sets it from SIGTERM and Ctrl-C).
pub fn run_until(args: BrokerArgs, stop: Arc<AtomicBool>) -> Result<(), RunError> {
    let config = config(&args)?;
    // Room for every client, the listeners, and the files the process needs besides.
    let wanted = args.max_clients as u64 + 64;
    match super::raise_open_file_limit(wanted) {
        Ok(got) if got < wanted => tracing::warn!(
            "the open-file limit is {got}: fewer than --max-clients {} clients can connect; \
             raise the hard limit (LimitNOFILE= in a systemd unit, ulimit -Hn)",
            args.max_clients
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let ops = match args.http_port {
        Some(port) => {
            let addr = SocketAddr::new(args.bind, port);
            let ops = OpsServer::start(addr, metrics.clone(), ready.clone())
                .map_err(|source| RunError::Ops { addr, source })?;
            tracing::info!("operations endpoint on http://{}", ops.local_addr());
            Some(ops)
        }
        None => None,
    };
    let server = Server::start_with_metrics(config, metrics)?;
    if let Some(ops) = &ops {
        ops.serve_api(server.http_api());
    }
    if let Some(addr) = server.local_addr() {
        tracing::info!("listening on {addr}");
    }
    if let Some(addr) = server.tls_addr() {
        tracing::info!("listening for TLS on {addr}");
    }
    ready.store(true, Ordering::Release);
    while !stop.load(Ordering::Acquire) {
        if !server.is_running() {
            ready.store(false, Ordering::Release);
            return Err(RunError::Stopped);
        }
        std::thread::park_timeout(std::time::Duration::from_millis(50));
    }
    tracing::info!("stopping: delivering what was accepted, then closing clients");
    ready.store(false, Ordering::Release);
    server.shutdown();
    if let Some(ops) = ops {
        ops.shutdown();
    }
    tracing::info!("stopped");
    Ok(())
}

/// The whole of `nanostream-broker`'s `main`: parses the flags (and their environment
/// variables), runs until SIGTERM or Ctrl-C, and turns a failure into one line on stderr and
/// exit code 1. `examples/broker.rs` calls it too.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = match BrokerArgs::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print them and succeed.
            let _ = e.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message is several lines (usage, a hint); keep the one that says what
            // is wrong, so that logs and service managers show a single line.
            let rendered = e.to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments");
            let line = line.strip_prefix("error: ").unwrap_or(line);
            eprintln!("nanostream-broker: {line} (see --help)");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanostream-broker: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
