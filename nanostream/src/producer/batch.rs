//! [`BatchIter`]: the claimed slots of a batch publish.

use crate::ring_buffer::RingView;

/// The events of a batch claim, in sequence order, for a batch translator to fill in.
///
/// Each item is a distinct slot claimed by this producer, so the `&mut` items may be held at
/// the same time.
pub struct BatchIter<'a, E> {
    ring: RingView<'a, E>,
    first: i64,
    next: i64,
    high: i64,
}

impl<'a, E> BatchIter<'a, E> {
    pub(crate) fn new(ring: RingView<'a, E>, low: i64, high: i64) -> Self {
        debug_assert!(high - low < ring.size() as i64);
        Self {
            ring,
            first: low,
            next: low,
            high,
        }
    }

    /// The sequence of the first event of the batch.
    pub fn first_sequence(&self) -> i64 {
        self.first
    }

    /// The sequence of the next event this iterator yields.
    pub fn next_sequence(&self) -> i64 {
        self.next
    }
}

impl<'a, E> Iterator for BatchIter<'a, E> {
    type Item = &'a mut E;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a mut E> {
        if self.next > self.high {
            return None;
        }
        let sequence = self.next;
        self.next += 1;
        // SAFETY: `low..=high` is claimed by this producer and unpublished, spans at most the
        // ring size (so no two sequences share a slot), and each sequence is yielded once: the
        // `&mut` items never alias.
        Some(unsafe { self.ring.get_mut(sequence) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.high - self.next + 1).max(0) as usize;
        (left, Some(left))
    }
}

impl<E> ExactSizeIterator for BatchIter<'_, E> {}

impl<E> std::fmt::Debug for BatchIter<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchIter")
            .field("first", &self.first)
            .field("next", &self.next)
            .field("high", &self.high)
            .finish()
    }
}
