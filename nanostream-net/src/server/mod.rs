//! The server: listeners, connections, the I/O loop, limits and TLS, and the broker pipeline
//! they feed.
//!
//! # Threads
//!
//! A [`Server`] runs two threads, sized for a machine where the broker shares two cores with
//! its clients:
//!
//! | thread | owns | does |
//! |---|---|---|
//! | `nanostream-io` | the listeners; each connection's read side, input buffer and decoder | accepts, reads, decodes requests and publishes each into the broker's ring; writes pending output when a socket turns writable |
//! | `nanostream-broker` | every client's state, the subscriptions, the network sources | the ring's consumer: runs each command in order, stages replies and deliveries per client, and at the end of each batch writes each client's output with one non-blocking write |
//!
//! Data walks one way: socket → decode (I/O thread) → ring → broker → output buffer →
//! socket. Like Redis's event loop, the I/O thread hands everything it decoded in one turn
//! of its loop to the broker with one claim on the ring, and the broker writes each client
//! once per batch, the clients that sent a command first (so a publisher has its reply while
//! the deliveries go out). A network handler in a user's pipeline publishes into the same ring from the
//! user's thread. Each connection's socket and pending output sit behind one lock, taken by the
//! I/O thread to read and by the broker to write; neither thread ever blocks on a socket.
//!
//! Why two threads and not one per core or one per client: decoding and system calls on one
//! side, command execution and fan-out encoding on the other, keep both cores busy under load
//! without contention on the subscription state, which only the broker thread touches. By
//! default ([`Profile::Shared`]) the I/O thread sleeps in `epoll` and the broker thread blocks
//! on the ring, so an idle broker costs no CPU and clients on the same machine are not starved;
//! [`Profile::LowLatency`] pins both to cores of their own and spins. The operations endpoint
//! (`/health`, `/metrics`) runs on a third, mostly idle thread with its own small tokio runtime
//! ([`crate::ops::OpsServer`]).
//!
//! ```
//! use std::io::{Read, Write};
//! use nanostream_net::server::{Server, ServerConfig};
//!
//! let server = Server::start(ServerConfig::loopback())?;
//! let mut client = std::net::TcpStream::connect(server.local_addr().unwrap())?;
//! client.write_all(b"PING\r\n")?;
//! let mut reply = [0; 7];
//! client.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"+PONG\r\n");
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod config;
pub(crate) mod connection;
mod error;
mod io_loop;
mod output_limit;
mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Poll, Waker};
use nanostream::{build_multi_producer, MultiProducer, Producer};

pub use config::{Profile, ServerConfig, TlsSettings};
pub use error::ServerError;
pub use output_limit::{parse_size, OutputLimit, OutputLimitError};

use crate::broker::{BrokerEvent, BrokerHandler, BrokerWait, EventKind, Settings};
use crate::ops::Metrics;
use crate::pubsub::handler::NetworkHandler;
use crate::pubsub::source::{Backpressure, RingSink, SourceStats, Subscription};
use crate::streams::keyspace::Keyspace;
use io_loop::{IoLoop, Listener, WAKER};

/// A running broker: its listeners, its I/O thread and its broker pipeline.
///
/// [`shutdown`](Self::shutdown) (or dropping it) stops accepting, delivers what was accepted,
/// closes every client and joins the I/O thread.
pub struct Server {
    addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    io_thread: Option<JoinHandle<()>>,
    producer: Option<MultiProducer<BrokerEvent, BrokerWait>>,
    metrics: Arc<Metrics>,
    ring_size: usize,
    /// The HTTP API's way into the ring.
    gateway: Arc<crate::http::Gateway>,
    password: Option<String>,
    max_payload: usize,
    output_limit: OutputLimit,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .finish_non_exhaustive()
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr, source })
}

impl Server {
    /// Binds the listeners and starts the threads. Errors say what could not be bound or
    /// loaded; nothing keeps running after an error.
    pub fn start(config: ServerConfig) -> Result<Server, ServerError> {
        Self::start_with_metrics(config, Arc::new(Metrics::new()))
    }

    /// As [`start`](Self::start), counting into `metrics` (shared with an
    /// [`OpsServer`](crate::ops::OpsServer)).
    pub fn start_with_metrics(config: ServerConfig, metrics: Arc<Metrics>) -> Result<Server, ServerError> {
        if config.bind.is_none() && config.tls.is_none() {
            return Err(ServerError::NoListener);
        }
        if config.max_clients == 0 {
            return Err(ServerError::Config("max clients must be at least 1".into()));
        }
        let tls_config = config.tls.as_ref().map(tls::server_config).transpose()?;
        let mut listeners = Vec::new();
        let mut addr = None;
        let mut tls_addr = None;
        if let Some(a) = config.bind {
            let socket = bind(a)?;
            addr = socket.local_addr().ok();
            listeners.push(Listener { socket, tls: None });
        }
        if let (Some(settings), Some(tls)) = (&config.tls, tls_config) {
            let socket = bind(settings.addr)?;
            tls_addr = socket.local_addr().ok();
            listeners.push(Listener {
                socket,
                tls: Some(tls),
            });
        }
        let keyspace = match &config.streams {
            Some(streams) => {
                let (keyspace, recovered) =
                    Keyspace::open(streams.clone()).map_err(|source| ServerError::Streams {
                        dir: streams.data_dir.clone(),
                        source,
                    })?;
                tracing::info!(
                    dir = %streams.data_dir.display(),
                    fsync = %streams.fsync,
                    streams = recovered.streams,
                    entries = recovered.entries,
                    groups = recovered.groups,
                    removed = recovered.removed,
                    ms = recovered.elapsed_ms,
                    "streams opened"
                );
                for tail in &recovered.recovered_tails {
                    tracing::warn!(stream = %tail, "recovered a stream not closed cleanly");
                }
                Some(keyspace)
            }
            None => None,
        };
        let settings = Arc::new(Settings {
            password: config.password.clone(),
            output_limit: config.output_limit,
            max_clients: config.max_clients,
            max_bulk_len: config.limits.max_bulk_len(),
            port: addr.map_or(0, |a| a.port()),
            tls_port: tls_addr.map_or(0, |a| a.port()),
            ring_size: config.ring_size,
            started: Instant::now(),
        });
        let spin = config.profile == Profile::LowLatency;
        let mut builder = build_multi_producer(
            config.ring_size,
            BrokerEvent::default,
            BrokerWait::for_profile(config.profile),
        )
        .handle_events_mut(BrokerHandler::new(settings, metrics.clone(), keyspace))
        .thread_name("nanostream-broker")
        .max_batch_size(config.ring_size.max(1024));
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        if spin && cores.len() >= 2 {
            builder = builder.pin_at_core(cores[1].id);
        }
        let producer = builder
            .build()
            .map_err(|e| ServerError::Config(format!("ring: {e}")))?;
        let poll = Poll::new().map_err(|e| ServerError::Start(e.to_string()))?;
        let waker =
            Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| ServerError::Start(e.to_string()))?);
        let stop = Arc::new(AtomicBool::new(false));
        let ids = Arc::new(std::sync::atomic::AtomicU64::new(io_loop::FIRST_CLIENT));
        let gateway = Arc::new(crate::http::Gateway::new(
            producer.clone(),
            ids.clone(),
            metrics.clone(),
        ));
        let io = IoLoop::new(
            poll,
            listeners,
            producer.clone(),
            config.limits,
            config.password.clone(),
            config.max_clients,
            metrics.clone(),
            stop.clone(),
            spin,
            ids,
        )
        .map_err(|e| ServerError::Start(e.to_string()))?;
        let io_waker = waker.clone();
        let pin = (spin && !cores.is_empty()).then(|| cores[0]);
        let io_thread = std::thread::Builder::new()
            .name("nanostream-io".into())
            .spawn(move || {
                if let Some(core) = pin {
                    core_affinity::set_for_current(core);
                }
                io.run(io_waker)
            })
            .map_err(|e| ServerError::Start(e.to_string()))?;
        Ok(Server {
            addr,
            tls_addr,
            stop,
            waker,
            io_thread: Some(io_thread),
            producer: Some(producer),
            metrics,
            ring_size: config.ring_size,
            gateway,
            password: config.password.clone(),
            max_payload: config.limits.max_bulk_len(),
            output_limit: config.output_limit,
        })
    }

    /// The plain listener's address (with the port the system picked for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The TLS listener's address.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether the server is serving. It stops on [`shutdown`](Self::shutdown), or on its own
    /// if its broker thread failed (the failure is logged): a service should then exit.
    pub fn is_running(&self) -> bool {
        self.io_thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// The broker ring's size.
    pub fn ring_size(&self) -> usize {
        self.ring_size
    }

    /// What the HTTP API needs to serve this server's streams and channels: hand it to
    /// [`OpsServer::serve_api`](crate::ops::OpsServer::serve_api).
    pub fn http_api(&self) -> crate::http::HttpApi {
        crate::http::HttpApi::new(
            self.gateway.clone(),
            self.password.clone(),
            self.max_payload,
            self.output_limit,
            self.ring_size,
        )
    }

    fn producer(&self) -> MultiProducer<BrokerEvent, BrokerWait> {
        self.producer.as_ref().expect("running until shutdown").clone()
    }

    /// A handler for a pipeline of your own that publishes each event to `channel`'s remote
    /// subscribers, encoded by `encode`. See [`NetworkHandler`].
    pub fn network_handler<E, F>(&self, channel: impl Into<Vec<u8>>, encode: F) -> NetworkHandler<E, F>
    where
        F: FnMut(&E, &mut Vec<u8>) + Send + 'static,
    {
        NetworkHandler::new(self.producer(), channel.into(), encode)
    }

    /// Feeds remote `PUBLISH`es matching `subscription` into your ring: `translate` writes
    /// each (channel, payload) into an event of `producer`'s ring. A source counts as one
    /// receiver in `PUBLISH`'s reply. Returns the source's counters.
    ///
    /// The translator runs on the broker thread: keep it short. With
    /// [`Backpressure::Wait`] a full ring holds the broker (and every client) up until it has
    /// room; with [`Backpressure::DropAndCount`] the message is dropped and counted.
    pub fn add_source<E, P, F>(
        &self,
        subscription: Subscription,
        producer: P,
        translate: F,
        backpressure: Backpressure,
    ) -> Arc<SourceStats>
    where
        E: 'static,
        P: Producer<E> + Send + 'static,
        F: FnMut(&mut E, &[u8], &[u8]) + Send + 'static,
    {
        let stats = Arc::new(SourceStats::default());
        let sink = RingSink {
            subscription,
            producer,
            translate,
            backpressure,
            stats: stats.clone(),
            event: std::marker::PhantomData,
        };
        let mut ring = self.producer();
        let mut sink = Some(Box::new(sink) as Box<dyn crate::pubsub::source::Sink>);
        let _ = ring.publish(|slot, _| {
            slot.kind = EventKind::AddSource;
            slot.source = sink.take().map(parking_lot::Mutex::new);
        });
        stats
    }

    /// Stops accepting, delivers what was accepted, closes every client (within about a
    /// second for clients that do not read), and joins the I/O thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(thread) = self.io_thread.take() {
            let _ = thread.join();
        }
        // The broker has closed every client, the HTTP API's too; it takes no new ones.
        self.gateway.close();
        // The last clone of the ring's producer to go drains and stops the broker thread;
        // network handlers in user pipelines may hold others.
        self.producer.take();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}
