//! `XREAD` and `XREADGROUP`, served at once or blocking until entries arrive.

use std::time::{Duration, Instant};

use super::{count, fields_of, id_bulk, keyspace, now_ms, reply, shown, Fail, SYNTAX};
use crate::broker::{Blocked, State};
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};
use crate::streams::entry::Fields;
use crate::streams::id::StreamId;

/// What a read asks of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// Entries after this ID (`XREAD`, or `XREADGROUP` with an ID: the consumer's history).
    After(StreamId),
    /// `XREADGROUP`'s `>`: entries never delivered to the group.
    New,
}

/// The options of a read.
struct Request<'a> {
    count: Option<usize>,
    block: Option<Option<Duration>>,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
    keys: Vec<&'a [u8]>,
    ids: Vec<&'a [u8]>,
}

fn parse<'a>(all: &[&'a [u8]], group_read: bool) -> Result<Request<'a>, Fail> {
    let mut r = Request {
        count: None,
        block: None,
        group: None,
        noack: false,
        keys: Vec::new(),
        ids: Vec::new(),
    };
    let mut streams_at = None;
    let mut i = 1;
    while i < all.len() {
        let more = all.len() - i - 1;
        let o = all[i];
        if o.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            let ms = crate::resp::number::string2ll(all[i])
                .ok_or("ERR timeout is not an integer or out of range")?;
            if ms < 0 {
                return Err("ERR timeout is negative".into());
            }
            r.block = Some((ms > 0).then(|| Duration::from_millis(ms as u64)));
        } else if o.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            r.count = count(all[i])?;
        } else if o.eq_ignore_ascii_case(b"streams") && more > 0 {
            let n = all.len() - i - 1;
            if !n.is_multiple_of(2) {
                let (name, symbol) = if group_read {
                    ("XREADGROUP", '>')
                } else {
                    ("XREAD", '$')
                };
                return Err(format!(
                    "ERR Unbalanced {name} list of streams: for each stream key an ID or '{symbol}' must be specified."
                )
                .into());
            }
            streams_at = Some(i + 1);
            break;
        } else if o.eq_ignore_ascii_case(b"group") && more >= 2 {
            if !group_read {
                return Err(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.".into(),
                );
            }
            r.group = Some((all[i + 1], all[i + 2]));
            i += 2;
        } else if o.eq_ignore_ascii_case(b"noack") {
            if !group_read {
                return Err(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.".into(),
                );
            }
            r.noack = true;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(SYNTAX.into());
    };
    if group_read && r.group.is_none() {
        return Err("ERR Missing GROUP option for XREADGROUP".into());
    }
    let n = (all.len() - at) / 2;
    r.keys = all[at..at + n].to_vec();
    r.ids = all[at + n..].to_vec();
    Ok(r)
}

/// `XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]`.
pub(crate) fn xread(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run(state, client, args, false);
    reply(state, client, result)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...]
/// id [id ...]`.
pub(crate) fn xreadgroup(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run(state, client, args, true);
    reply(state, client, result)
}

/// One stream's part of the reply: entries, `None` fields for a deleted pending entry.
type Served<'a> = (&'a [u8], Vec<(StreamId, Option<Fields>)>);

fn run(state: &mut State, client: ClientId, args: Args<'_>, group_read: bool) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let r = parse(&all, group_read)?;
    let retrying = state.retrying;
    let keyspace = keyspace(state)?;
    // Resolve every ID (and check every group) before serving anything.
    let mut from = Vec::with_capacity(r.keys.len());
    for (key, id) in r.keys.iter().zip(&r.ids) {
        let stored = keyspace.get(key);
        if let Some((group, _)) = r.group {
            // A blocked read whose stream or group went away is answered with an error.
            if retrying && stored.is_none() {
                return Err("UNBLOCKED the stream key no longer exists".into());
            }
            if retrying && stored.is_some_and(|s| s.groups.get(group).is_none()) {
                return Err("NOGROUP the consumer group this client was blocked on no longer exists".into());
            }
            if stored.and_then(|s| s.groups.get(group)).is_none() {
                return Err(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    shown(key),
                    shown(group)
                )
                .into());
            }
        }
        from.push(match *id {
            b"$" if group_read => return Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.".into()),
            b"$" => ReadFrom::After(stored.map_or(StreamId::MIN, |s| s.stream.last_id())),
            b">" if !group_read => return Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.".into()),
            b">" => ReadFrom::New,
            id => ReadFrom::After(StreamId::parse_strict(id, 0)?),
        });
    }
    let now = now_ms();
    let mut served: Vec<Served<'_>> = Vec::new();
    let mut ops = Vec::new();
    let keyspace = state.keyspace.as_mut().expect("checked above");
    for (key, from) in r.keys.iter().zip(&from) {
        let Some(stored) = keyspace.get_mut(key) else {
            continue;
        };
        let list: Vec<(StreamId, Option<Fields>)> = match (r.group, *from) {
            (None, ReadFrom::After(after)) => {
                let Some(start) = after.next() else { continue };
                let list = stored.stream.range(start, StreamId::MAX, r.count)?;
                list.into_iter().map(|(id, f)| (id, Some(f))).collect()
            }
            (Some((group, consumer)), ReadFrom::New) => {
                let meta = stored.stream.meta();
                let last = stored
                    .groups
                    .get(group)
                    .map_or(StreamId::MAX, |g| g.last_delivered_id());
                let Some(start) = last.next() else { continue };
                let list = stored.stream.range(start, StreamId::MAX, r.count)?;
                let ids: Vec<StreamId> = list.iter().map(|(id, _)| *id).collect();
                let g = stored.groups.get_mut(group).expect("checked above");
                if g.read_new(consumer, &ids, r.count, r.noack, now, &meta, &mut ops)
                    .is_none()
                {
                    continue;
                }
                stored.persist(&mut ops)?;
                list.into_iter().map(|(id, f)| (id, Some(f))).collect()
            }
            (Some((group, consumer)), ReadFrom::After(after)) => {
                // The consumer's own pending entries after `after`.
                let candidates: Vec<StreamId> = stored
                    .groups
                    .get(group)
                    .and_then(|g| g.consumer(consumer))
                    .map(|c| {
                        c.pending()
                            .filter(|id| *id > after)
                            .take(r.count.unwrap_or(usize::MAX))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut fields = fields_of(stored, candidates.iter().copied())?;
                let g = stored.groups.get_mut(group).expect("checked above");
                let out = g.read_pending(
                    consumer,
                    after,
                    r.count,
                    now,
                    |id| fields.contains_key(&id),
                    &mut ops,
                );
                stored.persist(&mut ops)?;
                out.into_iter().map(|(id, _)| (id, fields.remove(&id))).collect()
            }
            (None, ReadFrom::New) => continue,
        };
        // History reads always answer for their stream, even with nothing in it.
        let history = r.group.is_some() && matches!(from, ReadFrom::After(_));
        if !list.is_empty() || history {
            served.push((key, list));
        }
    }
    if r.group.is_some() && !served.is_empty() {
        // The group's state changed: this reply waits for the batch's sync like a write's.
        state.writers.push(client);
    }
    if !served.is_empty() {
        let out = state.out(client);
        encode::array_header(out, served.len());
        for (key, list) in &served {
            encode::array_header(out, 2);
            encode::bulk(out, key);
            encode::array_header(out, list.len());
            for (id, fields) in list {
                match fields {
                    Some(f) => super::entry(out, *id, f),
                    None => {
                        encode::array_header(out, 2);
                        id_bulk(out, *id);
                        encode::null_array(out);
                    }
                }
            }
        }
        return Ok(());
    }
    if state.retrying {
        state.still_blocked = true;
        return Ok(());
    }
    match r.block {
        Some(timeout) => {
            // Run again as it is once entries arrive, with `$` fixed to what it meant now.
            let mut request: Vec<Vec<u8>> = all.iter().map(|a| a.to_vec()).collect();
            let ids_at = all.len() - r.ids.len();
            for (i, from) in from.iter().enumerate() {
                if let ReadFrom::After(id) = from {
                    request[ids_at + i] = id.to_string().into_bytes();
                }
            }
            let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
            state.blocked.push(Blocked {
                client,
                keys: r.keys.iter().map(|k| k.to_vec()).collect(),
                request,
                deadline,
            });
            if let Some(c) = state.clients.get_mut(&client) {
                c.blocked = true;
            }
        }
        None => encode::null_array(state.out(client)),
    }
    Ok(())
}
