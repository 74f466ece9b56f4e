//! The writer lock: an exclusive `flock(2)` on the journal directory itself.
//!
//! The lock is taken on the directory, not on a file inside it: a lock file can be deleted or
//! replaced while its holder runs, and a second writer would then lock the new file and get in.
//! The directory cannot be swapped out from under an open descriptor the same way (a rename moves
//! the lock with it). The kernel releases an `flock` when its holder dies, so a journal whose
//! writer was killed with `SIGKILL` can be reopened at once.
//!
//! The `LOCK` file only records the holder's pid, for the error message of a refused writer.
//!
//! An `flock` belongs to an open file description, which a `fork` shares with the child until
//! the child's `exec` closes it. So right after a writer in this process releases the lock, a
//! child being spawned by another thread may still hold it for a moment. Directories locked by
//! this process are therefore tracked in a set (by device and inode): a second writer in the
//! same process is refused at once from the set, and a lock held while the set says this process
//! holds none is such a fork's copy, waited for (up to [`FORK_WAIT`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

/// Name of the file recording the writer's pid inside a journal directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// How long a lock held by a copy of this process's own descriptor (a child between `fork` and
/// `exec`) is waited for.
const FORK_WAIT: Duration = Duration::from_secs(5);

/// Directories (device, inode) this process holds the lock of.
static HELD: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(u64, u64)>> {
    HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An exclusive lock on a journal directory; released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: File,
    key: (u64, u64),
}

impl Drop for DirLock {
    fn drop(&mut self) {
        held().retain(|&k| k != self.key);
    }
}

impl DirLock {
    /// Takes the lock or fails at once with [`Error::Locked`].
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let handle = File::open(dir).at(dir)?;
        let md = handle.metadata().at(dir)?;
        let key = (md.dev(), md.ino());
        let locked = |dir: &Path| Error::Locked {
            path: dir.to_path_buf(),
            pid: std::fs::read_to_string(dir.join(LOCK_FILE))
                .ok()
                .and_then(|s| s.trim().parse().ok()),
        };
        {
            let mut held = held();
            if held.contains(&key) {
                return Err(locked(dir));
            }
            held.push(key);
        }
        // From here on the key is reserved; the guard gives it back unless the lock is taken.
        let reservation = Reservation(key);
        let deadline = Instant::now() + FORK_WAIT;
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
                    let e = locked(dir);
                    let ours = matches!(e, Error::Locked { pid: Some(pid), .. } if pid == std::process::id());
                    if ours && Instant::now() < deadline {
                        // This process released it; a child that has not reached `exec` yet
                        // still holds a copy of the descriptor.
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    return Err(e);
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
        std::mem::forget(reservation);
        Ok(Self { _dir: handle, key })
    }
}

/// A key reserved in [`HELD`] while the lock is being taken; released if taking it fails.
struct Reservation((u64, u64));

impl Drop for Reservation {
    fn drop(&mut self) {
        held().retain(|&k| k != self.0);
    }
}
