//! # NanoStream
//!
//! Low-latency event processing in the LMAX Disruptor family: producers write events into a
//! pre-allocated ring, consumers on their own threads read them in place, and a graph of stages
//! (parallel handlers, chains, diamonds) coordinates through cache-padded sequence counters
//! instead of locks or queues. Publishing and consuming allocate nothing.
//!
//! ```
//! use std::sync::atomic::{AtomicI64, Ordering};
//! use std::sync::Arc;
//! use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
//!
//! #[derive(Default)]
//! struct Order { id: u64, price: i64, quantity: i64 }
//!
//! let exposure = Arc::new(AtomicI64::new(0));
//! let seen = exposure.clone();
//!
//! // A ring of 1024 pre-allocated orders; two parallel handlers, then a handler after both.
//! let mut producer = build_single_producer(1024, Order::default, BlockingWaitStrategy::new())
//!     .handle_events_with(|order: &Order, sequence: i64, end_of_batch: bool| {
//!         // write to a log, flush when end_of_batch
//!         # let _ = (order, sequence, end_of_batch);
//!     })
//!     .thread_name("journal")
//!     .handle_events_with(|_order: &Order, _sequence: i64, _end_of_batch: bool| {})
//!     .thread_name("replicate")
//!     .and_then()
//!     .handle_events_with(move |order: &Order, _sequence: i64, _end_of_batch: bool| {
//!         seen.fetch_add(order.price * order.quantity, Ordering::Relaxed);
//!     })
//!     .thread_name("risk")
//!     .build()
//!     .expect("a valid pipeline");
//!
//! for id in 0..100 {
//!     producer.publish(|order, _sequence| {
//!         order.id = id;
//!         order.price = 10;
//!         order.quantity = 3;
//!     }).expect("the pipeline is running");
//! }
//!
//! producer.shutdown().expect("no handler failed"); // drains every event, joins the threads
//! assert_eq!(exposure.load(Ordering::Relaxed), 100 * 30);
//! ```
//!
//! ## The parts
//!
//! - [`RingBuffer`]: the events, allocated once by a factory.
//! - [`Sequence`]: a cache-padded counter; every producer and consumer publishes its progress in
//!   one.
//! - Sequencers ([`SingleProducerSequencer`], [`MultiProducerSequencer`]): how producers claim
//!   slots without lapping the slowest consumer.
//! - [`SequenceBarrier`] and [`WaitStrategy`]: how consumers wait (busy-spin to blocking).
//! - [`EventHandler`] / [`EventHandlerMut`]: what a consumer does; run by a
//!   [`BatchEventProcessor`] on its own thread, or pulled with an [`EventPoller`].
//! - [`StreamingBackoff`]: how a consumer paces its polls while a producer streams events, so
//!   that the two do not pass cache lines back and forth for every few events.
//! - [`build_single_producer`] / [`build_multi_producer`] and the [`Builder`]: the graph
//!   (`handle_events_with` in parallel, `and_then` for after, `handle_events_mut` for a stage of
//!   its own), thread names, core pinning.
//! - [`SingleProducer`] / [`MultiProducer`] and the [`Producer`] trait: publishing, and the
//!   lifecycle (`shutdown`, `shutdown_timeout`, `halt`). [`Publisher`]: a session borrowed from a
//!   `SingleProducer` for a loop of publishes, which the compiler keeps in registers.
//! - [`PipelineMonitor`]: progress and lag, from any thread.
//!
//! ## Threads and cores
//!
//! Each handler gets a thread. Busy-spin and yielding strategies need a core per spinning
//! thread; with more threads than cores, use [`BlockingWaitStrategy`] or
//! [`PhasedBackoffWaitStrategy`]. Pin latency-critical consumers with
//! [`Builder::pin_at_core`].

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod affinity;
mod alert;
mod barrier;
mod builder;
mod error;
mod external_sequence;
mod handler;
mod monitor;
mod pipeline;
mod poller;
mod processor;
mod producer;
mod ring_buffer;
mod sequence;
mod sequencer;
mod sync;
mod wait_strategy;

pub use alert::Alert;
pub use barrier::SequenceBarrier;
pub use builder::{build_multi_producer, build_single_producer, Builder, Multi, ProducerKind, Single};
pub use error::{BuildError, ClaimError, PublishError, ShutdownError, TryPublishError};
pub use external_sequence::ExternalSequence;
pub use handler::{EventHandler, EventHandlerMut, PanicPolicy};
pub use monitor::{ConsumerStatus, PipelineMonitor};
pub use poller::{EventGuard, EventPoller, PollError, PolledEvents};
pub use processor::BatchEventProcessor;
pub use processor::StreamingBackoff;
pub use producer::{BatchIter, MultiEventPoller, MultiProducer, Producer, Publisher, SingleProducer};
pub use ring_buffer::RingBuffer;
pub use sequence::{DependentSequences, Sequence};
pub use sequencer::{
    AvailabilityBuffer, MultiProducerSequencer, PublishedSequence, SingleProducerSequencer, SinglePublished,
};
pub use wait_strategy::{
    BlockingWaitStrategy, BusySpinWaitStrategy, PhasedBackoffWaitStrategy, SleepingWaitStrategy,
    TimeoutBlockingWaitStrategy, WaitError, WaitStrategy, YieldingWaitStrategy,
};
