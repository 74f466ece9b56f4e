//! The spare segment: the next segment file, prepared ahead of rotation on a background thread.
//!
//! A spare is `next-segment.spare` in the journal directory: created, preallocated to the segment
//! size and mapped read-write; under [`Durability::Never`](crate::Durability::Never) every page
//! is also prefaulted writable (`MADV_POPULATE_WRITE`), so the appender's first write to a page
//! does not fault. It has no header (all zeros) and no segment name, so readers, the CLI and
//! retention never see it, and recovery deletes it. Rotation gives it its header and renames it
//! to `<base>.log`.
//!
//! Why only under `Never`: prefaulted pages are dirty (zero) page-cache pages, so the next
//! `fdatasync` of the file would write the whole segment; and a page that writeback has cleaned is
//! write-protected again, so its next write faults anyway. The syncing policies sync the new
//! segment at rotation, so prefaulting would cost them a segment of zeros and save nothing.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::error::{Error, IoContext, Result};
use crate::format::segment::{segment_path, SegmentHeader, LOG_EXT, SPARE_FILE};
use crate::fs::{create_preallocated, sync_dir};
use crate::mapping::Mapping;

/// A preallocated, mapped segment file without a header or a name.
#[derive(Debug)]
pub(crate) struct Spare {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    pub(crate) map: Mapping,
}

/// `dir/next-segment.spare`.
pub(crate) fn spare_path(dir: &Path) -> PathBuf {
    dir.join(SPARE_FILE)
}

/// Creates (replacing any old one) the spare of `size` bytes; prefaults it writable if `populate`.
/// On failure nothing is left behind.
pub(crate) fn prepare(dir: &Path, size: u64, populate: bool) -> Result<Spare> {
    let path = spare_path(dir);
    let (file, map) = create_preallocated(&path, &path, size, |file| {
        let mut map = Mapping::read_write(file).at(&path)?;
        if populate {
            map.prefault_write(0).at(&path)?;
        }
        Ok(map)
    })?;
    Ok(Spare { path, file, map })
}

/// A spare being prepared on a background thread.
#[derive(Debug)]
pub(crate) struct Preparing(JoinHandle<Result<Spare>>);

impl Preparing {
    /// Starts preparing a spare. If no thread can be started, the spare is prepared at rotation.
    pub(crate) fn start(dir: &Path, size: u64, populate: bool) -> Option<Self> {
        let dir = dir.to_path_buf();
        std::thread::Builder::new()
            .name("journal-spare".into())
            .spawn(move || prepare(&dir, size, populate))
            .ok()
            .map(Self)
    }

    /// Waits for the spare: `Ok` when it is ready, `Err` when preparing it failed (the caller
    /// retries in place, so the error it reports is the current one).
    pub(crate) fn wait(self) -> std::result::Result<Spare, Option<Error>> {
        match self.0.join() {
            Ok(Ok(spare)) => Ok(spare),
            Ok(Err(e)) => Err(Some(e)),
            Err(_) => Err(None),
        }
    }
}

/// Turns a prepared spare into segment `base`: writes its header and renames it to `<base>.log`.
///
/// With `durable`, the header (and the preallocation) is fdatasynced before the rename and the
/// directory fsynced after it, so the segment is named, listed and has a valid header on disk
/// before anything is appended to it. Without (`Durability::Never`), both are left to the next
/// [`Journal::sync`](crate::Journal::sync) or close: no fsync touches the prefaulted pages, and
/// a power loss can leave the newest segment named but with a header that never reached the disk
/// (recovery drops such a segment: see
/// [`header_never_written`](crate::format::segment::header_never_written)).
pub(crate) fn install(dir: &Path, base: u64, spare: &mut Spare, durable: bool) -> Result<SegmentHeader> {
    let header = SegmentHeader::new(base, spare.map.len() as u64);
    spare.map.write(0, &header.encode());
    if durable {
        spare.file.sync_data().map_err(|source| Error::Sync {
            path: spare.path.clone(),
            source,
        })?;
    }
    let path = segment_path(dir, base, LOG_EXT);
    fs::rename(&spare.path, &path).at(&path)?;
    spare.path = path;
    if durable {
        sync_dir(dir).map_err(|source| Error::Sync {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(header)
}
