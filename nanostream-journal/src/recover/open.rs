//! Opening a journal directory: scanning segments, rebuilding indexes, truncating a torn tail.
//!
//! * Sealed segments (all but the last) are kept as written: they were made durable before the
//!   next segment was created (readers and `inspect` report any damage in them). Their indexes are validated and rebuilt when missing or
//!   corrupt, and their last record is located (for age-based retention).
//! * The tail segment is scanned from its first record on every open. The scan stops at the
//!   first record that is torn or fails its length, sequence or CRC check; everything from there
//!   to the end of the file is zeroed and synced before any new record is appended, so no stale
//!   byte past the valid prefix can ever be read back as a record, and the journal never appends
//!   behind damage. A clean-shutdown marker only tells whether the tail ends where `close` left
//!   it; when it does not, the open is a crash recovery and the records it promised are counted.
//! * What is discarded is reported ([`Dropped`]): where, how many records and bytes, and why.

use std::fs::{self, File};
use std::path::Path;

use crate::config::JournalConfig;
use crate::error::{Error, IoContext, Result};
use crate::format::clean_marker::{self, CleanMarker};
use crate::format::index::{self, IndexEntry, IndexWriter};
use crate::format::meta::META_FILE;
use crate::format::record::{probe, Probe, ALIGN, RECORD_HEADER_LEN, SEAL, SEAL_LEN};
use crate::format::segment::{self, SegmentHeader, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN, SPARE_FILE};
use crate::fs::sync_dir;
use crate::mapping::Mapping;
use crate::read::scan::{scan, Scan, Stop};
use crate::recover::report::Dropped;

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
    /// Whether the tail was recovered as after a crash (false: it matched a clean-shutdown
    /// marker).
    pub(crate) scanned: bool,
    /// What was discarded from the end of the journal.
    pub(crate) dropped: Option<Dropped>,
}

/// Removes leftovers of interrupted operations: temporary files, the spare segment and orphan
/// indexes.
fn clean_leftovers(dir: &Path, bases: &[u64]) -> Result<()> {
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let leftover = if name == SPARE_FILE {
            true
        } else if let Some(stem) = name.strip_suffix(".tmp") {
            segment::parse_name(stem, LOG_EXT).is_some()
                || stem == META_FILE
                || stem == clean_marker::CLEAN_FILE
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

/// How many bytes there are from `from` to the end of the last non-zero byte of the mapping
/// (0: all zero). Only the ranges of `file` that may hold data are read: holes (including
/// preallocated blocks never written) are zeros.
fn nonzero_extent(map: &Mapping, file: &std::fs::File, from: usize) -> u64 {
    const BLOCK: usize = 4096;
    let mut extent = 0;
    let mut at = from as u64;
    let len = map.len() as u64;
    while let Some((start, end)) = crate::fs::next_data(file, at, len) {
        let (start, end) = (start as usize, end as usize);
        let mut pos = start;
        while pos < end {
            let block_end = (((pos / BLOCK) + 1) * BLOCK).min(end);
            if let Some(last) = map.bytes(pos, block_end - pos).iter().rposition(|&b| b != 0) {
                extent = pos + last + 1 - from;
            }
            pos = block_end;
        }
        if end as u64 <= at {
            break;
        }
        at = end as u64;
    }
    extent as u64
}

/// Counts the valid records of this segment that lie after the damage at `from`: the records
/// a torn or corrupt one cut off. Looks at every 8-byte boundary for a record with a later
/// sequence than `first_lost` (and one that could be there) that passes its CRC (bytes of
/// another segment never do), and follows each record found to the next. Looks no further than
/// `to`.
fn count_after(map: &Mapping, seed: u64, from: usize, to: usize, first_lost: u64) -> u64 {
    let mut count = 0;
    let mut expected_min = first_lost + 1;
    let mut pos = from + ALIGN;
    while pos < to && pos + RECORD_HEADER_LEN + SEAL_LEN <= map.len() {
        let len = map.load_u32(pos) as usize;
        if len >= RECORD_HEADER_LEN && len != SEAL as usize {
            let sequence = map.read_u64(pos + 8);
            // Every record takes at least a header's bytes, so a record at `pos` can carry at
            // most this sequence. The bound keeps random bytes from costing a CRC each (over
            // whatever length they claim): only a plausible record is checked.
            let highest = first_lost + ((pos - from) / RECORD_HEADER_LEN) as u64;
            if (expected_min..=highest).contains(&sequence) {
                if let Probe::Record { next_pos, .. } = probe(map, seed, pos, sequence) {
                    count += 1;
                    expected_min = sequence + 1;
                    pos = next_pos;
                    continue;
                }
            }
        }
        pos += ALIGN;
    }
    count
}

/// What recovery of the tail found, beside the tail itself.
#[derive(Debug)]
struct TailOutcome {
    /// The tail ends exactly where a clean-shutdown marker says.
    clean: bool,
    dropped: Option<Dropped>,
}

/// Checks every record of the tail segment `base`, cuts what follows the valid prefix, compares
/// the result with the clean-shutdown marker and says what was dropped.
fn recover_tail(
    dir: &Path,
    config: &JournalConfig,
    base: u64,
    marker: Option<CleanMarker>,
) -> Result<(Tail, TailOutcome)> {
    let path = segment::segment_path(dir, base, LOG_EXT);
    let (file, header) = segment::open_header(dir, base, true)?;
    // Bytes appended past the preallocated size are garbage; a short file is re-extended (with
    // zeros: whatever was past the cut is gone, and the scan stops there).
    let len = file.metadata().at(&path)?.len();
    let mut missing = 0;
    if len != header.size {
        tracing::warn!(segment = %path.display(), len, size = header.size, "resizing tail segment");
        if len > header.size {
            file.set_len(header.size).at(&path)?;
        } else {
            missing = header.size - len;
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
    let cap = index::capacity_for(size, config.index_interval);

    // Every record of the tail is checked, marker or not: a journal never appends behind damage.
    let (s, entries) = scan_with_index(&map, header.seed, base, config.index_interval);
    // Non-zero bytes after the valid prefix are damage (a clean close leaves zeros there): the
    // valid records among them are counted, then everything is zeroed and written back.
    let garbage = if s.stop == Stop::Sealed {
        0
    } else {
        nonzero_extent(&map, &file, s.end)
    };
    let mut found = 0;
    if garbage > 0 {
        let to = s.end + garbage as usize;
        found = count_after(&map, header.seed, s.end, to, s.next_offset);
        map.bytes_mut(s.end, to - s.end).fill(0);
        map.flush_range(s.end, to - s.end).map_err(|source| Error::Sync {
            path: path.clone(),
            source,
        })?;
    }

    let clean = marker.is_some_and(|m| {
        m.tail_base == base
            && m.tail_position == s.end as u64
            && m.next_offset == s.next_offset
            && missing == 0
            && garbage == 0
    });
    let mut reasons = Vec::new();
    if missing > 0 {
        reasons.push(format!(
            "the file is {len} bytes, {missing} short of its segment size {}",
            header.size
        ));
    }
    if let Stop::Invalid(reason) = s.stop {
        reasons.push(format!(
            "the record at offset {} fails its check: {reason}",
            s.next_offset
        ));
    } else if garbage > 0 {
        reasons.push("non-zero bytes after the last valid record".to_string());
    }
    // Records the marker says were there and are not.
    let lost = marker
        .filter(|_| !clean)
        .map_or(0, |m| m.next_offset.saturating_sub(s.next_offset));
    let dropped = match marker {
        Some(m) if lost > 0 && m.tail_base > base && reasons.is_empty() => {
            // The tail is intact and sealed, but the segment after it, which the marker names,
            // is gone.
            let gone = segment::segment_path(dir, m.tail_base, LOG_EXT);
            Some(Dropped {
                segment: gone.clone(),
                from_offset: s.next_offset,
                position: SEGMENT_HEADER_LEN as u64,
                records: lost,
                bytes: m.tail_position.saturating_sub(SEGMENT_HEADER_LEN as u64),
                reason: format!(
                    "segment {} is missing, but the clean-shutdown marker says the journal \
                     ended in it at offset {}",
                    gone.display(),
                    m.next_offset
                ),
            })
        }
        _ => {
            if let Some(m) = marker.filter(|_| lost > 0) {
                reasons.push(format!(
                    "the clean-shutdown marker says the journal ended at offset {} (segment {})",
                    m.next_offset,
                    segment::segment_path(dir, m.tail_base, LOG_EXT).display()
                ));
            }
            (!reasons.is_empty()).then(|| Dropped {
                segment: path.clone(),
                from_offset: s.next_offset,
                position: s.end as u64,
                records: lost.max(found),
                bytes: garbage + missing,
                reason: reasons.join("; "),
            })
        }
    };
    if let Some(d) = &dropped {
        tracing::warn!(%d, "journal recovery dropped the end of the journal");
    } else if marker.is_some() && !clean {
        tracing::warn!("clean-shutdown marker does not match the tail segment; recovered as after a crash");
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
    Ok((tail, TailOutcome { clean, dropped }))
}

/// Moves an unreadable newest segment aside (to `<name>.log.damaged`, keeping its bytes) so the
/// journal can be opened again; recreates it empty when it is the only segment, so offsets
/// continue from its name. Returns what was dropped.
fn move_aside(
    dir: &Path,
    config: &JournalConfig,
    base: u64,
    has_previous: bool,
    why: &str,
    marker: Option<CleanMarker>,
) -> Result<Dropped> {
    let path = segment::segment_path(dir, base, LOG_EXT);
    let aside = path.with_extension("log.damaged");
    let bytes = fs::metadata(&path).at(&path)?.len();
    fs::rename(&path, &aside).at(&path)?;
    let index = segment::segment_path(dir, base, INDEX_EXT);
    match fs::remove_file(&index) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Io {
                path: index,
                source: e,
            })
        }
    }
    if has_previous {
        sync_dir(dir).at(dir)?;
    } else {
        segment::create(dir, base, config.segment_size)?;
    }
    let records = marker
        .filter(|m| m.tail_base == base)
        .map_or(0, |m| m.next_offset.saturating_sub(base));
    let dropped = Dropped {
        segment: path,
        from_offset: base,
        position: 0,
        records,
        bytes,
        reason: format!(
            "the newest segment is unreadable ({why}); it was moved aside to {}",
            aside.display()
        ),
    };
    tracing::warn!(%dropped, "journal repair moved an unreadable newest segment aside");
    Ok(dropped)
}

/// Deals with a newest segment whose header never reached the disk (a power loss right after a
/// rotation under `Durability::Never`): it is deleted, so the segment before it is the tail again
/// and recovery keeps exactly its valid prefix. When it is the only segment (retention deleted the
/// others), it is recreated empty, so offsets continue from its name.
fn drop_unwritten(
    dir: &Path,
    config: &JournalConfig,
    base: u64,
    has_previous: bool,
    marker: Option<CleanMarker>,
) -> Result<Dropped> {
    let path = segment::segment_path(dir, base, LOG_EXT);
    // What there was beyond the missing first page: reported, though it cannot be checked.
    let bytes = fs::read(&path).at(&path)?.iter().filter(|&&b| b != 0).count() as u64;
    for ext in [LOG_EXT, INDEX_EXT] {
        let p = segment::segment_path(dir, base, ext);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io { path: p, source: e }),
        }
    }
    if has_previous {
        sync_dir(dir).at(dir)?;
    } else {
        segment::create(dir, base, config.segment_size)?;
    }
    let dropped = Dropped {
        segment: path,
        from_offset: base,
        position: 0,
        records: marker
            .filter(|m| m.tail_base == base)
            .map_or(0, |m| m.next_offset.saturating_sub(base)),
        bytes,
        reason: "the newest segment's first page (its header) never reached the disk (a power \
                 loss right after a rotation under Never); its records cannot be checked"
            .into(),
    };
    tracing::warn!(%dropped, "journal recovery dropped a segment without a header");
    Ok(dropped)
}

/// Recovers the journal in `dir` (which the caller has locked).
pub(crate) fn recover(dir: &Path, config: &JournalConfig) -> Result<Recovered> {
    let mut bases = segment::list(dir)?;
    let marker = clean_marker::read(dir);
    let mut repaired = None;
    if let Some(&newest) = bases.last() {
        if segment::header_never_written(dir, newest)? {
            repaired = Some(drop_unwritten(dir, config, newest, bases.len() > 1, marker)?);
            if bases.len() > 1 {
                bases.pop();
            }
        }
    }
    clean_leftovers(dir, &bases)?;
    if let Some(&newest) = bases.last() {
        if let Err(e) = segment::open_header(dir, newest, false) {
            let Error::CorruptSegment { segment, reason } = e else {
                return Err(e);
            };
            if !config.repair {
                return Err(Error::CorruptSegment {
                    reason: format!(
                        "{reason} (it is the newest segment; `nanostream-journal recover DIR` \
                         moves it aside and reports what is lost)"
                    ),
                    segment,
                });
            }
            repaired = Some(move_aside(dir, config, newest, bases.len() > 1, &reason, marker)?);
            if bases.len() > 1 {
                bases.pop();
            }
        }
    }
    let Some((&tail_base, sealed_bases)) = bases.split_last() else {
        return Ok(Recovered {
            sealed: Vec::new(),
            tail: None,
            scanned: false,
            dropped: None,
        });
    };
    let mut sealed = Vec::with_capacity(sealed_bases.len());
    for (i, &base) in sealed_bases.iter().enumerate() {
        let next_base = bases[i + 1];
        match recover_sealed(dir, config, base, next_base) {
            Ok(s) => sealed.push(s),
            // An unreadable sealed segment (a damaged header, a stray file named like a
            // segment) is damage in history, like a bad record in one: readers and `inspect`
            // report it, and the writer still opens. Retention sees it by its file's size and
            // modification time.
            Err(Error::CorruptSegment { segment, reason }) => {
                tracing::warn!(
                    segment = %segment.display(),
                    %reason,
                    "unreadable sealed segment; readers and verify report it"
                );
                let md = fs::metadata(&segment).at(&segment)?;
                let modified = md
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
                sealed.push(SealedSegment {
                    base,
                    bytes: md.len(),
                    last_timestamp: modified,
                });
            }
            Err(e) => return Err(e),
        }
    }
    let (tail, outcome) = recover_tail(dir, config, tail_base, marker)?;
    Ok(Recovered {
        sealed,
        tail: Some(tail),
        scanned: !outcome.clean,
        dropped: repaired.or(outcome.dropped),
    })
}
