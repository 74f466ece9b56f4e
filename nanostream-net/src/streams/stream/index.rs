//! The sparse index of a stream: the ID and journal offset of one entry every N entries.

use crate::streams::id::StreamId;

/// One point every `every` entries (deleted ones included), in ID order: the first entry, the
/// `every`-th, and so on. The entries from one point up to the next form a block; a lookup
/// finds the block that may hold an ID and reads it from the journal.
#[derive(Debug)]
pub(super) struct SparseIndex {
    every: u64,
    /// Entries noted so far.
    seen: u64,
    points: Vec<(StreamId, u64)>,
}

impl SparseIndex {
    pub(super) fn new(every: u64) -> Self {
        Self {
            every: every.max(1),
            seen: 0,
            points: Vec::new(),
        }
    }

    /// Notes the next entry, at journal `offset`.
    pub(super) fn note(&mut self, id: StreamId, offset: u64) {
        // With no point at all (a new stream, or one trimmed to nothing), the entry starts a
        // block whatever the count: every entry needs a point at or before it.
        if self.points.is_empty() || self.seen.is_multiple_of(self.every) {
            self.points.push((id, offset));
        }
        self.seen += 1;
    }

    /// The number of blocks.
    /// An index from its saved parts.
    pub(super) fn from_parts(every: u64, seen: u64, points: Vec<(StreamId, u64)>) -> Self {
        Self {
            every: every.max(1),
            seen,
            points,
        }
    }

    /// The number of entries between two points.
    pub(super) fn every(&self) -> u64 {
        self.every
    }

    /// The entries noted so far.
    pub(super) fn seen(&self) -> u64 {
        self.seen
    }

    /// The points: the ID and offset of each block's first entry.
    pub(super) fn points(&self) -> &[(StreamId, u64)] {
        &self.points
    }

    /// Forgets the points of the blocks before block `b` (their entries were trimmed).
    pub(super) fn forget_before(&mut self, b: usize) {
        self.points.drain(..b.min(self.points.len()));
    }

    #[cfg(test)]
    pub(super) fn blocks(&self) -> usize {
        self.points.len()
    }

    /// The block that holds `id` if any block does: the last one whose first ID is not
    /// greater (the first block for an ID before every entry). `None` for an empty stream.
    pub(super) fn block_of(&self, id: StreamId) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        Some(self.points.partition_point(|p| p.0 <= id).saturating_sub(1))
    }

    /// The first ID of block `b`.
    pub(super) fn first_id(&self, b: usize) -> StreamId {
        self.points[b].0
    }

    /// The journal offsets block `b` spans: from its first entry up to the next block's first
    /// entry, or `next_offset` for the last block (tombstones after an entry belong to its
    /// block).
    pub(super) fn span(&self, b: usize, next_offset: u64) -> (u64, u64) {
        let to = self.points.get(b + 1).map_or(next_offset, |p| p.1);
        (self.points[b].1, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_every_n_entries() {
        let mut index = SparseIndex::new(3);
        assert_eq!(index.block_of(StreamId::MAX), None);
        // Entries 1-0 .. 7-0 at offsets 0, 1, 3 (a tombstone at 2), 4, 5, 6, 7.
        for (ms, offset) in [(1, 0), (2, 1), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7)] {
            index.note(StreamId::new(ms, 0), offset);
        }
        assert_eq!(index.blocks(), 3);
        assert_eq!(index.block_of(StreamId::MIN), Some(0));
        assert_eq!(index.block_of(StreamId::new(3, 9)), Some(0));
        assert_eq!(index.block_of(StreamId::new(4, 0)), Some(1));
        assert_eq!(index.block_of(StreamId::MAX), Some(2));
        assert_eq!(index.span(0, 8), (0, 4));
        assert_eq!(index.span(2, 8), (7, 8));
        assert_eq!(index.first_id(1), StreamId::new(4, 0));
    }
}
