//! [`Sequence`]: the cache-padded counter every producer and consumer publishes its progress in,
//! and [`DependentSequences`], the sequences a consumer waits for.

use crossbeam_utils::CachePadded;

use crate::error::BuildError;
use crate::sync::{Arc, AtomicI64, Ordering};

/// A cache-padded atomic `i64` counter.
///
/// Every party in a pipeline tracks its progress in a `Sequence`: the producer's cursor, each
/// consumer's last processed event. Each is written by one thread and read by others, so it sits
/// alone on its own cache line(s) ([`CachePadded`]): a write by its owner never invalidates the line
/// another counter lives on (false sharing costs tens of nanoseconds a write).
///
/// Reads are `Acquire` and writes `Release`: a consumer that reads a producer's cursor also sees the
/// event the producer wrote before publishing it.
///
/// ```
/// use nanostream::Sequence;
///
/// let seq = Sequence::default();
/// assert_eq!(seq.get(), Sequence::INITIAL);
/// seq.set(41);
/// assert_eq!(seq.add_and_get(1), 42);
/// assert!(seq.compare_and_set(42, 50));
/// assert_eq!(seq.get(), 50);
/// ```
#[derive(Debug)]
pub struct Sequence {
    value: CachePadded<AtomicI64>,
}

impl Sequence {
    /// The value of a sequence that has seen nothing yet: the first event has sequence 0.
    pub const INITIAL: i64 = -1;

    /// A sequence starting at `initial`.
    pub fn new(initial: i64) -> Self {
        Self {
            value: CachePadded::new(AtomicI64::new(initial)),
        }
    }

    /// The current value, with `Acquire` ordering.
    #[inline(always)]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Acquire)
    }

    /// The current value with `Relaxed` ordering: for monitoring, where no data depends on it.
    #[inline(always)]
    pub fn get_relaxed(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Stores `value` with `Release` ordering: everything written before is visible to a thread
    /// that reads this value with [`get`](Self::get).
    #[inline(always)]
    pub fn set(&self, value: i64) {
        self.value.store(value, Ordering::Release);
    }

    /// Stores `value` with `SeqCst` ordering (a full fence on x86): use when a later load must not
    /// be reordered before this store.
    #[inline]
    pub fn set_seq_cst(&self, value: i64) {
        self.value.store(value, Ordering::SeqCst);
    }

    /// Sets the value to `new` if it is `expected`; returns whether it did.
    #[inline]
    pub fn compare_and_set(&self, expected: i64, new: i64) -> bool {
        self.value
            .compare_exchange(expected, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Adds `increment` and returns the new value.
    #[inline]
    pub fn add_and_get(&self, increment: i64) -> i64 {
        self.value.fetch_add(increment, Ordering::AcqRel) + increment
    }

    /// Adds `increment` and returns the previous value.
    #[inline]
    pub fn get_and_add(&self, increment: i64) -> i64 {
        self.value.fetch_add(increment, Ordering::AcqRel)
    }
}

impl Default for Sequence {
    /// A sequence at [`Sequence::INITIAL`].
    fn default() -> Self {
        Self::new(Self::INITIAL)
    }
}

/// The smallest value among `sequences`, or `default` when there are none.
#[inline]
pub(crate) fn minimum_sequence(sequences: &[crate::sync::Arc<Sequence>], default: i64) -> i64 {
    let mut min = default;
    for s in sequences {
        let v = s.get();
        if v < min {
            min = v;
        }
    }
    min
}
/// The sequences a consumer must wait for: the producer's cursor for a first-stage consumer, or
/// the sequences of every upstream consumer (plus any extra sequence the user gated the stage
/// on) for a later one.
#[derive(Debug, Clone)]
pub struct DependentSequences {
    sequences: Box<[Arc<Sequence>]>,
}

impl DependentSequences {
    /// Depends on `sequences`.
    ///
    /// Returns [`BuildError::NoDependencies`] when `sequences` is empty: a consumer must depend
    /// on the producer's cursor or on consumers that do.
    pub fn new(sequences: Vec<Arc<Sequence>>) -> Result<Self, BuildError> {
        if sequences.is_empty() {
            return Err(BuildError::NoDependencies);
        }
        Ok(Self {
            sequences: sequences.into_boxed_slice(),
        })
    }

    /// The minimum of the dependent sequences: the highest sequence every one of them has
    /// reached.
    #[inline(always)]
    pub fn get(&self) -> i64 {
        if let [only] = &*self.sequences {
            return only.get();
        }
        minimum_sequence(&self.sequences, i64::MAX)
    }

    /// The sequences depended on.
    pub fn sequences(&self) -> &[Arc<Sequence>] {
        &self.sequences
    }
}
