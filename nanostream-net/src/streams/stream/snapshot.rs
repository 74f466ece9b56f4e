//! The stream's bookkeeping saved at a clean close, so that the next open need not read every
//! record to rebuild it.
//!
//! [`Stream::close`](super::Stream::close) writes the file `stream-state` in the stream's
//! directory (through a temporary file, synced and renamed) just before the journal's clean
//! close. [`Stream::open_or_create`](super::Stream::open_or_create) uses it only when the
//! journal opened cleanly (its clean-shutdown marker matched) and the file names the journal's
//! exact first and next offsets, and passes its CRC; then it deletes it. Anything else (a
//! crash, a file from another time, damage) falls back to reading the journal, so the file can
//! only save time, never change what the stream holds.
//!
//! Layout, little-endian: the magic `NSSTATE1`; the journal's next and first offsets; the last
//! ID; a flag and the first live ID; the length; entries added; the greatest deleted ID; the
//! index's interval, entries seen and point count, then each point (ID, offset); the count of
//! deleted IDs, then each; a CRC32 of everything before it. An ID is two `u64`s.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::index::SparseIndex;
use crate::streams::id::StreamId;

const MAGIC: &[u8; 8] = b"NSSTATE1";

/// The file's name in the stream's directory.
pub(super) const FILE: &str = "stream-state";

/// What the file holds.
#[derive(Debug)]
pub(super) struct Saved {
    pub(super) next_offset: u64,
    pub(super) first_offset: u64,
    pub(super) last_id: StreamId,
    pub(super) first_id: Option<StreamId>,
    pub(super) len: u64,
    pub(super) entries_added: u64,
    pub(super) max_deleted_id: StreamId,
    pub(super) index: SparseIndex,
    pub(super) deleted: Vec<StreamId>,
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    out.extend_from_slice(&id.ms.to_le_bytes());
    out.extend_from_slice(&id.seq.to_le_bytes());
}

/// Writes `saved` durably as `dir/stream-state`.
pub(super) fn write(dir: &Path, saved: &Saved) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(128 + saved.index.points().len() * 24 + saved.deleted.len() * 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&saved.next_offset.to_le_bytes());
    out.extend_from_slice(&saved.first_offset.to_le_bytes());
    put_id(&mut out, saved.last_id);
    out.push(u8::from(saved.first_id.is_some()));
    put_id(&mut out, saved.first_id.unwrap_or(StreamId::MIN));
    out.extend_from_slice(&saved.len.to_le_bytes());
    out.extend_from_slice(&saved.entries_added.to_le_bytes());
    put_id(&mut out, saved.max_deleted_id);
    out.extend_from_slice(&saved.index.every().to_le_bytes());
    out.extend_from_slice(&saved.index.seen().to_le_bytes());
    out.extend_from_slice(&(saved.index.points().len() as u64).to_le_bytes());
    for &(id, offset) in saved.index.points() {
        put_id(&mut out, id);
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out.extend_from_slice(&(saved.deleted.len() as u64).to_le_bytes());
    for &id in &saved.deleted {
        put_id(&mut out, id);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&out)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(FILE))?;
    fs::File::open(dir)?.sync_all()
}

/// Reads bytes in order; every read checks the length left.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*head))
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.u64()?, self.u64()?))
    }

    /// A count of items of `size` bytes each that the bytes left can hold.
    fn count(&mut self, size: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(size)? <= self.0.len()).then_some(n)
    }
}

/// Reads `dir/stream-state`; `None` if it is missing, damaged or not in this format.
pub(super) fn read(dir: &Path) -> Option<Saved> {
    let bytes = fs::read(path(dir)).ok()?;
    let (body, crc) = bytes.split_last_chunk::<4>()?;
    if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
        return None;
    }
    let mut r = Reader(body.strip_prefix(MAGIC)?);
    let next_offset = r.u64()?;
    let first_offset = r.u64()?;
    let last_id = r.id()?;
    let has_first = r.u8()? == 1;
    let first = r.id()?;
    let len = r.u64()?;
    let entries_added = r.u64()?;
    let max_deleted_id = r.id()?;
    let every = r.u64()?;
    let seen = r.u64()?;
    let n = r.count(24)?;
    let mut points = Vec::with_capacity(n);
    for _ in 0..n {
        points.push((r.id()?, r.u64()?));
    }
    let n = r.count(16)?;
    let mut deleted = Vec::with_capacity(n);
    for _ in 0..n {
        deleted.push(r.id()?);
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Saved {
        next_offset,
        first_offset,
        last_id,
        first_id: has_first.then_some(first),
        len,
        entries_added,
        max_deleted_id,
        index: SparseIndex::from_parts(every, seen, points),
        deleted,
    })
}

/// The file's path.
pub(super) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}
