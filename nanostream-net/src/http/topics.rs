//! Durable topics (streams): `POST /topics/{topic}/messages` adds entries (`XADD`), `GET` reads
//! them from an ID with long-polling (`XREAD`), `GET /topics` and `GET /topics/{topic}`
//! describe them (`XINFO`), `DELETE` removes one (`DEL`).

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redis_protocol::resp2::types::OwnedFrame;
use serde_json::{json, Value};

use super::access::{body, Ctx};
use super::commands::{push_fields, Commands};
use super::error::ApiError;
use super::gateway::LocalClient;
use super::gateway::Reply;
use super::json::{
    check, field, frame_bytes, frame_text, integer, range_entries, read_entries, scalar, unexpected,
};
use super::params::{self, From};
use crate::streams::id::StreamId;

/// The content type of a batch: one JSON object per line.
const NDJSON: &str = "application/x-ndjson";

/// `POST /topics/{topic}/messages`.
pub(crate) async fn produce(
    ctx: Ctx,
    Path(topic): Path<String>,
    Query(query): Query<params::Query>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, ApiError> {
    let maxlen = match query.get("maxlen") {
        Some(_) => Some(params::number(&query, "maxlen", 0, 0..=u64::MAX)?),
        None => None,
    };
    let bytes = body(&ctx.api, raw).await?;
    let kind = content_type(&headers);
    let batch = kind == NDJSON;
    let maxlen = maxlen.map(|n| n.to_string());
    let mut commands = Commands::default();
    let add = |commands: &mut Commands, fields: &dyn Fn(&mut Commands) -> Result<(), String>| {
        commands.begin();
        commands.arg(b"XADD");
        commands.arg(topic.as_bytes());
        if let Some(n) = &maxlen {
            commands.arg(b"MAXLEN");
            commands.arg(b"~");
            commands.arg(n.as_bytes());
        }
        commands.arg(b"*");
        match fields(commands) {
            Ok(()) => {
                commands.end();
                Ok(())
            }
            Err(e) => {
                commands.abandon();
                Err(e)
            }
        }
    };
    if batch {
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            add(&mut commands, &|c| {
                push_fields(line, c).map(|_| ()).map_err(|e| e.0)
            })
            .map_err(|e| ApiError::bad_request(format!("line {}: {e}", n + 1)))?;
        }
        if commands.is_empty() {
            return Err(ApiError::bad_request("the batch holds no message"));
        }
    } else if kind == "application/json" {
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "the body is empty: send a JSON object of fields",
            ));
        }
        add(&mut commands, &|c| {
            push_fields(&bytes, c).map(|_| ()).map_err(|e| e.0)
        })
        .map_err(|e| ApiError::bad_request(format!("the body is not a JSON object of fields: {e}")))?;
    } else {
        add(&mut commands, &|c| {
            c.arg(b"data");
            c.arg(&bytes);
            Ok(())
        })
        .map_err(ApiError::bad_request)?;
    }
    let mut client = ctx.client().await?;
    client.send_many(&commands).await?;
    // The reply, built as the IDs come: {"ids":["1-0","1-1"]} or {"id":"1-0"}.
    let mut out = Vec::with_capacity(16 + commands.len() * 28);
    out.extend_from_slice(if batch { b"{\"ids\":[" } else { b"{\"id\":" });
    let mut added = 0;
    let mut failed = None;
    for _ in 0..commands.len() {
        let mark = out.len();
        if added > 0 {
            out.push(b',');
        }
        out.push(b'"');
        match client.next_bulk(&mut out).await? {
            Reply::Bulk => {
                out.push(b'"');
                added += 1;
            }
            Reply::Frame(frame) => {
                out.truncate(mark);
                if let Err(e) = check(frame) {
                    failed.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = failed {
        if added == 0 {
            return Err(e);
        }
        // Some entries were added before one failed (a full disk): say which.
        out.extend_from_slice(b"]");
        let ids: Value = serde_json::from_slice(&out[out.iter().position(|&b| b == b'[').unwrap_or(0)..])
            .unwrap_or(Value::Null);
        return Ok((e.status, Json(json!({ "error": e.message, "ids": ids }))).into_response());
    }
    out.extend_from_slice(if batch { b"]}" } else { b"}" });
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        out,
    )
        .into_response())
}

/// The media type of a request, lowercased, without parameters.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether the client asked for the raw bytes of a message.
fn wants_raw(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/octet-stream"))
}

/// Answers 404 unless `topic` exists.
async fn exists(client: &mut LocalClient, topic: &str) -> Result<(), ApiError> {
    let reply = check(client.call(&[b"EXISTS".as_slice(), topic.as_bytes()]).await?)?;
    if integer(&reply)? == 0 {
        return Err(ApiError::not_found(format!("no topic '{topic}'")));
    }
    Ok(())
}

/// The ID of the newest entry of `topic`, if it has any.
async fn newest(client: &mut LocalClient, topic: &str) -> Result<Option<StreamId>, ApiError> {
    let reply = check(
        client
            .call(&[&b"XREVRANGE"[..], topic.as_bytes(), b"+", b"-", b"COUNT", b"1"])
            .await?,
    )?;
    Ok(range_entries(&reply)?
        .first()
        .and_then(|(id, _)| StreamId::parse_strict(id.as_bytes(), 0).ok()))
}

/// Reads up to `count` entries from `first` on, waiting up to `wait_ms` for one if there is
/// none (`XREAD`, then `XREAD BLOCK`).
pub(crate) async fn read_from(
    client: &mut LocalClient,
    topic: &str,
    first: StreamId,
    count: u64,
    wait_ms: u64,
) -> Result<Vec<(String, Value)>, ApiError> {
    let after = params::read_after(first);
    let count = count.to_string();
    let now = [
        &b"XREAD"[..],
        b"COUNT",
        count.as_bytes(),
        b"STREAMS",
        topic.as_bytes(),
        after.as_bytes(),
    ];
    let found = read_entries(&check(client.call(&now).await?)?)?;
    if !found.is_empty() || wait_ms == 0 {
        return Ok(found);
    }
    let wait = wait_ms.to_string();
    let blocking = [
        &b"XREAD"[..],
        b"COUNT",
        count.as_bytes(),
        b"BLOCK",
        wait.as_bytes(),
        b"STREAMS",
        topic.as_bytes(),
        after.as_bytes(),
    ];
    read_entries(&check(client.call(&blocking).await?)?)
}

/// Where a read from `from` starts: `$` is the entry after the newest.
pub(crate) async fn first_id(
    client: &mut LocalClient,
    topic: &str,
    from: From,
) -> Result<StreamId, ApiError> {
    Ok(match from {
        From::Id(id) => id,
        From::End => newest(client, topic)
            .await?
            .and_then(StreamId::next)
            .unwrap_or(StreamId::new(0, 1)),
    })
}

/// The ID to read on from after the entries read (the one after the last).
fn next_after(found: &[(String, Value)], first: StreamId) -> StreamId {
    found
        .last()
        .and_then(|(id, _)| StreamId::parse_strict(id.as_bytes(), 0).ok())
        .and_then(StreamId::next)
        .unwrap_or(first)
}

/// `GET /topics/{topic}/messages?from=&limit=&wait=`.
pub(crate) async fn read(
    ctx: Ctx,
    Path(topic): Path<String>,
    Query(query): Query<params::Query>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let from = params::from(&query, From::Id(StreamId::MIN))?;
    let raw = wants_raw(&headers);
    let limit = if raw { 1 } else { params::limit(&query, "limit")? };
    let wait = params::wait(&query)?;
    let mut client = ctx.client().await?;
    exists(&mut client, &topic).await?;
    let first = first_id(&mut client, &topic, from).await?;
    let found = read_from(&mut client, &topic, first, limit, wait).await?;
    let next = next_after(&found, first).to_string();
    if raw {
        return Ok(raw_message(found, &next));
    }
    let messages: Vec<Value> = found.into_iter().map(|(_, v)| v).collect();
    Ok(Json(json!({ "topic": topic, "messages": messages, "next": next })).into_response())
}

/// The first message's `data` field as bytes, with its ID and the next in headers.
fn raw_message(found: Vec<(String, Value)>, next: &str) -> Response {
    let next = HeaderValue::from_str(next).unwrap_or(HeaderValue::from_static("0-0"));
    let Some((id, message)) = found.into_iter().next() else {
        return (StatusCode::NO_CONTENT, [("nanostream-next", next)]).into_response();
    };
    let Some(data) = message.get("fields").and_then(|f| f.get("data")) else {
        return ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("message {id} has no 'data' field: read it as JSON"),
        )
        .into_response();
    };
    let bytes = match super::json::value_bytes(data) {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let id = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0-0"));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::HeaderName::from_static("nanostream-id"), id),
            (header::HeaderName::from_static("nanostream-next"), next),
        ],
        bytes,
    )
        .into_response()
}

/// The ID of an entry in an `XINFO STREAM` reply (`first-entry`, `last-entry`), or null.
fn entry_id(entry: Option<&OwnedFrame>) -> Value {
    match entry {
        Some(OwnedFrame::Array(parts)) => parts
            .first()
            .and_then(frame_text)
            .map_or(Value::Null, Value::String),
        _ => Value::Null,
    }
}

/// One group of an `XINFO GROUPS` reply as JSON.
pub(crate) fn group_json(group: &OwnedFrame) -> Value {
    json!({
        "name": scalar(field(group, "name")),
        "consumers": scalar(field(group, "consumers")),
        "pending": scalar(field(group, "pending")),
        "last_delivered_id": scalar(field(group, "last-delivered-id")),
        "entries_read": scalar(field(group, "entries-read")),
        "lag": scalar(field(group, "lag")),
    })
}

/// `GET /topics`.
pub(crate) async fn list(ctx: Ctx) -> Result<Response, ApiError> {
    let mut client = ctx.client().await?;
    let keys = check(client.call(&[&b"KEYS"[..], b"*"]).await?)?;
    let OwnedFrame::Array(keys) = keys else {
        return Err(unexpected(&keys));
    };
    let mut names: Vec<Vec<u8>> = keys.iter().filter_map(frame_bytes).map(<[u8]>::to_vec).collect();
    names.sort();
    let mut commands = Commands::default();
    for name in &names {
        commands.begin();
        commands.arg(b"XINFO");
        commands.arg(b"STREAM");
        commands.arg(name);
        commands.end();
    }
    client.send_many(&commands).await?;
    let mut topics = Vec::with_capacity(names.len());
    for name in &names {
        // A topic deleted in between answers an error: leave it out.
        let Ok(info) = check(client.next().await?) else {
            continue;
        };
        topics.push(json!({
            "name": String::from_utf8_lossy(name),
            "length": scalar(field(&info, "length")),
            "first_id": entry_id(field(&info, "first-entry")),
            "last_id": entry_id(field(&info, "last-entry")),
            "groups": scalar(field(&info, "groups")),
        }));
    }
    Ok(Json(json!({ "topics": topics })).into_response())
}

/// `GET /topics/{topic}`.
pub(crate) async fn describe(ctx: Ctx, Path(topic): Path<String>) -> Result<Response, ApiError> {
    let mut client = ctx.client().await?;
    exists(&mut client, &topic).await?;
    let info = check(client.call(&[&b"XINFO"[..], b"STREAM", topic.as_bytes()]).await?)?;
    let groups = check(client.call(&[&b"XINFO"[..], b"GROUPS", topic.as_bytes()]).await?)?;
    let OwnedFrame::Array(groups) = groups else {
        return Err(unexpected(&groups));
    };
    Ok(Json(json!({
        "name": topic,
        "length": scalar(field(&info, "length")),
        "first_id": entry_id(field(&info, "first-entry")),
        "last_id": entry_id(field(&info, "last-entry")),
        "last_generated_id": scalar(field(&info, "last-generated-id")),
        "entries_added": scalar(field(&info, "entries-added")),
        "groups": groups.iter().map(group_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `DELETE /topics/{topic}`.
pub(crate) async fn delete(ctx: Ctx, Path(topic): Path<String>) -> Result<Response, ApiError> {
    let mut client = ctx.client().await?;
    let reply = check(client.call(&[b"DEL".as_slice(), topic.as_bytes()]).await?)?;
    Ok(Json(json!({ "deleted": integer(&reply)? > 0 })).into_response())
}
