//! One stream's storage: its entries in a journal directory of their own.
//!
//! - [`Stream`] (this file): opening and recovery, `append`, `delete`, the stream's
//!   bookkeeping and the durability calls an `XADD` waits on.
//! - `read.rs`: `range` and `rev_range`, and the journal scan every lookup uses.
//! - `index.rs`: the sparse in-memory index ranges start from.
//! - `config.rs`: [`StreamConfig`].
//! - `error.rs`: [`StreamError`].
//!
//! # What is where
//!
//! Entries live in the journal only, each one record ([`entry`] gives the encoding); `XDEL`
//! appends a tombstone record naming the IDs it deleted. In memory a stream keeps:
//!
//! - its last ID, its first live ID and its length;
//! - a sparse index: the ID and journal offset of one entry every
//!   [`index_every`](StreamConfig::index_every) entries (256 by default: 24 bytes per 256
//!   entries, about 9.4 MB for a hundred million);
//! - the IDs of deleted entries after the first live one, in a `BTreeSet` (the deleted
//!   entries before it need no record: everything before the first live entry is deleted).
//!
//! Nothing else is kept per entry. A range finds the last index point at or before its start
//! by binary search, seeks the journal reader to that point's offset (the journal's own offset
//! index takes it to the record) and reads forward from there, so it reads at most one block
//! of entries before the first it returns. A reverse range reads the blocks from its end
//! backwards, each forward, keeping at most one block's IDs and offsets at a time.
//!
//! # Opening
//!
//! [`Stream::open_or_create`] opens the journal (creating it when the directory is missing or
//! empty, recovering it otherwise: a torn tail is cut to its valid prefix and what was dropped
//! is in [`Stream::open_report`]), then reads every record once to rebuild the last ID, the
//! length, the index and the deleted IDs. The cost of opening is one pass over the journal;
//! while it runs, every deleted ID found is held, and those before the first live entry are
//! let go at the end.
//!
//! A stream whose directory name is hashed
//! ([`needs_key_file`](crate::streams::key_path::needs_key_file)) is created in the order
//! [`key_path`](crate::streams::key_path) gives: [`Stream::open_or_create`] (which makes the
//! directory a journal), then [`write_key_file`](crate::streams::key_path::write_key_file),
//! then the first [`append`](Stream::append).

mod config;
mod error;
mod index;
mod read;
mod snapshot;
mod trim;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nanostream_journal::{Journal, OpenReport};

pub use config::StreamConfig;
pub use error::{Result, StreamError};
pub use trim::TrimTo;

use crate::streams::entry::{self, StreamRecord};
use crate::streams::group::StreamMeta;
use crate::streams::id::{IdError, StreamId};
use index::SparseIndex;

/// One stream's entries, stored in a journal directory (one directory per stream key, see
/// [`key_path`](crate::streams::key_path)).
///
/// IDs are resolved by the caller ([`XaddId::resolve`](crate::streams::id::XaddId::resolve)
/// with [`last_id`](Self::last_id)); [`append`](Self::append) stores an entry and returns its
/// journal offset. An `XADD` is acknowledged once that offset is durable:
/// [`commit`](Self::commit) at the end of a batch, then [`is_durable`](Self::is_durable)
/// (under the journal's background policies the watermark advances on its own).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("nsnet-doc-stream-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// use nanostream_journal::JournalConfig;
/// use nanostream_net::streams::id::XaddId;
/// use nanostream_net::streams::stream::{Stream, StreamConfig};
/// use nanostream_net::streams::StreamId;
///
/// let config = StreamConfig::new().journal(JournalConfig::new().segment_size(1 << 20));
/// let mut stream = Stream::open_or_create(&dir, config.clone())?;
/// for (now_ms, temperature) in [(1000, "21.5"), (1000, "21.7"), (1001, "22.0")] {
///     let id = XaddId::Auto.resolve(stream.last_id(), now_ms)?;
///     let offset = stream.append(id, &[&b"temperature"[..], temperature.as_bytes()])?;
///     stream.commit()?; // one fdatasync under the default policy
///     assert!(stream.is_durable(offset)); // now the XADD can be answered
/// }
/// assert_eq!(stream.last_id(), StreamId::new(1001, 0));
///
/// // XRANGE s - + COUNT 2
/// let entries = stream.range(StreamId::MIN, StreamId::MAX, Some(2))?;
/// let ids: Vec<StreamId> = entries.iter().map(|(id, _)| *id).collect();
/// assert_eq!(ids, [StreamId::new(1000, 0), StreamId::new(1000, 1)]);
/// assert_eq!(entries[1].1.to_vec(), [b"temperature".to_vec(), b"21.7".to_vec()]);
///
/// // XDEL s 1000-0 9-9
/// assert_eq!(stream.delete(&[StreamId::new(1000, 0), StreamId::new(9, 9)])?, 1);
/// assert_eq!((stream.len(), stream.first_id()), (2, Some(StreamId::new(1000, 1))));
/// stream.close()?;
///
/// // Reopened, it is all there; the last ID stays, so new IDs stay greater.
/// let stream = Stream::open_or_create(&dir, config)?;
/// assert_eq!((stream.len(), stream.last_id()), (2, StreamId::new(1001, 0)));
/// # drop(stream);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Stream {
    journal: Journal,
    cursor: read::Cursor,
    index: SparseIndex,
    /// The greatest ID ever added (deleted or not); `0-0` before the first.
    last_id: StreamId,
    /// The first entry not deleted; `None` when there is none.
    first_id: Option<StreamId>,
    /// Entries not deleted.
    len: u64,
    /// Entries ever added (`XINFO STREAM`'s `entries-added`).
    entries_added: u64,
    /// The greatest ID `XDEL` deleted (`0-0` if none).
    max_deleted_id: StreamId,
    /// Deleted IDs after `first_id` (every entry before `first_id` is deleted).
    deleted: BTreeSet<StreamId>,
    /// The most IDs one tombstone record holds with this journal's segment size.
    max_tombstone_ids: usize,
}

impl Stream {
    /// Opens the stream stored in `dir`, creating its journal if the directory is missing or
    /// empty, recovering it otherwise (see the [module docs](self)). What recovery dropped
    /// from the journal's tail is in [`open_report`](Self::open_report).
    ///
    /// Fails with the journal's errors (a directory that is not a journal, another writer
    /// holding it, I/O), and with [`StreamError::Decode`] or [`StreamError::OutOfOrder`] if a
    /// record that passed the journal's CRC is not a valid stream record in order.
    pub fn open_or_create(dir: impl AsRef<Path>, config: StreamConfig) -> Result<Self> {
        let journal = Journal::open(dir.as_ref(), config.journal.clone())?;
        let reader = journal.reader()?;
        let max_payload = journal.config().max_payload();
        let max_tombstone_ids =
            (max_payload.saturating_sub(entry::tombstone_len(0)) / 16).clamp(1, u32::MAX as usize);
        let mut stream = Self {
            journal,
            cursor: read::Cursor::new(reader),
            index: SparseIndex::new(config.index_every),
            last_id: StreamId::MIN,
            first_id: None,
            len: 0,
            entries_added: 0,
            max_deleted_id: StreamId::MIN,
            deleted: BTreeSet::new(),
            max_tombstone_ids,
        };
        if !stream.restore(dir.as_ref()) {
            stream.rebuild()?;
        }
        Ok(stream)
    }

    /// Takes the bookkeeping from the state a clean close saved, if it matches the journal
    /// (see `snapshot.rs`); returns whether it did. The file is deleted either way.
    fn restore(&mut self, dir: &Path) -> bool {
        let path = snapshot::path(dir);
        if !path.exists() {
            return false;
        }
        let saved = snapshot::read(dir);
        let _ = std::fs::remove_file(&path);
        let Some(saved) = saved else {
            tracing::warn!(dir = %dir.display(), "ignoring a damaged stream state file; reading the journal");
            return false;
        };
        let matches = !self.journal.open_report().scanned
            && saved.next_offset == self.journal.next_offset()
            && saved.first_offset == self.journal.first_offset()
            && saved.index.every() == self.index.every();
        if !matches {
            return false;
        }
        self.last_id = saved.last_id;
        self.first_id = saved.first_id;
        self.len = saved.len;
        self.entries_added = saved.entries_added;
        self.max_deleted_id = saved.max_deleted_id;
        self.index = saved.index;
        self.deleted = saved.deleted.into_iter().collect();
        true
    }

    /// Reads every record of the journal and rebuilds the bookkeeping from them.
    ///
    /// The counters run from the first record kept; a trim record sets them to what they were
    /// when it was written (the records of segments deleted after a trim are gone).
    fn rebuild(&mut self) -> Result<()> {
        let (from, to) = (self.journal.first_offset(), self.journal.next_offset());
        let mut last_id = StreamId::MIN;
        let (mut len, mut added, mut max_deleted) = (0u64, 0u64, StreamId::MIN);
        let mut trimmed_before = StreamId::MIN;
        // With its first segments deleted (a trim), a tombstone may name an entry whose record
        // is gone: the check that it names an entry added before holds only for a whole journal.
        let whole = from == 0;
        let (index, deleted) = (&mut self.index, &mut self.deleted);
        let mut fault = None;
        read::scan(&mut self.cursor, from, to, |offset, record| {
            match record {
                StreamRecord::Entry(e) => {
                    if e.id() <= last_id {
                        fault = Some((offset, e.id(), "an entry ID not greater than the one before"));
                        return false;
                    }
                    index.note(e.id(), offset);
                    last_id = e.id();
                    added += 1;
                    len += 1;
                }
                StreamRecord::Tombstone(t) => {
                    for id in t.ids() {
                        if whole && (id > last_id || id == StreamId::MIN) {
                            fault = Some((offset, id, "a tombstone for an ID never added"));
                            return false;
                        }
                        deleted.insert(id);
                        max_deleted = max_deleted.max(id);
                        len = len.saturating_sub(1);
                    }
                }
                StreamRecord::Trim(t) => {
                    if t.last_id < last_id {
                        fault = Some((offset, t.last_id, "a trim behind the last entry"));
                        return false;
                    }
                    last_id = t.last_id;
                    len = t.len;
                    added = t.entries_added;
                    max_deleted = t.max_deleted_id;
                    trimmed_before = trimmed_before.max(t.before);
                }
            }
            true
        })?;
        if let Some((offset, id, reason)) = fault {
            return Err(StreamError::OutOfOrder { offset, id, reason });
        }
        self.last_id = last_id;
        self.len = len;
        self.entries_added = added;
        self.max_deleted_id = max_deleted;
        self.first_id = match self.len {
            0 => None,
            _ => self.next_live(trimmed_before)?,
        };
        self.forget_deleted_before_first();
        Ok(())
    }

    /// Adds an entry with `id` and `fields` (field, value, field, value, ...); returns its
    /// journal offset, to wait on for durability ([`is_durable`](Self::is_durable)).
    ///
    /// The caller resolves the ID first ([`XaddId::resolve`](crate::streams::id::XaddId::resolve)
    /// with [`last_id`](Self::last_id)); an ID not greater than the last one is refused with
    /// [`IdError::NotGreater`] all the same. An odd number of strings is
    /// [`StreamError::Encode`]; an entry larger than a journal record can be (about the
    /// segment size) is the journal's `RecordTooLarge`.
    pub fn append<B: AsRef<[u8]>>(&mut self, id: StreamId, fields: &[B]) -> Result<u64> {
        if id <= self.last_id {
            return Err(IdError::NotGreater.into());
        }
        let len = entry::entry_len(fields)?;
        let offset = self
            .journal
            .append_with(now_ns(), len, |buf| entry::encode_entry_into(id, fields, buf))?;
        self.index.note(id, offset);
        self.last_id = id;
        self.len += 1;
        self.entries_added += 1;
        if self.first_id.is_none() {
            self.first_id = Some(id);
        }
        Ok(offset)
    }

    /// Deletes the entries with these IDs (`XDEL`); returns how many existed and were deleted.
    /// An ID that is absent or already deleted counts 0, as does a repeated one.
    ///
    /// The deletion is recorded as tombstone records in the journal (as many as the segment
    /// size requires; one for any realistic `XDEL`); it is durable once
    /// [`next_offset`](Self::next_offset), read after this call, is durable.
    pub fn delete(&mut self, ids: &[StreamId]) -> Result<u64> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::new();
        for id in ids {
            if self.is_live(id)? {
                found.push(id);
            }
        }
        let mut written = Ok(());
        for chunk in found.chunks(self.max_tombstone_ids) {
            let len = entry::tombstone_len(chunk.len());
            let appended = self
                .journal
                .append_with(now_ns(), len, |buf| entry::encode_tombstone_into(chunk, buf));
            if let Err(e) = appended {
                written = Err(e);
                break;
            }
            self.deleted.extend(chunk.iter().copied());
            self.len -= chunk.len() as u64;
            if let Some(&last) = chunk.last() {
                self.max_deleted_id = self.max_deleted_id.max(last);
            }
        }
        // Even after a failed write, what was written is deleted: move the first ID past it.
        if let Some(first) = self.first_id {
            if self.deleted.contains(&first) {
                self.first_id = if self.len == 0 {
                    None
                } else {
                    self.next_live(first)?
                };
                self.forget_deleted_before_first();
            }
        }
        written?;
        Ok(found.len() as u64)
    }

    /// Whether an entry with `id` exists and is not deleted.
    fn is_live(&mut self, id: StreamId) -> Result<bool> {
        let Some(first) = self.first_id else {
            return Ok(false);
        };
        if id < first || id > self.last_id || self.deleted.contains(&id) {
            return Ok(false);
        }
        self.entry_exists(id)
    }

    /// Drops the deleted IDs the first live ID makes redundant (all of them when the stream
    /// is empty).
    fn forget_deleted_before_first(&mut self) {
        match self.first_id {
            Some(first) => self.deleted = self.deleted.split_off(&first),
            None => self.deleted.clear(),
        }
    }

    /// The greatest ID ever added, deleted or not (`0-0` for a stream that never had an
    /// entry): what a new entry's ID must be greater than. It survives reopening.
    pub fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// The ID of the first entry not deleted, if any.
    pub fn first_id(&self) -> Option<StreamId> {
        self.first_id
    }

    /// The number of entries, deleted ones not counted (`XLEN`).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The entries ever added, deleted ones included (`XINFO STREAM`'s `entries-added`).
    pub fn entries_added(&self) -> u64 {
        self.entries_added
    }

    /// The greatest ID `XDEL` deleted, `0-0` if none (`max-deleted-entry-id`).
    pub fn max_deleted_id(&self) -> StreamId {
        self.max_deleted_id
    }

    /// The counters consumer groups compute their read counter and lag from.
    pub fn meta(&self) -> StreamMeta {
        StreamMeta {
            length: self.len,
            first_id: self.first_id.unwrap_or(StreamId::MIN),
            last_id: self.last_id,
            max_deleted_entry_id: self.max_deleted_id,
            entries_added: self.entries_added,
        }
    }

    /// Whether the stream has no entries (deleted ones not counted).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends a batch of appends and deletions under the journal's durability policy: under
    /// `EveryBatch` (the default) one fdatasync covering everything written so far; under
    /// `Never` the watermark moves to what was written (the page cache); under `Interval` and
    /// `EveryN` the journal's background thread syncs and moves the watermark.
    pub fn commit(&mut self) -> Result<()> {
        Ok(self.journal.commit()?)
    }

    /// Makes everything written so far durable now, whatever the policy. A failure is fatal:
    /// the stream refuses every later write until it is reopened.
    pub fn sync(&mut self) -> Result<()> {
        Ok(self.journal.sync()?)
    }

    /// Every record below this journal offset is durable under the journal's policy.
    pub fn durable_next_offset(&self) -> u64 {
        self.journal.durable_next_offset()
    }

    /// The journal offset the next record gets: once
    /// [`durable_next_offset`](Self::durable_next_offset) reaches it, everything written so
    /// far is durable.
    pub fn next_offset(&self) -> u64 {
        self.journal.next_offset()
    }

    /// Whether the record at `offset` (an [`append`](Self::append)'s result) is durable: the
    /// moment to acknowledge it.
    pub fn is_durable(&self, offset: u64) -> bool {
        offset < self.journal.durable_next_offset()
    }

    /// What opening the journal found: whether its tail was recovered as after a crash, and
    /// what was dropped from it (`dropped`), if anything.
    pub fn open_report(&self) -> OpenReport {
        self.journal.open_report()
    }

    /// The journal, to read its state (directory, configuration, sync failure).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Makes everything durable and closes the journal cleanly. Dropping a stream without
    /// closing it is a crash for the journal: nothing acknowledged is lost, and the next open
    /// recovers its tail.
    ///
    /// Closing also saves the stream's bookkeeping beside the journal, so that the next open
    /// need not read every record (a failure to save it only costs that read).
    pub fn close(self) -> Result<()> {
        let saved = snapshot::Saved {
            next_offset: self.journal.next_offset(),
            first_offset: self.journal.first_offset(),
            last_id: self.last_id,
            first_id: self.first_id,
            len: self.len,
            entries_added: self.entries_added,
            max_deleted_id: self.max_deleted_id,
            index: self.index,
            deleted: self.deleted.into_iter().collect(),
        };
        let dir = self.journal.dir().to_path_buf();
        if let Err(e) = snapshot::write(&dir, &saved) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not save the stream's state; the next open reads the journal");
        }
        Ok(self.journal.close()?)
    }
}

/// The time now, in nanoseconds since the Unix epoch, for the journal record's timestamp.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
