//! The broker's operations endpoint: an HTTP listener, apart from the RESP one, that tells
//! orchestrators whether the broker is ready and tells Prometheus how it is doing.
//!
//! - [`metrics`]: the counters and gauges the broker's threads update (one atomic operation
//!   each, no lock, no allocation), as numbers for `INFO` and as Prometheus text.
//! - [`http`]: the server of `GET /health` and `GET /metrics`, on a thread of its own; it
//!   also serves the broker's HTTP API and dashboard ([`crate::http`]) once given it.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{SocketAddr, TcpStream};
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! use nanostream_net::ops::{Metrics, OpsServer};
//!
//! let metrics = Arc::new(Metrics::new());
//! let ready = Arc::new(AtomicBool::new(false));
//! let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
//! let server = OpsServer::start(addr, Arc::clone(&metrics), Arc::clone(&ready))?;
//!
//! // The broker's threads count what they do; the RESP listener is up, so it is ready.
//! metrics.client_connected();
//! ready.store(true, Ordering::Release);
//!
//! // What `curl http://127.0.0.1:<port>/health` does.
//! let mut stream = TcpStream::connect(server.local_addr())?;
//! stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("\r\n\r\nready\n"));
//!
//! server.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod http;
pub mod metrics;

pub use http::OpsServer;
pub use metrics::{DisconnectReason, Metrics, MetricsSnapshot};
