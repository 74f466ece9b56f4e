//! [`MultiProducerSequencer`]: claims shared by any number of producer threads.

use super::{check_claim, wait_for_capacity, AvailabilityBuffer};
use crate::error::{BuildError, ClaimError};
use crate::sequence::{minimum_sequence, Sequence};
use crate::sync::Arc;
use crate::{Alert, WaitStrategy};

/// The sequencer for a pipeline with several producers.
///
/// The cursor is the highest *claimed* sequence: a blocking claim is one `fetch_add` on it (no
/// retry loop however many producers contend), a non-blocking claim a CAS loop (it must not
/// claim what it cannot get). A producer publishes by setting its slots' flags in the
/// [`AvailabilityBuffer`], so consumers never read a slot that is claimed but not yet written.
/// The slowest gating sequence is cached in a shared [`Sequence`] so most claims do not read
/// every consumer's counter.
///
/// ```
/// use std::sync::Arc;
/// use nanostream::{Alert, BusySpinWaitStrategy, MultiProducerSequencer, Sequence};
///
/// let consumer = Arc::new(Sequence::default());
/// let seq = MultiProducerSequencer::new(
///     8, vec![consumer], Arc::new(BusySpinWaitStrategy), Arc::new(Alert::new())).unwrap();
/// let a = seq.next().unwrap();   // producer A claims 0
/// let b = seq.next().unwrap();   // producer B claims 1
/// seq.publish(b);                // B publishes first
/// assert!(!seq.is_available(a) && seq.is_available(b));
/// assert_eq!(seq.highest_published(0, 1), -1); // 0 is not readable yet, so nothing is
/// seq.publish(a);
/// assert_eq!(seq.highest_published(0, 1), 1);
/// ```
pub struct MultiProducerSequencer<W> {
    size: i64,
    cursor: Arc<Sequence>,
    gating_cache: Sequence,
    available: Arc<AvailabilityBuffer>,
    gating: Box<[Arc<Sequence>]>,
    wait_strategy: Arc<W>,
    alert: Arc<Alert>,
}

impl<W: WaitStrategy> MultiProducerSequencer<W> {
    /// A sequencer for a ring of `size` slots (a power of two) that never laps the slowest of
    /// `gating`, signals `wait_strategy` on publish and gives up waiting when `alert` is raised.
    ///
    /// Returns [`BuildError::InvalidRingSize`] when `size` is zero, not a power of two, or above
    /// 2^62.
    pub fn new(
        size: usize,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Result<Self, BuildError> {
        Ok(Self::with_parts(
            size,
            Arc::new(Sequence::default()),
            Arc::new(AvailabilityBuffer::new(size)?),
            gating,
            wait_strategy,
            alert,
        ))
    }

    /// As [`new`](Self::new), with the cursor and flags made by the caller (whose size was
    /// checked when the flags were made).
    pub(crate) fn with_parts(
        size: usize,
        cursor: Arc<Sequence>,
        available: Arc<AvailabilityBuffer>,
        gating: Vec<Arc<Sequence>>,
        wait_strategy: Arc<W>,
        alert: Arc<Alert>,
    ) -> Self {
        assert_eq!(
            available.flags_len(),
            size,
            "the flags were made for this ring size"
        );
        Self {
            size: size as i64,
            cursor,
            gating_cache: Sequence::default(),
            available,
            gating: gating.into_boxed_slice(),
            wait_strategy,
            alert,
        }
    }

    /// The claim cursor, shared with consumers.
    pub fn cursor_sequence(&self) -> &Arc<Sequence> {
        &self.cursor
    }

    /// The per-slot publication flags, shared with consumers.
    pub fn availability(&self) -> &Arc<AvailabilityBuffer> {
        &self.available
    }

    /// The highest claimed sequence (not necessarily published).
    pub fn cursor(&self) -> i64 {
        self.cursor.get()
    }

    /// The number of slots.
    pub fn buffer_size(&self) -> i64 {
        self.size
    }

    /// Claims the next slot, waiting while the ring is full. Returns its sequence.
    #[inline]
    #[allow(clippy::should_implement_trait)] // LMAX's name; a claim is not an iterator step
    pub fn next(&self) -> Result<i64, ClaimError> {
        self.next_n(1)
    }

    /// Claims the next `n` slots, waiting while the ring is full. Returns the highest sequence
    /// claimed; the claim is `hi - n + 1 ..= hi`.
    #[inline]
    pub fn next_n(&self, n: i64) -> Result<i64, ClaimError> {
        check_claim(n, self.size)?;
        if self.alert.is_raised() {
            return Err(ClaimError::Halted);
        }
        let current = self.cursor.get_and_add(n);
        let next = current + n;
        let wrap_point = next - self.size;
        let cached = self.gating_cache.get();
        if wrap_point > cached || cached > current {
            let min = wait_for_capacity(&self.gating, wrap_point, current, &self.alert)?;
            self.gating_cache.set(min);
        }
        Ok(next)
    }

    /// Claims the next slot if one is free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next(&self) -> Result<i64, ClaimError> {
        self.try_next_n(1)
    }

    /// Claims the next `n` slots if they are free now; [`ClaimError::Full`] otherwise.
    #[inline]
    pub fn try_next_n(&self, n: i64) -> Result<i64, ClaimError> {
        check_claim(n, self.size)?;
        loop {
            if self.alert.is_raised() {
                return Err(ClaimError::Halted);
            }
            let current = self.cursor.get();
            let next = current + n;
            if !self.has_capacity(n, current) {
                return Err(ClaimError::Full);
            }
            if self.cursor.compare_and_set(current, next) {
                return Ok(next);
            }
        }
    }

    #[inline]
    fn has_capacity(&self, n: i64, cursor_value: i64) -> bool {
        let wrap_point = cursor_value + n - self.size;
        let cached = self.gating_cache.get();
        if wrap_point > cached || cached > cursor_value {
            let min = minimum_sequence(&self.gating, cursor_value);
            self.gating_cache.set(min);
            if wrap_point > min {
                return false;
            }
        }
        true
    }

    /// Whether `n` more slots could be claimed now without waiting.
    pub fn has_available_capacity(&self, n: i64) -> bool {
        n >= 1 && n <= self.size && self.has_capacity(n, self.cursor.get())
    }

    /// How many slots are free now, in `0..=size`.
    ///
    /// Claimed slots count as used, published or not. A blocking claim takes its sequences
    /// before it waits for them to be free, so while any producer is waiting for space the
    /// claims run ahead of the slowest consumer by more than the ring size, and this is 0.
    pub fn remaining_capacity(&self) -> i64 {
        let claimed = self.cursor.get();
        let consumed = minimum_sequence(&self.gating, claimed);
        (self.size - (claimed - consumed)).clamp(0, self.size)
    }

    /// Publishes `sequence`.
    #[inline(always)]
    pub fn publish(&self, sequence: i64) {
        self.available.set_available(sequence);
        self.wait_strategy.signal();
    }

    /// Publishes `low..=high`.
    #[inline]
    pub fn publish_range(&self, low: i64, high: i64) {
        for sequence in low..=high {
            self.available.set_available(sequence);
        }
        self.wait_strategy.signal();
    }

    /// Whether `sequence` has been published.
    pub fn is_available(&self, sequence: i64) -> bool {
        self.available.is_available(sequence)
    }

    /// The highest sequence in `lower..=available` below which every sequence is published.
    pub fn highest_published(&self, lower: i64, available: i64) -> i64 {
        self.available.highest_published(lower, available)
    }
}

impl<W> std::fmt::Debug for MultiProducerSequencer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiProducerSequencer")
            .field("size", &self.size)
            .field("cursor", &self.cursor.get())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::BusySpinWaitStrategy;

    fn sequencer(size: usize) -> (MultiProducerSequencer<BusySpinWaitStrategy>, Arc<Sequence>) {
        let consumer = Arc::new(Sequence::default());
        let s = MultiProducerSequencer::new(
            size,
            vec![consumer.clone()],
            Arc::new(BusySpinWaitStrategy),
            Arc::new(Alert::new()),
        )
        .unwrap();
        (s, consumer)
    }

    #[test]
    fn out_of_order_publication_is_only_readable_in_order() {
        let (s, _) = sequencer(8);
        let a = s.next_n(2).unwrap(); // 0..=1
        let b = s.next().unwrap(); // 2
        assert_eq!((a, b), (1, 2));
        s.publish(b);
        assert_eq!(s.highest_published(0, s.cursor()), -1);
        s.publish_range(0, 1);
        assert_eq!(s.highest_published(0, s.cursor()), 2);
        assert_eq!(s.highest_published(1, 2), 2);
    }

    #[test]
    fn capacity_and_full() {
        let (s, consumer) = sequencer(4);
        assert_eq!(s.try_next_n(4), Ok(3));
        assert_eq!(s.remaining_capacity(), 0);
        assert_eq!(s.try_next(), Err(ClaimError::Full));
        consumer.set(1);
        assert!(s.has_available_capacity(2));
        assert!(!s.has_available_capacity(3));
        assert_eq!(s.try_next_n(2), Ok(5));
        assert_eq!(
            s.try_next_n(5),
            Err(ClaimError::InvalidClaim {
                requested: 5,
                capacity: 4
            })
        );
    }

    #[test]
    fn a_slot_from_the_previous_lap_is_not_available() {
        let (s, consumer) = sequencer(2);
        for sequence in 0..2 {
            assert_eq!(s.next(), Ok(sequence));
            s.publish(sequence);
        }
        consumer.set(1);
        assert_eq!(s.next(), Ok(2)); // slot 0, second lap, claimed but not published
        assert!(s.is_available(0) && !s.is_available(2));
        s.publish(2);
        assert!(s.is_available(2) && !s.is_available(0));
    }

    #[test]
    fn concurrent_claims_never_overlap() {
        let (s, _consumer) = sequencer(1024);
        let s = Arc::new(s);
        let claimed: Vec<Vec<i64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    scope.spawn(move || {
                        (0..256)
                            .map(|_| {
                                let hi = s.try_next_n(2).unwrap();
                                s.publish_range(hi - 1, hi);
                                hi
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<i64> = claimed.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..512).map(|i| i * 2 + 1).collect::<Vec<_>>());
        assert_eq!(s.highest_published(0, s.cursor()), 1023);
    }
}
