//! [`Builder`]: declare the consumer graph of a pipeline, then start it.

use std::sync::atomic::AtomicBool;

use crate::affinity;
use crate::barrier::{DependentSequences, SequenceBarrier};
use crate::error::BuildError;
use crate::handler::{Access, EventHandler, EventHandlerMut, PanicPolicy, Reads, Writes};
use crate::monitor::PipelineMonitor;
use crate::pipeline::{ConsumerInfo, Pipeline};
use crate::poller::EventPoller;
use crate::processor::{BatchEventProcessor, Failure, ProcessorSettings};
use crate::producer::{MultiProducer, SingleProducer};
use crate::sequence::Sequence;
use crate::sequencer::{
    AvailabilityBuffer, MultiProducerSequencer, PublishedSequence, SingleProducerSequencer, SinglePublished,
};
use crate::streaming::StreamingBackoff;
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
///     // stage 1: a mutable stage, alone in its stage, fills in a derived field
///     .handle_events_mut(|t: &mut Trade, _: i64, _: bool| t.notional = t.price * t.quantity)
///     // stage 2: sees stage 1's writes
///     .then(move |t: &Trade, _: i64, _: bool| { seen.fetch_add(t.notional, Ordering::Relaxed); })
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

type ThreadBody = Box<dyn FnOnce() -> Result<(), Failure> + Send>;
type StartProcessor<E, W, P> = Box<dyn FnOnce(Parts<E, W, P>) -> ThreadBody>;

/// What a processor is made from at `build`.
struct Parts<E, W, P> {
    name: String,
    ring: Arc<RingBuffer<E>>,
    barrier: SequenceBarrier<W, P>,
    sequence: Arc<Sequence>,
}

enum Kind<E, W, P> {
    Processor {
        mutable: bool,
        start: StartProcessor<E, W, P>,
    },
    Poller,
}

struct Consumer<E, W, P> {
    name: String,
    core: Option<usize>,
    sequence: Arc<Sequence>,
    kind: Kind<E, W, P>,
}

struct Stage<E, W, P> {
    consumers: Vec<Consumer<E, W, P>>,
    extra_dependencies: Vec<Arc<Sequence>>,
}

impl<E, W, P> Stage<E, W, P> {
    fn new() -> Self {
        Self {
            consumers: Vec::new(),
            extra_dependencies: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Options {
    core: Option<usize>,
    name: Option<String>,
    max_batch_size: Option<usize>,
    panic_policy: PanicPolicy,
    streaming_backoff: Option<StreamingBackoff>,
}

/// Declares the consumers of a pipeline and how they depend on each other, then starts them.
///
/// Consumers are added in *stages*. Consumers of one stage run in parallel, each on its own
/// thread, and each sees every event; a consumer of the next stage sees an event only after
/// every consumer of the stage before has finished it. So:
///
/// - parallel: `.handle_events_with(a).handle_events_with(b)`
/// - a chain: `.handle_events_with(a).then(b)`
/// - a diamond (A and B in parallel, C after both):
///   `.handle_events_with(a).handle_events_with(b).then(c)`
///
/// Options for the next consumer added: [`pin_at_core`](Self::pin_at_core),
/// [`thread_name`](Self::thread_name), [`max_batch_size`](Self::max_batch_size),
/// [`on_panic`](Self::on_panic), [`streaming_backoff`](Self::streaming_backoff).
///
/// Errors (an invalid ring size or core, a mutable handler that is not alone in its stage) are
/// collected and returned by `build`.
pub struct Builder<E, W: WaitStrategy, K: ProducerKind> {
    size: usize,
    ring: Result<Arc<RingBuffer<E>>, BuildError>,
    wait_strategy: Arc<W>,
    stages: Vec<Stage<E, W, K::Published>>,
    options: Options,
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
            options: Options::default(),
            error: None,
            consumer_count: 0,
        }
    }

    /// Pins the next consumer's thread to `core` (an id from the cores this process may use,
    /// which `build` checks, even when the calling thread is itself pinned elsewhere).
    pub fn pin_at_core(mut self, core: usize) -> Self {
        self.options.core = Some(core);
        self
    }

    /// Names the next consumer's thread (the name also identifies it in errors and in the
    /// [`PipelineMonitor`]).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.options.name = Some(name.into());
        self
    }

    /// Caps the next consumer's batches at `n` events (by default a batch is everything
    /// available). Useful to bound the time between a handler's `end_of_batch` flushes.
    pub fn max_batch_size(mut self, n: usize) -> Self {
        if n == 0 {
            self.error.get_or_insert(BuildError::InvalidBatchSize);
        }
        self.options.max_batch_size = Some(n.max(1));
        self
    }

    /// Sets what the next consumer does when its handler panics (default
    /// [`PanicPolicy::Halt`]).
    pub fn on_panic(mut self, policy: PanicPolicy) -> Self {
        self.options.panic_policy = policy;
        self
    }

    /// Sets how the next consumer paces its polls while events stream in faster than it polls
    /// (default [`StreamingBackoff::default`]: at most one poll a microsecond during a stream).
    /// [`StreamingBackoff::disabled`] makes it poll again at once after every batch.
    pub fn streaming_backoff(mut self, backoff: StreamingBackoff) -> Self {
        self.options.streaming_backoff = Some(backoff);
        self
    }

    /// Adds a handler to the current stage: it runs in parallel with the stage's other
    /// consumers and sees every event.
    pub fn handle_events_with<H: EventHandler<E>>(self, handler: H) -> Self {
        self.add_processor(Reads(handler), false)
    }

    /// Adds a handler that may modify events. It must be alone in its stage (`build` checks
    /// it): start a new stage after it with [`then`](Self::then).
    pub fn handle_events_mut<H: EventHandlerMut<E>>(self, handler: H) -> Self {
        self.add_processor(Writes(handler), true)
    }

    /// Starts a new stage with `handler`: it sees an event only after every consumer of the
    /// current stage has finished it. Add more consumers to the new stage with
    /// [`handle_events_with`](Self::handle_events_with).
    pub fn then<H: EventHandler<E>>(self, handler: H) -> Self {
        self.new_stage().handle_events_with(handler)
    }

    /// Starts a new stage with a mutable handler (alone in its stage).
    pub fn then_mut<H: EventHandlerMut<E>>(self, handler: H) -> Self {
        self.new_stage().handle_events_mut(handler)
    }

    /// Starts a new, empty stage (when the current one has consumers).
    pub fn new_stage(mut self) -> Self {
        if !self.current_stage().consumers.is_empty() {
            self.stages.push(Stage::new());
        }
        self
    }

    /// Makes the current stage also wait for `sequence`, a sequence published by some other
    /// part of the program. The journal uses it: a business stage that depends on the journal's
    /// durable watermark only sees events that are on disk.
    pub fn depends_on_sequence(mut self, sequence: Arc<Sequence>) -> Self {
        self.current_stage().extra_dependencies.push(sequence);
        self
    }

    /// Adds an [`EventPoller`] to the current stage: a consumer the user drives from a thread of
    /// their own. Take it from the producer after `build` with `take_event_pollers`.
    ///
    /// Of the options, only [`thread_name`](Self::thread_name) applies (it names the poller in
    /// the monitor): a core, batch size or panic policy set for a poller is a
    /// [`BuildError::OptionNotForPoller`], since the poller runs on the caller's thread.
    pub fn event_poller(mut self) -> Self {
        let name = self.next_name("poller");
        let options = std::mem::take(&mut self.options);
        let misplaced = if options.core.is_some() {
            Some("pin_at_core")
        } else if options.max_batch_size.is_some() {
            Some("max_batch_size")
        } else if options.panic_policy != PanicPolicy::default() {
            Some("on_panic")
        } else if options.streaming_backoff.is_some() {
            Some("streaming_backoff")
        } else {
            None
        };
        if let Some(option) = misplaced {
            self.error.get_or_insert(BuildError::OptionNotForPoller {
                option,
                poller: name.clone(),
            });
        }
        let core = None;
        self.current_stage().consumers.push(Consumer {
            name,
            core,
            sequence: Arc::new(Sequence::default()),
            kind: Kind::Poller,
        });
        self
    }

    fn current_stage(&mut self) -> &mut Stage<E, W, K::Published> {
        self.stages.last_mut().expect("a builder always has a stage")
    }

    fn next_name(&mut self, kind: &str) -> String {
        self.consumer_count += 1;
        self.options
            .name
            .take()
            .unwrap_or_else(|| format!("nanostream-{kind}-{}", self.consumer_count))
    }

    fn add_processor<A: Access<E>>(mut self, handler: A, mutable: bool) -> Self {
        let name = self.next_name("processor");
        let options = std::mem::take(&mut self.options);
        let start: StartProcessor<E, W, K::Published> = Box::new(move |parts: Parts<E, W, K::Published>| {
            let processor = BatchEventProcessor::new(
                parts.name,
                parts.ring,
                parts.barrier,
                parts.sequence,
                handler,
                ProcessorSettings {
                    max_batch_size: options.max_batch_size,
                    panic_policy: options.panic_policy,
                    streaming_backoff: options.streaming_backoff.unwrap_or_default(),
                },
            );
            Box::new(move || processor.run()) as ThreadBody
        });
        self.current_stage().consumers.push(Consumer {
            name,
            core: options.core,
            sequence: Arc::new(Sequence::default()),
            kind: Kind::Processor { mutable, start },
        });
        self
    }

    /// Checks the graph and starts the consumer threads.
    fn assemble(
        self,
        cursor: Arc<Sequence>,
        published: K::Published,
        alert: Arc<Alert>,
    ) -> Result<Assembled<E, W, K::Published>, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let ring = self.ring?;
        let stages: Vec<_> = self
            .stages
            .into_iter()
            .filter(|s| !s.consumers.is_empty())
            .collect();
        for stage in &stages {
            for consumer in &stage.consumers {
                if matches!(consumer.kind, Kind::Processor { mutable: true, .. }) && stage.consumers.len() > 1
                {
                    return Err(BuildError::MutableHandlerNotAlone {
                        thread: consumer.name.clone(),
                        stage_size: stage.consumers.len(),
                    });
                }
            }
        }
        let allowed = affinity::allowed_cores();
        for consumer in stages.iter().flat_map(|s| &s.consumers) {
            if let Some(core) = consumer.core {
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
            dependents.extend(stage.extra_dependencies.iter().cloned());
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
                    Kind::Poller => {
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
                        let body = start(Parts {
                            name: consumer.name.clone(),
                            ring: ring.clone(),
                            barrier,
                            sequence: consumer.sequence,
                        });
                        to_start.push((consumer.name, consumer.core, body));
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
        start_threads(&mut pipeline, to_start, &allowed)?;
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

/// Spawns each processor thread, pins it, and waits until every pinned thread has reported
/// that the kernel accepted its core. On any failure the started threads are halted and joined.
fn start_threads<W: WaitStrategy>(
    pipeline: &mut Pipeline<W>,
    to_start: Vec<(String, Option<usize>, ThreadBody)>,
    allowed: &[usize],
) -> Result<(), BuildError> {
    let (report, reports) = std::sync::mpsc::channel::<Result<(), (String, usize)>>();
    let mut failure = None;
    for (name, core, body) in to_start {
        let report = report.clone();
        let thread_name = name.clone();
        let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
            if let Some(core) = core {
                if !affinity::pin_current_thread(core) {
                    let _ = report.send(Err((thread_name, core)));
                    return Ok(());
                }
            }
            let _ = report.send(Ok(()));
            drop(report);
            body()
        });
        match spawned {
            Ok(handle) => pipeline.threads.push((name, handle)),
            Err(e) => {
                failure = Some(BuildError::Spawn {
                    thread: name,
                    reason: e.to_string(),
                });
                break;
            }
        }
    }
    drop(report);
    for _ in 0..pipeline.threads.len() {
        match reports.recv() {
            Ok(Ok(())) => {}
            Ok(Err((thread, core))) => {
                failure.get_or_insert(BuildError::InvalidCore {
                    core,
                    thread,
                    available: allowed.to_vec(),
                });
            }
            Err(_) => break,
        }
    }
    match failure {
        None => Ok(()),
        Some(error) => {
            let threads = std::mem::take(&mut pipeline.threads);
            pipeline.alert.raise();
            pipeline.wait_strategy.signal_all();
            for (_, thread) in threads {
                let _ = thread.join();
            }
            Err(error)
        }
    }
}

impl<E, W> Builder<E, W, Single>
where
    E: Send + Sync + 'static,
    W: WaitStrategy,
{
    /// Checks the graph, starts every consumer thread, and returns the producer.
    ///
    /// Fails with a [`BuildError`] when the ring size is not a power of two, a core does not
    /// exist (or the kernel refuses it), a mutable handler shares its stage, or a thread cannot
    /// be started.
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
