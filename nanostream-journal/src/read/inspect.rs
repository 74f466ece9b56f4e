//! Whole-journal inspection for tools: per-segment statistics and verification.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::clean_marker;
use crate::format::meta;
use crate::format::segment::{self, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN};
use crate::mapping::Mapping;
use crate::read::scan::{scan, Stop};

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
    // Open every segment first, so that a problem at a boundary can name the file after it.
    let opened: Vec<_> = bases.iter().map(|&b| segment::open(dir, b, false)).collect();
    let readable: Vec<bool> = opened.iter().map(Result::is_ok).collect();
    let mut out = Vec::with_capacity(bases.len());
    for (i, (&base, opened)) in bases.iter().zip(opened).enumerate() {
        let path = segment::segment_path(dir, base, LOG_EXT);
        let (file, header) = match opened {
            Ok(x) => x,
            Err(e) => {
                let problem = Some(e);
                out.push(SegmentInfo {
                    path,
                    base,
                    file_bytes: 0,
                    used_bytes: 0,
                    records: 0,
                    timestamps: None,
                    sealed: false,
                    index_ok: false,
                    problem,
                });
                continue;
            }
        };
        let map = Mapping::read_only(&file).at(&path)?;
        let mut first_ts = None;
        let s = scan(&map, header.seed, SEGMENT_HEADER_LEN, base, |_, _, ts| {
            first_ts.get_or_insert(ts);
        });
        // The file after this one, when it is a readable segment. When it is not (a stray or
        // damaged file named like a segment), it reports its own problem, naming itself, and
        // this segment is not blamed for the boundary.
        let next = bases.get(i + 1).copied().filter(|_| readable[i + 1]);
        let problem = match s.stop {
            Stop::Invalid(reason) => Some(Error::Corrupt {
                segment: path.clone(),
                offset: s.next_offset,
                position: s.end as u64,
                reason,
            }),
            Stop::Empty if next.is_some() => Some(Error::Corrupt {
                segment: path.clone(),
                offset: s.next_offset,
                position: s.end as u64,
                reason: "empty slot in a segment that is not the last one (the segment ends \
                         without a seal marker, but a later segment exists)",
            }),
            Stop::Sealed => match next {
                Some(next_base) if next_base != s.next_offset => Some(Error::CorruptSegment {
                    segment: path.clone(),
                    reason: format!(
                        "ends at offset {} but the next segment file, {}, starts at {next_base}",
                        s.next_offset,
                        segment::segment_path(dir, next_base, LOG_EXT).display()
                    ),
                }),
                _ => None,
            },
            _ => None,
        };
        let index_ok = crate::format::index::load(
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
    check_marker(dir, &mut out);
    Ok(out)
}

/// With a clean-shutdown marker present (the journal was closed and no writer has opened it
/// since), the journal must end where the marker says: a missing or shortened last segment is
/// reported on the last segment's entry.
fn check_marker(dir: &Path, out: &mut [SegmentInfo]) {
    let Some(m) = clean_marker::read(dir) else { return };
    let Some(last) = out.last_mut() else { return };
    if last.problem.is_some() {
        return;
    }
    let marked = segment::segment_path(dir, m.tail_base, LOG_EXT);
    if last.base < m.tail_base {
        last.problem = Some(Error::CorruptSegment {
            segment: marked,
            reason: format!(
                "missing: the clean-shutdown marker says the journal ended in it at offset {}, \
                 but the journal ends at offset {}",
                m.next_offset,
                last.end_offset()
            ),
        });
    } else if last.base == m.tail_base && last.end_offset() != m.next_offset {
        last.problem = Some(Error::CorruptSegment {
            segment: marked,
            reason: format!(
                "ends at offset {} (byte {}), but the clean-shutdown marker says the journal \
                 ended at offset {} (byte {})",
                last.end_offset(),
                last.used_bytes,
                m.next_offset,
                m.tail_position
            ),
        });
    }
}
