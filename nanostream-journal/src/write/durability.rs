//! When appended records are made durable.

use std::time::Duration;

/// When the journal fsyncs (fdatasync) what it appended.
///
/// The durable watermark (see [`Journal::durable_next_offset`](crate::Journal::durable_next_offset)
/// and [`JournalStatus::durable_watermark`](crate::JournalStatus::durable_watermark)) only ever
/// covers records that are durable under the policy. Under [`Durability::Never`] that means
/// "written to the page cache": it survives the process being killed, not the machine losing
/// power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Never fsync; the watermark follows each batch as soon as it is in the page cache.
    Never,
    /// One fdatasync at the end of every batch ([`Journal::commit`](crate::Journal::commit)):
    /// group commit.
    #[default]
    EveryBatch,
    /// fdatasync from a background thread at this period, whenever something is pending.
    Interval(Duration),
    /// fdatasync after every `n` records, and from a background thread when the writer goes idle
    /// with fewer than `n` records pending (see
    /// [`JournalConfig::idle_sync`](crate::JournalConfig::idle_sync)).
    EveryN(u64),
}
