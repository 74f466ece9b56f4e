//! [`StreamConfig`]: how a stream's journal is opened, and how sparse its in-memory index is.

use nanostream_journal::JournalConfig;

/// How a [`Stream`](super::Stream) is opened. Built with chained setters from
/// [`StreamConfig::new`].
///
/// ```
/// use nanostream_journal::{Durability, JournalConfig};
/// use nanostream_net::streams::stream::StreamConfig;
///
/// let config = StreamConfig::new()
///     .journal(JournalConfig::new().segment_size(1 << 20).durability(Durability::EveryBatch))
///     .index_every(128);
/// assert_eq!(config.index_interval(), 128);
/// ```
#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub(super) journal: JournalConfig,
    pub(super) index_every: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamConfig {
    /// The journal's defaults ([`JournalConfig::new`]: 64 MiB segments, one fdatasync per
    /// commit) and an index point every 256 entries.
    pub fn new() -> Self {
        Self {
            journal: JournalConfig::new(),
            index_every: 256,
        }
    }

    /// The configuration of the stream's journal: segment size, durability policy.
    ///
    /// Leave its retention off: a stream deletes entries with tombstones, and whole segments
    /// removed under it would lose entries without them (ranges over them fail with the
    /// journal's `Error::Deleted`).
    pub fn journal(mut self, journal: JournalConfig) -> Self {
        self.journal = journal;
        self
    }

    /// Keep one index point (an ID and its journal offset, 24 bytes) every `entries` entries
    /// (at least 1). A range reads at most this many entries before the first one it returns;
    /// memory is `24 / entries` bytes per entry.
    pub fn index_every(mut self, entries: usize) -> Self {
        self.index_every = entries.max(1) as u64;
        self
    }

    /// The number of entries between two index points.
    pub fn index_interval(&self) -> u64 {
        self.index_every
    }

    /// The journal's configuration.
    pub fn journal_config(&self) -> &JournalConfig {
        &self.journal
    }
}
