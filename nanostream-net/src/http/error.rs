//! [`ApiError`]: a failed request, answered as JSON `{"error": "..."}` with its status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::gateway::Closed;

/// A request that failed: its status and a message for the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: a parameter or body the API cannot take.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such topic, group or route.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401: the broker has a password and the request did not give it.
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication required: send the broker's password as 'Authorization: Bearer <password>'",
        )
    }

    /// The answer to an error reply of the broker: the status its kind calls for, and
    /// the broker's text.
    pub(crate) fn from_reply(text: &str) -> Self {
        let status = if text.starts_with("NOGROUP") || text.contains("requires the key to exist") {
            StatusCode::NOT_FOUND
        } else if text.starts_with("BUSYGROUP") {
            StatusCode::CONFLICT
        } else if text.contains("No space left on device") || text.contains("os error 28") {
            StatusCode::INSUFFICIENT_STORAGE
        } else if text.contains("storage failed") || text.contains("without a data directory") {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(status, text)
    }
}

impl From<Closed> for ApiError {
    fn from(_: Closed) -> Self {
        // The client was closed before its reply: the server is stopping, or a write could
        // not be made durable (the broker closes the clients of a batch whose sync failed).
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the broker closed the request before answering (stopping, or a write could not be made durable)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
