//! [`AvailabilityBuffer`]: per-slot publication flags, stored inside the ring's slots.

use std::ptr::NonNull;

use crate::sync::{AtomicI32, Ordering};

/// One flag a slot saying which lap of the ring was last published into it.
///
/// Producers mark each slot here after writing it (`Release`); a consumer reads a slot only when
/// the flag holds the lap number (`sequence >> log2(size)`) of the sequence it wants, so a slot
/// that is claimed but not yet published, or still holds last lap's event, is never read. With
/// several producers this is what makes out-of-order publication safe (sequence 7 can be
/// published before 6); with one producer it is what lets consumers never read the cursor.
///
/// # Why the flags live in the slots
///
/// A ring built by [`Builder`](crate::Builder) keeps each flag in the same cache line as its
/// event (see [`RingBuffer`](crate::RingBuffer)). A consumer that has caught up then waits on
/// the line it is about to read anyway, and a publish dirties one line instead of two (the event's
/// and a shared cursor's). Both ends of the LMAX design, where consumers spin on the cursor, pay
/// two cross-core line transfers per consumer batch; this pays one. Measured on the 2-core AMD
/// EPYC machine of `benches/README.md` ("Why publication is a flag in the slot"): a 1P-1C
/// stream of `u64` ran at 2.7–3× the rate of the same loop spinning on a cursor, and at the
/// cursor's rate when the flags were a separate array; co-location, not the flags, is the win.
///
/// This type is a view: it points at the flags wherever they live (inside a ring's slots, or in
/// an array of their own for a standalone sequencer) and keeps that memory alive. Clones share
/// the flags.
pub struct AvailabilityBuffer {
    /// The flag of slot 0; slot `i`'s flag is `stride * i` bytes further.
    base: NonNull<AtomicI32>,
    stride: usize,
    mask: i64,
    shift: u32,
    /// Keeps the memory `base` points into alive (a `std` `Arc` even under loom: it is only
    /// ownership, never synchronization).
    _owner: std::sync::Arc<dyn Send + Sync>,
}

// SAFETY: the buffer only hands out `&AtomicI32`s, which are `Send + Sync`; the memory they live
// in is kept alive by `_owner`, which is itself `Send + Sync`.
unsafe impl Send for AvailabilityBuffer {}
// SAFETY: as above; all access through `&self` is by atomic operations.
unsafe impl Sync for AvailabilityBuffer {}

impl AvailabilityBuffer {
    /// Flags of their own (not inside a ring) for `size` slots (a power of two), all unpublished.
    /// Standalone sequencers use this; a pipeline's flags live in its ring's slots.
    pub fn new(size: usize) -> Self {
        assert!(
            size.is_power_of_two(),
            "the ring size {size} is not a power of two"
        );
        let flags: Box<[AtomicI32]> = (0..size).map(|_| AtomicI32::new(-1)).collect();
        let owner = std::sync::Arc::new(flags);
        let base = NonNull::from(&owner[..]).cast::<AtomicI32>();
        // SAFETY: `base` is the first of `size` contiguous `AtomicI32`s owned by `owner`, which
        // the buffer keeps alive and never moves (it is behind an `Arc`).
        unsafe { Self::from_raw_parts(base, std::mem::size_of::<AtomicI32>(), size, owner) }
    }

    /// A view of `size` flags, the first at `base` and each `stride` bytes after the previous.
    ///
    /// # Safety
    /// For every `i < size`, `base` advanced by `i * stride` bytes must point to a live
    /// `AtomicI32` for as long as `owner` lives, that nothing accesses other than atomically.
    pub(crate) unsafe fn from_raw_parts(
        base: NonNull<AtomicI32>,
        stride: usize,
        size: usize,
        owner: std::sync::Arc<dyn Send + Sync>,
    ) -> Self {
        debug_assert!(size.is_power_of_two());
        Self {
            base,
            stride,
            mask: size as i64 - 1,
            shift: size.trailing_zeros(),
            _owner: owner,
        }
    }

    /// The number of slots.
    pub fn size(&self) -> usize {
        (self.mask + 1) as usize
    }

    #[inline(always)]
    fn flag(&self, sequence: i64) -> &AtomicI32 {
        let index = (sequence & self.mask) as usize;
        // SAFETY: `mask == size - 1` with `size` a power of two, so `index < size`, and by the
        // contract of `from_raw_parts` the flag `index * stride` bytes after `base` is a live
        // `AtomicI32` for as long as `self` (which holds its owner) lives.
        unsafe {
            &*self
                .base
                .as_ptr()
                .cast::<u8>()
                .add(index * self.stride)
                .cast::<AtomicI32>()
        }
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

    /// Marks `low..=high` as published.
    #[inline(always)]
    pub fn set_range_available(&self, low: i64, high: i64) {
        for sequence in low..=high {
            self.set_available(sequence);
        }
    }

    /// Whether `sequence` has been published.
    #[inline(always)]
    pub fn is_available(&self, sequence: i64) -> bool {
        self.flag(sequence).load(Ordering::Acquire) == self.lap(sequence)
    }

    /// The highest sequence in `lower..=available` below which every sequence is published
    /// (`lower - 1` if `lower` is not).
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

impl Clone for AvailabilityBuffer {
    fn clone(&self) -> Self {
        Self {
            base: self.base,
            stride: self.stride,
            mask: self.mask,
            shift: self.shift,
            _owner: self._owner.clone(),
        }
    }
}

impl std::fmt::Debug for AvailabilityBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvailabilityBuffer")
            .field("size", &self.size())
            .field("stride", &self.stride)
            .finish()
    }
}
