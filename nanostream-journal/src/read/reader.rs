//! [`JournalReader`]: reads records from any offset, across segments, and follows a live journal.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};
use crate::format::index;
use crate::format::meta;
use crate::format::record::{probe, Probe};
use crate::format::segment::{self, INDEX_EXT, LOG_EXT, SEGMENT_HEADER_LEN};
use crate::mapping::Mapping;
use crate::read::scan::{scan, Stop};

/// One record, borrowed from the reader's memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record's offset: its position in the journal, counted from 0, contiguous.
    pub offset: u64,
    /// When it was appended, in nanoseconds since the Unix epoch.
    pub timestamp: u64,
    /// The payload.
    pub payload: &'a [u8],
}

#[derive(Debug)]
struct Cursor {
    base: u64,
    path: PathBuf,
    _file: File,
    map: Mapping,
    seed: u64,
    position: usize,
}

#[derive(Debug, Clone, Copy)]
struct Loc {
    offset: u64,
    timestamp: u64,
    payload_pos: usize,
    payload_len: usize,
}

/// Reads a journal directory; never takes the writer lock, so it can run beside a live writer in
/// the same or another process, and follow it.
///
/// Every record is checked (length, sequence, CRC) before it is returned; a record that fails is
/// reported as [`Error::Corrupt`] with its segment and offset, and the reader does not move past
/// it.
///
/// ```
/// # fn main() -> Result<(), nanostream_journal::Error> {
/// # let dir = std::env::temp_dir().join(format!("nsj-doc-reader-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// use nanostream_journal::{Journal, JournalConfig, JournalReader};
/// let mut journal = Journal::open(&dir, JournalConfig::new().segment_size(1 << 20))?;
/// for i in 0..10u8 {
///     journal.append(&[i])?;
/// }
/// journal.commit()?;
/// let mut reader = JournalReader::open(&dir)?;
/// reader.seek(7)?;
/// let record = reader.read_next()?.expect("record 7");
/// assert_eq!((record.offset, record.payload), (7, &[7u8][..]));
/// # journal.close()?;
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    cursor: Option<Cursor>,
    next_offset: u64,
    /// When the directory was last listed to see whether the cursor's segment is still the last.
    listed_at: Option<Instant>,
    /// A segment after the cursor's exists, so an empty slot in it is damage.
    superseded: bool,
}

impl JournalReader {
    /// Opens a reader positioned at the first retained record.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        meta::check(&dir)?;
        let bases = segment::list(&dir)?;
        let mut reader = Self {
            dir,
            cursor: None,
            next_offset: bases.first().copied().unwrap_or(0),
            listed_at: None,
            superseded: false,
        };
        if let Some(&first) = bases.first() {
            reader.cursor = reader.open_cursor(first)?;
        }
        Ok(reader)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The offset of the record the next read returns.
    pub fn position(&self) -> u64 {
        self.next_offset
    }

    fn open_cursor(&self, base: u64) -> Result<Option<Cursor>> {
        let (file, header) = match segment::open(&self.dir, base, false) {
            Ok(x) => x,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let path = segment::segment_path(&self.dir, base, LOG_EXT);
        let map = Mapping::read_only(&file).at(&path)?;
        Ok(Some(Cursor {
            base,
            path,
            _file: file,
            map,
            seed: header.seed,
            position: SEGMENT_HEADER_LEN,
        }))
    }

    /// Positions the reader so that the next read returns the record at `offset`.
    ///
    /// `offset` may be the next offset to be written (to follow the live tail from there).
    pub fn seek(&mut self, offset: u64) -> Result<()> {
        let bases = segment::list(&self.dir)?;
        let first = bases.first().copied().unwrap_or(0);
        let Some(i) = bases.partition_point(|&b| b <= offset).checked_sub(1) else {
            if bases.is_empty() && offset == 0 {
                self.cursor = None;
                self.next_offset = 0;
                return Ok(());
            }
            return Err(Error::OffsetOutOfRange {
                offset,
                first,
                next: first,
            });
        };
        let base = bases[i];
        let Some(mut cursor) = self.open_cursor(base)? else {
            return Err(Error::Deleted { offset, first: base });
        };
        let mut start = (SEGMENT_HEADER_LEN, base);
        let index_path = segment::segment_path(&self.dir, base, INDEX_EXT);
        if let Ok(entries) = index::load(&index_path, base, cursor.seed, cursor.map.len() as u64) {
            if let Some(e) = index::floor(&entries, offset) {
                // The index is only a hint: use an entry only if it points at the right record.
                let pos = e.position as usize;
                if pos & 7 == 0
                    && pos + 8 <= cursor.map.len()
                    && matches!(
                        probe(&cursor.map, cursor.seed, pos, e.offset),
                        Probe::Record { .. }
                    )
                {
                    start = (pos, e.offset);
                }
            }
        }
        cursor.position = start.0;
        self.cursor = Some(cursor);
        self.superseded = false;
        self.next_offset = start.1;
        while self.next_offset < offset {
            if self.poll()?.is_none() {
                return Err(Error::OffsetOutOfRange {
                    offset,
                    first,
                    next: self.next_offset,
                });
            }
        }
        Ok(())
    }

    /// The offset after the last record in the journal now: the offset the writer appends next.
    ///
    /// Found from the newest segment's index and a scan of the records after its last entry, so
    /// it costs the same whatever the size of the journal (with [`seek`](Self::seek), which also
    /// starts from the index, `tail -n N` reads O(N) records). A record at the end of the newest
    /// segment that fails its check is reported as [`Error::Corrupt`].
    pub fn end_offset(&self) -> Result<u64> {
        let bases = segment::list(&self.dir)?;
        let Some(&base) = bases.last() else {
            return Ok(self.next_offset);
        };
        let Some(cursor) = self.open_cursor(base)? else {
            return Err(Error::Deleted {
                offset: base,
                first: base,
            });
        };
        let mut start = (SEGMENT_HEADER_LEN, base);
        let index_path = segment::segment_path(&self.dir, base, INDEX_EXT);
        if let Ok(entries) = index::load(&index_path, base, cursor.seed, cursor.map.len() as u64) {
            // The index is only a hint: the last entry that points at the right record.
            if let Some(e) = entries.iter().rev().find(|e| {
                let pos = e.position as usize;
                pos & 7 == 0
                    && pos + 8 <= cursor.map.len()
                    && matches!(
                        probe(&cursor.map, cursor.seed, pos, e.offset),
                        Probe::Record { .. }
                    )
            }) {
                start = (e.position as usize, e.offset);
            }
        }
        let s = scan(&cursor.map, cursor.seed, start.0, start.1, |_, _, _| {});
        match s.stop {
            Stop::Empty | Stop::Sealed => Ok(s.next_offset),
            Stop::Invalid(reason) => Err(Error::Corrupt {
                segment: cursor.path,
                offset: s.next_offset,
                position: s.end as u64,
                reason,
            }),
        }
    }

    /// Moves the reader to the next record's location, if there is one now.
    fn poll(&mut self) -> Result<Option<Loc>> {
        loop {
            let Some(cursor) = self.cursor.as_mut() else {
                match self.open_cursor(self.next_offset)? {
                    Some(c) => {
                        self.cursor = Some(c);
                        self.superseded = false;
                        continue;
                    }
                    None => return Ok(None),
                }
            };
            match probe(&cursor.map, cursor.seed, cursor.position, self.next_offset) {
                Probe::Empty => {
                    if !self.superseded()? {
                        return Ok(None);
                    }
                    // A later segment exists, and the writer seals a segment before it creates
                    // the next: look once more, then an empty slot here is damage.
                    let Some(cursor) = self.cursor.as_ref() else {
                        return Ok(None);
                    };
                    if probe(&cursor.map, cursor.seed, cursor.position, self.next_offset) == Probe::Empty {
                        return Err(Error::Corrupt {
                            segment: cursor.path.clone(),
                            offset: self.next_offset,
                            position: cursor.position as u64,
                            reason: "empty slot in a segment that is not the last one (the \
                                     segment ends without a seal marker, but a later segment \
                                     exists)",
                        });
                    }
                }
                Probe::Record {
                    timestamp,
                    payload_pos,
                    payload_len,
                    next_pos,
                } => {
                    cursor.position = next_pos;
                    let loc = Loc {
                        offset: self.next_offset,
                        timestamp,
                        payload_pos,
                        payload_len,
                    };
                    self.next_offset += 1;
                    return Ok(Some(loc));
                }
                Probe::Invalid(reason) => {
                    return Err(Error::Corrupt {
                        segment: cursor.path.clone(),
                        offset: self.next_offset,
                        position: cursor.position as u64,
                        reason,
                    })
                }
                Probe::Sealed => match self.open_cursor(self.next_offset)? {
                    Some(next) => {
                        self.cursor = Some(next);
                        self.superseded = false;
                    }
                    None => {
                        // Not created yet, unless later segments exist: then it is gone. The
                        // writer may have created it, and more, since the attempt to open it:
                        // segments are created in order, so once one at or after it is listed,
                        // a second attempt tells.
                        let bases = segment::list(&self.dir)?;
                        if bases.iter().any(|&b| b >= self.next_offset) {
                            if let Some(next) = self.open_cursor(self.next_offset)? {
                                self.cursor = Some(next);
                                self.superseded = false;
                                continue;
                            }
                        }
                        return match bases.iter().find(|&&b| b > self.next_offset) {
                            None => Ok(None),
                            Some(_) if bases[0] > self.next_offset => Err(Error::Deleted {
                                offset: self.next_offset,
                                first: bases[0],
                            }),
                            Some(_) => Err(Error::CorruptSegment {
                                segment: segment::segment_path(&self.dir, self.next_offset, LOG_EXT),
                                reason: "missing: the previous segment ends here but later \
                                         segments exist"
                                    .into(),
                            }),
                        };
                    }
                },
            }
        }
    }

    /// Whether a segment after the cursor's exists. Lists the directory at most once a
    /// millisecond (a follower at the live tail asks on every poll); once a later segment has
    /// been seen the answer stays yes for this cursor.
    fn superseded(&mut self) -> Result<bool> {
        let Some(cursor) = self.cursor.as_ref() else {
            return Ok(false);
        };
        if self.superseded {
            return Ok(true);
        }
        let now = Instant::now();
        if self
            .listed_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(1))
        {
            return Ok(false);
        }
        self.listed_at = Some(now);
        let base = cursor.base;
        self.superseded = segment::list(&self.dir)?.iter().any(|&b| b > base);
        Ok(self.superseded)
    }

    fn record(&self, loc: Option<Loc>) -> Option<Record<'_>> {
        let (loc, cursor) = (loc?, self.cursor.as_ref()?);
        Some(Record {
            offset: loc.offset,
            timestamp: loc.timestamp,
            payload: cursor.map.bytes(loc.payload_pos, loc.payload_len),
        })
    }

    /// Returns the next record if one is there now, `None` at the current end of the journal.
    pub fn read_next(&mut self) -> Result<Option<Record<'_>>> {
        let loc = self.poll()?;
        Ok(self.record(loc))
    }

    /// Returns the next record, waiting up to `timeout` for the writer (in this or another
    /// process) to append it; `None` if none came in time.
    pub fn wait_next(&mut self, timeout: Duration) -> Result<Option<Record<'_>>> {
        let deadline = Instant::now() + timeout;
        let mut idle = 0u32;
        loop {
            if let Some(loc) = self.poll()? {
                return Ok(self.record(Some(loc)));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            idle += 1;
            if idle < 64 {
                std::hint::spin_loop();
            } else if idle < 128 {
                std::thread::yield_now();
            } else {
                std::thread::sleep((deadline - now).min(Duration::from_micros(200)));
            }
        }
    }
}
