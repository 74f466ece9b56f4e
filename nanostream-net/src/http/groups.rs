//! Consumer groups: create (`XGROUP CREATE`), list (`XINFO GROUPS`), read (`XREADGROUP`,
//! long-polling), acknowledge (`XACK`) and look at what is pending (`XPENDING`).

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redis_protocol::resp2::types::OwnedFrame;
use serde_json::{json, Value};

use super::access::{body, Ctx};
use super::error::ApiError;
use super::json::{check, frame_text, integer, read_entries, unexpected};
use super::params;
use super::topics::{content_type, group_json};
use crate::streams::id::StreamId;

/// A JSON body: `Content-Type: application/json` (or absent); another type is 415.
async fn json_body(ctx: &Ctx, headers: &HeaderMap, raw: Body) -> Result<Value, ApiError> {
    let kind = content_type(headers);
    if !(kind.is_empty() || kind == "application/json" || kind.ends_with("+json")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send this body as JSON with 'Content-Type: application/json', not '{kind}'"),
        ));
    }
    let bytes = body(&ctx.api, raw).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))
}

/// `POST /topics/{topic}/groups` with `{"name", "from", "create_topic"}`.
pub(crate) async fn create(
    ctx: Ctx,
    Path(topic): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, ApiError> {
    let request = json_body(&ctx, &headers, raw).await?;
    let Some(name) = request
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(ApiError::bad_request("'name' must be a non-empty string"));
    };
    let from = match request.get("from") {
        None => "$".to_owned(),
        Some(Value::String(s)) if s == "$" || s == "-" => s.replace('-', "0"),
        Some(Value::String(s)) => StreamId::parse_strict(s.as_bytes(), 0)
            .map_err(|_| ApiError::bad_request(format!("'from' must be a stream ID or '$', not '{s}'")))?
            .to_string(),
        Some(_) => return Err(ApiError::bad_request("'from' must be a string")),
    };
    let create_topic = match request.get("create_topic") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("'create_topic' must be true or false")),
    };
    let mut args: Vec<&[u8]> = vec![
        b"XGROUP",
        b"CREATE",
        topic.as_bytes(),
        name.as_bytes(),
        from.as_bytes(),
    ];
    if create_topic {
        args.push(b"MKSTREAM");
    }
    let mut client = ctx.client().await?;
    check(client.call(&args).await?).map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::not_found(format!(
                "no topic '{topic}' (pass \"create_topic\": true to create it)"
            ))
        } else {
            e
        }
    })?;
    Ok((StatusCode::CREATED, Json(json!({ "name": name }))).into_response())
}

/// `GET /topics/{topic}/groups`.
pub(crate) async fn list(ctx: Ctx, Path(topic): Path<String>) -> Result<Response, ApiError> {
    let mut client = ctx.client().await?;
    let reply = check(client.call(&[&b"XINFO"[..], b"GROUPS", topic.as_bytes()]).await?).map_err(|e| {
        if e.message.contains("no such key") {
            ApiError::not_found(format!("no topic '{topic}'"))
        } else {
            e
        }
    })?;
    let OwnedFrame::Array(groups) = reply else {
        return Err(unexpected(&reply));
    };
    Ok(Json(json!({ "groups": groups.iter().map(group_json).collect::<Vec<_>>() })).into_response())
}

/// `POST /topics/{topic}/groups/{group}/read?consumer=&count=&wait=&from=`.
pub(crate) async fn read(
    ctx: Ctx,
    Path((topic, group)): Path<(String, String)>,
    Query(query): Query<params::Query>,
) -> Result<Response, ApiError> {
    let Some(consumer) = query.get("consumer").filter(|c| !c.is_empty()) else {
        return Err(ApiError::bad_request(
            "'consumer' is required: the name of the reading consumer",
        ));
    };
    let count = params::limit(&query, "count")?.to_string();
    let wait = params::wait(&query)?;
    // New entries ('>'), or with `from` the consumer's own pending entries after that ID.
    let id = match query.get("from") {
        None => ">".to_owned(),
        Some(text) => StreamId::parse_strict(text.as_bytes(), 0)
            .map_err(|_| ApiError::bad_request(format!("'from' must be a stream ID, not '{text}'")))?
            .to_string(),
    };
    let wait = wait.to_string();
    let mut args: Vec<&[u8]> = vec![
        b"XREADGROUP",
        b"GROUP",
        group.as_bytes(),
        consumer.as_bytes(),
        b"COUNT",
        count.as_bytes(),
    ];
    if id == ">" && wait != "0" {
        args.extend([b"BLOCK".as_slice(), wait.as_bytes()]);
    }
    args.extend([b"STREAMS".as_slice(), topic.as_bytes(), id.as_bytes()]);
    let mut client = ctx.client().await?;
    let reply = check(client.call(&args).await?)?;
    let messages: Vec<Value> = read_entries(&reply)?.into_iter().map(|(_, v)| v).collect();
    Ok(Json(json!({ "messages": messages })).into_response())
}

/// Answers 404 unless `group` exists on `topic` (`XPENDING` answers `NOGROUP` otherwise).
async fn group_exists(
    client: &mut super::gateway::LocalClient,
    topic: &str,
    group: &str,
) -> Result<OwnedFrame, ApiError> {
    check(
        client
            .call(&[&b"XPENDING"[..], topic.as_bytes(), group.as_bytes()])
            .await?,
    )
}

/// `POST /topics/{topic}/groups/{group}/ack` with `{"ids": [...]}`.
pub(crate) async fn ack(
    ctx: Ctx,
    Path((topic, group)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, ApiError> {
    let request = json_body(&ctx, &headers, raw).await?;
    let Some(list) = request
        .get("ids")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return Err(ApiError::bad_request(
            "'ids' must be a non-empty array of stream IDs",
        ));
    };
    let mut ids = Vec::with_capacity(list.len());
    for id in list {
        let text = id.as_str().unwrap_or_default();
        let parsed = StreamId::parse_strict(text.as_bytes(), 0)
            .map_err(|_| ApiError::bad_request(format!("not a stream ID: {id}")))?;
        ids.push(parsed.to_string());
    }
    let mut client = ctx.client().await?;
    group_exists(&mut client, &topic, &group).await?;
    let mut args: Vec<&[u8]> = vec![b"XACK", topic.as_bytes(), group.as_bytes()];
    args.extend(ids.iter().map(String::as_bytes));
    let reply = check(client.call(&args).await?)?;
    Ok(Json(json!({ "acknowledged": integer(&reply)? })).into_response())
}

/// `GET /topics/{topic}/groups/{group}/pending?consumer=&count=&idle=`.
pub(crate) async fn pending(
    ctx: Ctx,
    Path((topic, group)): Path<(String, String)>,
    Query(query): Query<params::Query>,
) -> Result<Response, ApiError> {
    let count = params::limit(&query, "count")?.to_string();
    let idle = params::number(&query, "idle", 0, 0..=u64::MAX >> 1)?.to_string();
    let mut client = ctx.client().await?;
    let summary = group_exists(&mut client, &topic, &group).await?;
    let OwnedFrame::Array(summary) = summary else {
        return Err(unexpected(&summary));
    };
    let [total, first, last, consumers] = summary.as_slice() else {
        return Err(unexpected(&OwnedFrame::Array(summary)));
    };
    let consumers: Vec<Value> = match consumers {
        OwnedFrame::Array(list) => list
            .iter()
            .filter_map(|c| match c {
                OwnedFrame::Array(pair) => match pair.as_slice() {
                    [name, n] => Some(json!({
                        "name": frame_text(name),
                        "pending": frame_text(n).and_then(|t| t.parse::<u64>().ok()),
                    })),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut args: Vec<&[u8]> = vec![
        b"XPENDING",
        topic.as_bytes(),
        group.as_bytes(),
        b"IDLE",
        idle.as_bytes(),
        b"-",
        b"+",
        count.as_bytes(),
    ];
    if let Some(consumer) = query.get("consumer") {
        args.push(consumer.as_bytes());
    }
    let detail = check(client.call(&args).await?)?;
    let entries: Vec<Value> = match &detail {
        OwnedFrame::Array(list) => list
            .iter()
            .filter_map(|e| match e {
                OwnedFrame::Array(parts) => match parts.as_slice() {
                    [id, consumer, idle, deliveries] => Some(json!({
                        "id": frame_text(id),
                        "consumer": frame_text(consumer),
                        "idle_ms": integer(idle).ok(),
                        "deliveries": integer(deliveries).ok(),
                    })),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => return Err(unexpected(&detail)),
    };
    Ok(Json(json!({
        "pending": integer(total)?,
        "first_id": frame_text(first),
        "last_id": frame_text(last),
        "consumers": consumers,
        "entries": entries,
    }))
    .into_response())
}
