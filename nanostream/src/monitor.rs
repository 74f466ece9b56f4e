//! [`PipelineMonitor`]: read progress and lag from any thread without touching the hot path.

use crate::pipeline::ConsumerInfo;
use crate::sequence::{minimum_sequence, Sequence};
use crate::sync::Arc;

/// A read-only view of a running pipeline, for metrics and health checks.
///
/// It only loads counters the pipeline already publishes (relaxed loads of cache lines the hot
/// path writes anyway), so monitoring from another thread costs the pipeline nothing but the
/// occasional cache-line transfer. Cheap to clone.
///
/// ```
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
///
/// let mut producer = build_single_producer(8, || 0u32, BlockingWaitStrategy::new())
///     .handle_events_with(|_: &u32, _: i64, _: bool| {})
///     .thread_name("audit")
///     .build()
///     .unwrap();
/// let monitor = producer.monitor();
/// producer.publish(|e, _| *e = 7).unwrap();
/// assert_eq!(monitor.cursor(), 0);
/// assert_eq!(monitor.capacity(), 8);
/// let audit = monitor.consumer("audit").unwrap();
/// assert!(audit.lag <= 1);
/// producer.shutdown().unwrap();
/// ```
#[derive(Clone)]
pub struct PipelineMonitor {
    cursor: Arc<Sequence>,
    consumers: std::sync::Arc<[ConsumerInfo]>,
    gating: std::sync::Arc<[Arc<Sequence>]>,
    capacity: i64,
}

/// One consumer's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStatus {
    /// The consumer's thread name (or poller name).
    pub name: String,
    /// The last sequence it finished.
    pub sequence: i64,
    /// How many claimed events it has not finished yet.
    pub lag: i64,
}

impl PipelineMonitor {
    pub(crate) fn new(
        cursor: Arc<Sequence>,
        consumers: std::sync::Arc<[ConsumerInfo]>,
        gating: Vec<Arc<Sequence>>,
        capacity: i64,
    ) -> Self {
        Self {
            cursor,
            consumers,
            gating: gating.into(),
            capacity,
        }
    }

    /// The producers' cursor: the highest published sequence (single producer) or the highest
    /// claimed one (multi producer).
    pub fn cursor(&self) -> i64 {
        self.cursor.get_relaxed()
    }

    /// The number of slots in the ring.
    pub fn capacity(&self) -> i64 {
        self.capacity
    }

    /// How many slots hold events some consumer has not finished (`0..=capacity`).
    pub fn fill_level(&self) -> i64 {
        let cursor = self.cursor();
        (cursor - minimum_sequence(&self.gating, cursor)).clamp(0, self.capacity)
    }

    /// Every consumer's progress, in the order they were added.
    pub fn consumers(&self) -> Vec<ConsumerStatus> {
        let cursor = self.cursor();
        self.consumers.iter().map(|c| status(c, cursor)).collect()
    }

    /// The progress of the consumer named `name`.
    pub fn consumer(&self, name: &str) -> Option<ConsumerStatus> {
        let cursor = self.cursor();
        self.consumers
            .iter()
            .find(|c| c.name == name)
            .map(|c| status(c, cursor))
    }
}

fn status(consumer: &ConsumerInfo, cursor: i64) -> ConsumerStatus {
    let sequence = consumer.sequence.get_relaxed();
    ConsumerStatus {
        name: consumer.name.clone(),
        sequence,
        lag: (cursor - sequence).max(0),
    }
}

impl std::fmt::Debug for PipelineMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineMonitor")
            .field("cursor", &self.cursor())
            .field("fill_level", &self.fill_level())
            .field("consumers", &self.consumers())
            .finish()
    }
}
