//! The clean-shutdown marker: written by [`Journal::close`](crate::Journal::close), checked and
//! consumed by the next open.
//!
//! It records where the tail segment ends. The next open checks every record of the tail anyway;
//! the marker tells it whether the tail still ends there (a clean open) or not (a crash recovery,
//! and the records the marker promised that are gone are reported as dropped). Open deletes it
//! (durably) before anything is appended, so a crash later in that session is never mistaken for
//! a clean shutdown.

use std::fs;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::fs::{sync_dir, write_atomic};

/// Name of the marker file.
pub(crate) const CLEAN_FILE: &str = "clean-shutdown";
const MAGIC: &[u8; 8] = b"NSJCLEAN";
const LEN: usize = 44;

/// Where the journal ended at a clean shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleanMarker {
    /// Base offset of the tail segment.
    pub(crate) tail_base: u64,
    /// Byte position just past the last record of the tail segment.
    pub(crate) tail_position: u64,
    /// Offset the next record gets.
    pub(crate) next_offset: u64,
    /// Timestamp of the last record of the tail segment (0 when it has none).
    pub(crate) last_timestamp: u64,
}

impl CleanMarker {
    fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&self.tail_base.to_le_bytes());
        b[16..24].copy_from_slice(&self.tail_position.to_le_bytes());
        b[24..32].copy_from_slice(&self.next_offset.to_le_bytes());
        b[32..40].copy_from_slice(&self.last_timestamp.to_le_bytes());
        let crc = crc32fast::hash(&b[..40]);
        b[40..44].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != LEN || &b[0..8] != MAGIC {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if u32::from_le_bytes(b[40..44].try_into().expect("4 bytes")) != crc32fast::hash(&b[..40]) {
            return None;
        }
        Some(Self {
            tail_base: u64_at(8),
            tail_position: u64_at(16),
            next_offset: u64_at(24),
            last_timestamp: u64_at(32),
        })
    }
}

/// Reads the marker; a missing or damaged marker reads as `None` (an unclean shutdown).
pub(crate) fn read(dir: &Path) -> Option<CleanMarker> {
    fs::read(dir.join(CLEAN_FILE))
        .ok()
        .and_then(|b| CleanMarker::decode(&b))
}

/// Writes the marker durably.
pub(crate) fn write(dir: &Path, marker: &CleanMarker) -> Result<()> {
    write_atomic(dir, CLEAN_FILE, &marker.encode()).at(dir.join(CLEAN_FILE))
}

/// Removes the marker durably (a no-op when absent).
pub(crate) fn remove(dir: &Path) -> Result<()> {
    let path = dir.join(CLEAN_FILE);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(dir).at(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::Io { path, source: e }),
    }
}
