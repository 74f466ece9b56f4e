//! The writer lock: one `LOCK` file per journal, held with `flock(2)`.
//!
//! The kernel releases an `flock` when its holder dies, so a journal whose writer was killed
//! with `SIGKILL` can be reopened at once; the pid written into the file is only informational.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// Name of the lock file inside a journal directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// An exclusive lock on a journal directory; released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock or fails at once with [`Error::Locked`].
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path: PathBuf = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        loop {
            // SAFETY: flock on a descriptor owned by `file`; no memory is passed.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => {
                    let mut s = String::new();
                    let pid = file
                        .read_to_string(&mut s)
                        .ok()
                        .and_then(|_| s.trim().parse().ok());
                    return Err(Error::Locked {
                        path: dir.to_path_buf(),
                        pid,
                    });
                }
                _ => return Err(Error::Io { path, source: err }),
            }
        }
        file.set_len(0).at(&path)?;
        file.seek(SeekFrom::Start(0)).at(&path)?;
        writeln!(file, "{}", std::process::id()).at(&path)?;
        Ok(Self { _file: file })
    }
}
