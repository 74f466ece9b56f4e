//! File-system helpers: preallocation, preallocated file creation, directory fsync, atomic
//! small-file writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Reserves `len` bytes of real disk blocks for `file`, growing it to `len`.
///
/// Uses `fallocate(2)` where the file system supports it; elsewhere writes zeros. Either way,
/// once this returns `Ok` every page of the file is backed by allocated blocks, so writing
/// through a memory map cannot hit `SIGBUS` for lack of space: a full disk is reported here,
/// when the segment is created.
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let len_off = libc::off_t::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment too large"))?;
        loop {
            // SAFETY: fallocate is called on a valid open descriptor owned by `file`; it reads no
            // memory of ours.
            let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len_off) };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => break,
                _ => return Err(err),
            }
        }
    }
    write_zeros(file, len)
}

/// The next byte range at or after `from` (and before `end`) that may hold data: everything
/// outside such ranges is a hole, which reads as zeros. Where the file system cannot tell
/// (`SEEK_DATA` unsupported), the whole rest of the file is one range. `None`: no data from
/// `from` on.
///
/// Preallocated blocks never written count as holes on file systems that track them (ext4,
/// XFS, tmpfs), so checking that a mostly empty segment ends in zeros reads only what was
/// written.
pub(crate) fn next_data(file: &File, from: u64, end: u64) -> Option<(u64, u64)> {
    if from >= end {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        let Ok(at) = libc::off_t::try_from(from) else {
            return Some((from, end));
        };
        // SAFETY: lseek is called on a valid open descriptor owned by `file`; it reads and
        // writes no memory of ours. The file offset it moves is not used by this crate (every
        // read and write is positional or through a mapping).
        let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
        if data < 0 {
            return match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENXIO) => None,
                _ => Some((from, end)),
            };
        }
        // SAFETY: lseek on the same valid descriptor owned by `file`; no memory is passed, and
        // the file offset it moves is unused here (reads and writes are positional or mapped).
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        let data = u64::try_from(data).unwrap_or(from).max(from);
        let hole = u64::try_from(hole).map_or(end, |h| h.min(end));
        if data >= end {
            return None;
        }
        return Some((data, hole.max(data)));
    }
    #[allow(unreachable_code)]
    {
        let _ = file;
        Some((from, end))
    }
}

/// Fallback preallocation: writes zeros over the whole file.
fn write_zeros(file: &File, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut pos = 0u64;
    while pos < len {
        let n = usize::try_from((len - pos).min(CHUNK as u64)).unwrap_or(CHUNK);
        file.write_all_at(&zeros[..n], pos)?;
        pos += n as u64;
    }
    Ok(())
}

/// fsyncs a directory so that file creations, renames and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically and durably: temporary file, fsync, rename, fsync dir.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// Creates `path` (replacing any old file), preallocates `size` bytes and runs `init` on it.
/// When any step fails the file is removed, so a failed creation leaves nothing behind; a
/// preallocation failure (a full disk) is reported as [`Error::Preallocate`] for `reported_as`.
pub(crate) fn create_preallocated<T>(
    path: &Path,
    reported_as: &Path,
    size: u64,
    init: impl FnOnce(&File) -> Result<T>,
) -> Result<(File, T)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .at(path)?;
    let result = preallocate(&file, size)
        .map_err(|source| Error::Preallocate {
            path: reported_as.to_path_buf(),
            size,
            source,
        })
        .and_then(|()| init(&file));
    match result {
        Ok(value) => Ok((file, value)),
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(path);
            Err(e)
        }
    }
}
