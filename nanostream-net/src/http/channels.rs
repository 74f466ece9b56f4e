//! Live channels: `POST /channels/{channel}` publishes the body (`PUBLISH`).

use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::access::{body, Ctx};
use super::error::ApiError;
use super::json::{check, integer};

/// `POST /channels/{channel}`: the body, whatever its type, is the message. Answers how many
/// receivers it reached, as `PUBLISH` does.
pub(crate) async fn publish(ctx: Ctx, Path(channel): Path<String>, raw: Body) -> Result<Response, ApiError> {
    let payload = body(&ctx.api, raw).await?;
    let mut client = ctx.client().await?;
    let reply = check(
        client
            .call(&[b"PUBLISH".as_slice(), channel.as_bytes(), &payload])
            .await?,
    )?;
    Ok(Json(json!({ "receivers": integer(&reply)? })).into_response())
}
