//! [`AvailabilityBuffer`]: per-slot publication flags for the multi-producer sequencer.

use crate::error::BuildError;
use crate::ring_buffer::check_size;
use crate::sync::{AtomicI32, Ordering};

/// One flag a slot saying which lap of the ring was last published into it.
///
/// With several producers, sequence 7 can be published before sequence 6 (its producer was
/// faster), so the cursor cannot say what is readable. Each producer marks its own slots here
/// after writing them; a consumer reads a slot only when the flag holds the lap number
/// (`sequence >> log2(size)`) of the sequence it wants, so a slot that is claimed but not yet
/// published, or still holds last lap's event, is never read.
#[derive(Debug)]
pub struct AvailabilityBuffer {
    flags: Box<[AtomicI32]>,
    mask: i64,
    shift: u32,
}

impl AvailabilityBuffer {
    /// Flags for a ring of `size` slots (a power of two), all unpublished.
    ///
    /// Returns [`BuildError::InvalidRingSize`] when `size` is zero, not a power of two, or above
    /// 2^62 (the flag of a sequence is found with a mask, which is only in bounds for those), and
    /// [`BuildError::RingTooLarge`] when the flags cannot be allocated.
    ///
    /// ```
    /// use nanostream::AvailabilityBuffer;
    ///
    /// let flags = AvailabilityBuffer::new(4).unwrap();
    /// flags.set_available(5);
    /// assert!(flags.is_available(5) && !flags.is_available(1));
    /// assert!(AvailabilityBuffer::new(0).is_err());
    /// ```
    pub fn new(size: usize) -> Result<Self, BuildError> {
        check_size(size)?;
        let mut flags = Vec::new();
        if flags.try_reserve_exact(size).is_err() {
            return Err(BuildError::RingTooLarge {
                size,
                bytes: size as u128 * 4,
            });
        }
        flags.extend((0..size).map(|_| AtomicI32::new(-1)));
        Ok(Self {
            flags: flags.into_boxed_slice(),
            mask: size as i64 - 1,
            shift: size.trailing_zeros(),
        })
    }

    /// The number of flags (the ring size).
    pub(crate) fn flags_len(&self) -> usize {
        self.flags.len()
    }

    #[inline(always)]
    fn flag(&self, sequence: i64) -> &AtomicI32 {
        let index = (sequence & self.mask) as usize;
        debug_assert!(index < self.flags.len());
        // SAFETY: `mask == len - 1` and `len` is a power of two, so the index is in bounds.
        unsafe { self.flags.get_unchecked(index) }
    }

    #[inline(always)]
    fn lap(&self, sequence: i64) -> i32 {
        // Truncation is fine: laps are compared for equality only, and a slot's flag can be at
        // most one lap behind, so wrapping after 2^31 laps cannot produce a false match.
        (sequence >> self.shift) as i32
    }

    /// Marks `sequence` as published (`Release`: the event written before is visible to a reader
    /// that sees the flag).
    #[inline(always)]
    pub fn set_available(&self, sequence: i64) {
        self.flag(sequence).store(self.lap(sequence), Ordering::Release);
    }

    /// Whether `sequence` has been published.
    #[inline(always)]
    pub fn is_available(&self, sequence: i64) -> bool {
        self.flag(sequence).load(Ordering::Acquire) == self.lap(sequence)
    }

    /// The highest sequence in `lower..=available` below which every sequence is published.
    #[inline]
    pub fn highest_published(&self, lower: i64, available: i64) -> i64 {
        let mut sequence = lower;
        while sequence <= available {
            if !self.is_available(sequence) {
                return sequence - 1;
            }
            sequence += 1;
        }
        available
    }
}

impl super::PublishedSequence for crate::sync::Arc<AvailabilityBuffer> {
    #[inline(always)]
    fn highest_published(&self, lower: i64, available: i64) -> i64 {
        AvailabilityBuffer::highest_published(self, lower, available)
    }
}
