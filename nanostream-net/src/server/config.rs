//! Everything a [`Server`](super::Server) is started with, in one place, with Redis's defaults.

use crate::streams::keyspace::KeyspaceConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::OutputLimit;
use crate::resp::Limits;

/// How the server's threads wait for work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Nothing busy-spins: the I/O thread sleeps in `epoll` and the broker thread blocks on
    /// the ring. The right choice when clients share the machine with the broker.
    #[default]
    Shared,
    /// For dedicated cores: the I/O thread polls without sleeping and the broker thread
    /// busy-spins on the ring, each pinned to a core of its own (the first two cores the
    /// process may run on). Each takes a whole core even when idle.
    LowLatency,
}

/// A TLS listener: its address and the PEM files of its certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Where the TLS listener binds.
    pub addr: SocketAddr,
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub key: PathBuf,
}

/// The server's settings. `ServerConfig::default()` listens on 127.0.0.1:6380 without a
/// password, with Redis's limits.
///
/// ```
/// use nanostream_net::server::ServerConfig;
///
/// let config = ServerConfig {
///     password: Some("s3cret".into()),
///     max_clients: 100,
///     ..ServerConfig::default()
/// };
/// assert_eq!(config.bind.map(|a| a.port()), Some(6380));
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The plain-TCP listener (`None`: only TLS).
    pub bind: Option<SocketAddr>,
    /// The TLS listener, if any.
    pub tls: Option<TlsSettings>,
    /// The password clients must `AUTH` with (`requirepass`); `None`: no authentication.
    pub password: Option<String>,
    /// Connections beyond this many are answered `-ERR max number of clients reached` and
    /// closed (Redis's `maxclients`, 10,000 by default).
    pub max_clients: usize,
    /// Request parsing limits: the largest bulk string (`proto-max-bulk-len`, which bounds a
    /// payload), the longest inline command, the largest pending query.
    pub limits: Limits,
    /// When a subscriber that does not read is disconnected.
    pub output_limit: OutputLimit,
    /// Slots in the broker's ring (a power of two). Each slot keeps the largest command it
    /// has carried, up to 64 KiB, so the ring's memory is about `ring_size × typical command`.
    pub ring_size: usize,
    /// How the threads wait.
    pub profile: Profile,
    /// Where and how streams are stored; `None`: no streams (stream commands reply with an
    /// error). The broker's command line always sets one (`--data-dir`).
    pub streams: Option<KeyspaceConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 6380))),
            tls: None,
            password: None,
            max_clients: 10_000,
            limits: Limits::default(),
            output_limit: OutputLimit::default(),
            ring_size: 4096,
            profile: Profile::default(),
            streams: None,
        }
    }
}

impl ServerConfig {
    /// Settings for tests and embedding: 127.0.0.1 on a port the system picks.
    pub fn loopback() -> Self {
        ServerConfig {
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..ServerConfig::default()
        }
    }
}
