//! The stream commands, on the broker's [`Keyspace`](crate::streams::keyspace::Keyspace):
//!
//! - `add.rs`: `XADD`, `XLEN`, `XDEL`, `XTRIM`, `XSETID`.
//! - `range.rs`: `XRANGE`, `XREVRANGE`.
//! - `read.rs`: `XREAD` and `XREADGROUP`, blocking or not.
//! - `group.rs`: `XGROUP`, `XACK`, `XPENDING`, `XCLAIM`, `XAUTOCLAIM`.
//! - `info.rs`: `XINFO`.
//! - `keys.rs`: `DEL`, `EXISTS`, `TYPE`, `KEYS`, `SCAN` over the stream keys.
//!
//! Replies and errors are redis-server 7.0's, byte for byte.

mod add;
mod group;
mod info;
mod keys;
mod range;
mod read;

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use add::{xadd, xdel, xlen, xsetid, xtrim};
pub(crate) use group::{xack, xautoclaim, xclaim, xgroup, xpending};
pub(crate) use info::xinfo;
pub(crate) use keys::{del, exists, keys, scan, type_};
pub(crate) use range::{xrange, xrevrange};
pub(crate) use read::{xread, xreadgroup};

use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::number::string2ll;
use crate::resp::{encode, Args, CommandError};
use crate::streams::entry::Fields;
use crate::streams::id::{IdError, StreamId};
use crate::streams::keyspace::{Keyspace, KeyspaceError, StoredStream};
use crate::streams::stream::StreamError;

/// Why a stream command failed: each becomes an error reply.
#[derive(Debug)]
pub(crate) enum Fail {
    Command(CommandError),
    Id(IdError),
    /// Redis's text after the `-`.
    Message(Cow<'static, str>),
    /// The storage failed.
    Storage(KeyspaceError),
}

impl From<CommandError> for Fail {
    fn from(e: CommandError) -> Self {
        Fail::Command(e)
    }
}

impl From<IdError> for Fail {
    fn from(e: IdError) -> Self {
        Fail::Id(e)
    }
}

impl From<KeyspaceError> for Fail {
    fn from(e: KeyspaceError) -> Self {
        Fail::Storage(e)
    }
}

impl From<StreamError> for Fail {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Id(id) => Fail::Id(id),
            e => Fail::Storage(KeyspaceError::Stream(e)),
        }
    }
}

impl From<&'static str> for Fail {
    fn from(m: &'static str) -> Self {
        Fail::Message(Cow::Borrowed(m))
    }
}

impl From<String> for Fail {
    fn from(m: String) -> Self {
        Fail::Message(Cow::Owned(m))
    }
}

/// A request's arguments, the command name first, as byte slices.
pub(crate) fn arg_list<'a>(args: &Args<'a>) -> Vec<&'a [u8]> {
    args.all().iter().map(|a| &**a).collect()
}

/// A key or name as Redis's `%s` prints it: up to its first NUL, lossily as text.
pub(crate) fn shown(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The fields of those of `ids` that still exist in the stream.
pub(crate) fn fields_of(
    stored: &mut StoredStream,
    ids: impl IntoIterator<Item = StreamId>,
) -> Result<HashMap<StreamId, Fields>, Fail> {
    let mut found = HashMap::new();
    for id in ids {
        if found.contains_key(&id) {
            continue;
        }
        if let Some((_, f)) = stored.stream.range(id, id, Some(1))?.pop() {
            found.insert(id, f);
        }
    }
    Ok(found)
}

/// Redis's reply to an unknown option.
pub(crate) const SYNTAX: &str = "ERR syntax error";

/// Writes the reply of a failed command.
pub(crate) fn reply(
    state: &mut State,
    client: ClientId,
    result: Result<(), Fail>,
) -> Result<(), CommandError> {
    match result {
        Ok(()) => Ok(()),
        Err(Fail::Command(e)) => Err(e),
        Err(Fail::Id(e)) => {
            e.write_reply(state.out(client));
            Ok(())
        }
        Err(Fail::Message(m)) => {
            encode::error(state.out(client), &m);
            Ok(())
        }
        Err(Fail::Storage(e)) => {
            tracing::warn!(error = %e, "a stream command failed in storage");
            encode::error(state.out(client), &format!("ERR stream storage failed: {e}"));
            Ok(())
        }
    }
}

/// The keyspace, or the error of a broker started without a data directory.
pub(crate) fn keyspace(state: &mut State) -> Result<&mut Keyspace, Fail> {
    state.keyspace.as_mut().ok_or(Fail::Message(Cow::Borrowed(
        "ERR streams are disabled: this server has no data directory",
    )))
}

/// The time now in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An integer argument, by Redis's rules.
pub(crate) fn int(arg: &[u8]) -> Result<i64, Fail> {
    string2ll(arg).ok_or(Fail::Command(CommandError::NotInteger))
}

/// `COUNT`: Redis takes a negative count as no count at all.
pub(crate) fn count(arg: &[u8]) -> Result<Option<usize>, Fail> {
    let n = int(arg)?;
    Ok((n > 0).then(|| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// An ID as a bulk string.
pub(crate) fn id_bulk(out: &mut Vec<u8>, id: StreamId) {
    let mut buf = [0u8; 41];
    let text = format_id(&mut buf, id);
    encode::bulk(out, text);
}

/// Writes `<ms>-<seq>` into `buf`, returning the bytes written.
fn format_id(buf: &mut [u8; 41], id: StreamId) -> &[u8] {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    // 20 + 1 + 20 digits fit in 41 bytes.
    let _ = write!(cursor, "{}-{}", id.ms, id.seq);
    let n = cursor.position() as usize;
    &buf[..n]
}

/// An entry as Redis replies it: `[id, [field, value, ...]]`.
pub(crate) fn entry(out: &mut Vec<u8>, id: StreamId, fields: &Fields) {
    encode::array_header(out, 2);
    id_bulk(out, id);
    encode::array_header(out, fields.len());
    for f in fields.iter() {
        encode::bulk(out, f);
    }
}

/// Entries as an array.
pub(crate) fn entries(out: &mut Vec<u8>, list: &[(StreamId, Fields)]) {
    encode::array_header(out, list.len());
    for (id, fields) in list {
        entry(out, *id, fields);
    }
}
