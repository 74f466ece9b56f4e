//! [`GroupLog`]: a stream's consumer groups, kept durable as a small journal of
//! [`GroupOp`] records beside the stream's entries, compacted into a snapshot as it grows.
//!
//! Each record of the journal (in the stream's directory, under `groups/`) is one command's
//! ops, encoded as [`GroupOp`] frames one after the other ([`log`](crate::streams::group::log)
//! gives the frame format), after a one-byte kind: `1` ops to apply in order, `2` a snapshot
//! (the whole state, as [`Groups::snapshot`] writes it) that replaces everything before it.
//! Opening replays every record; once the journal holds more than [`COMPACT_AFTER`] bytes of
//! ops past its last snapshot, a new snapshot is appended and the segments before it are
//! deleted, so replay stays short whatever the stream's history.

use std::path::Path;

use nanostream_journal::{Journal, JournalConfig};

use super::KeyspaceError;
use crate::streams::group::{GroupOp, Groups};

/// The kind byte of a record of ops.
const KIND_OPS: u8 = 1;
/// The kind byte of a snapshot record.
const KIND_SNAPSHOT: u8 = 2;

/// Bytes of ops written after the last snapshot before a new one is taken.
pub const COMPACT_AFTER: u64 = 4 << 20;

/// The group journal's segment size: small, as it is compacted.
const SEGMENT_SIZE: u64 = 1 << 20;

/// The journal of one stream's consumer-group changes.
#[derive(Debug)]
pub(crate) struct GroupLog {
    journal: Journal,
    /// Bytes of ops appended since the last snapshot.
    since_snapshot: u64,
    /// The encoding buffer, reused.
    buf: Vec<u8>,
}

impl GroupLog {
    /// Opens (or creates) the group journal in `dir` and replays it into the groups it holds.
    pub(crate) fn open(dir: &Path, config: &JournalConfig) -> Result<(Self, Groups), KeyspaceError> {
        let config = config.clone().segment_size(SEGMENT_SIZE);
        let journal = Journal::open(dir, config)?;
        let mut groups = Groups::new();
        let mut since_snapshot = 0;
        let mut reader = journal.reader()?;
        reader.seek(journal.first_offset())?;
        while reader.position() < journal.next_offset() {
            let Some(record) = reader.read_next()? else {
                break;
            };
            let (kind, frames) = record.payload.split_first().unwrap_or((&0, &[]));
            let ops = GroupOp::decode_all(frames).map_err(|e| KeyspaceError::GroupLog {
                offset: record.offset,
                reason: e.to_string(),
            })?;
            match *kind {
                KIND_SNAPSHOT => {
                    groups = Groups::new();
                    since_snapshot = 0;
                }
                KIND_OPS => since_snapshot += frames.len() as u64,
                other => {
                    return Err(KeyspaceError::GroupLog {
                        offset: record.offset,
                        reason: format!("unknown record kind {other}"),
                    })
                }
            }
            groups.apply_all(&ops).map_err(|e| KeyspaceError::GroupLog {
                offset: record.offset,
                reason: e.to_string(),
            })?;
        }
        let log = GroupLog {
            journal,
            since_snapshot,
            buf: Vec::new(),
        };
        Ok((log, groups))
    }

    /// Appends one command's ops (nothing if there are none), compacting when due.
    pub(crate) fn append(&mut self, ops: &[GroupOp], groups: &Groups) -> Result<(), KeyspaceError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.write(KIND_OPS, ops)?;
        self.since_snapshot += self.buf.len() as u64;
        if self.since_snapshot > COMPACT_AFTER {
            self.compact(groups)?;
        }
        Ok(())
    }

    /// Appends a snapshot of `groups` and deletes the segments before it.
    pub(crate) fn compact(&mut self, groups: &Groups) -> Result<(), KeyspaceError> {
        let offset = self.write(KIND_SNAPSHOT, &groups.snapshot())?;
        self.since_snapshot = 0;
        self.journal.delete_before(offset)?;
        Ok(())
    }

    /// Encodes `ops` after `kind` and appends them as one record; returns its offset.
    fn write(&mut self, kind: u8, ops: &[GroupOp]) -> Result<u64, KeyspaceError> {
        self.buf.clear();
        self.buf.push(kind);
        for op in ops {
            op.encode(&mut self.buf);
        }
        Ok(self.journal.append(&self.buf)?)
    }

    /// Ends a batch under the journal's policy (an fdatasync under `batch`).
    pub(crate) fn commit(&mut self) -> Result<(), KeyspaceError> {
        Ok(self.journal.commit()?)
    }

    /// Makes everything durable and closes the journal cleanly.
    pub(crate) fn close(self) -> Result<(), KeyspaceError> {
        Ok(self.journal.close()?)
    }
}
