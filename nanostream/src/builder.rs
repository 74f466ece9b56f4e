//! [`Builder`]: declare the consumer graph of a pipeline, then start it.

use crate::sync::AtomicBool;

use crate::affinity;
use crate::barrier::SequenceBarrier;
use crate::error::BuildError;
use crate::external_sequence::ExternalSequence;
use crate::handler::{Access, EventHandler, EventHandlerMut, PanicPolicy, Reads, Writes};
use crate::monitor::PipelineMonitor;
use crate::pipeline::{ConsumerInfo, Pipeline, ThreadBody};
use crate::poller::EventPoller;
use crate::processor::{BatchEventProcessor, ProcessorSettings, StreamingBackoff};
use crate::producer::{MultiProducer, SingleProducer};
use crate::sequence::DependentSequences;
use crate::sequence::Sequence;
use crate::sequencer::{
    AvailabilityBuffer, MultiProducerSequencer, PublishedSequence, SingleProducerSequencer, SinglePublished,
};
use crate::sync::Arc;
use crate::{Alert, RingBuffer, WaitStrategy};

/// Starts a pipeline with one producer thread.
///
/// `size` slots (a power of two) are filled by `factory` once; consumers wait with
/// `wait_strategy`. Add consumers on the returned [`Builder`], then [`build`](Builder::build).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use nanostream::{build_single_producer, YieldingWaitStrategy, Producer};
///
/// #[derive(Default)]
/// struct Trade { price: u64, quantity: u64, notional: u64 }
///
/// let total = Arc::new(AtomicU64::new(0));
/// let seen = total.clone();
/// let mut producer = build_single_producer(1024, Trade::default, YieldingWaitStrategy::new())
///     // stage 1: a mutable handler, in a stage of its own, fills in a derived field
///     .handle_events_mut(|t: &mut Trade, _: i64, _: bool| t.notional = t.price * t.quantity)
///     // stage 2: sees stage 1's writes
///     .handle_events_with(move |t: &Trade, _: i64, _: bool| { seen.fetch_add(t.notional, Ordering::Relaxed); })
///     .build()
///     .unwrap();
///
/// for i in 1..=10 {
///     producer.publish(|t, _| { t.price = i; t.quantity = 2; }).unwrap();
/// }
/// producer.shutdown().unwrap(); // processes every event, joins the threads
/// assert_eq!(total.load(Ordering::Relaxed), 110);
/// ```
pub fn build_single_producer<E, F, W>(size: usize, factory: F, wait_strategy: W) -> Builder<E, W, Single>
where
    E: Send + Sync + 'static,
    F: FnMut() -> E,
    W: WaitStrategy,
{
    Builder::new(size, factory, wait_strategy)
}

/// Starts a pipeline with any number of producer threads (clone the [`MultiProducer`]).
///
/// ```
/// use nanostream::{build_multi_producer, BlockingWaitStrategy, Producer};
///
/// let mut producer = build_multi_producer(64, || 0u64, BlockingWaitStrategy::new())
///     .handle_events_with(|_: &u64, _: i64, _: bool| {})
///     .build()
///     .unwrap();
/// let mut other = producer.clone();
/// let thread = std::thread::spawn(move || { other.publish(|e, _| *e = 1).unwrap(); });
/// producer.publish(|e, _| *e = 2).unwrap();
/// thread.join().unwrap();
/// producer.shutdown().unwrap();
/// ```
pub fn build_multi_producer<E, F, W>(size: usize, factory: F, wait_strategy: W) -> Builder<E, W, Multi>
where
    E: Send + Sync + 'static,
    F: FnMut() -> E,
    W: WaitStrategy,
{
    Builder::new(size, factory, wait_strategy)
}

/// Marks a builder for a single-producer pipeline.
#[derive(Debug)]
pub struct Single;
/// Marks a builder for a multi-producer pipeline.
#[derive(Debug)]
pub struct Multi;

/// The producer flavour of a builder: [`Single`] or [`Multi`].
pub trait ProducerKind: sealed::Sealed {
    /// How this flavour's consumers see what is published.
    type Published: PublishedSequence;
}
impl ProducerKind for Single {
    type Published = SinglePublished;
}
impl ProducerKind for Multi {
    type Published = Arc<AvailabilityBuffer>;
}
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Single {}
    impl Sealed for super::Multi {}
}

type StartProcessor<E, W, P> = Box<dyn FnOnce(Parts<E, W, P>) -> ThreadBody>;

/// What a processor is made from at `build`.
struct Parts<E, W, P> {
    name: String,
    ring: Arc<RingBuffer<E>>,
    barrier: SequenceBarrier<W, P>,
    sequence: Arc<Sequence>,
    settings: ProcessorSettings,
}

enum Kind<E, W, P> {
    Processor {
        mutable: bool,
        start: StartProcessor<E, W, P>,
    },
    Poller {
        /// The first processor-only setting applied to this poller (an error at `build`).
        misplaced: Option<&'static str>,
    },
}

/// The settings of one consumer, applied by the postfix settings after it is added.
#[derive(Default)]
struct Options {
    core: Option<usize>,
    max_batch_size: Option<usize>,
    panic_policy: PanicPolicy,
    streaming_backoff: Option<StreamingBackoff>,
}

struct Consumer<E, W, P> {
    name: String,
    options: Options,
    sequence: Arc<Sequence>,
    kind: Kind<E, W, P>,
}

struct Stage<E, W, P> {
    consumers: Vec<Consumer<E, W, P>>,
    extra_dependencies: Vec<ExternalSequence>,
    /// Holds a mutable handler: the next consumer added starts a new stage.
    closed: bool,
}

impl<E, W, P> Stage<E, W, P> {
    fn new() -> Self {
        Self {
            consumers: Vec::new(),
            extra_dependencies: Vec::new(),
            closed: false,
        }
    }
}

/// Declares the consumers of a pipeline and how they depend on each other, then starts them.
///
/// Consumers are added in *stages*. The consumers of one stage run in parallel, each on its own
/// thread (a poller on yours), and each sees every event; a consumer of a later stage sees an
/// event only after every consumer of the stage before it has finished it.
///
/// | you write | you get |
/// |---|---|
/// | `.handle_events_with(a).handle_events_with(b)` | parallel: `a ∥ b` |
/// | `.handle_events_with(a).and_then().handle_events_with(b)` | a chain: `a → b` |
/// | `.handle_events_with(a).handle_events_with(b).and_then().handle_events_with(c)` | a diamond: `(a ∥ b) → c` |
/// | `.handle_events_mut(m).handle_events_with(b)` | a mutable stage: `m → b` |
/// | `.handle_events_with(a).thread_name("a").pin_at_core(2)` | settings, for the consumer added last |
///
/// - [`handle_events_with`](Self::handle_events_with) and [`event_poller`](Self::event_poller)
///   add a consumer to the current stage.
/// - [`handle_events_mut`](Self::handle_events_mut) adds a handler that may modify events in a
///   stage of its own: after the current stage if that has consumers, and the consumer added
///   next starts a new stage after it. No other consumer can read an event while it is written.
/// - [`and_then`](Self::and_then): the consumer added next starts a new stage.
/// - Settings apply to the consumer added last: [`thread_name`](Self::thread_name),
///   [`pin_at_core`](Self::pin_at_core), [`max_batch_size`](Self::max_batch_size),
///   [`on_panic`](Self::on_panic), [`streaming_backoff`](Self::streaming_backoff).
///
/// Mistakes (an invalid ring size or core, a setting before any consumer, a handler setting on a
/// poller, a dependency for a stage without consumers) are collected and the first is returned
/// by `build`.
///
/// A mutable enrichment stage, two handlers in parallel after it, and one after both:
///
/// ```
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use std::sync::Arc;
/// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
///
/// #[derive(Default)]
/// struct Order { price: i64, quantity: i64, notional: i64 }
///
/// let (left, right) = (Arc::new(AtomicI64::new(-1)), Arc::new(AtomicI64::new(-1)));
/// let (l, r) = (left.clone(), right.clone());
/// let (done, total) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
/// let (d, t) = (done.clone(), total.clone());
/// let mut producer = build_single_producer(64, Order::default, BlockingWaitStrategy::new())
///     .handle_events_mut(|o: &mut Order, _: i64, _: bool| o.notional = o.price * o.quantity)
///     .handle_events_with(move |_: &Order, seq: i64, _: bool| l.store(seq, Ordering::Release))
///     .thread_name("left")
///     .handle_events_with(move |_: &Order, seq: i64, _: bool| r.store(seq, Ordering::Release))
///     .thread_name("right")
///     .and_then()
///     .handle_events_with(move |o: &Order, seq: i64, _: bool| {
///         // Both parallel handlers have finished this event, and the enrichment is visible.
///         if left.load(Ordering::Acquire) >= seq && right.load(Ordering::Acquire) >= seq {
///             d.fetch_add(1, Ordering::Relaxed);
///         }
///         t.fetch_add(o.notional, Ordering::Relaxed);
///     })
///     .build()
///     .unwrap();
///
/// for i in 1..=10 {
///     producer.publish(|o, _| { o.price = i; o.quantity = 3; }).unwrap();
/// }
/// producer.shutdown().unwrap();
/// assert_eq!(done.load(Ordering::Relaxed), 10);
/// assert_eq!(total.load(Ordering::Relaxed), 3 * 55);
/// ```
pub struct Builder<E, W: WaitStrategy, K: ProducerKind> {
    size: usize,
    ring: Result<Arc<RingBuffer<E>>, BuildError>,
    wait_strategy: Arc<W>,
    stages: Vec<Stage<E, W, K::Published>>,
    error: Option<BuildError>,
    consumer_count: usize,
}

impl<E, W, K> Builder<E, W, K>
where
    E: Send + Sync + 'static,
    W: WaitStrategy,
    K: ProducerKind,
{
    fn new<F: FnMut() -> E>(size: usize, factory: F, wait_strategy: W) -> Self {
        Self {
            size,
            ring: RingBuffer::new(size, factory).map(Arc::new),
            wait_strategy: Arc::new(wait_strategy),
            stages: vec![Stage::new()],
            error: None,
            consumer_count: 0,
        }
    }

    /// Adds a handler to the current stage: it runs in parallel with the stage's other
    /// consumers and sees every event.
    ///
    /// After a mutable handler, this starts a new stage: `.handle_events_mut(m).handle_events_with(b)`
    /// is the chain `m → b`.
    pub fn handle_events_with<H: EventHandler<E>>(self, handler: H) -> Self {
        self.add_processor(Reads(handler), false)
    }

    /// Adds a handler that may modify events, in a stage of its own: a new stage after the
    /// current one when that has consumers. The consumer added next starts a new stage after it,
    /// and sees its writes.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
    ///
    /// let sum = Arc::new(AtomicU64::new(0));
    /// let seen = sum.clone();
    /// let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
    ///     .handle_events_mut(|e: &mut u64, _: i64, _: bool| *e *= 10)
    ///     // a new stage: it sees every event after the multiplication
    ///     .handle_events_with(move |e: &u64, _: i64, _: bool| { seen.fetch_add(*e, Ordering::Relaxed); })
    ///     .build()
    ///     .unwrap();
    /// for i in 1..=4 {
    ///     producer.publish(|e, _| *e = i).unwrap();
    /// }
    /// producer.shutdown().unwrap();
    /// assert_eq!(sum.load(Ordering::Relaxed), 100);
    /// ```
    pub fn handle_events_mut<H: EventHandlerMut<E>>(self, handler: H) -> Self {
        self.add_processor(Writes(handler), true)
    }

    /// Adds an [`EventPoller`] to the current stage (placed as
    /// [`handle_events_with`](Self::handle_events_with) places a handler): a consumer the user
    /// drives from a thread of their own. Take it from the producer after `build` with
    /// `take_event_pollers`.
    ///
    /// Of the settings, only [`thread_name`](Self::thread_name) applies (it names the poller in
    /// the monitor): a core, batch size, panic policy or streaming back-off set for a poller is a
    /// [`BuildError::OptionNotForPoller`], since the poller runs on the caller's thread.
    pub fn event_poller(mut self) -> Self {
        let name = self.default_name("poller");
        self.add(name, Kind::Poller { misplaced: None }, false);
        self
    }

    /// Starts a new stage: the consumer added next sees an event only after every consumer of
    /// the current stage has finished it. Does nothing when the current stage has no consumer.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicI64, Ordering};
    /// use std::sync::Arc;
    /// use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
    ///
    /// let first = Arc::new(AtomicI64::new(-1));
    /// let seen = first.clone();
    /// let mut producer = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
    ///     .handle_events_with(move |_: &u64, seq: i64, _: bool| seen.store(seq, Ordering::Release))
    ///     .and_then()
    ///     .handle_events_with(move |_: &u64, seq: i64, _: bool| {
    ///         assert!(first.load(Ordering::Acquire) >= seq, "the first stage is done with it");
    ///     })
    ///     .build()
    ///     .unwrap();
    /// producer.publish(|e, _| *e = 1).unwrap();
    /// producer.shutdown().unwrap(); // would report the second handler's panic
    /// ```
    pub fn and_then(mut self) -> Self {
        if !self.current_stage().consumers.is_empty() {
            self.stages.push(Stage::new());
        }
        self
    }

    /// Makes a stage also wait for `dependency`, a sequence advanced by some other part of the
    /// program: the stage of the consumer added last, or the new stage after
    /// [`and_then`](Self::and_then) (before any consumer: the first stage). Its consumers see an
    /// event only once `dependency` has reached it, and [`ExternalSequence::set`] wakes them.
    /// The journal uses it: a business stage gated on the journal's durable watermark only sees
    /// events that are on disk. A stage given a dependency but no consumer is a
    /// [`BuildError::DependencyWithoutConsumer`].
    pub fn depends_on(mut self, dependency: &ExternalSequence) -> Self {
        self.current_stage().extra_dependencies.push(dependency.clone());
        self
    }

    /// Names the thread of the consumer added last (the name also identifies it in errors and in
    /// the [`PipelineMonitor`]; for a poller, only there).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        if let Some(consumer) = self.last_consumer("thread_name") {
            consumer.name = name.into();
        }
        self
    }

    /// Pins the thread of the consumer added last to `core` (an id from the cores this process
    /// may use, which `build` checks, even when the calling thread is itself pinned elsewhere).
    pub fn pin_at_core(mut self, core: usize) -> Self {
        self.set_processor_option("pin_at_core", |o| o.core = Some(core));
        self
    }

    /// Caps the batches of the consumer added last at `n` events (by default a batch is
    /// everything available). Useful to bound the time between a handler's `end_of_batch`
    /// flushes.
    pub fn max_batch_size(mut self, n: usize) -> Self {
        if n == 0 {
            self.error.get_or_insert(BuildError::InvalidBatchSize);
        }
        self.set_processor_option("max_batch_size", |o| o.max_batch_size = Some(n.max(1)));
        self
    }

    /// Sets what the consumer added last does when its handler panics (default
    /// [`PanicPolicy::Halt`]).
    pub fn on_panic(mut self, policy: PanicPolicy) -> Self {
        self.set_processor_option("on_panic", |o| o.panic_policy = policy);
        self
    }

    /// Sets how the consumer added last paces its polls while events stream in faster than it
    /// polls. By default ([`StreamingBackoff::disabled`]) it polls again at once after every
    /// batch, which adds no latency; [`StreamingBackoff::enabled`] paces its polls during a
    /// stream, for throughput.
    ///
    /// An interval above [`StreamingBackoff::MAX_INTERVAL`] is a
    /// [`BuildError::InvalidStreamingInterval`].
    pub fn streaming_backoff(mut self, backoff: StreamingBackoff) -> Self {
        if backoff.interval() > StreamingBackoff::MAX_INTERVAL {
            self.error.get_or_insert(BuildError::InvalidStreamingInterval {
                interval: backoff.interval(),
                max: StreamingBackoff::MAX_INTERVAL,
            });
        }
        self.set_processor_option("streaming_backoff", |o| o.streaming_backoff = Some(backoff));
        self
    }

    fn current_stage(&mut self) -> &mut Stage<E, W, K::Published> {
        self.stages.last_mut().expect("a builder always has a stage")
    }

    fn default_name(&mut self, kind: &str) -> String {
        self.consumer_count += 1;
        format!("nanostream-{kind}-{}", self.consumer_count)
    }

    /// Places a consumer: in the current stage, unless that stage holds a mutable handler, or
    /// the consumer is one and the stage already has consumers.
    fn add(&mut self, name: String, kind: Kind<E, W, K::Published>, mutable: bool) {
        let current = self.current_stage();
        if current.closed || (mutable && !current.consumers.is_empty()) {
            self.stages.push(Stage::new());
        }
        let stage = self.current_stage();
        stage.consumers.push(Consumer {
            name,
            options: Options::default(),
            sequence: Arc::new(Sequence::default()),
            kind,
        });
        stage.closed = mutable;
    }

    fn add_processor<A: Access<E>>(mut self, handler: A, mutable: bool) -> Self {
        let name = self.default_name("processor");
        let start: StartProcessor<E, W, K::Published> = Box::new(move |parts: Parts<E, W, K::Published>| {
            let processor = BatchEventProcessor::new(
                parts.name,
                parts.ring,
                parts.barrier,
                parts.sequence,
                handler,
                parts.settings,
            );
            Box::new(move || processor.run()) as ThreadBody
        });
        self.add(name, Kind::Processor { mutable, start }, mutable);
        self
    }

    /// The consumer added last, which a setting applies to; records
    /// [`BuildError::OptionWithoutConsumer`] when there is none yet.
    fn last_consumer(&mut self, option: &'static str) -> Option<&mut Consumer<E, W, K::Published>> {
        // Only the newest stage can be empty (after `and_then`), so the consumer added last is
        // the last one of the newest stage that has any.
        if self.stages.iter().all(|s| s.consumers.is_empty()) {
            self.error
                .get_or_insert(BuildError::OptionWithoutConsumer { option });
            return None;
        }
        self.stages.iter_mut().rev().find_map(|s| s.consumers.last_mut())
    }

    /// Applies a setting that only a processor has to the consumer added last (on a poller it is
    /// recorded, and reported by `build`).
    fn set_processor_option(&mut self, option: &'static str, apply: impl FnOnce(&mut Options)) {
        if let Some(consumer) = self.last_consumer(option) {
            if let Kind::Poller { misplaced } = &mut consumer.kind {
                misplaced.get_or_insert(option);
            }
            apply(&mut consumer.options);
        }
    }

    /// Returns the first mistake in the declared graph: one a builder method recorded, else an
    /// invalid ring size, else the first stage (in order) with a mistake.
    fn check(&self) -> Result<(), BuildError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if let Err(error) = &self.ring {
            return Err(error.clone());
        }
        for (index, stage) in self.stages.iter().enumerate() {
            if stage.consumers.is_empty() && !stage.extra_dependencies.is_empty() {
                return Err(BuildError::DependencyWithoutConsumer { stage: index + 1 });
            }
            for consumer in &stage.consumers {
                match consumer.kind {
                    Kind::Poller {
                        misplaced: Some(option),
                    } => {
                        return Err(BuildError::OptionNotForPoller {
                            option,
                            poller: consumer.name.clone(),
                        });
                    }
                    // The grammar gives a mutable handler a stage of its own; the processor's
                    // write access to the event relies on it, so it is checked here all the same.
                    Kind::Processor { mutable: true, .. } if stage.consumers.len() > 1 => {
                        return Err(BuildError::MutableHandlerNotAlone {
                            thread: consumer.name.clone(),
                            stage_size: stage.consumers.len(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Checks the graph and starts the consumer threads.
    fn assemble(
        self,
        cursor: Arc<Sequence>,
        published: K::Published,
        alert: Arc<Alert>,
    ) -> Result<Assembled<E, W, K::Published>, BuildError> {
        self.check()?;
        let ring = self.ring?;
        let stages: Vec<_> = self
            .stages
            .into_iter()
            .filter(|s| !s.consumers.is_empty())
            .collect();
        let allowed = affinity::allowed_cores();
        for consumer in stages.iter().flat_map(|s| &s.consumers) {
            if let Some(core) = consumer.options.core {
                if !allowed.contains(&core) {
                    return Err(BuildError::InvalidCore {
                        core,
                        thread: consumer.name.clone(),
                        available: allowed,
                    });
                }
            }
        }

        let gating: Vec<Arc<Sequence>> = stages
            .last()
            .map(|s| s.consumers.iter().map(|c| c.sequence.clone()).collect())
            .unwrap_or_default();
        let mut consumers = Vec::new();
        let mut pollers = Vec::new();
        let mut to_start = Vec::new();
        let mut upstream = vec![cursor.clone()];
        for stage in stages {
            let mut dependents = std::mem::take(&mut upstream);
            for dependency in &stage.extra_dependencies {
                // `set` wakes this pipeline's consumers parked in its wait strategy.
                let wait_strategy = self.wait_strategy.clone();
                dependents.push(dependency.gate(Box::new(move || wait_strategy.signal())));
            }
            for consumer in stage.consumers {
                upstream.push(consumer.sequence.clone());
                let barrier = SequenceBarrier::new(
                    DependentSequences::new(dependents.clone())
                        .expect("a stage depends on the cursor or on the stage before it"),
                    published.clone(),
                    self.wait_strategy.clone(),
                    alert.clone(),
                );
                match consumer.kind {
                    Kind::Poller { .. } => {
                        let detached = std::sync::Arc::new(AtomicBool::new(false));
                        consumers.push(ConsumerInfo {
                            name: consumer.name,
                            sequence: consumer.sequence.clone(),
                            detached: Some(detached.clone()),
                        });
                        pollers.push(EventPoller::new(
                            ring.clone(),
                            barrier,
                            consumer.sequence,
                            self.wait_strategy.clone(),
                            detached,
                        ));
                    }
                    Kind::Processor { start, .. } => {
                        consumers.push(ConsumerInfo {
                            name: consumer.name.clone(),
                            sequence: consumer.sequence.clone(),
                            detached: None,
                        });
                        let options = consumer.options;
                        let body = start(Parts {
                            name: consumer.name.clone(),
                            ring: ring.clone(),
                            barrier,
                            sequence: consumer.sequence,
                            settings: ProcessorSettings {
                                max_batch_size: options.max_batch_size,
                                panic_policy: options.panic_policy,
                                streaming_backoff: options.streaming_backoff.unwrap_or_default(),
                            },
                        });
                        to_start.push((consumer.name, options.core, body));
                    }
                }
            }
        }
        let consumers: std::sync::Arc<[ConsumerInfo]> = consumers.into();
        let mut pipeline = Pipeline {
            threads: Vec::new(),
            consumers: consumers.clone(),
            cursor: cursor.clone(),
            alert,
            wait_strategy: self.wait_strategy.clone(),
        };
        pipeline.start_threads(to_start, &allowed)?;
        let monitor = PipelineMonitor::new(cursor, consumers, gating.clone(), self.size as i64);
        Ok(Assembled {
            ring,
            wait_strategy: self.wait_strategy,
            gating,
            pipeline,
            pollers,
            monitor,
        })
    }
}

struct Assembled<E, W: WaitStrategy, P: PublishedSequence> {
    ring: Arc<RingBuffer<E>>,
    wait_strategy: Arc<W>,
    gating: Vec<Arc<Sequence>>,
    pipeline: Pipeline<W>,
    pollers: Vec<EventPoller<E, W, P>>,
    monitor: PipelineMonitor,
}

impl<E, W> Builder<E, W, Single>
where
    E: Send + Sync + 'static,
    W: WaitStrategy,
{
    /// Checks the graph, starts every consumer thread, and returns the producer.
    ///
    /// Fails with a [`BuildError`] when the ring size is not a power of two, a setting was
    /// called before any consumer or a handler setting for a poller, a stage was given a
    /// dependency but no consumer, a core does not exist (or the kernel refuses it), or a thread
    /// cannot be started.
    pub fn build(self) -> Result<SingleProducer<E, W>, BuildError> {
        let cursor = Arc::new(Sequence::default());
        let alert = Arc::new(Alert::new());
        let size = self.size;
        let a = self.assemble(cursor.clone(), SinglePublished, alert.clone())?;
        let sequencer = SingleProducerSequencer::with_cursor(size, cursor, a.gating, a.wait_strategy, alert);
        Ok(SingleProducer::new(
            a.ring, sequencer, a.pipeline, a.pollers, a.monitor,
        ))
    }
}

impl<E, W> Builder<E, W, Multi>
where
    E: Send + Sync + 'static,
    W: WaitStrategy,
{
    /// Checks the graph, starts every consumer thread, and returns the first producer handle
    /// (clone it for more producer threads).
    ///
    /// Fails as [`Builder::<_, _, Single>::build`] does.
    pub fn build(self) -> Result<MultiProducer<E, W>, BuildError> {
        let cursor = Arc::new(Sequence::default());
        let alert = Arc::new(Alert::new());
        let size = self.size;
        // The availability buffer needs a valid size; an invalid one is reported by `assemble`
        // (before the flags are used).
        let flags = Arc::new(
            AvailabilityBuffer::new(size)
                .or_else(|_| AvailabilityBuffer::new(1))
                .expect("a ring of one slot is valid"),
        );
        let a = self.assemble(cursor.clone(), flags.clone(), alert.clone())?;
        let sequencer =
            MultiProducerSequencer::with_parts(size, cursor, flags, a.gating, a.wait_strategy, alert);
        Ok(MultiProducer::new(
            a.ring, sequencer, a.pipeline, a.pollers, a.monitor,
        ))
    }
}

impl<E, W: WaitStrategy, K: ProducerKind> std::fmt::Debug for Builder<E, W, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("size", &self.size)
            .field("stages", &self.stages.len())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::BlockingWaitStrategy;

    fn noop(_: &u64, _: i64, _: bool) {}

    fn mutate(e: &mut u64, _: i64, _: bool) {
        *e += 1;
    }

    type TestBuilder = Builder<u64, BlockingWaitStrategy, Single>;

    fn builder() -> TestBuilder {
        build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
    }

    /// The declared stages: each one's consumer names and its number of extra dependencies.
    fn shape(builder: &TestBuilder) -> Vec<(Vec<&str>, usize)> {
        builder
            .stages
            .iter()
            .map(|s| {
                let names = s.consumers.iter().map(|c| c.name.as_str()).collect();
                (names, s.extra_dependencies.len())
            })
            .collect()
    }

    #[test]
    fn readers_share_a_stage_and_and_then_starts_the_next() {
        let b = builder()
            .handle_events_with(noop)
            .thread_name("a")
            .handle_events_with(noop)
            .thread_name("b")
            .and_then()
            .handle_events_with(noop)
            .thread_name("c")
            .event_poller()
            .thread_name("p");
        assert_eq!(shape(&b), vec![(vec!["a", "b"], 0), (vec!["c", "p"], 0)]);
    }

    #[test]
    fn a_mutable_handler_gets_a_stage_of_its_own() {
        let b = builder()
            .handle_events_with(noop)
            .thread_name("r")
            .handle_events_mut(mutate)
            .thread_name("m1")
            .handle_events_with(noop)
            .thread_name("a")
            .event_poller()
            .thread_name("p")
            .handle_events_mut(mutate)
            .thread_name("m2")
            .handle_events_mut(mutate)
            .thread_name("m3")
            .event_poller()
            .thread_name("q");
        assert_eq!(
            shape(&b),
            vec![
                (vec!["r"], 0),
                (vec!["m1"], 0),
                (vec!["a", "p"], 0),
                (vec!["m2"], 0),
                (vec!["m3"], 0),
                (vec!["q"], 0),
            ]
        );
        // First in an empty builder, or right after `and_then`, it takes the empty stage.
        let b = builder()
            .handle_events_mut(mutate)
            .thread_name("m1")
            .and_then()
            .handle_events_mut(mutate)
            .thread_name("m2");
        assert_eq!(shape(&b), vec![(vec!["m1"], 0), (vec!["m2"], 0)]);
    }

    #[test]
    fn and_then_on_an_empty_stage_does_nothing() {
        let b = builder()
            .and_then()
            .handle_events_with(noop)
            .thread_name("a")
            .and_then()
            .and_then()
            .handle_events_with(noop)
            .thread_name("b")
            .and_then();
        assert_eq!(shape(&b), vec![(vec!["a"], 0), (vec!["b"], 0), (vec![], 0)]);
        // After a mutable handler, `and_then` changes nothing: the next consumer starts a new
        // stage either way, and no empty stage is left between.
        let b = builder()
            .handle_events_mut(mutate)
            .thread_name("m")
            .and_then()
            .handle_events_with(noop)
            .thread_name("a");
        assert_eq!(shape(&b), vec![(vec!["m"], 0), (vec!["a"], 0)]);
    }

    #[test]
    fn a_dependency_goes_to_the_last_consumers_stage_or_the_one_and_then_opened() {
        let seq = ExternalSequence::new;
        let b = builder()
            .handle_events_mut(mutate)
            .thread_name("m")
            .depends_on(&seq())
            .handle_events_with(noop)
            .thread_name("a");
        assert_eq!(shape(&b), vec![(vec!["m"], 1), (vec!["a"], 0)]);
        let b = builder()
            .handle_events_with(noop)
            .thread_name("a")
            .and_then()
            .depends_on(&seq())
            .handle_events_mut(mutate)
            .thread_name("m");
        assert_eq!(shape(&b), vec![(vec!["a"], 0), (vec!["m"], 1)]);
        let b = builder()
            .depends_on(&seq())
            .handle_events_with(noop)
            .thread_name("a")
            .depends_on(&seq())
            .handle_events_with(noop)
            .thread_name("b");
        assert_eq!(shape(&b), vec![(vec!["a", "b"], 2)]);
    }

    #[test]
    fn settings_apply_to_the_consumer_added_last() {
        let b = builder()
            .handle_events_with(noop)
            .thread_name("a")
            .max_batch_size(3)
            .on_panic(PanicPolicy::LogAndContinue)
            .handle_events_mut(mutate)
            .pin_at_core(5)
            .streaming_backoff(StreamingBackoff::disabled())
            // `and_then` adds no consumer: the name is still the mutable handler's.
            .and_then()
            .thread_name("m")
            .event_poller();
        let consumers: Vec<_> = b.stages.iter().flat_map(|s| &s.consumers).collect();
        let [a, m, p] = consumers[..] else {
            panic!("three consumers, got {}", consumers.len());
        };
        assert_eq!((a.name.as_str(), m.name.as_str()), ("a", "m"));
        assert_eq!(p.name, "nanostream-poller-3", "a default name");
        assert_eq!(
            (a.options.core, a.options.max_batch_size, a.options.panic_policy),
            (None, Some(3), PanicPolicy::LogAndContinue)
        );
        assert_eq!(a.options.streaming_backoff, None);
        assert_eq!(
            (m.options.core, m.options.max_batch_size, m.options.panic_policy),
            (Some(5), None, PanicPolicy::Halt)
        );
        assert_eq!(m.options.streaming_backoff, Some(StreamingBackoff::disabled()));
        assert!(matches!(p.kind, Kind::Poller { misplaced: None }));
        assert!(b.error.is_none());
    }

    #[test]
    fn build_refuses_a_mutable_handler_that_shares_its_stage() {
        let mut builder = build_single_producer(8, || 0u64, BlockingWaitStrategy::new())
            .handle_events_with(noop)
            .thread_name("reader")
            .handle_events_mut(|e: &mut u64, _: i64, _: bool| *e += 1)
            .thread_name("writer");
        assert_eq!(
            builder.stages.len(),
            2,
            "the grammar gives the writer a stage of its own"
        );
        // Merge the writer into the reader's stage, as a mistake in the grammar would.
        let writer = builder.stages.pop().expect("two stages");
        builder.stages[0].consumers.extend(writer.consumers);
        let error = builder
            .build()
            .expect_err("the reader could see a half-written event");
        assert_eq!(
            error,
            BuildError::MutableHandlerNotAlone {
                thread: "writer".to_owned(),
                stage_size: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "mutable handler 'writer' shares its stage with 1 other consumer(s); a mutable handler \
             must be alone in its stage so no one reads an event while it is written"
        );
    }
}
