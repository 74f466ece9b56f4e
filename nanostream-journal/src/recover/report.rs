//! [`OpenReport`] and [`Dropped`]: what opening a journal for writing found and discarded.

use std::fmt;
use std::path::PathBuf;

/// How an open found the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Whether the tail was recovered as after a crash: there was no clean-shutdown marker, or
    /// the tail did not match the one there was (shorter, damaged, or a missing segment). The
    /// records of the tail segment are checked on every open either way; with a matching marker
    /// the journal ends exactly where the marker says.
    pub scanned: bool,
    /// Whether anything was cut off the tail: `dropped` says what.
    pub truncated: bool,
    /// The offset the next record gets.
    pub next_offset: u64,
    /// What recovery discarded, if anything.
    pub dropped: Option<Dropped>,
}

/// What recovery discarded from the end of the journal.
///
/// Appending resumes at `from_offset`, so a dropped record's offset is given to the next record
/// appended. A record that was reported durable can only be here if the files were damaged after
/// it was written (a cut, zeroed or altered file, a deleted segment), not after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The segment file the dropped part starts in (it may be missing: see `reason`).
    pub segment: PathBuf,
    /// The offset of the first record that was dropped (or would have been there).
    pub from_offset: u64,
    /// Byte position in `segment` where the dropped part starts.
    pub position: u64,
    /// Records known to be lost: valid records found after the damage, or, when a clean-shutdown
    /// marker said where the journal ended, the records between `from_offset` and that end,
    /// whichever is more. Records whose bytes are gone (a file cut short without a marker) cannot
    /// be counted.
    pub records: u64,
    /// Bytes discarded: non-zero bytes from `position` on that were zeroed, plus bytes missing
    /// from a file cut short or a segment that is gone.
    pub bytes: u64,
    /// Why: the first check that failed.
    pub reason: String,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dropped {} record(s) and {} byte(s) from offset {} (segment {}, byte {}): {}",
            self.records,
            self.bytes,
            self.from_offset,
            self.segment.display(),
            self.position,
            self.reason
        )
    }
}
