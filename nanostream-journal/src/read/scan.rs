//! [`scan`]: walks the valid records of a segment from a known record on, and says why it
//! stopped; the loop shared by the reader, [`inspect`](crate::inspect()) and recovery.

use crate::format::record::{probe, Probe, SEAL_LEN};
use crate::mapping::Mapping;

/// Why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// No record at the end position (yet).
    Empty,
    /// The seal marker: the segment is complete.
    Sealed,
    /// A torn or corrupt record.
    Invalid(&'static str),
}

/// The result of scanning a segment from some record onwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// Byte position where the scan stopped.
    pub(crate) end: usize,
    /// Offset of the record that would be at `end`.
    pub(crate) next_offset: u64,
    /// Records seen.
    pub(crate) records: u64,
    /// Timestamp of the last valid record seen (0 if none).
    pub(crate) last_timestamp: u64,
    /// Why it stopped.
    pub(crate) stop: Stop,
}

/// Walks valid records from (`pos`, `offset`), calling `each(offset, position, timestamp)`.
pub(crate) fn scan(
    map: &Mapping,
    seed: u64,
    mut pos: usize,
    mut offset: u64,
    mut each: impl FnMut(u64, usize, u64),
) -> Scan {
    let mut records = 0;
    let mut last_timestamp = 0;
    let stop = loop {
        if pos + SEAL_LEN > map.len() {
            break Stop::Invalid("segment ends without a seal marker");
        }
        match probe(map, seed, pos, offset) {
            Probe::Empty => break Stop::Empty,
            Probe::Sealed => break Stop::Sealed,
            Probe::Invalid(reason) => break Stop::Invalid(reason),
            Probe::Record {
                timestamp, next_pos, ..
            } => {
                each(offset, pos, timestamp);
                records += 1;
                last_timestamp = timestamp;
                pos = next_pos;
                offset += 1;
            }
        }
    };
    Scan {
        end: pos,
        next_offset: offset,
        records,
        last_timestamp,
        stop,
    }
}
