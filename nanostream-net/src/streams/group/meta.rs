//! The stream's bookkeeping that consumer groups read: entry counts, edge IDs and the last
//! deletion, from which Redis derives a group's read counter and lag.

use crate::streams::id::StreamId;

/// The bookkeeping of a stream that consumer groups depend on (the fields of Redis's
/// `stream` struct): what the read counters and the lag are computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StreamMeta {
    /// The number of entries in the stream now.
    pub length: u64,
    /// The first entry's ID (`0-0` when the stream is empty).
    pub first_id: StreamId,
    /// The last ID ever added (it stays when that entry is deleted).
    pub last_id: StreamId,
    /// The greatest ID ever deleted with `XDEL` (`0-0` if none).
    pub max_deleted_entry_id: StreamId,
    /// How many entries were ever added.
    pub entries_added: u64,
}

impl StreamMeta {
    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the read counter of `id`, the
    /// number of entries ever added up to it, when it can be known without walking the stream;
    /// `None` when deletions ahead of it make it unknowable.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let no_fragmentation =
            self.max_deleted_entry_id == StreamId::MIN || self.max_deleted_entry_id < self.first_id;
        if no_fragmentation {
            if id < self.first_id {
                return Some(self.entries_added.saturating_sub(self.length));
            }
            if id == self.first_id {
                return Some(self.entries_added.saturating_sub(self.length) + 1);
            }
        }
        None
    }

    /// Redis's `streamRangeHasTombstones(s, start, NULL)`: whether an entry deleted with
    /// `XDEL` may lie at or after `start`.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id == StreamId::MIN {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id
    }
}
