//! The contenders behind one trait: NanoStream, the `disruptor` crate, two channels, the floor.
//!
//! Every scenario body in `scenarios.rs` is written once against [`Contender`] and [`Tx`]; each
//! implementation only says how to start a consumer graph that ends in a `sink` and how to
//! publish into it.

use std::hint::black_box;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_utils::CachePadded;

use crate::cores::pin;

/// The shape of the consumer graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One consumer, pinned to the consumer core.
    Unicast,
    /// Three stages in a chain, A → B → C; C calls the sink. Not pinned.
    Chain3,
    /// A and B in parallel, C after both; C calls the sink. Not pinned.
    Diamond,
}

/// What a contender is asked to start.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The consumer graph.
    pub topology: Topology,
    /// Ring size or channel capacity.
    pub capacity: usize,
    /// The core the (unicast) consumer is pinned to.
    pub consumer_core: usize,
}

/// The producer end of a running consumer graph.
pub trait Tx: Send + 'static {
    /// Publishes `v` (waits while full).
    fn send(&mut self, v: u64);
    /// Publishes `first..first + n` (one claim where the implementation has batches).
    fn send_batch(&mut self, first: u64, n: usize);
    /// Publishes each of `values` on its own, as a user's publishing loop would: one event per
    /// claim and per publish. An implementation with a faster way to run such a loop (NanoStream's
    /// `Publisher` session) overrides it; the others call `send` for each.
    #[inline(always)]
    fn send_each(&mut self, values: std::ops::Range<u64>) {
        for v in values {
            self.send(v);
        }
    }
    /// Lets the consumers finish every published value and joins their threads.
    fn stop(self);
}

/// One implementation under test.
pub trait Contender: 'static {
    /// The producer handle.
    type Tx: Tx;
    /// The name in the table.
    fn name() -> String;
    /// Starts `setup.topology`; the last stage calls `sink` with each value, in order.
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, sink: S) -> Self::Tx;
}

/// An intermediate stage's work: read the value.
#[inline(always)]
fn pass(v: u64) {
    black_box(v);
}

// ---------------------------------------------------------------------------------------------
// NanoStream

/// A NanoStream wait strategy the benchmark can make.
pub trait NanoWait: nanostream::WaitStrategy + Sized {
    /// Its name in the table.
    const LABEL: &'static str;
    /// A fresh instance.
    fn make() -> Self;
}
impl NanoWait for nanostream::BusySpinWaitStrategy {
    const LABEL: &'static str = "BusySpin";
    fn make() -> Self {
        Self
    }
}
impl NanoWait for nanostream::YieldingWaitStrategy {
    const LABEL: &'static str = "Yielding";
    fn make() -> Self {
        Self::new()
    }
}
impl NanoWait for nanostream::BlockingWaitStrategy {
    const LABEL: &'static str = "Blocking";
    fn make() -> Self {
        Self::new()
    }
}

/// The consumer added last with the opt-in streaming back-off if `paced`, as built otherwise.
fn opt_in<W, K>(builder: nanostream::Builder<u64, W, K>, paced: bool) -> nanostream::Builder<u64, W, K>
where
    W: nanostream::WaitStrategy,
    K: nanostream::ProducerKind,
{
    if paced {
        builder.streaming_backoff(nanostream::StreamingBackoff::enabled())
    } else {
        builder
    }
}

/// Adds `topology`'s consumers to a NanoStream builder (single or multi producer) and builds it.
/// With `paced`, every consumer opts in to [`nanostream::StreamingBackoff::enabled`]; otherwise
/// the builder's defaults stand (only the unicast consumer's pinning is set).
macro_rules! nano_graph {
    ($builder:expr, $setup:expr, $sink:expr, $paced:expr) => {{
        let mut sink = $sink;
        let paced: bool = $paced;
        let last = move |e: &u64, _: i64, _: bool| sink(*e);
        let stage = |e: &u64, _: i64, _: bool| pass(*e);
        let b = $builder;
        match $setup.topology {
            Topology::Unicast => opt_in(
                b.handle_events_with(last).pin_at_core($setup.consumer_core),
                paced,
            ),
            Topology::Chain3 => {
                let b = opt_in(b.handle_events_with(stage), paced).and_then();
                let b = opt_in(b.handle_events_with(stage), paced).and_then();
                opt_in(b.handle_events_with(last), paced)
            }
            Topology::Diamond => {
                let b = opt_in(b.handle_events_with(stage), paced);
                let b = opt_in(b.handle_events_with(stage), paced).and_then();
                opt_in(b.handle_events_with(last), paced)
            }
        }
        .build()
        .expect("a valid pipeline")
    }};
}

/// The name of a NanoStream row: the wait strategy, then what differs from a default pipeline
/// published to through a `Publisher` session.
fn nano_name(producer: &str, wait: &str, session: bool, paced: bool) -> String {
    let how = match (session, paced) {
        (true, false) => "",
        (true, true) => ", streaming back-off",
        (false, false) => ", publish on the producer",
        (false, true) => ", publish on the producer, streaming back-off",
    };
    format!("NanoStream{producer} ({wait}{how})")
}

/// NanoStream with one producer, built with the defaults: `build_single_producer(..)`, the wait
/// strategy, and the unicast consumer's pinning. `SESSION`: single publishes in a loop go through
/// a [`nanostream::Publisher`] session (the way to write such a loop); otherwise each is a
/// `publish` call on the producer. `PACED`: every consumer opts in to
/// [`nanostream::StreamingBackoff::enabled`].
pub struct Nano<W, const SESSION: bool = true, const PACED: bool = false>(PhantomData<W>);

impl<W: NanoWait, const SESSION: bool, const PACED: bool> Contender for Nano<W, SESSION, PACED> {
    type Tx = NanoTx<W, SESSION>;
    fn name() -> String {
        nano_name("", W::LABEL, SESSION, PACED)
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, sink: S) -> Self::Tx {
        NanoTx(nano_graph!(
            nanostream::build_single_producer(setup.capacity, || 0u64, W::make()),
            setup,
            sink,
            PACED
        ))
    }
}

/// The producer end of [`Nano`].
pub struct NanoTx<W: nanostream::WaitStrategy, const SESSION: bool>(nanostream::SingleProducer<u64, W>);

impl<W: nanostream::WaitStrategy, const SESSION: bool> Tx for NanoTx<W, SESSION> {
    #[inline(always)]
    fn send(&mut self, v: u64) {
        self.0.send(v);
    }
    #[inline(always)]
    fn send_batch(&mut self, first: u64, n: usize) {
        self.0.send_batch(first, n);
    }
    #[inline(always)]
    fn send_each(&mut self, values: std::ops::Range<u64>) {
        if SESSION {
            let mut publisher = self.0.publisher();
            for v in values {
                nanostream::Producer::publish(&mut publisher, |e, _| *e = v)
                    .expect("the pipeline is running");
            }
        } else {
            for v in values {
                self.0.send(v);
            }
        }
    }
    fn stop(self) {
        self.0.stop();
    }
}

/// NanoStream with the multi-producer sequencer, built with the defaults; `PACED`: every
/// consumer opts in to [`nanostream::StreamingBackoff::enabled`].
pub struct NanoMulti<W, const PACED: bool = false>(PhantomData<W>);

impl<W: NanoWait, const PACED: bool> Contender for NanoMulti<W, PACED> {
    type Tx = nanostream::MultiProducer<u64, W>;
    fn name() -> String {
        nano_name(" multi", W::LABEL, true, PACED)
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, sink: S) -> Self::Tx {
        nano_graph!(
            nanostream::build_multi_producer(setup.capacity, || 0u64, W::make()),
            setup,
            sink,
            PACED
        )
    }
}

macro_rules! nano_tx {
    ($producer:ident) => {
        impl<W: nanostream::WaitStrategy> Tx for nanostream::$producer<u64, W> {
            #[inline(always)]
            fn send(&mut self, v: u64) {
                nanostream::Producer::publish(self, |e, _| *e = v).expect("the pipeline is running");
            }
            #[inline(always)]
            fn send_batch(&mut self, first: u64, n: usize) {
                nanostream::Producer::batch_publish(self, n, |batch| {
                    for (i, e) in batch.enumerate() {
                        *e = first + i as u64;
                    }
                })
                .expect("the pipeline is running");
            }
            fn stop(self) {
                self.shutdown().expect("no handler failed");
            }
        }
    };
}
nano_tx!(SingleProducer);
nano_tx!(MultiProducer);

// ---------------------------------------------------------------------------------------------
// The disruptor crate

/// A `disruptor` crate wait strategy the benchmark can make.
pub trait DisWait: disruptor::wait_strategies::WaitStrategy + 'static {
    /// Its name in the table.
    const LABEL: &'static str;
    /// A fresh instance.
    fn make() -> Self;
}
impl DisWait for disruptor::BusySpin {
    const LABEL: &'static str = "BusySpin";
    fn make() -> Self {
        disruptor::BusySpin
    }
}

/// Yields on every empty poll. The `disruptor` crate ships no yielding strategy (only `BusySpin`,
/// `BusySpinWithSpinLoopHint` and `Sleep`); its `WaitStrategy` trait is public and stateless
/// (`fn wait_for(&self, sequence)`, called once per empty poll), so this is the closest a user
/// can write. Shown beside the crate's own `BusySpin` in the 4-thread scenarios.
#[derive(Clone, Copy, Debug)]
pub struct UserYield;
impl disruptor::wait_strategies::WaitStrategy for UserYield {
    fn wait_for(&self, _sequence: i64) {
        std::thread::yield_now();
    }
}
impl DisWait for UserYield {
    const LABEL: &'static str = "user-written yield";
    fn make() -> Self {
        UserYield
    }
}

/// Adds `topology`'s consumers to a `disruptor` builder (single or multi producer).
macro_rules! disruptor_graph {
    ($builder:expr, $setup:expr, $sink:expr) => {{
        use disruptor::ProcessorSettings as _;
        let mut sink = $sink;
        let last = move |e: &u64, _: i64, _: bool| sink(*e);
        let stage = |e: &u64, _: i64, _: bool| pass(*e);
        match $setup.topology {
            Topology::Unicast => $builder
                .pin_at_core($setup.consumer_core)
                .handle_events_with(last)
                .build(),
            Topology::Chain3 => $builder
                .handle_events_with(stage)
                .and_then()
                .handle_events_with(stage)
                .and_then()
                .handle_events_with(last)
                .build(),
            Topology::Diamond => $builder
                .handle_events_with(stage)
                .handle_events_with(stage)
                .and_then()
                .handle_events_with(last)
                .build(),
        }
    }};
}

/// The `disruptor` crate with one producer.
pub struct Disruptor<W>(PhantomData<W>);

impl<W: DisWait> Contender for Disruptor<W> {
    type Tx = disruptor::SingleProducer<u64, disruptor::SingleConsumerBarrier>;
    fn name() -> String {
        format!("disruptor 4.4 ({})", W::LABEL)
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, sink: S) -> Self::Tx {
        disruptor_graph!(
            disruptor::build_single_producer(setup.capacity, || 0u64, W::make()),
            setup,
            sink
        )
    }
}

/// The `disruptor` crate with its multi-producer sequencer.
pub struct DisruptorMulti<W>(PhantomData<W>);

impl<W: DisWait> Contender for DisruptorMulti<W> {
    type Tx = disruptor::MultiProducer<u64, disruptor::SingleConsumerBarrier>;
    fn name() -> String {
        format!("disruptor 4.4 multi ({})", W::LABEL)
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, sink: S) -> Self::Tx {
        disruptor_graph!(
            disruptor::build_multi_producer(setup.capacity, || 0u64, W::make()),
            setup,
            sink
        )
    }
}

macro_rules! disruptor_tx {
    ($producer:ident) => {
        impl Tx for disruptor::$producer<u64, disruptor::SingleConsumerBarrier> {
            #[inline(always)]
            fn send(&mut self, v: u64) {
                disruptor::Producer::publish(self, |e| *e = v);
            }
            #[inline(always)]
            fn send_batch(&mut self, first: u64, n: usize) {
                disruptor::Producer::batch_publish(self, n, |batch| {
                    for (i, e) in batch.enumerate() {
                        *e = first + i as u64;
                    }
                });
            }
            fn stop(self) {
                drop(self); // processes every published event, then joins
            }
        }
    };
}
disruptor_tx!(SingleProducer);
disruptor_tx!(MultiProducer);

// ---------------------------------------------------------------------------------------------
// Channels

/// A bounded channel, and how its consumer waits.
pub trait Channel: 'static {
    /// Its name in the table.
    const NAME: &'static str;
    /// The sending half.
    type S: Clone + Send + 'static;
    /// The receiving half.
    type R: Send + 'static;
    /// A channel of `capacity`.
    fn bounded(capacity: usize) -> (Self::S, Self::R);
    /// Sends, waiting while full.
    fn send(s: &Self::S, v: u64);
    /// The next value; `None` once every sender is gone and the channel is empty.
    fn recv(r: &Self::R) -> Option<u64>;
}

/// crossbeam-channel `bounded`, consumer spinning on `try_recv` (the busy-spin equivalent).
pub struct CrossbeamSpin;
/// crossbeam-channel `bounded`, consumer in `recv` (spins, yields, then parks).
pub struct CrossbeamBlock;
/// `std::sync::mpsc::sync_channel`, consumer spinning on `try_recv`.
pub struct StdSpin;
/// `std::sync::mpsc::sync_channel`, consumer in `recv`.
pub struct StdBlock;

impl Channel for CrossbeamSpin {
    const NAME: &'static str = "crossbeam bounded (try_recv spin)";
    type S = crossbeam_channel::Sender<u64>;
    type R = crossbeam_channel::Receiver<u64>;
    fn bounded(capacity: usize) -> (Self::S, Self::R) {
        crossbeam_channel::bounded(capacity)
    }
    #[inline(always)]
    fn send(s: &Self::S, v: u64) {
        s.send(v).expect("the receiver is alive");
    }
    #[inline(always)]
    fn recv(r: &Self::R) -> Option<u64> {
        loop {
            match r.try_recv() {
                Ok(v) => return Some(v),
                Err(crossbeam_channel::TryRecvError::Empty) => std::hint::spin_loop(),
                Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            }
        }
    }
}

impl Channel for CrossbeamBlock {
    const NAME: &'static str = "crossbeam bounded (recv)";
    type S = crossbeam_channel::Sender<u64>;
    type R = crossbeam_channel::Receiver<u64>;
    fn bounded(capacity: usize) -> (Self::S, Self::R) {
        crossbeam_channel::bounded(capacity)
    }
    #[inline(always)]
    fn send(s: &Self::S, v: u64) {
        s.send(v).expect("the receiver is alive");
    }
    #[inline(always)]
    fn recv(r: &Self::R) -> Option<u64> {
        r.recv().ok()
    }
}

impl Channel for StdSpin {
    const NAME: &'static str = "std sync_channel (try_recv spin)";
    type S = std::sync::mpsc::SyncSender<u64>;
    type R = std::sync::mpsc::Receiver<u64>;
    fn bounded(capacity: usize) -> (Self::S, Self::R) {
        std::sync::mpsc::sync_channel(capacity)
    }
    #[inline(always)]
    fn send(s: &Self::S, v: u64) {
        s.send(v).expect("the receiver is alive");
    }
    #[inline(always)]
    fn recv(r: &Self::R) -> Option<u64> {
        loop {
            match r.try_recv() {
                Ok(v) => return Some(v),
                Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
            }
        }
    }
}

impl Channel for StdBlock {
    const NAME: &'static str = "std sync_channel (recv)";
    type S = std::sync::mpsc::SyncSender<u64>;
    type R = std::sync::mpsc::Receiver<u64>;
    fn bounded(capacity: usize) -> (Self::S, Self::R) {
        std::sync::mpsc::sync_channel(capacity)
    }
    #[inline(always)]
    fn send(s: &Self::S, v: u64) {
        s.send(v).expect("the receiver is alive");
    }
    #[inline(always)]
    fn recv(r: &Self::R) -> Option<u64> {
        r.recv().ok()
    }
}

/// A channel as a contender: one consumer thread per stage, stages joined by channels. A
/// diamond sends each value to A's and B's channels; C takes one value from each.
pub struct Chan<C>(PhantomData<C>);

/// The producer end of a channel graph. Clones share the senders, not the threads.
pub struct ChanTx<C: Channel> {
    first: C::S,
    /// B's channel in a diamond.
    second: Option<C::S>,
    threads: Vec<JoinHandle<()>>,
}

impl<C: Channel> Clone for ChanTx<C> {
    fn clone(&self) -> Self {
        Self {
            first: self.first.clone(),
            second: self.second.clone(),
            threads: Vec::new(),
        }
    }
}

impl<C: Channel> Tx for ChanTx<C> {
    #[inline(always)]
    fn send(&mut self, v: u64) {
        C::send(&self.first, v);
        if let Some(second) = &self.second {
            C::send(second, v);
        }
    }
    #[inline(always)]
    fn send_batch(&mut self, first: u64, n: usize) {
        // Channels have no batch send: one send per value.
        for v in first..first + n as u64 {
            self.send(v);
        }
    }
    fn stop(self) {
        drop(self.first);
        drop(self.second);
        for thread in self.threads {
            thread.join().expect("a channel stage panicked");
        }
    }
}

impl<C: Channel> Contender for Chan<C> {
    type Tx = ChanTx<C>;
    fn name() -> String {
        C::NAME.to_owned()
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, mut sink: S) -> Self::Tx {
        let n = setup.capacity;
        let forward = |r: C::R, s: C::S| {
            std::thread::spawn(move || {
                while let Some(v) = C::recv(&r) {
                    pass(v);
                    C::send(&s, v);
                }
            })
        };
        match setup.topology {
            Topology::Unicast => {
                let (s, r) = C::bounded(n);
                let core = setup.consumer_core;
                let thread = std::thread::spawn(move || {
                    pin(core);
                    while let Some(v) = C::recv(&r) {
                        sink(v);
                    }
                });
                ChanTx {
                    first: s,
                    second: None,
                    threads: vec![thread],
                }
            }
            Topology::Chain3 => {
                let (s0, r0) = C::bounded(n);
                let (s1, r1) = C::bounded(n);
                let (s2, r2) = C::bounded(n);
                let a = forward(r0, s1);
                let b = forward(r1, s2);
                let c = std::thread::spawn(move || {
                    while let Some(v) = C::recv(&r2) {
                        sink(v);
                    }
                });
                ChanTx {
                    first: s0,
                    second: None,
                    threads: vec![a, b, c],
                }
            }
            Topology::Diamond => {
                let (sa, ra) = C::bounded(n);
                let (sb, rb) = C::bounded(n);
                let (sac, rac) = C::bounded(n);
                let (sbc, rbc) = C::bounded(n);
                let a = forward(ra, sac);
                let b = forward(rb, sbc);
                let c = std::thread::spawn(move || {
                    while let (Some(x), Some(y)) = (C::recv(&rac), C::recv(&rbc)) {
                        assert_eq!(x, y, "the diamond's branches disagree");
                        sink(x);
                    }
                });
                ChanTx {
                    first: sa,
                    second: Some(sb),
                    threads: vec![a, b, c],
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The floor

/// No queue at all: the producer stores the value in one cache-padded atomic, a pinned thread
/// spinning on it hands it to the sink. Only meaningful with one value in flight (round trips);
/// [`floor_round_trip`](crate::scenarios::floor_round_trip) is the stricter one-atomic floor.
pub struct TwoLineFloor;

/// The producer end of [`TwoLineFloor`].
pub struct FloorTx {
    cell: Arc<CachePadded<AtomicU64>>,
    thread: JoinHandle<()>,
}

impl Tx for FloorTx {
    #[inline(always)]
    fn send(&mut self, v: u64) {
        self.cell.store(v, Ordering::Release);
    }
    fn send_batch(&mut self, _first: u64, _n: usize) {
        unreachable!("the floor carries one value at a time");
    }
    fn stop(self) {
        self.cell.store(u64::MAX, Ordering::Release);
        self.thread.join().expect("the floor thread panicked");
    }
}

impl Contender for TwoLineFloor {
    type Tx = FloorTx;
    fn name() -> String {
        "floor: ping line + echo line".to_owned()
    }
    fn start<S: FnMut(u64) + Send + 'static>(setup: Setup, mut sink: S) -> Self::Tx {
        assert_eq!(setup.topology, Topology::Unicast, "the floor is 1P-1C only");
        let cell = Arc::new(CachePadded::new(AtomicU64::new(0)));
        let seen = cell.clone();
        let core = setup.consumer_core;
        let thread = std::thread::spawn(move || {
            pin(core);
            let mut last = 0;
            loop {
                let v = seen.load(Ordering::Acquire);
                if v == last {
                    std::hint::spin_loop();
                    continue;
                }
                if v == u64::MAX {
                    return;
                }
                last = v;
                sink(v);
            }
        });
        FloorTx { cell, thread }
    }
}
