//! Reading a stream: `range`, `rev_range`, and the journal scan every lookup goes through.

use nanostream_journal::JournalReader;

use super::{Result, Stream, StreamError};
use crate::streams::entry::{self, Fields, StreamRecord};
use crate::streams::id::StreamId;

/// The stream's journal reader, and what it last read: a read that starts after the last
/// entry the reader went past continues from where the reader is, instead of seeking back to
/// the start of an index block (a consumer reading the tail reads each entry once).
#[derive(Debug)]
pub(super) struct Cursor {
    reader: JournalReader,
    /// The ID of the last entry record read since the reader last moved back.
    last_entry: Option<StreamId>,
}

impl Cursor {
    pub(super) fn new(reader: JournalReader) -> Self {
        Cursor {
            reader,
            last_entry: None,
        }
    }

    /// Where a scan for the entries from `start` on, whose index block begins at
    /// `block_from`, can begin: where the reader is, if it is past `block_from` and every
    /// entry before it has an ID below `start` (entry IDs grow with offsets); otherwise
    /// `block_from`.
    pub(super) fn start_for(&self, start: StreamId, block_from: u64) -> u64 {
        let at = self.reader.position();
        match self.last_entry {
            Some(last) if last < start && at >= block_from => at,
            _ => block_from,
        }
    }
}

/// Reads the records at journal offsets `from..to` in order, decoded, and hands each to
/// `visit` with its offset until `visit` returns `false`. A record that is not a stream record
/// is [`StreamError::Decode`].
pub(super) fn scan(
    cursor: &mut Cursor,
    from: u64,
    to: u64,
    mut visit: impl FnMut(u64, StreamRecord<'_>) -> bool,
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    if cursor.reader.position() != from {
        cursor.last_entry = None;
        cursor.reader.seek(from)?;
    }
    while cursor.reader.position() < to {
        let Some(record) = cursor.reader.read_next()? else {
            break;
        };
        let offset = record.offset;
        let decoded =
            entry::decode(record.payload).map_err(|source| StreamError::Decode { offset, source })?;
        if let StreamRecord::Entry(e) = &decoded {
            cursor.last_entry = Some(e.id());
        }
        if !visit(offset, decoded) {
            break;
        }
    }
    Ok(())
}

impl Stream {
    /// The entries with `start <= ID <= end`, deleted ones left out, in ID order, at most
    /// `count` of them (`XRANGE key start end [COUNT count]`; the command turns `-`, `+` and
    /// exclusive `(` bounds into inclusive IDs with
    /// [`StreamId::parse_range`](crate::streams::id::StreamId::parse_range)). `start > end`
    /// or `count == Some(0)` gives nothing.
    ///
    /// Reads from the index point at or before `start`: at most one block of entries before
    /// the first returned.
    pub fn range(
        &mut self,
        start: StreamId,
        end: StreamId,
        count: Option<usize>,
    ) -> Result<Vec<(StreamId, Fields)>> {
        let mut out = Vec::new();
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(out);
        };
        let limit = count.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(out);
        }
        let Some(b) = self.index.block_of(start) else {
            return Ok(out);
        };
        let from = self.cursor.start_for(start, self.index.span(b, 0).0);
        let to = self.journal.next_offset();
        let deleted = &self.deleted;
        scan(&mut self.cursor, from, to, |_, record| {
            let StreamRecord::Entry(e) = record else {
                return true;
            };
            let id = e.id();
            if id > end {
                return false;
            }
            if id >= start && !deleted.contains(&id) {
                out.push((id, e.to_fields()));
            }
            out.len() < limit
        })?;
        Ok(out)
    }

    /// The entries with `start <= ID <= end`, deleted ones left out, from the greatest ID
    /// down, at most `count` of them (`XREVRANGE key end start [COUNT count]`, which names
    /// the end first, as this does). `start > end` or `count == Some(0)` gives nothing.
    ///
    /// Reads the blocks of the index from the one holding `end` backwards, each one forward
    /// (first their IDs, then the fields of the entries returned), keeping at most one block's
    /// IDs and offsets at a time.
    pub fn rev_range(
        &mut self,
        end: StreamId,
        start: StreamId,
        count: Option<usize>,
    ) -> Result<Vec<(StreamId, Fields)>> {
        let mut out = Vec::new();
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(out);
        };
        let limit = count.unwrap_or(usize::MAX);
        let Some(mut b) = self.index.block_of(end) else {
            return Ok(out);
        };
        let mut matches: Vec<(StreamId, u64)> = Vec::new();
        while out.len() < limit {
            let (from, to) = self.index.span(b, self.journal.next_offset());
            // First the IDs in range in this block, then the fields of the last ones needed.
            matches.clear();
            let deleted = &self.deleted;
            scan(&mut self.cursor, from, to, |offset, record| {
                let StreamRecord::Entry(e) = record else {
                    return true;
                };
                let id = e.id();
                if id >= start && id <= end && !deleted.contains(&id) {
                    matches.push((id, offset));
                }
                id < end
            })?;
            let take = matches.len().min(limit - out.len());
            let chosen = &matches[matches.len() - take..];
            if let (Some(&(low, first_offset)), Some(&(high, _))) = (chosen.first(), chosen.last()) {
                let before = out.len();
                scan(&mut self.cursor, first_offset, to, |_, record| {
                    let StreamRecord::Entry(e) = record else {
                        return true;
                    };
                    let id = e.id();
                    if id >= low && !deleted.contains(&id) {
                        out.push((id, e.to_fields()));
                    }
                    id < high
                })?;
                out[before..].reverse();
            }
            if b == 0 || self.index.first_id(b) <= start {
                break;
            }
            b -= 1;
        }
        Ok(out)
    }

    /// The bounds narrowed to the entries the stream can hold: from its first live entry to
    /// its last ID. `None` when nothing can be in them.
    fn clamp(&self, start: StreamId, end: StreamId) -> Option<(StreamId, StreamId)> {
        let first = self.first_id?;
        let (start, end) = (start.max(first), end.min(self.last_id));
        (start <= end).then_some((start, end))
    }

    /// The ID of the first entry not deleted with an ID of at least `from`.
    pub(super) fn next_live(&mut self, from: StreamId) -> Result<Option<StreamId>> {
        let Some(b) = self.index.block_of(from) else {
            return Ok(None);
        };
        let span = self.index.span(b, self.journal.next_offset());
        let deleted = &self.deleted;
        let mut found = None;
        scan(
            &mut self.cursor,
            span.0,
            self.journal.next_offset(),
            |_, record| {
                if let StreamRecord::Entry(e) = record {
                    let id = e.id();
                    if id >= from && !deleted.contains(&id) {
                        found = Some(id);
                        return false;
                    }
                }
                true
            },
        )?;
        Ok(found)
    }

    /// Whether the journal holds an entry with `id` (deleted or not).
    pub(super) fn entry_exists(&mut self, id: StreamId) -> Result<bool> {
        let Some(b) = self.index.block_of(id) else {
            return Ok(false);
        };
        let (from, to) = self.index.span(b, self.journal.next_offset());
        let mut found = false;
        scan(&mut self.cursor, from, to, |_, record| match record {
            StreamRecord::Entry(e) if e.id() >= id => {
                found = e.id() == id;
                false
            }
            _ => true,
        })?;
        Ok(found)
    }
}
