//! A memory map of a segment or index file, with the few primitive accesses the format needs.
//!
//! This is the one place where the crate dereferences mapped memory. The protocol that makes it
//! sound: a writer only ever writes bytes that no reader may look at yet (past the last committed
//! record), and commits a record by storing its length word last, with `Release`; readers load
//! that word with `Acquire` before they look at anything it covers, and never form a reference to
//! bytes that are not committed. Committed bytes are never written again, except by recovery,
//! which only zeroes bytes past the valid prefix.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use memmap2::{MmapOptions, MmapRaw};

/// A shared (MAP_SHARED) mapping of a whole file.
#[derive(Debug)]
pub(crate) struct Mapping {
    raw: MmapRaw,
}

impl Mapping {
    /// Maps `file` read-write. The file must be opened for reading and writing.
    pub(crate) fn read_write(file: &File) -> io::Result<Self> {
        Ok(Self {
            raw: MmapOptions::new().map_raw(file)?,
        })
    }

    /// Maps `file` read-only.
    pub(crate) fn read_only(file: &File) -> io::Result<Self> {
        Ok(Self {
            raw: MmapOptions::new().map_raw_read_only(file)?,
        })
    }

    /// Length of the mapping in bytes.
    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    fn check(&self, pos: usize, len: usize) {
        assert!(
            pos.checked_add(len).is_some_and(|end| end <= self.raw.len()),
            "mapping access out of bounds: {pos}+{len} > {}",
            self.raw.len()
        );
    }

    /// Loads the 32-bit word at `pos` (4-aligned) with `Acquire`.
    pub(crate) fn load_u32(&self, pos: usize) -> u32 {
        self.check(pos, 4);
        assert!(pos & 3 == 0, "unaligned atomic access at {pos}");
        // SAFETY: in bounds and 4-aligned (the mapping is page-aligned), checked above; the word
        // is only ever accessed atomically by this crate's writers and readers.
        let word = unsafe { AtomicU32::from_ptr(self.raw.as_mut_ptr().add(pos).cast::<u32>()) };
        word.load(Ordering::Acquire)
    }

    /// Stores the 32-bit word at `pos` (4-aligned) with `Release`: the commit point of a record.
    pub(crate) fn store_u32(&self, pos: usize, value: u32) {
        self.check(pos, 4);
        assert!(pos & 3 == 0, "unaligned atomic access at {pos}");
        // SAFETY: as in `load_u32`; the mapping is writable when this is called (writers only).
        let word = unsafe { AtomicU32::from_ptr(self.raw.as_mut_ptr().add(pos).cast::<u32>()) };
        word.store(value, Ordering::Release);
    }

    /// Reads a little-endian u32 at any position.
    pub(crate) fn read_u32(&self, pos: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read_into(pos, &mut b);
        u32::from_le_bytes(b)
    }

    /// Reads a little-endian u64 at any position.
    pub(crate) fn read_u64(&self, pos: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read_into(pos, &mut b);
        u64::from_le_bytes(b)
    }

    /// Copies bytes out of the mapping.
    pub(crate) fn read_into(&self, pos: usize, out: &mut [u8]) {
        self.check(pos, out.len());
        // SAFETY: the source range is in bounds (checked) and `out` is a distinct local buffer;
        // a byte copy never forms a reference to mapped memory.
        unsafe { std::ptr::copy_nonoverlapping(self.raw.as_ptr().add(pos), out.as_mut_ptr(), out.len()) };
    }

    /// Borrows committed bytes.
    ///
    /// Callers pass only ranges covered by a committed length word that they loaded with
    /// `Acquire` (see the module docs), or ranges of a file no writer has open.
    pub(crate) fn bytes(&self, pos: usize, len: usize) -> &[u8] {
        self.check(pos, len);
        // SAFETY: in bounds (checked); by the commit protocol the range is no longer written by
        // anyone while the mapping (and so this borrow) lives.
        unsafe { std::slice::from_raw_parts(self.raw.as_ptr().add(pos), len) }
    }

    /// Borrows uncommitted bytes for writing. Only the single writer calls this, on a region past
    /// the last committed record, which no reader looks at.
    pub(crate) fn bytes_mut(&mut self, pos: usize, len: usize) -> &mut [u8] {
        self.check(pos, len);
        // SAFETY: in bounds (checked); `&mut self` makes this the only borrow through this
        // mapping, and by the commit protocol no reader (in any process) reads this range before
        // its length word is stored.
        unsafe { std::slice::from_raw_parts_mut(self.raw.as_mut_ptr().add(pos), len) }
    }

    /// Copies `src` into the mapping at `pos` (writer only, uncommitted region).
    pub(crate) fn write(&mut self, pos: usize, src: &[u8]) {
        self.bytes_mut(pos, src.len()).copy_from_slice(src);
    }

    /// Prefaults every page from the one holding `from` to the end, writable, so that later
    /// writes do not fault. Only for a file no reader looks at past `from` and whose blocks are
    /// allocated (preallocated), so that populating cannot fail for lack of space later.
    ///
    /// Uses `madvise(MADV_POPULATE_WRITE)` (Linux 5.14+), which reports failure as an error and
    /// never raises `SIGBUS`; elsewhere it rewrites one byte per page with its own value.
    pub(crate) fn prefault_write(&mut self, from: usize) -> io::Result<()> {
        const PAGE: usize = 4096;
        let start = from.min(self.raw.len()) & !(PAGE - 1);
        let len = self.raw.len() - start;
        if len == 0 {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the range lies inside this mapping (start is page-aligned and below its
            // length, the mapping itself is page-aligned); MADV_POPULATE_WRITE only faults pages
            // in, it does not change their contents.
            let rc = unsafe {
                libc::madvise(
                    self.raw.as_mut_ptr().add(start).cast(),
                    len,
                    libc::MADV_POPULATE_WRITE,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINVAL) {
                return Err(err);
            }
            // EINVAL: a kernel without MADV_POPULATE_WRITE; touch the pages instead.
        }
        let mut pos = start;
        while pos < self.raw.len() {
            // SAFETY: `pos` is in bounds; `&mut self` excludes other accesses through this
            // mapping and the caller guarantees no reader looks at these bytes; writing a byte's
            // own value back changes nothing but makes the page present and writable.
            unsafe {
                let p = self.raw.as_mut_ptr().add(pos);
                p.write_volatile(p.read_volatile());
            }
            pos += PAGE;
        }
        Ok(())
    }

    /// Writes back a byte range (msync with `MS_SYNC`).
    pub(crate) fn flush_range(&self, pos: usize, len: usize) -> io::Result<()> {
        self.check(pos, len);
        if len == 0 {
            return Ok(());
        }
        self.raw.flush_range(pos, len)
    }
}
