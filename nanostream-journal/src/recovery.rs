//! Opening a journal directory: scanning segments, rebuilding indexes, truncating a torn tail.
//!
//! * Sealed segments (all but the last) are trusted as written: they were made durable before
//!   the next segment was created. Their indexes are validated and rebuilt when missing or
//!   corrupt, and their last record is located (for age-based retention).
//! * The tail segment is scanned from its first record, unless a valid clean-shutdown marker
//!   says where it ends. The scan stops at the first record that is torn or fails its length,
//!   sequence or CRC check; everything from there to the end of the file is zeroed and synced
//!   before any new record is appended, so no stale byte past the valid prefix can ever be read
//!   back as a record.

use std::fs::{self, File};
use std::path::Path;

use crate::clean::{self, CleanMarker};
use crate::config::JournalConfig;
use crate::error::{Error, IoContext, Result};
use crate::fs::sync_dir;
use crate::index::{self, IndexEntry, IndexWriter};
use crate::mapping::Mapping;
use crate::meta::META_FILE;
use crate::record::{probe, Probe, SEAL_LEN};
use crate::segment::{self, SegmentHeader, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN};
use crate::spare;

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

/// Index entries a writer would have produced for a segment: the first record, then one record
/// at least `interval` bytes after the previous entry.
pub(crate) fn scan_with_index(map: &Mapping, seed: u64, base: u64, interval: u32) -> (Scan, Vec<IndexEntry>) {
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut last = 0u64;
    let s = scan(map, seed, SEGMENT_HEADER_LEN, base, |offset, pos, _| {
        let pos = pos as u64;
        if entries.is_empty() || pos - last >= u64::from(interval) {
            entries.push(IndexEntry {
                offset,
                position: pos,
            });
            last = pos;
        }
    });
    (s, entries)
}

/// A sealed segment, as the writer tracks it for retention.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealedSegment {
    pub(crate) base: u64,
    pub(crate) bytes: u64,
    pub(crate) last_timestamp: u64,
}

/// The tail segment, ready for appending.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) file: File,
    pub(crate) header: SegmentHeader,
    pub(crate) map: Mapping,
    pub(crate) position: usize,
    pub(crate) next_offset: u64,
    pub(crate) last_timestamp: u64,
    pub(crate) index: IndexWriter,
    pub(crate) sealed: bool,
}

/// What recovery found.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) sealed: Vec<SealedSegment>,
    pub(crate) tail: Option<Tail>,
    /// Whether the tail was scanned (false: a clean-shutdown marker was trusted).
    pub(crate) scanned: bool,
    /// Bytes of torn or corrupt tail that were discarded (zeroed).
    pub(crate) truncated: bool,
}

/// Removes leftovers of interrupted operations: temporary files, the spare segment and orphan
/// indexes.
fn clean_leftovers(dir: &Path, bases: &[u64]) -> Result<()> {
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let leftover = if name == spare::SPARE_FILE {
            true
        } else if let Some(stem) = name.strip_suffix(".tmp") {
            segment::parse_name(stem, LOG_EXT).is_some() || stem == META_FILE || stem == clean::CLEAN_FILE
        } else if let Some(base) = segment::parse_name(name, INDEX_EXT) {
            bases.binary_search(&base).is_err()
        } else {
            false
        };
        if leftover {
            tracing::info!(file = %entry.path().display(), "removing leftover file");
            fs::remove_file(entry.path()).at(entry.path())?;
        }
    }
    Ok(())
}

/// Rebuilds the index of a segment from a scan.
fn write_index(dir: &Path, header: &SegmentHeader, cap: u32, entries: &[IndexEntry]) -> Result<IndexWriter> {
    let path = segment::segment_path(dir, header.base, INDEX_EXT);
    let mut w = IndexWriter::create(&path, header.base, header.seed, cap)?;
    for e in entries {
        w.push(e.offset, e.position);
    }
    Ok(w)
}

fn recover_sealed(dir: &Path, config: &JournalConfig, base: u64, next_base: u64) -> Result<SealedSegment> {
    let (file, header) = segment::open(dir, base, false)?;
    let map = Mapping::read_only(&file).at(segment::segment_path(dir, base, LOG_EXT))?;
    let bytes = map.len() as u64;
    let index_path = segment::segment_path(dir, base, INDEX_EXT);
    let loaded = index::load(&index_path, base, header.seed, bytes).and_then(|e| {
        if e.is_empty() {
            Err("empty".into())
        } else {
            Ok(e)
        }
    });
    let entries = match loaded {
        Ok(entries) => entries,
        Err(reason) => {
            tracing::warn!(index = %index_path.display(), %reason, "rebuilding segment index");
            let (_, entries) = scan_with_index(&map, header.seed, base, config.index_interval);
            let cap = index::capacity_for(bytes, config.index_interval)
                .max(u32::try_from(entries.len()).unwrap_or(u32::MAX));
            write_index(dir, &header, cap, &entries)?.sync()?;
            entries
        }
    };
    // Locate the last record from the last index entry, checking the entry on the way.
    let last = entries.last().copied();
    let s = match last {
        Some(e)
            if matches!(
                probe(&map, header.seed, e.position as usize, e.offset),
                Probe::Record { .. }
            ) =>
        {
            scan(&map, header.seed, e.position as usize, e.offset, |_, _, _| {})
        }
        _ => scan(&map, header.seed, SEGMENT_HEADER_LEN, base, |_, _, _| {}),
    };
    if s.stop != Stop::Sealed || s.next_offset != next_base {
        tracing::warn!(
            segment = %segment::segment_path(dir, base, LOG_EXT).display(),
            offset = s.next_offset,
            expected_next = next_base,
            stop = ?s.stop,
            "sealed segment does not end cleanly; readers will report the damage"
        );
    }
    Ok(SealedSegment {
        base,
        bytes,
        last_timestamp: s.last_timestamp,
    })
}

/// Zeroes `map[from..]`, touching only 4 KiB blocks that are not already zero. Returns whether
/// anything was written.
fn zero_from(map: &mut Mapping, from: usize) -> bool {
    const BLOCK: usize = 4096;
    let mut wrote = false;
    let mut pos = from;
    while pos < map.len() {
        let end = ((pos / BLOCK) + 1) * BLOCK;
        let end = end.min(map.len());
        if map.bytes(pos, end - pos).iter().any(|&b| b != 0) {
            map.bytes_mut(pos, end - pos).fill(0);
            wrote = true;
        }
        pos = end;
    }
    wrote
}

fn recover_tail(
    dir: &Path,
    config: &JournalConfig,
    base: u64,
    marker: Option<CleanMarker>,
) -> Result<(Tail, bool, bool)> {
    let path = segment::segment_path(dir, base, LOG_EXT);
    let (file, header) = segment::open(dir, base, true)?;
    // Bytes appended past the preallocated size are garbage; a short file is re-extended.
    let len = file.metadata().at(&path)?.len();
    if len != header.size {
        tracing::warn!(segment = %path.display(), len, size = header.size, "resizing tail segment");
        if len > header.size {
            file.set_len(header.size).at(&path)?;
        } else {
            crate::fs::preallocate(&file, header.size).map_err(|source| Error::Preallocate {
                path: path.clone(),
                size: header.size,
                source,
            })?;
        }
        file.sync_all().map_err(|source| Error::Sync {
            path: path.clone(),
            source,
        })?;
    }
    let mut map = Mapping::read_write(&file).at(&path)?;
    let size = map.len() as u64;
    let index_path = segment::segment_path(dir, base, INDEX_EXT);
    let cap = index::capacity_for(size, config.index_interval);

    if let Some(m) = marker.filter(|m| m.tail_base == base) {
        let pos = m.tail_position as usize;
        let plausible = pos >= SEGMENT_HEADER_LEN
            && pos & 7 == 0
            && pos + SEAL_LEN <= map.len()
            && m.next_offset >= base
            && matches!(
                probe(&map, header.seed, pos, m.next_offset),
                Probe::Empty | Probe::Sealed
            );
        if plausible {
            if let Ok(index) = IndexWriter::open(&index_path, base, header.seed, size) {
                let sealed = probe(&map, header.seed, pos, m.next_offset) == Probe::Sealed;
                let tail = Tail {
                    file,
                    header,
                    map,
                    position: pos,
                    next_offset: m.next_offset,
                    last_timestamp: m.last_timestamp,
                    index,
                    sealed,
                };
                return Ok((tail, false, false));
            }
        }
        tracing::warn!("clean-shutdown marker does not match the tail segment; scanning");
    }

    let (s, entries) = scan_with_index(&map, header.seed, base, config.index_interval);
    let mut truncated = false;
    match s.stop {
        Stop::Sealed => {}
        Stop::Empty | Stop::Invalid(_) => {
            if let Stop::Invalid(reason) = s.stop {
                tracing::warn!(
                    segment = %path.display(),
                    offset = s.next_offset,
                    position = s.end,
                    reason,
                    "truncating torn or corrupt journal tail"
                );
            }
            if zero_from(&mut map, s.end) {
                truncated = true;
                map.flush_range(s.end, map.len() - s.end)
                    .map_err(|source| Error::Sync {
                        path: path.clone(),
                        source,
                    })?;
            }
        }
    }
    let index = write_index(dir, &header, cap, &entries)?;
    index.sync()?;
    let tail = Tail {
        file,
        header,
        map,
        position: s.end,
        next_offset: s.next_offset,
        last_timestamp: s.last_timestamp,
        index,
        sealed: s.stop == Stop::Sealed,
    };
    Ok((tail, true, truncated))
}

/// Deals with a newest segment whose header never reached the disk (a power loss right after a
/// rotation under `Durability::Never`): it is deleted, so the segment before it is the tail again
/// and recovery keeps exactly its valid prefix. When it is the only segment (retention deleted the
/// others), it is recreated empty, so offsets continue from its name.
fn drop_unwritten(dir: &Path, config: &JournalConfig, base: u64, has_previous: bool) -> Result<()> {
    let path = segment::segment_path(dir, base, LOG_EXT);
    tracing::warn!(
        segment = %path.display(),
        "newest segment has no header on disk (power loss after a rotation under Never); dropping it"
    );
    for ext in [LOG_EXT, INDEX_EXT] {
        let p = segment::segment_path(dir, base, ext);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io { path: p, source: e }),
        }
    }
    if has_previous {
        sync_dir(dir).at(dir)
    } else {
        segment::create(dir, base, config.segment_size).map(|_| ())
    }
}

/// Recovers the journal in `dir` (which the caller has locked).
pub(crate) fn recover(dir: &Path, config: &JournalConfig) -> Result<Recovered> {
    let mut bases = segment::list(dir)?;
    if let Some(&newest) = bases.last() {
        if segment::header_never_written(dir, newest)? {
            drop_unwritten(dir, config, newest, bases.len() > 1)?;
            if bases.len() > 1 {
                bases.pop();
            }
        }
    }
    clean_leftovers(dir, &bases)?;
    let marker = clean::read(dir);
    let Some((&tail_base, sealed_bases)) = bases.split_last() else {
        return Ok(Recovered {
            sealed: Vec::new(),
            tail: None,
            scanned: false,
            truncated: false,
        });
    };
    let mut sealed = Vec::with_capacity(sealed_bases.len());
    for (i, &base) in sealed_bases.iter().enumerate() {
        let next_base = bases[i + 1];
        sealed.push(recover_sealed(dir, config, base, next_base)?);
    }
    let (tail, scanned, truncated) = recover_tail(dir, config, tail_base, marker)?;
    Ok(Recovered {
        sealed,
        tail: Some(tail),
        scanned,
        truncated,
    })
}
