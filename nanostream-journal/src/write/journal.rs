//! [`Journal`]: the single writer of a journal directory.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::JournalConfig;
use crate::error::{Error, IoContext, Result};
use crate::format::clean_marker::{self, CleanMarker};
use crate::format::index::{self, IndexWriter};
use crate::format::meta;
use crate::format::record::{checksum, record_span, RECORD_HEADER_LEN, SEAL, SEAL_LEN};
use crate::format::segment::{self, now_ns, SegmentHeader, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN};
use crate::fs::sync_dir;
use crate::mapping::Mapping;
use crate::read::reader::JournalReader;
use crate::recover::open::{recover, SealedSegment, Tail};
use crate::recover::report::OpenReport;
use crate::write::durability::Durability;
use crate::write::lock::DirLock;
use crate::write::spare::{self, Preparing, Spare};
use crate::write::syncer::{ActiveFile, DurableListener, SyncFailure, Syncer};

/// The segment being appended to.
#[derive(Debug)]
struct Active {
    base: u64,
    path: Arc<PathBuf>,
    file: Arc<File>,
    map: Mapping,
    seed: u64,
    position: usize,
    index: IndexWriter,
    last_timestamp: u64,
    sealed: bool,
}

impl Active {
    fn from_tail(dir: &Path, t: Tail) -> Self {
        Self {
            base: t.header.base,
            path: Arc::new(segment::segment_path(dir, t.header.base, LOG_EXT)),
            file: Arc::new(t.file),
            map: t.map,
            seed: t.header.seed,
            position: t.position,
            index: t.index,
            last_timestamp: t.last_timestamp,
            sealed: t.sealed,
        }
    }

    fn create(dir: &Path, base: u64, config: &JournalConfig) -> Result<Self> {
        let (file, header) = segment::create(dir, base, config.segment_size)?;
        let path = segment::segment_path(dir, base, LOG_EXT);
        let map = Mapping::read_write(&file).at(&path)?;
        Self::empty(dir, path, file, map, header, config)
    }

    /// Makes a prepared spare segment `base` (see [`spare::install`]).
    fn from_spare(dir: &Path, base: u64, mut spare: Spare, config: &JournalConfig) -> Result<Self> {
        let durable = config.durability != Durability::Never;
        let header = spare::install(dir, base, &mut spare, durable)?;
        Self::empty(dir, spare.path, spare.file, spare.map, header, config)
    }

    /// A segment just given its header, with nothing appended: creates its (empty) index.
    fn empty(
        dir: &Path,
        path: PathBuf,
        file: File,
        map: Mapping,
        header: SegmentHeader,
        config: &JournalConfig,
    ) -> Result<Self> {
        let base = header.base;
        let index = IndexWriter::create(
            &segment::segment_path(dir, base, INDEX_EXT),
            base,
            header.seed,
            index::capacity_for(header.size, config.index_interval),
        )?;
        Ok(Self {
            base,
            path: Arc::new(path),
            file: Arc::new(file),
            map,
            seed: header.seed,
            position: SEGMENT_HEADER_LEN,
            index,
            last_timestamp: 0,
            sealed: false,
        })
    }

    fn active_file(&self) -> ActiveFile {
        ActiveFile {
            file: Arc::clone(&self.file),
            path: Arc::clone(&self.path),
        }
    }
}

/// A write-ahead journal: a directory of preallocated, memory-mapped segment files.
///
/// One `Journal` per directory (an `flock` on the directory enforces it, across processes too).
/// Appends go into the page cache through a memory map; [`Durability`] decides when they are
/// fsynced.
/// [`close`](Self::close) makes everything durable and leaves a clean-shutdown marker; dropping
/// a journal without closing it counts as a crash (nothing acknowledged is lost: the next open
/// recovers the tail as after a crash, see [`OpenReport`]).
///
/// ```
/// # fn main() -> Result<(), nanostream_journal::Error> {
/// # let dir = std::env::temp_dir().join(format!("nsj-doc-writer-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// use nanostream_journal::{Journal, JournalConfig};
/// let mut journal = Journal::open(&dir, JournalConfig::new().segment_size(1 << 20))?;
/// let first = journal.append(b"hello")?;
/// journal.append(b"world")?;
/// journal.commit()?; // end of batch: fdatasync under the default EveryBatch policy
/// assert_eq!(journal.durable_next_offset(), first + 2);
/// journal.close()?;
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    config: JournalConfig,
    sealed: VecDeque<SealedSegment>,
    active: Active,
    next_offset: u64,
    max_payload: usize,
    since_sync: u64,
    /// Segments sealed under `Never` without a sync; `sync` and `close` sync them.
    unsynced_sealed: Vec<ActiveFile>,
    syncer: Arc<Syncer>,
    /// The background sync thread (policies `Interval` and `EveryN`).
    sync_thread: Option<JoinHandle<()>>,
    /// The next segment, being prepared in the background (see [`crate::write::spare`]).
    preparing: Option<Preparing>,
    /// A segment was renamed into place without a directory fsync (policy `Never`).
    dir_unsynced: bool,
    report: OpenReport,
    _lock: DirLock,
}

impl Journal {
    /// Opens (recovering if needed) or creates the journal in `dir`.
    ///
    /// Fails with [`Error::Locked`] if another writer has it open, [`Error::NotAJournal`] if
    /// the directory holds something else, [`Error::NotFound`] if it is missing and creation is
    /// off.
    pub fn open(dir: impl AsRef<Path>, config: JournalConfig) -> Result<Self> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        meta::ensure(&dir, config.create)?;
        let lock = DirLock::acquire(&dir)?;
        let recovered = recover(&dir, &config)?;
        let scanned = recovered.scanned;
        let dropped = recovered.dropped.clone();
        let (active, next_offset) = match recovered.tail {
            Some(tail) => {
                let next = tail.next_offset;
                (Active::from_tail(&dir, tail), next)
            }
            None => (Active::create(&dir, 0, &config)?, 0),
        };
        let mut active = active;
        if config.durability == Durability::Never && !active.sealed {
            // Under Never the active segment is prefaulted too (see `crate::write::spare`); past the
            // valid prefix it is all zeros, which recovery has made sure of.
            let from = active.position;
            active.map.prefault_write(from).at(active.path.as_ref())?;
        }
        clean_marker::remove(&dir)?;
        let syncer = Arc::new(Syncer::new(active.active_file(), next_offset));
        let max_payload = config.max_payload();
        let mut journal = Self {
            dir,
            sealed: recovered.sealed.into(),
            active,
            next_offset,
            max_payload,
            since_sync: 0,
            unsynced_sealed: Vec::new(),
            syncer,
            sync_thread: None,
            preparing: None,
            dir_unsynced: false,
            report: OpenReport {
                scanned,
                truncated: dropped.is_some(),
                dropped,
                next_offset,
            },
            _lock: lock,
            config,
        };
        if journal.active.sealed {
            journal.rotate()?;
        } else {
            journal.start_preparing();
        }
        let period = match journal.config.durability {
            Durability::Interval(d) => Some(d),
            Durability::EveryN(_) => Some(journal.config.idle_sync),
            Durability::Never | Durability::EveryBatch => None,
        };
        if let Some(period) = period {
            journal.sync_thread = Some(journal.syncer.spawn_thread(period).at(&journal.dir)?);
        }
        Ok(journal)
    }

    /// Appends a record stamped with the current time; returns its offset.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        self.append_at(now_ns(), payload)
    }

    /// Appends a record with an explicit timestamp (ns since the Unix epoch).
    pub fn append_at(&mut self, timestamp: u64, payload: &[u8]) -> Result<u64> {
        self.append_with(timestamp, payload.len(), |buf| buf.copy_from_slice(payload))
    }

    /// Appends a record of `len` payload bytes that `fill` writes in place (no copy, no
    /// allocation); returns its offset.
    pub fn append_with(&mut self, timestamp: u64, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<u64> {
        self.append_inner(timestamp, len, None, fill)
    }

    pub(crate) fn append_inner(
        &mut self,
        timestamp: u64,
        len: usize,
        mark: Option<i64>,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<u64> {
        self.syncer.check()?;
        if len > self.max_payload {
            return Err(Error::RecordTooLarge {
                len,
                max: self.max_payload,
            });
        }
        let span = record_span(len);
        if self.active.sealed || self.active.position + span + SEAL_LEN > self.active.map.len() {
            self.rotate()?;
        }
        let offset = self.next_offset;
        let active = &mut self.active;
        let pos = active.position;
        let payload = active.map.bytes_mut(pos + RECORD_HEADER_LEN, len);
        fill(payload);
        let crc = checksum(active.seed, offset, timestamp, payload);
        let mut head = [0u8; RECORD_HEADER_LEN - 4];
        head[0..4].copy_from_slice(&crc.to_le_bytes());
        head[4..12].copy_from_slice(&offset.to_le_bytes());
        head[12..20].copy_from_slice(&timestamp.to_le_bytes());
        active.map.write(pos + 4, &head);
        // Commit: the length word goes last, with Release.
        active.map.store_u32(pos, (RECORD_HEADER_LEN + len) as u32);
        if active.index.len() == 0
            || pos as u64 - active.index.last_position() >= u64::from(self.config.index_interval)
        {
            active.index.push(offset, pos as u64);
        }
        active.position = pos + span;
        active.last_timestamp = timestamp;
        self.next_offset = offset + 1;
        self.syncer.set_appended(self.next_offset);
        if let Some(mark) = mark {
            self.syncer.set_mark(mark);
        }
        if let Durability::EveryN(n) = self.config.durability {
            self.since_sync += 1;
            if self.since_sync >= n {
                self.sync()?;
            }
        }
        Ok(offset)
    }

    /// Records that everything up to the caller's `mark` (e.g. a ring sequence) has been handed
    /// to the journal; the durable mark follows once that is durable.
    pub(crate) fn set_mark(&self, mark: i64) {
        self.syncer.set_mark(mark);
    }

    /// Registers the function told each new durable mark. Only one can be set.
    pub(crate) fn set_durable_listener(&self, listener: DurableListener) -> bool {
        self.syncer.set_listener(listener)
    }

    /// Ends a batch: under [`Durability::EveryBatch`] this fdatasyncs what was appended (group
    /// commit); under [`Durability::Never`] it advances the watermark; otherwise the background
    /// syncer does the work.
    pub fn commit(&mut self) -> Result<()> {
        match self.config.durability {
            Durability::EveryBatch => self.sync(),
            Durability::Never => {
                self.syncer.check()?;
                self.syncer.publish_appended();
                Ok(())
            }
            Durability::Interval(_) | Durability::EveryN(_) => self.syncer.check(),
        }
    }

    /// Makes everything appended so far durable now, whatever the policy.
    ///
    /// A failure is fatal: the journal refuses all further appends and syncs.
    pub fn sync(&mut self) -> Result<()> {
        self.since_sync = 0;
        self.sync_sealed()?;
        if self.config.durability == Durability::Never {
            // The watermark only covers the page cache: sync the active file regardless, then
            // the directory entries of segments installed without a sync.
            self.syncer.sync_forced()?;
            if self.dir_unsynced {
                if let Err(e) = sync_dir(&self.dir) {
                    return Err(self.syncer.fail(self.dir.clone(), e));
                }
                self.dir_unsynced = false;
            }
            Ok(())
        } else {
            self.syncer.sync()
        }
    }

    /// Starts preparing the next segment in the background.
    fn start_preparing(&mut self) {
        if self.preparing.is_none() && self.config.prepare_next {
            let populate = self.config.durability == Durability::Never;
            self.preparing = Preparing::start(&self.dir, self.config.segment_size, populate);
        }
    }

    /// The prepared spare, waiting for it if needed; prepared here if that failed (so the error
    /// is the current one: a full disk is an `Error::Preallocate` at rotation).
    fn take_spare(&mut self) -> Result<Spare> {
        let populate = self.config.durability == Durability::Never;
        let ready = self.preparing.take().map(Preparing::wait);
        match ready {
            Some(Ok(spare)) if spare.map.len() as u64 == self.config.segment_size => Ok(spare),
            _ => spare::prepare(&self.dir, self.config.segment_size, populate),
        }
    }

    /// Waits for the background preparation and deletes the spare.
    fn discard_spare(&mut self) {
        if let Some(p) = self.preparing.take() {
            let _ = p.wait();
        }
        let _ = fs::remove_file(spare::spare_path(&self.dir));
    }

    /// Syncs the segments sealed without a sync (policy `Never`).
    fn sync_sealed(&mut self) -> Result<()> {
        self.syncer.check()?;
        while let Some(sealed) = self.unsynced_sealed.pop() {
            self.syncer.sync_file(&sealed)?;
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the next offset.
    fn rotate(&mut self) -> Result<()> {
        self.syncer.check()?;
        let active = &mut self.active;
        if !active.sealed {
            active.map.store_u32(active.position, SEAL);
            active.sealed = true;
        }
        if self.config.durability != Durability::Never {
            self.syncer.sync_file(&active.active_file())?;
            if let Err(e) = active.index.sync() {
                if let Error::Sync { path, source } = e {
                    return Err(self.syncer.fail(path, source));
                }
                return Err(e);
            }
            self.syncer.publish_appended();
        } else if self.config.seal_sync {
            // One fdatasync per segment, before the next segment exists: a power loss then
            // cannot leave a later segment behind a sealed one whose end never reached the disk.
            // It touches only the sealed segment's pages, never the prefaulted ones of the next.
            self.syncer.sync_file(&active.active_file())?;
        } else {
            self.unsynced_sealed.push(active.active_file());
        }
        let spare = self.take_spare()?;
        let new = Active::from_spare(&self.dir, self.next_offset, spare, &self.config)?;
        if self.config.durability == Durability::Never {
            self.dir_unsynced = true;
        }
        self.syncer.swap_active(new.active_file());
        let old = std::mem::replace(&mut self.active, new);
        self.sealed.push_back(SealedSegment {
            base: old.base,
            bytes: old.map.len() as u64,
            last_timestamp: old.last_timestamp,
        });
        drop(old);
        self.start_preparing();
        if self.config.retention.is_enabled() {
            if let Err(e) = self.apply_retention() {
                tracing::warn!(error = %e, "journal retention failed; will retry at next rotation");
            }
        }
        Ok(())
    }

    /// Deletes the oldest sealed segments beyond the configured [`Retention`](crate::Retention);
    /// returns how many were deleted. Runs automatically after each rotation.
    pub fn apply_retention(&mut self) -> Result<usize> {
        let retention = self.config.retention;
        if !retention.is_enabled() {
            return Ok(0);
        }
        let total = self.sealed.iter().map(|s| s.bytes).sum::<u64>() + self.active.map.len() as u64;
        let n = retention.segments_to_delete(
            self.sealed.iter().map(|s| (s.bytes, s.last_timestamp)),
            total,
            now_ns(),
        );
        self.delete_oldest(n)
    }

    /// Deletes the oldest sealed segments whose records all lie below `offset`; returns how
    /// many were deleted. The active segment is never deleted, so records from its base on
    /// stay. Readers asking for a deleted offset get
    /// [`Error::OffsetOutOfRange`](crate::Error::OffsetOutOfRange).
    ///
    /// This is retention decided by the application: a stream trimmed up to an entry deletes
    /// the segments before it.
    pub fn delete_before(&mut self, offset: u64) -> Result<usize> {
        let next_bases = self
            .sealed
            .iter()
            .skip(1)
            .map(|s| s.base)
            .chain(std::iter::once(self.active.base));
        let n = next_bases.take_while(|&end| end <= offset).count();
        self.delete_oldest(n)
    }

    /// Deletes the `n` oldest sealed segments (fewer if there are fewer), then syncs the
    /// directory.
    fn delete_oldest(&mut self, n: usize) -> Result<usize> {
        let mut deleted = 0;
        for _ in 0..n {
            let Some(s) = self.sealed.front().copied() else {
                break;
            };
            for ext in [LOG_EXT, INDEX_EXT] {
                let path = segment::segment_path(&self.dir, s.base, ext);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::Io { path, source: e }),
                }
            }
            self.sealed.pop_front();
            deleted += 1;
            tracing::debug!(base = s.base, "deleted segment");
        }
        if deleted > 0 {
            sync_dir(&self.dir).at(&self.dir)?;
        }
        Ok(deleted)
    }

    /// Makes everything durable, writes the clean-shutdown marker and releases the lock.
    pub fn close(mut self) -> Result<()> {
        self.stop_sync_thread();
        self.discard_spare();
        self.sync()?;
        if let Err(e) = self.active.index.sync() {
            tracing::warn!(error = %e, "could not sync the index at close (it will be rebuilt)");
        }
        clean_marker::write(
            &self.dir,
            &CleanMarker {
                tail_base: self.active.base,
                tail_position: self.active.position as u64,
                next_offset: self.next_offset,
                last_timestamp: self.active.last_timestamp,
            },
        )
    }

    fn stop_sync_thread(&mut self) {
        if let Some(handle) = self.sync_thread.take() {
            self.syncer.stop_thread();
            let _ = handle.join();
        }
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the open found: whether it was a crash recovery, what it dropped (if anything), the
    /// next offset.
    pub fn open_report(&self) -> OpenReport {
        self.report.clone()
    }

    /// The offset the next record gets.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The first retained offset.
    pub fn first_offset(&self) -> u64 {
        self.sealed.front().map_or(self.active.base, |s| s.base)
    }

    /// Every offset below this is durable under the journal's [`Durability`] policy.
    pub fn durable_next_offset(&self) -> u64 {
        self.syncer.durable_next()
    }

    /// Number of segment files (sealed and active).
    pub fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }

    /// The configuration the journal was opened with.
    pub fn config(&self) -> &JournalConfig {
        &self.config
    }

    /// The first sync failure, if any (after which the journal is stopped).
    pub fn failure(&self) -> Option<Arc<SyncFailure>> {
        self.syncer.failure()
    }

    /// Opens a reader on this journal, positioned at the first retained record.
    pub fn reader(&self) -> Result<JournalReader> {
        JournalReader::open(&self.dir)
    }

    pub(crate) fn syncer(&self) -> &Arc<Syncer> {
        &self.syncer
    }

    /// Makes the next fdatasync fail with `EIO`, to test the fatal-error path.
    #[doc(hidden)]
    pub fn inject_sync_failure(&self) {
        self.syncer.fail_next_sync();
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop_sync_thread();
        if let Some(p) = self.preparing.take() {
            let _ = p.wait(); // like a crash: the spare stays for recovery to delete
        }
    }
}
