//! The writer lock: an exclusive `flock(2)` on the journal directory itself.
//!
//! The lock is taken on the directory, not on a file inside it: a lock file can be deleted or
//! replaced while its holder runs, and a second writer would then lock the new file and get in.
//! The directory cannot be swapped out from under an open descriptor the same way (a rename moves
//! the lock with it). The kernel releases an `flock` when its holder dies, so a journal whose
//! writer was killed with `SIGKILL` can be reopened at once.
//!
//! The `LOCK` file only records the holder's pid, for the error message of a refused writer.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Name of the file recording the writer's pid inside a journal directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// An exclusive lock on a journal directory; released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Takes the lock or fails at once with [`Error::Locked`].
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let handle = File::open(dir).at(dir)?;
        loop {
            // SAFETY: flock on a descriptor owned by `handle`; no memory is passed.
            let rc = unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => {
                    let pid = std::fs::read_to_string(dir.join(LOCK_FILE))
                        .ok()
                        .and_then(|s| s.trim().parse().ok());
                    return Err(Error::Locked {
                        path: dir.to_path_buf(),
                        pid,
                    });
                }
                _ => {
                    return Err(Error::Io {
                        path: dir.to_path_buf(),
                        source: err,
                    })
                }
            }
        }
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .at(&path)?;
        writeln!(file, "{}", std::process::id()).at(&path)?;
        Ok(Self { _dir: handle })
    }
}
