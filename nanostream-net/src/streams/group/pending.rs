//! Pending entries: one PEL entry, and the two forms in which `XPENDING` reports them.

use std::sync::Arc;

use crate::streams::id::StreamId;

/// One pending entry: delivered to a consumer and not yet acknowledged (Redis's
/// `streamNACK`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pending {
    /// The consumer that owns it.
    pub consumer: Arc<[u8]>,
    /// When it was last delivered, in Unix milliseconds.
    pub delivery_time_ms: u64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// `XPENDING`'s short form: the PEL's size, its smallest and greatest IDs, and how many
/// entries each consumer with at least one owns, by name in byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSummary<'a> {
    /// The number of pending entries.
    pub count: usize,
    /// The smallest and greatest pending IDs; `None` when nothing is pending (Redis replies
    /// nil for both, and for the consumers).
    pub bounds: Option<(StreamId, StreamId)>,
    /// Each consumer owning at least one entry, with how many.
    pub consumers: Vec<(&'a [u8], usize)>,
}

/// One row of `XPENDING`'s extended form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry<'a> {
    /// The entry's ID.
    pub id: StreamId,
    /// Its owner.
    pub consumer: &'a [u8],
    /// Milliseconds since its last delivery (0 if the clock is behind the delivery time).
    pub idle_ms: u64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}
