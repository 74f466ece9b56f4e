//! Whole-journal inspection for tools: per-segment statistics and verification.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::mapping::Mapping;
use crate::meta;
use crate::recovery::{scan, Stop};
use crate::segment::{self, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN};

/// What [`inspect`] found in one segment.
#[derive(Debug)]
pub struct SegmentInfo {
    /// The segment file.
    pub path: PathBuf,
    /// Offset of its first record (from its name and header).
    pub base: u64,
    /// Size of the file in bytes (preallocated).
    pub file_bytes: u64,
    /// Bytes used by valid records (header included).
    pub used_bytes: u64,
    /// Valid records, counted from the start until the first problem.
    pub records: u64,
    /// Timestamp of the first and last valid record.
    pub timestamps: Option<(u64, u64)>,
    /// Whether the segment ends with a seal marker.
    pub sealed: bool,
    /// Whether its index file is present and valid.
    pub index_ok: bool,
    /// The first problem: a corrupt record (sealed or not), a torn tail, a gap.
    pub problem: Option<Error>,
}

impl SegmentInfo {
    /// Offset after the last valid record.
    pub fn end_offset(&self) -> u64 {
        self.base + self.records
    }
}

/// Reads every segment of the journal in `dir`, checking every record's length, sequence and
/// CRC. Takes no lock: safe beside a live writer (its newest records may or may not be counted).
pub fn inspect(dir: impl AsRef<Path>) -> Result<Vec<SegmentInfo>> {
    let dir = dir.as_ref();
    meta::check(dir)?;
    let bases = segment::list(dir)?;
    let mut out = Vec::with_capacity(bases.len());
    for (i, &base) in bases.iter().enumerate() {
        let path = segment::segment_path(dir, base, LOG_EXT);
        let (file, header) = match segment::open(dir, base, false) {
            Ok(x) => x,
            Err(e) => {
                out.push(SegmentInfo {
                    path,
                    base,
                    file_bytes: 0,
                    used_bytes: 0,
                    records: 0,
                    timestamps: None,
                    sealed: false,
                    index_ok: false,
                    problem: Some(e),
                });
                continue;
            }
        };
        let map = Mapping::read_only(&file).at(&path)?;
        let mut first_ts = None;
        let s = scan(&map, header.seed, SEGMENT_HEADER_LEN, base, |_, _, ts| {
            first_ts.get_or_insert(ts);
        });
        let is_last = i + 1 == bases.len();
        let problem = match s.stop {
            Stop::Invalid(reason) => Some(Error::Corrupt {
                segment: path.clone(),
                offset: s.next_offset,
                position: s.end as u64,
                reason,
            }),
            Stop::Empty if !is_last => Some(Error::Corrupt {
                segment: path.clone(),
                offset: s.next_offset,
                position: s.end as u64,
                reason: "sealed segment ends without a seal marker",
            }),
            Stop::Sealed if !is_last && bases[i + 1] != s.next_offset => Some(Error::CorruptSegment {
                segment: path.clone(),
                reason: format!(
                    "ends at offset {} but the next segment starts at {}",
                    s.next_offset,
                    bases[i + 1]
                ),
            }),
            _ => None,
        };
        let index_ok = crate::index::load(
            &segment::segment_path(dir, base, INDEX_EXT),
            base,
            header.seed,
            map.len() as u64,
        )
        .is_ok();
        out.push(SegmentInfo {
            path,
            base,
            file_bytes: map.len() as u64,
            used_bytes: s.end as u64,
            records: s.records,
            timestamps: first_ts.map(|f| (f, s.last_timestamp)),
            sealed: s.stop == Stop::Sealed,
            index_ok,
            problem,
        });
    }
    Ok(out)
}
