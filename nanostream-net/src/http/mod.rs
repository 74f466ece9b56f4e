//! The broker's HTTP and WebSocket API, and its live dashboard, served with `/health` and
//! `/metrics` on the `--http-port` listener ([`OpsServer`](crate::ops::OpsServer)).
//!
//! Every request runs as a client of the broker inside the process (see `gateway.rs`): an
//! entry added with `XADD` is read with `GET /topics/{topic}/messages` and the other way round,
//! a `POST` is answered once its entries are durable under `--fsync`, a long-polling `GET`
//! is woken by any client's write, and a WebSocket subscriber that does not read is cut off at
//! the output limit like a RESP subscriber.
//!
//! - `topics.rs`: durable topics (streams): produce, read with long-polling, list, describe.
//! - `groups.rs`: consumer groups: create, read, acknowledge, pending.
//! - `channels.rs`: publishing to live channels.
//! - `ws.rs`: WebSocket subscriptions to channels, patterns and topics, and the dashboard feed.
//! - `stats.rs`: the once-a-second sample the dashboard shows.
//! - `assets.rs`: the dashboard's files and the OpenAPI description, embedded in the binary.
//! - `access.rs`: the password check and the request's context.
//! - `commands.rs`: a request's commands in one buffer, and JSON fields read straight into it.
//! - `json.rs`, `params.rs`, `error.rs`: values, parameters and errors.
//!
//! The routes, with the methods each takes, are [`ROUTES`]; `/openapi.json` describes them.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{SocketAddr, TcpStream};
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! use nanostream_net::ops::OpsServer;
//! use nanostream_net::server::{Server, ServerConfig};
//!
//! let server = Server::start(ServerConfig::loopback())?;
//! let ready = Arc::new(AtomicBool::new(true));
//! let addr: SocketAddr = "127.0.0.1:0".parse()?;
//! let http = OpsServer::start(addr, server.metrics().clone(), ready)?;
//! http.serve_api(server.http_api());
//!
//! // What `curl -X POST --data-binary hello http://127.0.0.1:<port>/channels/news` does.
//! let mut stream = TcpStream::connect(http.local_addr())?;
//! stream.write_all(
//!     b"POST /channels/news HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
//! )?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
//! assert!(response.ends_with("{\"receivers\":0}"), "{response}");
//!
//! http.shutdown();
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access;
mod assets;
mod channels;
mod commands;
mod error;
mod gateway;
mod groups;
mod json;
mod params;
pub(crate) mod stats;
mod topics;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use parking_lot::RwLock;

pub use gateway::Gateway;
pub(crate) use stats::Stats;

use crate::server::OutputLimit;

/// Every route of the broker's HTTP listener, as (method, path), paths in OpenAPI's `{name}`
/// form. `/openapi.json` describes exactly these; a test checks both against the server.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/dashboard/dashboard.js"),
    ("GET", "/dashboard/dashboard.css"),
    ("GET", "/openapi.json"),
    ("GET", "/stats"),
    ("GET", "/topics"),
    ("GET", "/topics/{topic}"),
    ("DELETE", "/topics/{topic}"),
    ("GET", "/topics/{topic}/messages"),
    ("POST", "/topics/{topic}/messages"),
    ("GET", "/topics/{topic}/groups"),
    ("POST", "/topics/{topic}/groups"),
    ("POST", "/topics/{topic}/groups/{group}/read"),
    ("POST", "/topics/{topic}/groups/{group}/ack"),
    ("GET", "/topics/{topic}/groups/{group}/pending"),
    ("POST", "/channels/{channel}"),
    ("GET", "/ws/channels/{channel}"),
    ("GET", "/ws/patterns/{pattern}"),
    ("GET", "/ws/topics/{topic}"),
    ("GET", "/ws/stats"),
];

/// What the HTTP API serves: one broker's streams, groups and channels. Made by
/// [`Server::http_api`](crate::server::Server::http_api), served by
/// [`OpsServer::serve_api`](crate::ops::OpsServer::serve_api).
pub struct HttpApi {
    gateway: Arc<Gateway>,
    password: Option<String>,
    max_payload: usize,
    output_limit: OutputLimit,
    ring_size: usize,
    stats: Stats,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApi")
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

impl HttpApi {
    pub(crate) fn new(
        gateway: Arc<Gateway>,
        password: Option<String>,
        max_payload: usize,
        output_limit: OutputLimit,
        ring_size: usize,
    ) -> Self {
        HttpApi {
            gateway,
            password,
            max_payload,
            output_limit,
            ring_size,
            stats: Stats::new(),
        }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }
}

/// Where the handlers find the API: empty until the broker is up ([`OpsServer`] serves
/// `/health` while the streams open), and once the server stops, its gateway is closed.
///
/// [`OpsServer`]: crate::ops::OpsServer
#[derive(Debug, Default)]
pub(crate) struct ApiSlot {
    api: RwLock<Option<(Arc<HttpApi>, SocketAddr)>>,
}

impl ApiSlot {
    /// Serves `api`, whose requests arrive on `local`.
    pub(crate) fn attach(&self, api: Arc<HttpApi>, local: SocketAddr) {
        *self.api.write() = Some((api, local));
    }

    fn get(&self) -> Option<(Arc<HttpApi>, SocketAddr)> {
        self.api.read().clone()
    }
}

/// The API's routes (all but `/health` and `/metrics`, which the operations endpoint adds).
pub(crate) fn router(slot: Arc<ApiSlot>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/dashboard/dashboard.js", get(assets::script))
        .route("/dashboard/dashboard.css", get(assets::style))
        .route("/openapi.json", get(assets::openapi))
        .route("/stats", get(stats::current))
        .route("/topics", get(topics::list))
        .route("/topics/{topic}", get(topics::describe).delete(topics::delete))
        .route(
            "/topics/{topic}/messages",
            get(topics::read).post(topics::produce),
        )
        .route("/topics/{topic}/groups", get(groups::list).post(groups::create))
        .route("/topics/{topic}/groups/{group}/read", post(groups::read))
        .route("/topics/{topic}/groups/{group}/ack", post(groups::ack))
        .route("/topics/{topic}/groups/{group}/pending", get(groups::pending))
        .route("/channels/{channel}", post(channels::publish))
        .route("/ws/channels/{channel}", get(ws::channel))
        .route("/ws/patterns/{pattern}", get(ws::pattern))
        .route("/ws/topics/{topic}", get(ws::topic))
        .route("/ws/stats", get(ws::stats))
        // Bodies are bounded per request by the broker's --max-payload (see `access.rs`).
        .layer(DefaultBodyLimit::disable())
        .with_state(slot)
}

pub(crate) use error::ApiError;

/// The answer for a path no route has.
pub(crate) async fn no_route(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such route: {method} {}", uri.path()))
}

/// The answer for a known path with a method it does not take.
pub(crate) async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}
