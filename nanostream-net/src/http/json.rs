//! Field values, stream IDs and entries between RESP replies and JSON.
//!
//! A value that is valid UTF-8 is a JSON string; any other is `{"base64": "..."}` (standard
//! alphabet, padded), so that every byte string round-trips exactly. In request bodies a value
//! may also be any other JSON value, stored as its compact JSON text (`commands.rs`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use redis_protocol::resp2::types::OwnedFrame;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A byte string as JSON.
pub(crate) fn bytes_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => serde_json::json!({ "base64": STANDARD.encode(bytes) }),
    }
}

/// The bytes a JSON value of a request stands for.
pub(crate) fn value_bytes(value: &Value) -> Result<Vec<u8>, ApiError> {
    match value {
        Value::String(text) => Ok(text.as_bytes().to_vec()),
        Value::Object(map) if map.len() == 1 && map.contains_key("base64") => match &map["base64"] {
            Value::String(b64) => STANDARD
                .decode(b64)
                .map_err(|e| ApiError::bad_request(format!("a base64 value does not decode: {e}"))),
            _ => Err(ApiError::bad_request(
                "a {\"base64\": ...} value must hold a string",
            )),
        },
        other => Ok(other.to_string().into_bytes()),
    }
}

/// The bytes of a bulk or simple string reply.
pub(crate) fn frame_bytes(frame: &OwnedFrame) -> Option<&[u8]> {
    match frame {
        OwnedFrame::BulkString(b) | OwnedFrame::SimpleString(b) => Some(b),
        _ => None,
    }
}

/// A reply as text (IDs, names).
pub(crate) fn frame_text(frame: &OwnedFrame) -> Option<String> {
    frame_bytes(frame).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// An error reply as an [`ApiError`]; any other reply as itself.
pub(crate) fn check(frame: OwnedFrame) -> Result<OwnedFrame, ApiError> {
    match frame {
        OwnedFrame::Error(text) => Err(ApiError::from_reply(&text)),
        other => Ok(other),
    }
}

/// A reply the API did not expect from the broker.
pub(crate) fn unexpected(frame: &OwnedFrame) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        format!("unexpected reply from the broker: {frame:?}"),
    )
}

/// One entry of an `XRANGE`/`XREAD` reply (`[id, [field, value, ...]]`, the fields null for
/// an entry deleted while pending) as `{"id": ..., "fields": {...} | null}`, with its ID.
pub(crate) fn entry(frame: &OwnedFrame) -> Result<(String, Value), ApiError> {
    let OwnedFrame::Array(parts) = frame else {
        return Err(unexpected(frame));
    };
    let [id, fields] = parts.as_slice() else {
        return Err(unexpected(frame));
    };
    let id = frame_text(id).ok_or_else(|| unexpected(frame))?;
    let fields = match fields {
        OwnedFrame::Array(items) => {
            let mut map = Map::new();
            for pair in items.chunks(2) {
                if let [name, value] = pair {
                    let name = frame_bytes(name).ok_or_else(|| unexpected(frame))?;
                    let value = frame_bytes(value).ok_or_else(|| unexpected(frame))?;
                    map.insert(String::from_utf8_lossy(name).into_owned(), bytes_value(value));
                }
            }
            Value::Object(map)
        }
        OwnedFrame::Null => Value::Null,
        _ => return Err(unexpected(frame)),
    };
    Ok((id.clone(), serde_json::json!({ "id": id, "fields": fields })))
}

/// The entries of an `XRANGE` reply.
pub(crate) fn range_entries(frame: &OwnedFrame) -> Result<Vec<(String, Value)>, ApiError> {
    match frame {
        OwnedFrame::Array(items) => items.iter().map(entry).collect(),
        _ => Err(unexpected(frame)),
    }
}

/// The entries of the one stream of an `XREAD`/`XREADGROUP` reply (`[[key, [entries]]]`, or
/// null when nothing came).
pub(crate) fn read_entries(frame: &OwnedFrame) -> Result<Vec<(String, Value)>, ApiError> {
    match frame {
        OwnedFrame::Null => Ok(Vec::new()),
        OwnedFrame::Array(streams) => match streams.as_slice() {
            [] => Ok(Vec::new()),
            [OwnedFrame::Array(stream)] => match stream.as_slice() {
                [_key, list] => range_entries(list),
                _ => Err(unexpected(frame)),
            },
            _ => Err(unexpected(frame)),
        },
        _ => Err(unexpected(frame)),
    }
}

/// The integer of an integer reply.
pub(crate) fn integer(frame: &OwnedFrame) -> Result<i64, ApiError> {
    match frame {
        OwnedFrame::Integer(n) => Ok(*n),
        _ => Err(unexpected(frame)),
    }
}

/// The value under `name` in a flat `[name, value, name, value, ...]` reply (`XINFO`).
pub(crate) fn field<'a>(frame: &'a OwnedFrame, name: &str) -> Option<&'a OwnedFrame> {
    let OwnedFrame::Array(items) = frame else {
        return None;
    };
    items
        .chunks(2)
        .find(|pair| frame_bytes(&pair[0]) == Some(name.as_bytes()))
        .and_then(|pair| pair.get(1))
}

/// A reply value as JSON: integers as numbers, strings as text, null as null.
pub(crate) fn scalar(frame: Option<&OwnedFrame>) -> Value {
    match frame {
        Some(OwnedFrame::Integer(n)) => Value::from(*n),
        Some(OwnedFrame::BulkString(b)) | Some(OwnedFrame::SimpleString(b)) => {
            Value::String(String::from_utf8_lossy(b).into_owned())
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_string_round_trips() {
        for bytes in [
            &b""[..],
            b"plain text",
            "ünïcödé".as_bytes(),
            b"\xff\x00\xfe",
            b"\x80",
        ] {
            assert_eq!(value_bytes(&bytes_value(bytes)).unwrap(), bytes, "{bytes:?}");
        }
        assert_eq!(bytes_value(b"\xff\x00"), serde_json::json!({ "base64": "/wA=" }));
    }

    fn bulk(b: &[u8]) -> OwnedFrame {
        OwnedFrame::BulkString(b.to_vec())
    }

    #[test]
    fn range_and_read_replies_give_their_entries() {
        let one = OwnedFrame::Array(vec![
            bulk(b"1-0"),
            OwnedFrame::Array(vec![bulk(b"k"), bulk(b"v")]),
        ]);
        // An XRANGE of one entry looks like an XREAD of one stream: each has its own reader.
        let range = OwnedFrame::Array(vec![one.clone()]);
        let (id, value) = &range_entries(&range).unwrap()[0];
        assert_eq!(id, "1-0");
        assert_eq!(value, &serde_json::json!({ "id": "1-0", "fields": { "k": "v" } }));
        let read = OwnedFrame::Array(vec![OwnedFrame::Array(vec![bulk(b"key"), range])]);
        assert_eq!(read_entries(&read).unwrap().len(), 1);
        assert!(read_entries(&OwnedFrame::Null).unwrap().is_empty());
        // A pending entry deleted from the stream has null fields.
        let gone = OwnedFrame::Array(vec![OwnedFrame::Array(vec![bulk(b"2-0"), OwnedFrame::Null])]);
        assert_eq!(range_entries(&gone).unwrap()[0].1["fields"], Value::Null);
    }
}
