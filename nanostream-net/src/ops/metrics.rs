//! The broker's metrics: counters and gauges its threads update with one atomic operation each,
//! read as plain numbers for `INFO` and encoded as Prometheus text for `/metrics`.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::{self, Counter};
use prometheus_client::metrics::gauge::{self, Gauge};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};

/// Why a client connection ended, or why one was refused: the `reason` label of
/// `nanostream_disconnections_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client sent `QUIT`.
    Quit,
    /// The client closed its end of the connection.
    ClosedByClient,
    /// The client sent a request the broker could not parse, or one over a protocol limit.
    ProtocolError,
    /// The client's pending output passed its limit: a subscriber too slow to keep up.
    OutputLimit,
    /// The broker already had its maximum number of clients, so the connection was refused.
    MaxClients,
    /// Reading from or writing to the client's socket failed.
    IoError,
    /// The broker was shutting down.
    Shutdown,
    /// The client failed to authenticate.
    AuthFailure,
}

impl DisconnectReason {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [DisconnectReason; 8] = [
        DisconnectReason::Quit,
        DisconnectReason::ClosedByClient,
        DisconnectReason::ProtocolError,
        DisconnectReason::OutputLimit,
        DisconnectReason::MaxClients,
        DisconnectReason::IoError,
        DisconnectReason::Shutdown,
        DisconnectReason::AuthFailure,
    ];

    /// The value of the `reason` label: `"quit"`, `"closed_by_client"`, `"protocol_error"`,
    /// `"output_limit"`, `"max_clients"`, `"io_error"`, `"shutdown"` or `"auth_failure"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Quit => "quit",
            DisconnectReason::ClosedByClient => "closed_by_client",
            DisconnectReason::ProtocolError => "protocol_error",
            DisconnectReason::OutputLimit => "output_limit",
            DisconnectReason::MaxClients => "max_clients",
            DisconnectReason::IoError => "io_error",
            DisconnectReason::Shutdown => "shutdown",
            DisconnectReason::AuthFailure => "auth_failure",
        }
    }

    /// The position of this reason in [`DisconnectReason::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The broker's metrics at one moment, as plain numbers (what Redis's `INFO` command reports).
///
/// Each field is read on its own, so a snapshot taken while clients are active may mix values
/// from slightly different moments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Clients connected now.
    pub clients: u64,
    /// Connections accepted since the broker started.
    pub connections_total: u64,
    /// Commands executed.
    pub commands: u64,
    /// Messages accepted by `PUBLISH`.
    pub messages_in: u64,
    /// `message` and `pmessage` frames queued to subscribers.
    pub messages_out: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Entries of the broker's ring in use.
    pub ring_used: u64,
    /// Entries the broker's ring holds.
    pub ring_capacity: u64,
    /// The largest output pending for any one subscriber, in bytes.
    pub slowest_backlog: u64,
    /// Connections refused because the broker had its maximum number of clients.
    pub rejected_connections: u64,
}

/// The broker's metrics, shared between its threads as an `Arc<Metrics>`.
///
/// Every update is one relaxed atomic operation on a value of its own: no lock, no allocation,
/// so the broker's hot threads can call them per command or per read. [`Metrics::snapshot`]
/// reads them as numbers; [`Metrics::encode`] writes the Prometheus exposition that the
/// operations endpoint serves at `/metrics`.
///
/// ```
/// use nanostream_net::ops::{DisconnectReason, Metrics};
///
/// let metrics = Metrics::new();
/// metrics.client_connected();
/// metrics.commands(3);
/// metrics.client_disconnected(DisconnectReason::Quit);
///
/// let now = metrics.snapshot();
/// assert_eq!((now.clients, now.connections_total, now.commands), (0, 1, 3));
///
/// let text = metrics.encode();
/// assert!(text.contains("nanostream_commands_total 3\n"));
/// assert!(text.contains("nanostream_disconnections_total{reason=\"quit\"} 1\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
pub struct Metrics {
    clients: Gauge<i64, Padded<AtomicI64>>,
    connections: Counter<u64, Padded<AtomicU64>>,
    commands: Counter<u64, Padded<AtomicU64>>,
    messages_in: Counter<u64, Padded<AtomicU64>>,
    messages_out: Counter<u64, Padded<AtomicU64>>,
    bytes_in: Counter<u64, Padded<AtomicU64>>,
    bytes_out: Counter<u64, Padded<AtomicU64>>,
    ring_used: Gauge<u64, Padded<AtomicU64>>,
    ring_capacity: Gauge<u64, Padded<AtomicU64>>,
    slowest_backlog: Gauge<u64, Padded<AtomicU64>>,
    disconnections: ByReason,
    /// Holds clones of the metrics above (they share their values) with names and help texts.
    registry: Registry,
}

impl Metrics {
    /// Every metric at zero, every disconnection reason included.
    pub fn new() -> Self {
        let mut metrics = Metrics {
            clients: Gauge::default(),
            connections: Counter::default(),
            commands: Counter::default(),
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            ring_used: Gauge::default(),
            ring_capacity: Gauge::default(),
            slowest_backlog: Gauge::default(),
            disconnections: ByReason::default(),
            registry: Registry::with_prefix("nanostream"),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "clients",
            "Clients connected to the broker now",
            metrics.clients.clone(),
        );
        registry.register(
            "connections",
            "Client connections accepted since the broker started",
            metrics.connections.clone(),
        );
        registry.register(
            "disconnections",
            "Client connections ended or refused since the broker started, by reason \
             (max_clients: refused because the broker had its maximum number of clients)",
            metrics.disconnections.clone(),
        );
        registry.register("commands", "Commands executed", metrics.commands.clone());
        registry.register(
            "messages_in",
            "Messages accepted by PUBLISH",
            metrics.messages_in.clone(),
        );
        registry.register(
            "messages_out",
            "Message and pmessage frames queued to subscribers",
            metrics.messages_out.clone(),
        );
        registry.register("bytes_in", "Bytes read from clients", metrics.bytes_in.clone());
        registry.register("bytes_out", "Bytes written to clients", metrics.bytes_out.clone());
        registry.register(
            "ring_used",
            "Entries of the broker's message ring in use",
            metrics.ring_used.clone(),
        );
        registry.register(
            "ring_capacity",
            "Entries the broker's message ring holds",
            metrics.ring_capacity.clone(),
        );
        registry.register_with_unit(
            "slowest_subscriber_backlog",
            "Output waiting to be written to the subscriber furthest behind, in bytes",
            Unit::Bytes,
            metrics.slowest_backlog.clone(),
        );
        metrics
    }

    /// A client connected: the clients gauge goes up by one, and so does the count of
    /// connections.
    pub fn client_connected(&self) {
        self.clients.inc();
        self.connections.inc();
    }

    /// A connected client's connection ended: the clients gauge goes down by one and the
    /// disconnections for `reason` go up by one.
    pub fn client_disconnected(&self, reason: DisconnectReason) {
        self.clients.dec();
        self.disconnections.inc(reason);
    }

    /// A connection was refused when accepted (for [`DisconnectReason::MaxClients`]): the
    /// disconnections for `reason` go up by one and the clients gauge stays as it is.
    pub fn rejected(&self, reason: DisconnectReason) {
        self.disconnections.inc(reason);
    }

    /// `n` more commands executed.
    pub fn commands(&self, n: u64) {
        self.commands.inc_by(n);
    }

    /// `n` more messages accepted by `PUBLISH`.
    pub fn messages_in(&self, n: u64) {
        self.messages_in.inc_by(n);
    }

    /// `n` more `message` or `pmessage` frames queued to subscribers.
    pub fn messages_out(&self, n: u64) {
        self.messages_out.inc_by(n);
    }

    /// `n` more bytes read from clients.
    pub fn bytes_in(&self, n: u64) {
        self.bytes_in.inc_by(n);
    }

    /// `n` more bytes written to clients.
    pub fn bytes_out(&self, n: u64) {
        self.bytes_out.inc_by(n);
    }

    /// How full the broker's ring is: `used` of `capacity` entries.
    pub fn set_ring(&self, used: u64, capacity: u64) {
        self.ring_used.set(used);
        self.ring_capacity.set(capacity);
    }

    /// The largest output pending for any one subscriber, in bytes.
    pub fn set_slowest_backlog(&self, bytes: u64) {
        self.slowest_backlog.set(bytes);
    }

    /// Connections closed (or refused) for `reason` since the broker started.
    pub fn disconnections(&self, reason: DisconnectReason) -> u64 {
        self.disconnections.get(reason)
    }

    /// Every value as a number, for `INFO`.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            // Negative only if disconnections were reported without their connections.
            clients: u64::try_from(self.clients.get()).unwrap_or(0),
            connections_total: self.connections.get(),
            commands: self.commands.get(),
            messages_in: self.messages_in.get(),
            messages_out: self.messages_out.get(),
            bytes_in: self.bytes_in.get(),
            bytes_out: self.bytes_out.get(),
            ring_used: self.ring_used.get(),
            ring_capacity: self.ring_capacity.get(),
            slowest_backlog: self.slowest_backlog.get(),
            rejected_connections: self.disconnections.get(DisconnectReason::MaxClients),
        }
    }

    /// Every metric in the OpenMetrics text format (which Prometheus reads), ending with
    /// `# EOF`: the body of `/metrics`.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("now", &self.snapshot())
            .finish_non_exhaustive()
    }
}

/// `nanostream_disconnections_total`, one counter per reason made at construction, so that an
/// update indexes an array instead of looking a label set up in a map.
#[derive(Debug, Clone, Default)]
struct ByReason([Counter<u64, Padded<AtomicU64>>; DisconnectReason::ALL.len()]);

impl ByReason {
    fn inc(&self, reason: DisconnectReason) {
        self.0[reason.index()].inc();
    }

    fn get(&self, reason: DisconnectReason) -> u64 {
        self.0[reason.index()].get()
    }
}

impl TypedMetric for ByReason {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ByReason {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for reason in DisconnectReason::ALL {
            let labels = [("reason", reason.as_str())];
            self.0[reason.index()].encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// An atomic alone on its cache lines.
///
/// Each metric lives in an allocation of its own, and small allocations sit next to each other:
/// unpadded, `bytes_in` (updated by the threads reading from clients) and `bytes_out` (by those
/// writing to them) could share a cache line, and every update of one would take the line from
/// the thread updating the other. 128 bytes, because x86-64 fetches cache lines in pairs and
/// recent ARM cores have 128-byte lines (the size `crossbeam_utils::CachePadded` uses there).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<A>(A);

impl<N, A: counter::Atomic<N>> counter::Atomic<N> for Padded<A> {
    fn inc(&self) -> N {
        counter::Atomic::inc(&self.0)
    }

    fn inc_by(&self, v: N) -> N {
        counter::Atomic::inc_by(&self.0, v)
    }

    fn get(&self) -> N {
        counter::Atomic::get(&self.0)
    }
}

impl<N, A: gauge::Atomic<N>> gauge::Atomic<N> for Padded<A> {
    fn inc(&self) -> N {
        gauge::Atomic::inc(&self.0)
    }

    fn inc_by(&self, v: N) -> N {
        gauge::Atomic::inc_by(&self.0, v)
    }

    fn dec(&self) -> N {
        gauge::Atomic::dec(&self.0)
    }

    fn dec_by(&self, v: N) -> N {
        gauge::Atomic::dec_by(&self.0, v)
    }

    fn set(&self, v: N) -> N {
        gauge::Atomic::set(&self.0, v)
    }

    fn get(&self) -> N {
        gauge::Atomic::get(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_listed_in_index_order() {
        for (i, reason) in DisconnectReason::ALL.into_iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason}");
        }
    }

    #[test]
    fn metrics_are_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Metrics>();
    }
}
