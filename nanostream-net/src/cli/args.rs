//! `nanostream-broker`'s flags, each also readable from an environment variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::server::{parse_size, OutputLimit};
use crate::streams::keyspace::FsyncPolicy;

/// Whether the broker refuses to listen on a non-loopback address without a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtectedMode {
    /// Refuse (Redis's default).
    Yes,
    /// Allow: you have another way to keep strangers out (a firewall, a private network).
    No,
}

fn size(text: &str) -> Result<usize, String> {
    parse_size(text).map_err(|e| e.to_string())
}

fn fsync_policy(text: &str) -> Result<FsyncPolicy, String> {
    text.parse()
}

fn output_limit(text: &str) -> Result<OutputLimit, String> {
    text.parse()
        .map_err(|e: crate::server::OutputLimitError| e.to_string())
}

/// The NanoStream broker: publish/subscribe over the Redis protocol (RESP2).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "nanostream-broker",
    version,
    about = "The NanoStream broker: publish/subscribe and durable streams over the Redis protocol (RESP2)",
    long_about = None
)]
pub struct BrokerArgs {
    /// Address to listen on.
    #[arg(long, env = "NANOSTREAM_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// RESP port (0: no plain listener, TLS only).
    #[arg(long, env = "NANOSTREAM_PORT", default_value_t = 6380)]
    pub port: u16,
    /// Password clients must AUTH with.
    #[arg(long, env = "NANOSTREAM_PASSWORD", hide_env_values = true)]
    pub requirepass: Option<String>,
    /// Refuse to listen on a non-loopback address without a password.
    #[arg(long, env = "NANOSTREAM_PROTECTED_MODE", value_enum, default_value = "yes")]
    pub protected_mode: ProtectedMode,
    /// Most clients connected at once; more are refused with Redis's error.
    #[arg(long, env = "NANOSTREAM_MAX_CLIENTS", default_value_t = 10_000)]
    pub max_clients: usize,
    /// Largest bulk string a client may send (bounds a payload), e.g. 512mb.
    #[arg(long, env = "NANOSTREAM_MAX_PAYLOAD", default_value = "512mb", value_parser = size)]
    pub max_payload: usize,
    /// A subscriber's output limit, "HARD SOFT SECONDS" as Redis's pubsub class (32mb 8mb 60).
    #[arg(long, env = "NANOSTREAM_CLIENT_OUTPUT_LIMIT", default_value = "32mb 8mb 60", value_parser = output_limit)]
    pub client_output_limit: OutputLimit,
    /// TLS port (needs --tls-cert and --tls-key).
    #[arg(long, env = "NANOSTREAM_TLS_PORT", requires_all = ["tls_cert", "tls_key"])]
    pub tls_port: Option<u16>,
    /// TLS certificate chain, PEM.
    #[arg(long, env = "NANOSTREAM_TLS_CERT", requires = "tls_port")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    #[arg(long, env = "NANOSTREAM_TLS_KEY", requires = "tls_port")]
    pub tls_key: Option<PathBuf>,
    /// Port of the HTTP listener (off when not given): /health, /metrics, the HTTP and
    /// WebSocket API and the dashboard at /. Its routes need --requirepass as a Bearer token
    /// when one is set (all but /health, /metrics and the dashboard's files).
    #[arg(long, env = "NANOSTREAM_HTTP_PORT")]
    pub http_port: Option<u16>,
    /// Log level: error, warn, info, debug or trace (or a tracing filter).
    #[arg(long, env = "NANOSTREAM_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Pin the I/O and broker threads to cores of their own and spin: for dedicated cores.
    #[arg(long, env = "NANOSTREAM_LOW_LATENCY")]
    pub low_latency: bool,
    /// Slots in the broker's ring (a power of two).
    #[arg(long, env = "NANOSTREAM_RING_SIZE", default_value_t = 4096)]
    pub ring_size: usize,
    /// Where streams are stored: one directory per stream key, created on first use.
    #[arg(long, env = "NANOSTREAM_DATA_DIR", default_value = "nanostream-data")]
    pub data_dir: PathBuf,
    /// When stream writes reach the disk: `batch` (one fdatasync per batch of commands before
    /// the replies: nothing acknowledged is lost even on power loss), `interval:<ms>` (a
    /// background fdatasync every that many milliseconds; a power loss can lose that long of
    /// replies) or
    /// `never` (the OS decides). A killed broker loses nothing acknowledged under any of them.
    #[arg(long, env = "NANOSTREAM_FSYNC", default_value = "batch", value_parser = fsync_policy)]
    pub fsync: FsyncPolicy,
    /// The size of each stream's journal segments, preallocated: a stream takes at least this
    /// much disk, and `XADD MAXLEN ~` and `XTRIM ~` free disk a whole segment at a time.
    #[arg(long, env = "NANOSTREAM_SEGMENT_SIZE", default_value = "4mb", value_parser = size)]
    pub segment_size: usize,
}
