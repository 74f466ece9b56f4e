//! [`KeyspaceError`]: what can go wrong opening, writing or deleting the broker's streams.

use std::path::PathBuf;

use thiserror::Error;

use crate::streams::stream::StreamError;

/// Everything that can go wrong in a [`Keyspace`](super::Keyspace).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyspaceError {
    /// A stream's journal failed (I/O, a full disk, a sync failure, a corrupt record).
    #[error(transparent)]
    Stream(#[from] StreamError),

    /// The data directory or a stream's directory could not be read, created or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },

    /// A record of a consumer-group journal cannot be read or replayed.
    #[error("consumer-group journal record {offset}: {reason}")]
    GroupLog {
        /// The record's offset.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl From<nanostream_journal::Error> for KeyspaceError {
    fn from(e: nanostream_journal::Error) -> Self {
        KeyspaceError::Stream(StreamError::Journal(e))
    }
}
