//! A consumer of a group: its name, seen-time and the IDs it owns in the group's PEL.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::streams::id::StreamId;

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub(super) name: Arc<[u8]>,
    pub(super) seen_time_ms: u64,
    pub(super) pending: BTreeSet<StreamId>,
}

impl Consumer {
    /// The consumer's name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// When the consumer last read or claimed, in Unix milliseconds (`XINFO CONSUMERS`'s idle
    /// time is `now` minus this).
    pub fn seen_time_ms(&self) -> u64 {
        self.seen_time_ms
    }

    /// The IDs of the entries it owns in the group's PEL, ascending.
    pub fn pending(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.pending.iter().copied()
    }

    /// How many entries it owns in the group's PEL.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}
