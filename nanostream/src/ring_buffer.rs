//! [`RingBuffer`]: the pre-allocated, power-of-two array of events.

use crate::error::BuildError;
use crate::sync::UnsafeCell;

/// A fixed array of `size` events, built once by a factory and reused forever.
///
/// The size is a power of two so a sequence maps to its slot with a mask instead of a division.
/// Events are never dropped or re-created while the ring lives: a producer overwrites the fields
/// of the event in a slot, so publishing allocates nothing.
///
/// The ring itself enforces nothing about who may touch a slot: the sequencers and barriers do.
/// A producer writes slot `s` only after claiming sequence `s` (which requires every gating
/// consumer to have passed `s - size`), and a consumer reads it only after the sequencer has
/// published `s`; that is what makes the `unsafe` accessors below sound.
pub struct RingBuffer<E> {
    slots: Box<[UnsafeCell<E>]>,
    mask: i64,
}

impl<E> RingBuffer<E> {
    /// Builds a ring of `size` events, each made by `factory`.
    ///
    /// Returns [`BuildError::InvalidRingSize`] when `size` is zero or not a power of two, and
    /// [`BuildError::RingTooLarge`] when the memory for `size` events cannot be allocated.
    ///
    /// ```
    /// use nanostream::RingBuffer;
    ///
    /// let ring = RingBuffer::new(8, || 0u64).unwrap();
    /// assert_eq!(ring.size(), 8);
    /// assert!(RingBuffer::new(1000, || 0u64).is_err());
    /// ```
    pub fn new<F: FnMut() -> E>(size: usize, mut factory: F) -> Result<Self, BuildError> {
        check_size(size)?;
        let mut slots = Vec::new();
        if slots.try_reserve_exact(size).is_err() {
            return Err(BuildError::RingTooLarge {
                size,
                bytes: size as u128 * std::mem::size_of::<E>() as u128,
            });
        }
        slots.extend((0..size).map(|_| UnsafeCell::new(factory())));
        let slots = slots.into_boxed_slice();
        Ok(Self {
            slots,
            mask: size as i64 - 1,
        })
    }

    /// The number of slots.
    #[inline]
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// The slots, borrowed: what a producer writes through.
    #[inline(always)]
    pub(crate) fn view(&self) -> RingView<'_, E> {
        RingView {
            slots: &self.slots,
            mask: self.mask,
        }
    }

    /// A shared reference to the event for `sequence`.
    ///
    /// # Safety
    /// The caller must hold read access to `sequence`: it has been published and no producer can
    /// claim it again until the caller's sequence (or a sequence gated on it) moves past it.
    #[inline(always)]
    pub(crate) unsafe fn get(&self, sequence: i64) -> &E {
        // SAFETY: the caller guarantees no one writes this slot while the reference lives.
        self.view().slot(sequence).with(|p| unsafe { &*p })
    }

    /// An exclusive reference to the event for `sequence`.
    ///
    /// # Safety
    /// As [`RingView::get_mut`].
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub(crate) unsafe fn get_mut(&self, sequence: i64) -> &mut E {
        // SAFETY: the caller upholds `RingView::get_mut`'s contract.
        unsafe { self.view().get_mut(sequence) }
    }
}

/// The slots of a [`RingBuffer`], borrowed: a slice and the mask, two words a producer can keep
/// in registers (a [`Publisher`](crate::Publisher) copies it once instead of reading the ring's
/// fields on every publish).
///
/// `pub` only so that the sealed producer trait can return it: this module is private, so users
/// can neither name it nor call its methods.
pub struct RingView<'a, E> {
    slots: &'a [UnsafeCell<E>],
    mask: i64,
}

impl<E> Clone for RingView<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for RingView<'_, E> {}

impl<'a, E> RingView<'a, E> {
    /// The number of slots.
    #[inline(always)]
    pub(crate) fn size(self) -> usize {
        self.slots.len()
    }

    #[inline(always)]
    fn slot(self, sequence: i64) -> &'a UnsafeCell<E> {
        let index = (sequence & self.mask) as usize;
        debug_assert!(index < self.slots.len());
        // SAFETY: `mask == len - 1` with `len` a power of two, so `sequence & mask` is in
        // `0..len` for every `sequence` (negative ones included: two's complement masking).
        unsafe { self.slots.get_unchecked(index) }
    }

    /// An exclusive reference to the event for `sequence`.
    ///
    /// # Safety
    /// The caller must hold write access to `sequence`: either it claimed `sequence` from the
    /// sequencer and has not yet published it, or it is the only consumer allowed to mutate it
    /// (a mutable stage) and holds it between its barrier and its own sequence update.
    #[inline(always)]
    pub(crate) unsafe fn get_mut(self, sequence: i64) -> &'a mut E {
        // SAFETY: the caller guarantees exclusive access to this slot while the reference lives.
        self.slot(sequence).with_mut(|p| unsafe { &mut *p })
    }
}

impl<E> std::fmt::Debug for RingView<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingView")
            .field("size", &self.slots.len())
            .finish()
    }
}

impl<E> std::fmt::Debug for RingBuffer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer").field("size", &self.size()).finish()
    }
}

// SAFETY: events are moved into the ring once and accessed from several threads: producers write
// (`&mut E` across threads needs `E: Send`) and consumers read (`&E` across threads needs
// `E: Sync`). Exclusive/shared access to each slot is arbitrated by the sequencer protocol.
unsafe impl<E: Send + Sync> Sync for RingBuffer<E> {}
// SAFETY: the ring owns its events; sending it sends them.
unsafe impl<E: Send> Send for RingBuffer<E> {}

/// Checks that `size` is a valid ring size.
pub(crate) fn check_size(size: usize) -> Result<(), BuildError> {
    if size == 0 || !size.is_power_of_two() || size > (1 << 62) {
        return Err(BuildError::InvalidRingSize { size });
    }
    Ok(())
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_be_powers_of_two() {
        for size in [0, 3, 1000, 6] {
            let err = RingBuffer::new(size, || 0u8).unwrap_err();
            assert_eq!(err, BuildError::InvalidRingSize { size });
        }
        assert!(err_text(0).contains("ring size 0 is not a power of two"));
        assert!(err_text(1000).contains("try 1024"));
        for size in [1, 2, 1024] {
            assert_eq!(RingBuffer::new(size, || 0u8).unwrap().size(), size);
        }
    }

    fn err_text(size: usize) -> String {
        RingBuffer::new(size, || 0u8).unwrap_err().to_string()
    }

    #[test]
    fn the_factory_runs_once_per_slot_and_sequences_wrap() {
        let mut made = 0;
        let ring = RingBuffer::new(4, || {
            made += 1;
            made
        })
        .unwrap();
        assert_eq!(made, 4);
        // SAFETY: single-threaded test; no other reference to the ring exists.
        unsafe {
            assert_eq!(*ring.get(0), 1);
            assert_eq!(*ring.get(5), 2, "sequence 5 maps to slot 1");
            *ring.get_mut(7) = 40;
            assert_eq!(*ring.get(3), 40);
        }
    }
}
