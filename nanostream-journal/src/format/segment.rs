//! Segment files: naming, the 64-byte header, creation (preallocated, atomic) and opening.
//!
//! A segment is named after the offset of its first record, zero-padded to 20 digits
//! (`00000000000000000042.log`), and preallocated to its full size. Its header:
//!
//! ```text
//! +0   [u8; 8]  magic "NSJLOG01"
//! +8   u32      format version (1)
//! +12  u32      header length (64)
//! +16  u64      base offset (must match the file name)
//! +24  u64      seed (random per segment; mixed into every record CRC)
//! +32  u64      segment size in bytes
//! +40  u64      creation time, ns since the Unix epoch
//! +48  [u8; 12] reserved (zero)
//! +60  u32      crc32 of bytes 0..60
//! ```
//!
//! The first segment is created as `<name>.tmp`, preallocated, given its header, fsynced, renamed
//! into place and the directory fsynced ([`create`]). Later ones are installed from a prepared
//! spare ([`spare::install`](crate::write::spare::install)): the same steps under the syncing policies;
//! under `Durability::Never` the fsyncs wait for the next `sync`/`close`, so after a power loss
//! the newest segment may lack its header (recovery drops it; see [`header_never_written`]).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext, Result};
use crate::fs::{create_preallocated, sync_dir};

/// Bytes of the segment header; the first record starts here.
pub const SEGMENT_HEADER_LEN: usize = 64;

const MAGIC: &[u8; 8] = b"NSJLOG01";
const VERSION: u32 = 1;

/// Extension of segment files.
pub(crate) const LOG_EXT: &str = "log";
/// Extension of index files.
pub(crate) const INDEX_EXT: &str = "index";
/// Name of the spare segment file: the next segment, prepared ahead of rotation without a header
/// or a segment name (see [`spare`](crate::write::spare)).
pub(crate) const SPARE_FILE: &str = "next-segment.spare";

/// The decoded header of a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) base: u64,
    pub(crate) seed: u64,
    pub(crate) size: u64,
    pub(crate) created_ns: u64,
}

impl SegmentHeader {
    /// The header of a new segment `base` of `size` bytes: a fresh seed, created now.
    pub(crate) fn new(base: u64, size: u64) -> Self {
        Self {
            base,
            seed: new_seed(base),
            size,
            created_ns: now_ns(),
        }
    }

    /// The 64 header bytes, CRC included.
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(SEGMENT_HEADER_LEN as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.base.to_le_bytes());
        b[24..32].copy_from_slice(&self.seed.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..48].copy_from_slice(&self.created_ns.to_le_bytes());
        let crc = crc32fast::hash(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and validates a header; the error says what is wrong.
    pub(crate) fn decode(b: &[u8]) -> std::result::Result<Self, String> {
        if b.len() < SEGMENT_HEADER_LEN {
            return Err(format!("file is only {} bytes, shorter than a header", b.len()));
        }
        if &b[0..8] != MAGIC {
            return Err("bad magic (not a NanoStream journal segment)".into());
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if u32_at(60) != crc32fast::hash(&b[..60]) {
            return Err("header CRC mismatch".into());
        }
        if u32_at(8) != VERSION {
            return Err(format!("unsupported segment version {}", u32_at(8)));
        }
        if u32_at(12) as usize != SEGMENT_HEADER_LEN {
            return Err(format!("unexpected header length {}", u32_at(12)));
        }
        let size = u64_at(32);
        if size < 4096 || size & 7 != 0 || size > u64::from(u32::MAX) {
            return Err(format!("implausible segment size {size}"));
        }
        Ok(Self {
            base: u64_at(16),
            seed: u64_at(24),
            size,
            created_ns: u64_at(40),
        })
    }
}

/// `dir/<base:020>.<ext>`.
pub(crate) fn segment_path(dir: &Path, base: u64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

/// Parses a segment file name (`<20 digits>.log`) to its base offset.
pub(crate) fn parse_name(name: &str, ext: &str) -> Option<u64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Base offsets of all segment files in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if let Some(base) = entry.file_name().to_str().and_then(|n| parse_name(n, LOG_EXT)) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A fresh random-enough seed: distinct per segment creation, per process and per run.
fn new_seed(base: u64) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut x = now_ns()
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ base.rotate_left(17);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Creates segment `base` of `size` bytes in `dir`: preallocated, header written, fsynced,
/// renamed into place, directory fsynced. Returns the open read-write file and its header.
pub(crate) fn create(dir: &Path, base: u64, size: u64) -> Result<(File, SegmentHeader)> {
    let path = segment_path(dir, base, LOG_EXT);
    let tmp = path.with_extension("log.tmp");
    create_preallocated(&tmp, &path, size, |file| {
        let header = SegmentHeader::new(base, size);
        file.write_all_at(&header.encode(), 0).at(&tmp)?;
        file.sync_all().map_err(|source| Error::Sync {
            path: tmp.clone(),
            source,
        })?;
        fs::rename(&tmp, &path).at(&path)?;
        sync_dir(dir).map_err(|source| Error::Sync {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(header)
    })
}

/// Whether segment `base` is a segment whose header never reached the disk: its first 64 bytes
/// are all zero. Only the newest segment of a journal written under `Durability::Never` can be
/// like that, after a power loss right after a rotation (see
/// [`spare::install`](crate::write::spare::install)); none of its records can be checked without the
/// seed in the header, and none was durable beyond the page cache.
pub(crate) fn header_never_written(dir: &Path, base: u64) -> Result<bool> {
    let path = segment_path(dir, base, LOG_EXT);
    let file = File::open(&path).at(&path)?;
    // The header shares the first page with the first records, and the page cache writes whole
    // pages: a header lost in a power loss takes the rest of its page with it. So only a first
    // page that is zero throughout counts as "never written"; a zero header followed by non-zero
    // bytes is damage, which `open` reports as a corrupt segment instead of it being dropped.
    let mut page = [0u8; FIRST_PAGE];
    let n = read_up_to(&file, &mut page).at(&path)?;
    Ok(n >= SEGMENT_HEADER_LEN && page[..n].iter().all(|&x| x == 0))
}

/// The bytes checked by [`header_never_written`]: one page.
const FIRST_PAGE: usize = 4096;

/// Opens an existing segment and validates its header against its name and its length.
pub(crate) fn open(dir: &Path, base: u64, writable: bool) -> Result<(File, SegmentHeader)> {
    let (file, header) = open_header(dir, base, writable)?;
    let path = segment_path(dir, base, LOG_EXT);
    let len = file.metadata().at(&path)?.len();
    if len < SEGMENT_HEADER_LEN as u64 + 8 {
        return Err(Error::CorruptSegment {
            segment: path,
            reason: format!("file length {len} is not a valid segment length"),
        });
    }
    Ok((file, header))
}

/// Opens an existing segment and validates its header against its name, whatever the file's
/// length (recovery re-extends a tail segment that was cut short).
pub(crate) fn open_header(dir: &Path, base: u64, writable: bool) -> Result<(File, SegmentHeader)> {
    let path = segment_path(dir, base, LOG_EXT);
    let file = OpenOptions::new()
        .read(true)
        .write(writable)
        .open(&path)
        .at(&path)?;
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    let n = read_up_to(&file, &mut b).at(&path)?;
    let header = SegmentHeader::decode(&b[..n]).map_err(|reason| Error::CorruptSegment {
        segment: path.clone(),
        reason,
    })?;
    if header.base != base {
        return Err(Error::CorruptSegment {
            segment: path,
            reason: format!("header says base offset {}, file name says {base}", header.base),
        });
    }
    Ok((file, header))
}

fn read_up_to(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let p = segment_path(Path::new("/j"), 42, LOG_EXT);
        assert_eq!(p, Path::new("/j/00000000000000000042.log"));
        let name = p.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(parse_name(name, LOG_EXT), Some(42));
        assert_eq!(parse_name("42.log", LOG_EXT), None);
        assert_eq!(parse_name("0000000000000000004x.log", LOG_EXT), None);
        assert_eq!(parse_name("00000000000000000042.index", LOG_EXT), None);
    }

    #[test]
    fn header_round_trips_and_detects_damage() {
        let h = SegmentHeader {
            base: 7,
            seed: 99,
            size: 4096,
            created_ns: 5,
        };
        let mut b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        b[20] ^= 1;
        assert!(SegmentHeader::decode(&b).is_err());
    }
}
