//! Property tests of the claim arithmetic: whatever claim sizes are asked for (zero, negative,
//! the ring size, `i64::MAX`) and however the consumer moves, every sequencer hands out
//! contiguous claims that never lap the consumer, refuses every invalid size before any
//! arithmetic, and never moves its cursor backwards.

#![cfg(not(loom))]

use std::sync::Arc;

use nanostream::{
    Alert, BlockingWaitStrategy, ClaimError, MultiProducerSequencer, Sequence, SingleProducerSequencer,
};
use proptest::prelude::*;

/// One step of a scenario: a claim of `n` slots, or the consumer moving `by` slots forward.
#[derive(Debug, Clone)]
enum Step {
    Claim(i64),
    Consume(i64),
}

/// Claim sizes with the extremes over-represented.
fn claim_size() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1i64),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(1i64 << 62),
        1i64..=4,
        1i64..=1100,
        any::<i64>(),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            3 => claim_size().prop_map(Step::Claim),
            1 => (0i64..=1100).prop_map(Step::Consume),
        ],
        1..200,
    )
}

/// The model both sequencers are checked against.
struct Model {
    size: i64,
    claimed: i64,
    consumed: i64,
}

impl Model {
    /// What a non-blocking claim of `n` must answer.
    fn claim(&mut self, n: i64) -> Result<i64, ClaimError> {
        if n < 1 || n > self.size {
            return Err(ClaimError::InvalidClaim {
                requested: n,
                capacity: self.size,
            });
        }
        if self.claimed + n - self.consumed > self.size {
            return Err(ClaimError::Full);
        }
        self.claimed += n;
        Ok(self.claimed)
    }

    /// Moves the consumer up to `by` slots, never past what was claimed.
    fn consume(&mut self, by: i64) -> i64 {
        self.consumed = (self.consumed + by).min(self.claimed);
        self.consumed
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    #[test]
    fn single_producer_claims_match_the_model(log2 in 0u32..=10, steps in steps()) {
        let size = 1usize << log2;
        let consumer = Arc::new(Sequence::default());
        let mut sequencer = SingleProducerSequencer::new(
            size, vec![consumer.clone()], Arc::new(BlockingWaitStrategy::new()), Arc::new(Alert::new()),
        ).unwrap();
        let mut model = Model { size: size as i64, claimed: -1, consumed: -1 };
        for step in steps {
            match step {
                Step::Claim(n) => {
                    let expected = model.claim(n);
                    // The blocking claim must agree whenever it would not block.
                    let got = if expected == Err(ClaimError::Full) {
                        sequencer.try_next_n(n)
                    } else {
                        sequencer.next_n(n)
                    };
                    prop_assert_eq!(got, expected, "claim of {}", n);
                    if let Ok(high) = got {
                        sequencer.publish_range(high - n + 1, high);
                    }
                    prop_assert_eq!(sequencer.cursor(), model.claimed);
                }
                Step::Consume(by) => consumer.set(model.consume(by)),
            }
            let free = sequencer.remaining_capacity();
            prop_assert_eq!(free, model.size - (model.claimed - model.consumed));
            prop_assert!((0..=model.size).contains(&free));
        }
    }

    #[test]
    fn multi_producer_claims_match_the_model(log2 in 0u32..=10, steps in steps()) {
        let size = 1usize << log2;
        let consumer = Arc::new(Sequence::default());
        let sequencer = MultiProducerSequencer::new(
            size, vec![consumer.clone()], Arc::new(BlockingWaitStrategy::new()), Arc::new(Alert::new()),
        ).unwrap();
        let mut model = Model { size: size as i64, claimed: -1, consumed: -1 };
        for step in steps {
            match step {
                Step::Claim(n) => {
                    let expected = model.claim(n);
                    let got = if expected == Err(ClaimError::Full) {
                        sequencer.try_next_n(n)
                    } else {
                        sequencer.next_n(n)
                    };
                    prop_assert_eq!(got, expected, "claim of {}", n);
                    if let Ok(high) = got {
                        sequencer.publish_range(high - n + 1, high);
                        prop_assert_eq!(sequencer.highest_published(high - n + 1, high), high);
                    }
                    prop_assert_eq!(sequencer.cursor(), model.claimed);
                }
                Step::Consume(by) => consumer.set(model.consume(by)),
            }
            let free = sequencer.remaining_capacity();
            prop_assert_eq!(free, model.size - (model.claimed - model.consumed));
        }
    }
}
