//! The writer lock: an exclusive `flock(2)` on the journal directory itself.
//!
//! The lock is taken on the directory, not on a file inside it: a lock file can be deleted or
//! replaced while its holder runs, and a second writer would then lock the new file and get in.
//! The directory cannot be swapped out from under an open descriptor the same way (a rename moves
//! the lock with it). The kernel releases an `flock` when its holder dies, so a journal whose
//! writer was killed with `SIGKILL` can be reopened at once.
//!
//! The `LOCK` file records the holder's pid, for the error message of a refused writer. It is
//! `flock`ed as well (after the directory), which also excludes a writer that locks only that
//! file.
//!
//! An `flock` belongs to an open file description, which a `fork` shares with the child until
//! the child's `exec` closes it. So right after a writer in this process releases the lock, a
//! child being spawned by another thread may still hold it for a moment. Directories locked by
//! this process are therefore tracked in a set (by device and inode): a second writer in the
//! same process is refused at once from the set, and a lock held while the set says this process
//! holds none is such a fork's copy, waited for (up to [`FORK_WAIT`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
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
    _file: File,
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
        flock_exclusive(&handle, dir, deadline, || locked(dir))?;
        // The `LOCK` file is locked too, so that a writer that locks only that file (an older
        // build of this crate) is excluded as well.
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        flock_exclusive(&file, &path, deadline, || locked(dir))?;
        file.set_len(0).at(&path)?;
        file.seek(SeekFrom::Start(0)).at(&path)?;
        writeln!(file, "{}", std::process::id()).at(&path)?;
        std::mem::forget(reservation);
        Ok(Self {
            _dir: handle,
            _file: file,
            key,
        })
    }
}

/// Takes an exclusive `flock` on `file` without blocking. When it is held and the `LOCK` file
/// names this process (which holds no lock on this directory: see [`HELD`]), the holder is a
/// child between `fork` and `exec` with a copy of a released descriptor: waits for it, in 1 ms
/// steps, until `deadline`. Otherwise fails with `locked()`.
fn flock_exclusive(file: &File, path: &Path, deadline: Instant, locked: impl Fn() -> Error) -> Result<()> {
    loop {
        // SAFETY: flock on a descriptor owned by `file`; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => {
                let e = locked();
                let ours = matches!(e, Error::Locked { pid: Some(pid), .. } if pid == std::process::id());
                if ours && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                return Err(e);
            }
            _ => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source: err,
                })
            }
        }
    }
}

/// A key reserved in [`HELD`] while the lock is being taken; released if taking it fails.
struct Reservation((u64, u64));

impl Drop for Reservation {
    fn drop(&mut self) {
        held().retain(|&k| k != self.0);
    }
}
