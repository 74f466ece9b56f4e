//! The journal's error type: one enum, each variant naming the file, offset or limit involved.

use std::io;
use std::path::PathBuf;

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the journal.
///
/// Variants that concern a file carry its path; variants that concern a record carry its offset,
/// so that a message alone tells the operator where to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal directory does not exist (and creation was not requested).
    #[error("journal directory {0} does not exist")]
    NotFound(PathBuf),

    /// The directory exists but is not a NanoStream journal.
    #[error("{path} is not a NanoStream journal: {reason}")]
    NotAJournal {
        /// The directory.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// Another writer holds the journal's lock (an `flock` on its directory).
    #[error("journal {path} is locked by another writer{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The directory.
        path: PathBuf,
        /// The process id recorded in the `LOCK` file, if readable.
        pid: Option<u32>,
    },

    /// A record failed validation (bad length, CRC or sequence).
    #[error("corrupt record in segment {} at offset {offset} (byte {position}): {reason}", segment.display())]
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// The offset the record should have had.
        offset: u64,
        /// Byte position of the record inside the segment file.
        position: u64,
        /// What check failed.
        reason: &'static str,
    },

    /// A segment file as a whole is unusable (bad header, gap between segments, ...).
    #[error("corrupt segment {}: {reason}", segment.display())]
    CorruptSegment {
        /// The segment file.
        segment: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A record is larger than a segment can hold.
    #[error("record payload of {len} bytes exceeds the maximum of {max} bytes for this segment size")]
    RecordTooLarge {
        /// The payload length that was requested.
        len: usize,
        /// The largest payload a segment can hold.
        max: usize,
    },

    /// The requested offset is not in the journal.
    #[error("offset {offset} is not in the journal (retained offsets are {first}..{next})")]
    OffsetOutOfRange {
        /// The requested offset.
        offset: u64,
        /// The first retained offset.
        first: u64,
        /// The next offset to be written.
        next: u64,
    },

    /// The segment holding the requested offset was deleted by retention.
    #[error("offset {offset} is no longer in the journal (the first retained offset is {first})")]
    Deleted {
        /// The requested offset.
        offset: u64,
        /// The first offset still retained.
        first: u64,
    },

    /// Space for a new segment could not be reserved (typically: the disk is full).
    #[error("cannot preallocate {size} bytes for {}: {source}", path.display())]
    Preallocate {
        /// The file being created.
        path: PathBuf,
        /// The size that was requested.
        size: u64,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// fsync/fdatasync failed. This is fatal: the journal refuses all further writes.
    #[error("sync of {} failed; the journal is stopped and must be reopened: {source}", path.display())]
    Sync {
        /// The file being synced.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// An earlier sync failed; the journal refuses further work until it is reopened.
    #[error("the journal stopped after an earlier sync failure: {0}")]
    Failed(String),

    /// Any other I/O error, with the path it concerns.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The configuration is not usable.
    #[error("invalid journal configuration: {0}")]
    Config(String),

    /// The ring buffer refused a replayed event (the pipeline halted).
    #[error("replay stopped at offset {offset}: {source}")]
    Replay {
        /// The offset of the record that could not be published.
        offset: u64,
        /// The producer's error.
        #[source]
        source: nanostream::PublishError,
    },

    /// A payload could not be decoded into an event.
    #[error("record at offset {offset} could not be decoded: {source}")]
    Decode {
        /// The offset of the record.
        offset: u64,
        /// The codec's error.
        #[source]
        source: crate::codec::DecodeError,
    },
}

/// Attaches a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    /// Maps an `io::Error` to [`Error::Io`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}
