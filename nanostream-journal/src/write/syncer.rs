//! [`Syncer`]: syncs the segment being appended to and keeps the durable watermarks; shared by
//! the writer, the background sync thread and the handler's [`JournalStatus`](crate::JournalStatus).
//!
//! The writer publishes `appended_next` (every offset below it is written) and a user `mark`
//! (e.g. the ring-buffer sequence of the last event handed to the journal) after each append.
//! A sync takes, under the `active` lock, the active segment's file, then the mark, then
//! `appended_next`; rotation fsyncs the old segment before it swaps `active` under the same
//! lock. So when `fdatasync` of that file returns, every record below the `appended_next` it read
//! (and so every event up to the mark) is durable, and both watermarks may advance.
//!
//! A failed sync poisons the journal for good: Linux reports a writeback error once and then
//! marks the pages clean, so a retry that "succeeds" would be a lie.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

/// Called with each new durable mark, in increasing order.
pub(crate) type DurableListener = Box<dyn Fn(i64) + Send + Sync>;

/// The file currently being appended to.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFile {
    pub(crate) file: Arc<File>,
    pub(crate) path: Arc<PathBuf>,
}

/// The first sync failure, kept for whoever asks.
#[derive(Debug)]
pub struct SyncFailure {
    /// The file whose sync failed.
    pub path: PathBuf,
    /// The operating system's error.
    pub error: io::Error,
}

impl std::fmt::Display for SyncFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sync of {} failed: {}", self.path.display(), self.error)
    }
}

/// What is appended and what is durable, the active file to sync, and the first sync failure.
pub(crate) struct Syncer {
    active: Mutex<ActiveFile>,
    appended_next: AtomicU64,
    mark: AtomicI64,
    durable_next: AtomicU64,
    durable_mark: AtomicI64,
    publish: Mutex<()>,
    listener: OnceLock<DurableListener>,
    failed: AtomicBool,
    failure: Mutex<Option<Arc<SyncFailure>>>,
    fail_next: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("appended_next", &self.appended_next)
            .field("durable_next", &self.durable_next)
            .field("durable_mark", &self.durable_mark)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

fn copy_io_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

impl Syncer {
    pub(crate) fn new(active: ActiveFile, next_offset: u64) -> Self {
        Self {
            active: Mutex::new(active),
            appended_next: AtomicU64::new(next_offset),
            mark: AtomicI64::new(-1),
            durable_next: AtomicU64::new(next_offset),
            durable_mark: AtomicI64::new(-1),
            publish: Mutex::new(()),
            listener: OnceLock::new(),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            fail_next: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    /// Err if an earlier sync failed.
    #[inline]
    pub(crate) fn check(&self) -> Result<()> {
        if self.failed.load(Ordering::Acquire) {
            return Err(Error::Failed(
                self.failure()
                    .map_or_else(|| "sync failed".to_string(), |f| f.to_string()),
            ));
        }
        Ok(())
    }

    pub(crate) fn failure(&self) -> Option<Arc<SyncFailure>> {
        self.failure.lock().clone()
    }

    /// Records a sync failure (the first one wins) and returns the error to report.
    pub(crate) fn fail(&self, path: PathBuf, error: io::Error) -> Error {
        let reported = copy_io_error(&error);
        {
            let mut slot = self.failure.lock();
            if slot.is_none() {
                *slot = Some(Arc::new(SyncFailure {
                    path: path.clone(),
                    error,
                }));
            }
        }
        self.failed.store(true, Ordering::Release);
        self.wake.notify_all();
        Error::Sync {
            path,
            source: reported,
        }
    }

    /// Called by the writer after a record is committed.
    #[inline]
    pub(crate) fn set_appended(&self, next: u64) {
        self.appended_next.store(next, Ordering::Release);
    }

    /// Called by the writer after the records covering `mark` are appended.
    #[inline]
    pub(crate) fn set_mark(&self, mark: i64) {
        self.mark.store(mark, Ordering::Release);
    }

    pub(crate) fn durable_next(&self) -> u64 {
        self.durable_next.load(Ordering::Acquire)
    }

    pub(crate) fn set_listener(&self, listener: DurableListener) -> bool {
        self.listener.set(listener).is_ok()
    }

    /// Replaces the active file (rotation). The caller has made the old one durable.
    pub(crate) fn swap_active(&self, active: ActiveFile) {
        *self.active.lock() = active;
    }

    /// Whether a sync would advance anything.
    pub(crate) fn pending(&self) -> bool {
        self.appended_next.load(Ordering::Acquire) > self.durable_next.load(Ordering::Acquire)
            || self.mark.load(Ordering::Acquire) > self.durable_mark.load(Ordering::Acquire)
    }

    /// Makes everything appended so far durable and advances the watermarks.
    pub(crate) fn sync(&self) -> Result<()> {
        self.sync_inner(false)
    }

    /// Like [`sync`](Self::sync), but fdatasyncs the active file even when the watermark says
    /// nothing is pending (under `Never` the watermark only covers the page cache).
    pub(crate) fn sync_forced(&self) -> Result<()> {
        self.sync_inner(true)
    }

    fn sync_inner(&self, force: bool) -> Result<()> {
        self.check()?;
        let (file, path, mark, next) = {
            let g = self.active.lock();
            // Mark first: the writer stores it after `appended_next`, so the offsets read next
            // cover every event up to the mark.
            let mark = self.mark.load(Ordering::Acquire);
            let next = self.appended_next.load(Ordering::Acquire);
            (Arc::clone(&g.file), Arc::clone(&g.path), mark, next)
        };
        if force || next > self.durable_next.load(Ordering::Acquire) {
            let result = if self.fail_next.swap(false, Ordering::AcqRel) {
                Err(io::Error::from_raw_os_error(libc::EIO))
            } else {
                file.sync_data()
            };
            if let Err(e) = result {
                return Err(self.fail(path.as_ref().clone(), e));
            }
        }
        self.publish(next, mark);
        Ok(())
    }

    /// Advances the watermarks to (`next`, `mark`) if they are ahead; calls the listener.
    pub(crate) fn publish(&self, next: u64, mark: i64) {
        let _g = self.publish.lock();
        if next > self.durable_next.load(Ordering::Acquire) {
            self.durable_next.store(next, Ordering::Release);
        }
        if mark > self.durable_mark.load(Ordering::Acquire) {
            self.durable_mark.store(mark, Ordering::Release);
            if let Some(listener) = self.listener.get() {
                listener(mark);
            }
        }
    }

    /// Publishes what is appended without syncing (policy `Never`).
    pub(crate) fn publish_appended(&self) {
        let mark = self.mark.load(Ordering::Acquire);
        let next = self.appended_next.load(Ordering::Acquire);
        self.publish(next, mark);
    }

    /// fdatasyncs a file other than through the watermark (a segment being sealed); a failure is
    /// fatal like any other sync failure.
    pub(crate) fn sync_file(&self, file: &ActiveFile) -> Result<()> {
        self.check()?;
        let result = if self.fail_next.swap(false, Ordering::AcqRel) {
            Err(io::Error::from_raw_os_error(libc::EIO))
        } else {
            file.file.sync_data()
        };
        result.map_err(|e| self.fail(file.path.as_ref().clone(), e))
    }

    /// Makes the next sync fail with `EIO` (fault injection for tests).
    pub(crate) fn fail_next_sync(&self) {
        self.fail_next.store(true, Ordering::Release);
    }

    /// Starts the background sync thread: every `period`, sync if anything is pending.
    pub(crate) fn spawn_thread(self: &Arc<Self>, period: Duration) -> std::io::Result<JoinHandle<()>> {
        let syncer = Arc::clone(self);
        std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || {
                let mut stop = syncer.stop.lock();
                loop {
                    if *stop || syncer.failed.load(Ordering::Acquire) {
                        return;
                    }
                    syncer.wake.wait_for(&mut stop, period);
                    if *stop {
                        return;
                    }
                    if syncer.pending() {
                        let failed = parking_lot::MutexGuard::unlocked(&mut stop, || syncer.sync().is_err());
                        if failed {
                            tracing::error!("journal background sync failed; journal stopped");
                            return;
                        }
                    }
                }
            })
    }

    /// Stops the background sync thread (it exits at its next wake-up, which this triggers).
    pub(crate) fn stop_thread(&self) {
        *self.stop.lock() = true;
        self.wake.notify_all();
    }
}
