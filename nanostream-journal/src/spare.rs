//! The spare segment: the next segment file, prepared ahead of rotation on a background thread.
//!
//! A spare is `next-segment.spare` in the journal directory: created, preallocated to the segment
//! size and mapped read-write; under [`Durability::Never`] every page is also prefaulted writable
//! (`MADV_POPULATE_WRITE`), so the appender's first write to a page does not fault. It has no
//! header (all zeros) and no segment name, so readers, the CLI and retention never see it, and
//! recovery deletes it. Rotation gives it its header and renames it to `<base>.log`.
//!
//! Why only under `Never`: prefaulted pages are dirty (zero) page-cache pages, so the next
//! `fdatasync` of the file would write the whole segment; and a page that writeback has cleaned is
//! write-protected again, so its next write faults anyway. The syncing policies sync the new
//! segment at rotation, so prefaulting would cost them a segment of zeros and save nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::error::{Error, IoContext, Result};
use crate::mapping::Mapping;
use crate::segment::create_preallocated;

/// Name of the spare segment file.
pub(crate) const SPARE_FILE: &str = "next-segment.spare";

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
