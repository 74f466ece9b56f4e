//! The HTTP server of the operations endpoint: `/health` and `/metrics`, served by axum on a
//! thread and a single-threaded tokio runtime of its own, away from the broker's hot threads.

use std::fmt;
use std::future::IntoFuture;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use super::Metrics;
use crate::http::{ApiSlot, HttpApi};

/// The content type of `/metrics`: the OpenMetrics text format, which Prometheus reads.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long [`OpsServer::shutdown`] lets requests in progress finish before closing their
/// connections.
const GRACE: Duration = Duration::from_secs(1);

/// What the handlers read.
#[derive(Debug, Clone)]
struct OpsState {
    metrics: Arc<Metrics>,
    /// Set by the broker once it accepts clients, cleared when it starts shutting down.
    ready: Arc<AtomicBool>,
    /// Whether `/health` has seen `ready` set, so that a clear flag afterwards reads as
    /// stopping rather than starting.
    was_ready: Arc<AtomicBool>,
}

/// The operations endpoint's HTTP server.
///
/// It serves, on its own listener:
///
/// - `GET /health`: `200 ready` while the broker accepts clients (the `ready` flag handed to
///   [`OpsServer::start`] is set); `503 starting` before that, and `503 stopping` once the flag
///   is cleared again after `/health` has answered `ready`. For load balancers and for
///   `systemd`/Kubernetes probes.
/// - `GET /metrics`: every [`Metrics`] value in the OpenMetrics text format, for Prometheus.
///
/// Once [`serve_api`](OpsServer::serve_api) is called it serves the broker's HTTP and
/// WebSocket API and its dashboard too ([`crate::http`]); until then their routes answer `503`.
///
/// Any other path is `404 Not Found`, another method on these paths `405 Method Not Allowed`,
/// both with a JSON body `{"error": "..."}`.
///
/// The server runs on one thread named `nanostream-ops` with a single-threaded tokio runtime,
/// so scrapes never run on the broker's threads; they only read the metrics' atomics.
/// Dropping the server stops it, as [`OpsServer::shutdown`] does.
pub struct OpsServer {
    local_addr: SocketAddr,
    /// Sends the stop signal; dropping it stops the server too.
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    /// Where the HTTP API finds the broker once [`serve_api`](Self::serve_api) is called.
    api: Arc<ApiSlot>,
    runtime: tokio::runtime::Handle,
}

impl OpsServer {
    /// Binds `addr` now, so that a bind error (the address in use, a port that needs
    /// privileges) is returned here with the address in its message, then serves in the
    /// background until [`OpsServer::shutdown`] or drop.
    ///
    /// Bind port 0 for a free port and read it with [`OpsServer::local_addr`].
    pub fn start(addr: SocketAddr, metrics: Arc<Metrics>, ready: Arc<AtomicBool>) -> io::Result<OpsServer> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("operations endpoint: cannot listen on {addr}: {e}"),
            )
        })?;
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let api = Arc::new(ApiSlot::default());
        let app = router(
            OpsState {
                metrics,
                ready,
                was_ready: Arc::new(AtomicBool::new(false)),
            },
            api.clone(),
        );
        let handle = runtime.handle().clone();
        let (stop, mut stopped) = watch::channel(false);
        let mut graceful = stop.subscribe();

        let thread = thread::Builder::new()
            .name("nanostream-ops".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let app = app.into_make_service_with_connect_info::<SocketAddr>();
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                        // A send of `true` or the sender dropped: either way, stop.
                        let _ = graceful.wait_for(|stop| *stop).await;
                    });
                    let mut serve = std::pin::pin!(serve.into_future());
                    let result = tokio::select! {
                        result = &mut serve => result,
                        _ = stopped.wait_for(|stop| *stop) => {
                            // No new connections from here; requests in progress get `GRACE`.
                            tokio::time::timeout(GRACE, serve).await.unwrap_or(Ok(()))
                        }
                    };
                    if let Err(e) = result {
                        tracing::warn!("operations endpoint on {local_addr} stopped: {e}");
                    }
                });
                // Dropping the runtime here closes the connections still open after `GRACE`.
            })?;
        tracing::info!("operations endpoint listening on http://{local_addr} (/health, /metrics)");

        Ok(OpsServer {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
            api,
            runtime: handle,
        })
    }

    /// Serves the broker's HTTP API and dashboard ([`crate::http`]) on this listener too, from
    /// now on; until then their routes answer `503`. Starts the dashboard's once-a-second
    /// sampling.
    pub fn serve_api(&self, api: HttpApi) {
        let api = Arc::new(api);
        self.api.attach(api.clone(), self.local_addr);
        self.runtime.spawn(crate::http::stats::run_sampler(api));
        tracing::info!("HTTP API and dashboard on http://{}", self.local_addr);
    }

    /// The address the server listens on (with the port chosen if `start` was given port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets requests in progress finish for up to a second, closes
    /// every connection and waits for the server's thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The receivers are gone only if the server's thread already ended.
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("operations endpoint on {}: its thread panicked", self.local_addr);
            }
        }
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for OpsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpsServer")
            .field("local_addr", &self.local_addr)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

/// Every route of the listener: the operations endpoint's and the HTTP API's.
fn router(state: OpsState, api: Arc<ApiSlot>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(crate::http::router(api))
        .fallback(crate::http::no_route)
        .method_not_allowed_fallback(crate::http::wrong_method)
}

async fn health(State(state): State<OpsState>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        state.was_ready.store(true, Ordering::Relaxed);
        (StatusCode::OK, "ready\n").into_response()
    } else if state.was_ready.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}
