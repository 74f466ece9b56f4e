//! Trimming: `XTRIM` and `XADD`'s `MAXLEN` / `MINID`, exact (`=`) or by whole blocks (`~`),
//! and the deletion of the journal segments a trim leaves behind; and `XSETID`, whose new
//! counters are recorded the same way.

use super::{read, Result, Stream};
use crate::streams::entry::{self, StreamRecord, Trim};
use crate::streams::id::StreamId;

/// What a trim keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimTo {
    /// `MAXLEN n`: at most `n` entries, the newest.
    MaxLen(u64),
    /// `MINID id`: the entries whose ID is at least `id`.
    MinId(StreamId),
}

impl Stream {
    /// Removes the oldest entries as `to` says; returns how many were removed.
    ///
    /// Exact (`approximate == false`, Redis's `=`) removes every entry `to` excludes. With
    /// `approximate` (Redis's `~`) the cut is rounded down to the start of an index block, so
    /// the stream may keep up to one block more than asked, as Redis keeps up to one node
    /// more; the cost of a trim is then independent of how often it runs. `limit` caps the
    /// entries removed (Redis's `LIMIT`, which only `~` accepts).
    ///
    /// A trim is recorded in the journal as one trim record; the journal segments holding
    /// only entries before the new first one are then deleted, which is what frees disk.
    pub fn trim(&mut self, to: TrimTo, approximate: bool, limit: Option<u64>) -> Result<u64> {
        let Some(first) = self.first_id else {
            return Ok(0);
        };
        let limit = limit.unwrap_or(u64::MAX);
        let (max_remove, below) = match to {
            TrimTo::MaxLen(n) => (self.len.saturating_sub(n).min(limit), StreamId::MAX),
            TrimTo::MinId(id) => (limit, id),
        };
        if max_remove == 0 || below <= first {
            return Ok(0);
        }
        let (mut removed, mut new_first) = self.count_before(first, max_remove, below)?;
        if approximate {
            // Round the cut down to the first entry of its index block.
            let cut = match new_first.and_then(|id| self.index.block_of(id)) {
                Some(b) => self.index.first_id(b),
                None => return self.remove_front(removed, new_first),
            };
            if cut <= first {
                return Ok(0);
            }
            (removed, new_first) = self.count_before(first, u64::MAX, cut)?;
        }
        self.remove_front(removed, new_first)
    }

    /// Sets the last ID and, if given, the entries-added counter and the greatest deleted ID
    /// (`XSETID`), recorded as a trim record that removes nothing. The caller checks Redis's
    /// rules; this refuses only a last ID below the current one, which the journal's order of
    /// IDs needs ([`IdError::NotGreater`](crate::streams::id::IdError::NotGreater)).
    pub fn set_last_id(
        &mut self,
        last_id: StreamId,
        entries_added: Option<u64>,
        max_deleted_id: Option<StreamId>,
    ) -> Result<()> {
        if last_id < self.last_id {
            return Err(crate::streams::id::IdError::NotGreater.into());
        }
        let before = match self.first_id {
            Some(id) => id,
            None => last_id.next().unwrap_or(StreamId::MAX),
        };
        let record = Trim {
            before,
            last_id,
            len: self.len,
            entries_added: entries_added.unwrap_or(self.entries_added),
            max_deleted_id: max_deleted_id.unwrap_or(self.max_deleted_id),
        };
        self.journal
            .append_with(super::now_ns(), entry::TRIM_LEN, |buf| record.encode_into(buf))?;
        self.last_id = last_id;
        self.entries_added = record.entries_added;
        self.max_deleted_id = record.max_deleted_id;
        Ok(())
    }

    /// Counts the live entries from `first` on that a trim removes: at most `max`, each below
    /// `below`. Returns the count and the first live entry kept.
    fn count_before(
        &mut self,
        first: StreamId,
        max: u64,
        below: StreamId,
    ) -> Result<(u64, Option<StreamId>)> {
        let Some(b) = self.index.block_of(first) else {
            return Ok((0, None));
        };
        let from = self.index.span(b, 0).0;
        let to = self.journal.next_offset();
        let deleted = &self.deleted;
        let (mut removed, mut kept) = (0u64, None);
        read::scan(&mut self.cursor, from, to, |_, record| {
            let StreamRecord::Entry(e) = record else {
                return true;
            };
            let id = e.id();
            if id < first || deleted.contains(&id) {
                return true;
            }
            if removed < max && id < below {
                removed += 1;
                true
            } else {
                kept = Some(id);
                false
            }
        })?;
        Ok((removed, kept))
    }

    /// Records and applies the removal of the `removed` first live entries, `new_first` being
    /// the first one left (`None`: none is left), then deletes the segments before it.
    fn remove_front(&mut self, removed: u64, new_first: Option<StreamId>) -> Result<u64> {
        if removed == 0 {
            return Ok(0);
        }
        let len = self.len - removed;
        let before = match new_first {
            Some(id) => id,
            None => self.last_id.next().unwrap_or(StreamId::MAX),
        };
        let record = Trim {
            before,
            last_id: self.last_id,
            len,
            entries_added: self.entries_added,
            max_deleted_id: self.max_deleted_id,
        };
        self.journal
            .append_with(super::now_ns(), entry::TRIM_LEN, |buf| record.encode_into(buf))?;
        self.len = len;
        self.first_id = new_first;
        self.forget_deleted_before_first();
        // Segments before the block of the first entry left hold nothing a read can reach.
        let keep_from = match new_first.and_then(|id| self.index.block_of(id)) {
            Some(b) => {
                let offset = self.index.span(b, 0).0;
                self.index.forget_before(b);
                offset
            }
            None => {
                self.index.forget_before(usize::MAX);
                self.journal.next_offset()
            }
        };
        self.journal.delete_before(keep_from)?;
        Ok(removed)
    }
}
