//! [`Ctx`]: what every API handler starts from: the API (503 until the broker is up), the
//! password check (401), and the client's address; and [`body`], a request body read within
//! the broker's `--max-payload` (413).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
use super::gateway::LocalClient;
use super::{ApiSlot, HttpApi};

/// A request's context: the API, its client's address and the listener's.
pub(crate) struct Ctx {
    pub(crate) api: Arc<HttpApi>,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
}

impl Ctx {
    /// A broker client for this request.
    pub(crate) async fn client(&self) -> Result<LocalClient, ApiError> {
        Ok(self.api.gateway().connect(self.peer, self.local).await?)
    }
}

impl FromRequestParts<Arc<ApiSlot>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, slot: &Arc<ApiSlot>) -> Result<Self, ApiError> {
        let Some((api, local)) = slot.get() else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the broker is starting",
            ));
        };
        if let Some(password) = api.password.as_deref() {
            if !authorized(parts, password) {
                return Err(ApiError::unauthorized());
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(local, |info| info.0);
        Ok(Ctx { api, peer, local })
    }
}

/// Whether the request carries `password`: `Authorization: Bearer <password>`, or for a
/// WebSocket (whose browser API sets no headers) `?token=<password>`.
fn authorized(parts: &Parts, password: &str) -> bool {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(given) = bearer {
        return same(given.trim().as_bytes(), password.as_bytes());
    }
    let token = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value)
    });
    token.is_some_and(|given| same(given.as_bytes(), password.as_bytes()))
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The body of a request, at most the broker's `--max-payload` bytes (413 beyond).
pub(crate) async fn body(api: &HttpApi, body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, api.max_payload).await.map_err(|e| {
        // axum's limit error says "length limit exceeded" (its type is not public).
        let too_large = format!("{e:?} {e}").contains("length limit");
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than the broker's --max-payload of {} bytes",
                    api.max_payload
                ),
            )
        } else {
            ApiError::bad_request(format!("cannot read the body: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret!"));
        assert!(!same(b"", b"x"));
    }
}
