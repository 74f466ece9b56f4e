//! Why a server could not start.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

/// Why [`Server::start`](super::Server::start) failed. `Display` is one line an operator can
/// act on.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// A certificate or key file could not be read or parsed.
    #[error("cannot load TLS {what} from {}: {reason}", path.display())]
    Tls {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Neither a plain nor a TLS listener was configured.
    #[error("no listener: set a port, a TLS port, or both")]
    NoListener,
    /// The threads or the ring could not be created.
    #[error("cannot start the server: {0}")]
    Start(String),
    /// The streams in the data directory could not be opened.
    #[error("cannot open the streams in {}: {source}", dir.display())]
    Streams {
        /// The data directory.
        dir: PathBuf,
        /// What failed.
        source: crate::streams::keyspace::KeyspaceError,
    },
}
