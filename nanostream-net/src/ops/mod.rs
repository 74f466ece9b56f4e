//! The broker's operations endpoint: an HTTP listener, apart from the RESP one, that tells
//! orchestrators whether the broker is ready and tells Prometheus how it is doing.
//!
//! - [`metrics`]: the counters and gauges the broker's threads update (one atomic operation
//!   each, no lock, no allocation), as numbers for `INFO` and as Prometheus text.

pub mod metrics;

pub use metrics::{DisconnectReason, Metrics, MetricsSnapshot};
