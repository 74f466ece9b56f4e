//! The sparse offset index of one segment: `<base>.index`, mapping offsets to byte positions.
//!
//! The index is a cache. Every entry carries its own CRC (seeded with the segment's seed), so
//! garbage and stale entries never validate; whenever an index is missing or invalid, recovery
//! rebuilds it from the segment, and readers double-check every entry they use against the record
//! it points to.
//!
//! ```text
//! header (32 bytes): magic "NSJIDX01", u64 base offset, u64 segment seed, u32 capacity, u32 crc
//! entry  (16 bytes): u32 offset - base, u32 byte position, u32 crc, u32 reserved (0)
//! ```
//! The file is preallocated to `capacity` entries; an all-zero entry ends the list.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::record::{ALIGN, SEAL_LEN};
use crate::format::segment::SEGMENT_HEADER_LEN;
use crate::fs::create_preallocated;
use crate::mapping::Mapping;

const MAGIC: &[u8; 8] = b"NSJIDX01";
const HEADER_LEN: usize = 32;
const ENTRY_LEN: usize = 16;

/// One index entry: the record with `offset` starts at byte `position` of the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) offset: u64,
    pub(crate) position: u64,
}

/// How many entries an index for a segment of `segment_size` bytes needs at most.
pub(crate) fn capacity_for(segment_size: u64, interval: u32) -> u32 {
    u32::try_from(segment_size / u64::from(interval.max(1)) + 2).unwrap_or(u32::MAX)
}

fn entry_crc(seed: u64, base: u64, rel: u32, pos: u32) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(&base.to_le_bytes());
    h.update(&rel.to_le_bytes());
    h.update(&pos.to_le_bytes());
    h.finalize()
}

fn encode_header(base: u64, seed: u64, cap: u32) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&base.to_le_bytes());
    b[16..24].copy_from_slice(&seed.to_le_bytes());
    b[24..28].copy_from_slice(&cap.to_le_bytes());
    let crc = crc32fast::hash(&b[..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Validates an index file's bytes for segment (`base`, `seed`, `segment_size`) and returns its
/// entries, or says why it is unusable.
pub(crate) fn parse(
    bytes: &[u8],
    base: u64,
    seed: u64,
    segment_size: u64,
) -> std::result::Result<Vec<IndexEntry>, String> {
    if bytes.len() < HEADER_LEN {
        return Err("shorter than its header".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    if &bytes[0..8] != MAGIC || u32_at(28) != crc32fast::hash(&bytes[..28]) {
        return Err("bad header".into());
    }
    let cap = u32_at(24) as usize;
    if bytes[..24] != encode_header(base, seed, 0)[..24] {
        return Err("belongs to another segment".into());
    }
    if bytes.len() != HEADER_LEN + cap * ENTRY_LEN {
        return Err(format!(
            "length {} does not match its capacity {cap}",
            bytes.len()
        ));
    }
    let mut entries = Vec::new();
    let mut ended = false;
    for i in 0..cap {
        let at = HEADER_LEN + i * ENTRY_LEN;
        let raw = &bytes[at..at + ENTRY_LEN];
        if ended {
            if raw.iter().any(|&b| b != 0) {
                return Err(format!("garbage after the last entry (entry {i})"));
            }
            continue;
        }
        let (rel, pos, crc) = (u32_at(at), u32_at(at + 4), u32_at(at + 8));
        if raw.iter().all(|&b| b == 0) {
            ended = true;
            continue;
        }
        if crc != entry_crc(seed, base, rel, pos) || u32_at(at + 12) != 0 {
            return Err(format!("entry {i} fails its CRC"));
        }
        let entry = IndexEntry {
            offset: base + u64::from(rel),
            position: u64::from(pos),
        };
        if entry.position < SEGMENT_HEADER_LEN as u64 || entry.position >= segment_size {
            return Err(format!("entry {i} points outside the segment"));
        }
        // Readers probe the length word at the position: it must be where a record can start.
        if !entry.position.is_multiple_of(ALIGN as u64) || entry.position + SEAL_LEN as u64 > segment_size {
            return Err(format!("entry {i} points where no record can start"));
        }
        if let Some(prev) = entries.last() {
            let prev: &IndexEntry = prev;
            if entry.offset <= prev.offset || entry.position <= prev.position {
                return Err(format!("entry {i} is out of order"));
            }
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Reads and validates the index of a segment; `Err` carries the reason it must be rebuilt.
pub(crate) fn load(
    path: &Path,
    base: u64,
    seed: u64,
    segment_size: u64,
) -> std::result::Result<Vec<IndexEntry>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    parse(&bytes, base, seed, segment_size)
}

/// Appends entries to a segment's index through a memory map. Never allocates after creation.
#[derive(Debug)]
pub(crate) struct IndexWriter {
    path: PathBuf,
    _file: File,
    map: Mapping,
    base: u64,
    seed: u64,
    cap: usize,
    count: usize,
    last_position: u64,
}

impl IndexWriter {
    /// Creates (or replaces) the index file for a segment, empty.
    pub(crate) fn create(path: &Path, base: u64, seed: u64, cap: u32) -> Result<Self> {
        let len = (HEADER_LEN + cap as usize * ENTRY_LEN) as u64;
        let (file, map) = create_preallocated(path, path, len, |file| {
            let mut map = Mapping::read_write(file).at(path)?;
            map.write(0, &encode_header(base, seed, cap));
            Ok(map)
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            _file: file,
            map,
            base,
            seed,
            cap: cap as usize,
            count: 0,
            last_position: 0,
        })
    }

    /// Position of the last entry (0 when empty).
    pub(crate) fn last_position(&self) -> u64 {
        self.last_position
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Appends an entry. A full index silently stops growing (it is only a cache).
    pub(crate) fn push(&mut self, offset: u64, position: u64) {
        if self.count >= self.cap {
            return;
        }
        let (Ok(rel), Ok(pos)) = (u32::try_from(offset - self.base), u32::try_from(position)) else {
            return;
        };
        let mut e = [0u8; ENTRY_LEN];
        e[0..4].copy_from_slice(&rel.to_le_bytes());
        e[4..8].copy_from_slice(&pos.to_le_bytes());
        e[8..12].copy_from_slice(&entry_crc(self.seed, self.base, rel, pos).to_le_bytes());
        self.map.write(HEADER_LEN + self.count * ENTRY_LEN, &e);
        self.count += 1;
        self.last_position = position;
    }

    /// Writes the index back to disk.
    pub(crate) fn sync(&self) -> Result<()> {
        self.map
            .flush_range(0, self.map.len())
            .map_err(|source| Error::Sync {
                path: self.path.clone(),
                source,
            })
    }
}

/// The entry to start a scan for `offset` from: the last entry at or before it.
pub(crate) fn floor(entries: &[IndexEntry], offset: u64) -> Option<IndexEntry> {
    let i = entries.partition_point(|e| e.offset <= offset);
    i.checked_sub(1).map(|i| entries[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_bytes(base: u64, seed: u64, entries: &[(u32, u32)]) -> Vec<u8> {
        let cap = entries.len() as u32 + 1;
        let mut b = encode_header(base, seed, cap).to_vec();
        for &(rel, pos) in entries {
            b.extend_from_slice(&rel.to_le_bytes());
            b.extend_from_slice(&pos.to_le_bytes());
            b.extend_from_slice(&entry_crc(seed, base, rel, pos).to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
        }
        b.extend_from_slice(&[0u8; ENTRY_LEN]);
        b
    }

    #[test]
    fn an_entry_a_record_cannot_start_at_is_rejected() {
        // Entries with a valid CRC (a crafted or buggy index) still must point where a record
        // can start: 8-aligned, with room for a record's length word before the seal space.
        assert!(parse(&index_bytes(5, 9, &[(0, 64), (3, 128)]), 5, 9, 4096).is_ok());
        for bad in [66, 4092, 4090] {
            let err = parse(&index_bytes(5, 9, &[(0, 64), (3, bad)]), 5, 9, 4096)
                .expect_err("a position no record can start at");
            assert!(err.contains("entry 1"), "{err}");
        }
    }

    #[test]
    fn floor_finds_last_entry_not_after() {
        let es = [
            IndexEntry {
                offset: 10,
                position: 64,
            },
            IndexEntry {
                offset: 20,
                position: 500,
            },
        ];
        assert_eq!(floor(&es, 5), None);
        assert_eq!(floor(&es, 10).map(|e| e.offset), Some(10));
        assert_eq!(floor(&es, 19).map(|e| e.offset), Some(10));
        assert_eq!(floor(&es, 25).map(|e| e.offset), Some(20));
    }
}
