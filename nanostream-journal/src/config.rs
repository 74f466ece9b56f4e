//! Options for opening a [`Journal`](crate::Journal).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::record::{record_span, SEAL_LEN};
use crate::format::segment::SEGMENT_HEADER_LEN;
use crate::write::durability::Durability;
use crate::write::retention::Retention;

/// How a journal is opened and run. Built with chained setters from [`JournalConfig::new`].
#[derive(Debug, Clone)]
pub struct JournalConfig {
    pub(crate) segment_size: u64,
    pub(crate) index_interval: u32,
    pub(crate) durability: Durability,
    pub(crate) retention: Retention,
    pub(crate) create: bool,
    pub(crate) idle_sync: Duration,
    pub(crate) repair: bool,
    pub(crate) seal_sync: bool,
    pub(crate) prepare_next: bool,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl JournalConfig {
    /// Defaults: 64 MiB segments, an index entry every 4 KiB, [`Durability::EveryBatch`], no
    /// retention, create the directory when missing, idle sync after 10 ms.
    pub fn new() -> Self {
        Self {
            segment_size: 64 << 20,
            index_interval: 4096,
            durability: Durability::EveryBatch,
            retention: Retention::default(),
            create: true,
            idle_sync: Duration::from_millis(10),
            repair: false,
            seal_sync: true,
            prepare_next: true,
        }
    }

    /// Size of each segment file in bytes: a multiple of 8 between 4 KiB and 4 GiB - 8.
    /// Applies to segments created from now on.
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// Bytes of log between two sparse index entries (at least 64).
    pub fn index_interval(mut self, bytes: u32) -> Self {
        self.index_interval = bytes;
        self
    }

    /// When appended records are made durable.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Which sealed segments to delete.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Whether to create a missing (or empty) directory as a new journal. Default `true`.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Under [`Durability::EveryN`], how long records may wait for a sync when fewer than `n`
    /// are pending and the writer has gone idle.
    pub fn idle_sync(mut self, period: Duration) -> Self {
        self.idle_sync = period;
        self
    }

    /// Under [`Durability::Never`], whether a segment is fdatasynced once when it is sealed,
    /// before the next segment is created. Default `true`: a power loss then cannot leave a later
    /// segment behind a sealed one whose end never reached the disk (readers report such a hole
    /// as corruption and cannot read past it). `false` saves that one fdatasync per segment: it
    /// writes the whole segment to the disk on the appending thread, so while a burst outruns
    /// the disk, `Never` appends at about half the rate without it (measured in the workspace's
    /// `benches/README.md`). The other policies always sync a segment when they seal it.
    pub fn seal_sync(mut self, seal_sync: bool) -> Self {
        self.seal_sync = seal_sync;
        self
    }

    /// Whether the next segment is created and preallocated in the background ahead of time (a
    /// spare file beside the active segment), so that rotation only renames it. Default
    /// `true`. `false` creates it at rotation instead, on the appending thread: no spare doubles
    /// the journal's disk footprint or is made at every open, which matters for many small
    /// journals (a broker keeps one per stream).
    pub fn prepare_next(mut self, prepare_next: bool) -> Self {
        self.prepare_next = prepare_next;
        self
    }

    /// Whether opening may also repair what it otherwise refuses: a newest segment whose header
    /// is unreadable (cut shorter than a header, overwritten, or a stray file named like a
    /// segment) is moved aside to `<name>.log.damaged` and the journal continues from the segment
    /// before it (or, when it was the only one, from an empty segment at its base offset). What is
    /// lost is reported in [`OpenReport::dropped`](crate::OpenReport::dropped). Default `false`:
    /// such a journal is refused with [`Error::CorruptSegment`].
    /// The CLI's `recover` command opens with this set.
    pub fn repair(mut self, repair: bool) -> Self {
        self.repair = repair;
        self
    }

    /// The largest payload a record can have with this segment size.
    pub fn max_payload(&self) -> usize {
        let usable = (self.segment_size as usize).saturating_sub(SEGMENT_HEADER_LEN + SEAL_LEN);
        // record_span(p) = round_up_8(24 + p) <= usable
        (usable & !7).saturating_sub(record_span(0))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.segment_size < 4096
            || self.segment_size > u64::from(u32::MAX) - 8
            || self.segment_size & 7 != 0
        {
            return Err(Error::Config(format!(
                "segment size {} must be a multiple of 8 between 4096 and {}",
                self.segment_size,
                u64::from(u32::MAX) - 8
            )));
        }
        if self.index_interval < 64 {
            return Err(Error::Config(format!(
                "index interval {} must be at least 64 bytes",
                self.index_interval
            )));
        }
        match self.durability {
            Durability::EveryN(0) => {
                return Err(Error::Config("Durability::EveryN(0) is meaningless".into()))
            }
            Durability::Interval(d) if d.is_zero() => {
                return Err(Error::Config("Durability::Interval must be positive".into()))
            }
            _ => {}
        }
        if matches!(self.durability, Durability::EveryN(_)) && self.idle_sync.is_zero() {
            return Err(Error::Config("idle sync period must be positive".into()));
        }
        Ok(())
    }
}
