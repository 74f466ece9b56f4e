//! [`StreamError`]: what can go wrong storing or reading a stream.

use nanostream_journal::Error as JournalError;
use thiserror::Error;

use crate::streams::entry::EntryError;
use crate::streams::id::{IdError, StreamId};

/// Everything that can go wrong in a [`Stream`](super::Stream).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The journal failed: I/O, a full disk, a sync failure (after which the stream refuses
    /// every write until it is reopened), a corrupt record, a directory that is not a journal
    /// or is locked by another writer.
    #[error(transparent)]
    Journal(#[from] JournalError),

    /// `append` was given an ID not greater than the stream's last ID
    /// ([`IdError::NotGreater`]); `Display` is Redis's reply text.
    #[error(transparent)]
    Id(#[from] IdError),

    /// The fields cannot be stored: an odd number of strings, or more than 4 GiB.
    #[error(transparent)]
    Encode(#[from] EntryError),

    /// A record of the journal is not a stream record this build reads.
    #[error("journal record {offset} is not a stream record: {source}")]
    Decode {
        /// The record's journal offset.
        offset: u64,
        /// What is wrong with it.
        #[source]
        source: EntryError,
    },

    /// A record of the journal reads well but breaks the stream's order: an entry whose ID
    /// is not greater than the one before it, or a tombstone for an ID not yet added.
    #[error("journal record {offset} breaks the stream's order: {reason} (ID {id})")]
    OutOfOrder {
        /// The record's journal offset.
        offset: u64,
        /// The ID at fault.
        id: StreamId,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A result whose error is [`StreamError`].
pub type Result<T, E = StreamError> = std::result::Result<T, E>;
