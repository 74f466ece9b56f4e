//! [`GroupLog`]: a stream's consumer groups, kept durable as a small journal of
//! [`GroupOp`] records beside the stream's entries, compacted into a snapshot as it grows.
//!
//! Each record of the journal (in the stream's directory, under `groups/`) holds
//! [`GroupOp`] frames one after the other ([`log`](crate::streams::group::log) gives the frame
//! format), after a one-byte kind:
//!
//! | kind | record |
//! | --- | --- |
//! | 1 | ops to apply in order |
//! | 2 | a whole snapshot: the complete state, replacing everything before it |
//! | 3 | the first part of a snapshot too large for one record |
//! | 5 | a middle part of such a snapshot |
//! | 4 | its last part: the parts together replace everything before them |
//!
//! Ops with long lists (a delivery or an acknowledgement of many IDs, a consumer's many pending
//! entries in a snapshot) are split ([`GroupOp::split`]) so that every record fits a segment.
//! A command's ops may so take several records; a crash between them applies a prefix of the
//! command, which was not answered.
//!
//! Opening replays the records. A snapshot in parts takes effect at its last part, so one cut
//! short by a crash is ignored, and the ops before it still hold. Once more than
//! [`COMPACT_AFTER`] bytes of ops were written after the last snapshot, a new one is written,
//! made durable, and only then are the segments before it deleted; a journal whose first
//! segments were deleted is replayed from its first snapshot on.

use std::path::Path;

use nanostream_journal::{Journal, JournalConfig};

use super::KeyspaceError;
use crate::streams::group::{GroupOp, Groups};

/// A record of ops.
const KIND_OPS: u8 = 1;
/// A whole snapshot in one record.
const KIND_SNAPSHOT: u8 = 2;
/// The first part of a snapshot in several records.
const KIND_SNAPSHOT_BEGIN: u8 = 3;
/// The last part of a snapshot in several records.
const KIND_SNAPSHOT_END: u8 = 4;
/// A middle part of a snapshot in several records.
const KIND_SNAPSHOT_PART: u8 = 5;

/// Bytes of ops written after the last snapshot before a new one is taken.
pub const COMPACT_AFTER: u64 = 4 << 20;

/// The group journal's segment size: small, as it is compacted.
const SEGMENT_SIZE: u64 = 1 << 20;

/// The most IDs (or claimed entries) one op of a record carries: about 400 KB.
const MAX_OP_IDS: usize = 16 * 1024;

/// The journal of one stream's consumer-group changes.
#[derive(Debug)]
pub(crate) struct GroupLog {
    journal: Journal,
    /// Bytes of ops appended since the last snapshot.
    since_snapshot: u64,
    /// The encoding buffer, reused.
    buf: Vec<u8>,
}

/// Where a replay is.
enum Replay {
    /// The journal's first segments were deleted: records before the first snapshot are
    /// superseded by it.
    BeforeFirstSnapshot,
    /// Applying records.
    Applying,
    /// Collecting the parts of a snapshot.
    InSnapshot(Vec<GroupOp>),
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
        let mut state = if journal.first_offset() > 0 {
            Replay::BeforeFirstSnapshot
        } else {
            Replay::Applying
        };
        while reader.position() < journal.next_offset() {
            let Some(record) = reader.read_next()? else {
                break;
            };
            let offset = record.offset;
            let fault = |reason: String| KeyspaceError::GroupLog { offset, reason };
            let (kind, frames) = record.payload.split_first().unwrap_or((&0, &[]));
            let ops = GroupOp::decode_all(frames).map_err(|e| fault(e.to_string()))?;
            state = match (*kind, state) {
                (KIND_OPS | KIND_SNAPSHOT_PART | KIND_SNAPSHOT_END, Replay::BeforeFirstSnapshot) => {
                    Replay::BeforeFirstSnapshot
                }
                (KIND_SNAPSHOT, _) => {
                    groups = Groups::new();
                    groups.apply_all(&ops).map_err(|e| fault(e.to_string()))?;
                    since_snapshot = 0;
                    Replay::Applying
                }
                (KIND_SNAPSHOT_BEGIN, _) => Replay::InSnapshot(ops),
                (KIND_SNAPSHOT_PART, Replay::InSnapshot(mut parts)) => {
                    parts.extend(ops);
                    Replay::InSnapshot(parts)
                }
                (KIND_SNAPSHOT_END, Replay::InSnapshot(mut parts)) => {
                    parts.extend(ops);
                    groups = Groups::new();
                    groups.apply_all(&parts).map_err(|e| fault(e.to_string()))?;
                    since_snapshot = 0;
                    Replay::Applying
                }
                // A part without its beginning cannot be written: the journal is damaged.
                (KIND_SNAPSHOT_PART | KIND_SNAPSHOT_END, Replay::Applying) => {
                    return Err(fault("a snapshot part without its beginning".into()));
                }
                // Ops after a snapshot cut short by a crash: the snapshot never took effect.
                (KIND_OPS, Replay::Applying | Replay::InSnapshot(_)) => {
                    groups.apply_all(&ops).map_err(|e| fault(e.to_string()))?;
                    since_snapshot += frames.len() as u64;
                    Replay::Applying
                }
                (other, _) => return Err(fault(format!("unknown record kind {other}"))),
            };
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
        let records = self.pack(ops);
        let bytes: usize = records.iter().map(Vec::len).sum();
        for record in &records {
            self.write(KIND_OPS, record)?;
        }
        self.since_snapshot += bytes as u64;
        if self.since_snapshot > COMPACT_AFTER {
            self.compact(groups)?;
        }
        Ok(())
    }

    /// Writes a snapshot of `groups`, makes it durable, then deletes the segments before it.
    pub(crate) fn compact(&mut self, groups: &Groups) -> Result<(), KeyspaceError> {
        let records = self.pack(&groups.snapshot());
        let n = records.len();
        let mut first = None;
        for (i, record) in records.iter().enumerate() {
            let kind = match (i, n) {
                (_, 1) => KIND_SNAPSHOT,
                (0, _) => KIND_SNAPSHOT_BEGIN,
                (i, n) if i + 1 == n => KIND_SNAPSHOT_END,
                _ => KIND_SNAPSHOT_PART,
            };
            let offset = self.write(kind, record)?;
            first.get_or_insert(offset);
        }
        self.since_snapshot = 0;
        // The old records go only once the snapshot replacing them is on disk.
        self.journal.sync()?;
        if let Some(first) = first {
            self.journal.delete_before(first)?;
        }
        Ok(())
    }

    /// Encodes `ops` into record bodies (without the kind byte), each within a record's
    /// largest payload, splitting ops with long lists.
    fn pack(&mut self, ops: &[GroupOp]) -> Vec<Vec<u8>> {
        let max = self.journal.config().max_payload().saturating_sub(1);
        let mut records: Vec<Vec<u8>> = vec![Vec::new()];
        for op in ops {
            for part in op.clone().split(MAX_OP_IDS) {
                self.buf.clear();
                part.encode(&mut self.buf);
                let current = records.last_mut().expect("never empty");
                if !current.is_empty() && current.len() + self.buf.len() > max {
                    records.push(Vec::new());
                }
                records
                    .last_mut()
                    .expect("never empty")
                    .extend_from_slice(&self.buf);
            }
        }
        records
    }

    /// Appends one record: `kind`, then `body`; returns its offset.
    fn write(&mut self, kind: u8, body: &[u8]) -> Result<u64, KeyspaceError> {
        Ok(self.journal.append_with(0, body.len() + 1, |out| {
            out[0] = kind;
            out[1..].copy_from_slice(body);
        })?)
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
