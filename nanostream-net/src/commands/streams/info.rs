//! `XINFO STREAM | GROUPS | CONSUMERS | HELP`.

use super::{entry, id_bulk, keyspace, now_ms, reply, shown, Fail};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};
use crate::streams::id::StreamId;
use crate::streams::keyspace::StoredStream;

const HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// `XINFO STREAM key`, `XINFO GROUPS key`, `XINFO CONSUMERS key group`, `XINFO HELP`.
pub(crate) fn xinfo(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run(state, client, args);
    reply(state, client, result)
}

/// `XINFO STREAM key FULL [COUNT n]`: the stream's counters, its first `count` entries and
/// every group with its first `count` pending entries and each consumer's (`None`: all).
fn full_stream(out: &mut Vec<u8>, stored: &mut StoredStream, count: Option<usize>) -> Result<(), Fail> {
    let stream = &mut stored.stream;
    let entries = stream.range(StreamId::MIN, StreamId::MAX, count)?;
    let segments = stream.journal().segment_count() as i64;
    let meta = stream.meta();
    encode::array_header(out, 18);
    encode::bulk(out, b"length");
    encode::integer(out, stream.len() as i64);
    encode::bulk(out, b"radix-tree-keys");
    encode::integer(out, segments);
    encode::bulk(out, b"radix-tree-nodes");
    encode::integer(out, segments);
    encode::bulk(out, b"last-generated-id");
    id_bulk(out, stream.last_id());
    encode::bulk(out, b"max-deleted-entry-id");
    id_bulk(out, stream.max_deleted_id());
    encode::bulk(out, b"entries-added");
    encode::integer(out, stream.entries_added() as i64);
    encode::bulk(out, b"recorded-first-entry-id");
    id_bulk(out, stream.first_id().unwrap_or(StreamId::MIN));
    encode::bulk(out, b"entries");
    super::entries(out, &entries);
    encode::bulk(out, b"groups");
    encode::array_header(out, stored.groups.len());
    let limit = count.unwrap_or(usize::MAX);
    for g in stored.groups.iter() {
        encode::array_header(out, 14);
        encode::bulk(out, b"name");
        encode::bulk(out, g.name());
        encode::bulk(out, b"last-delivered-id");
        id_bulk(out, g.last_delivered_id());
        encode::bulk(out, b"entries-read");
        match g.entries_read() {
            Some(n) => encode::integer(out, n as i64),
            None => encode::null_bulk(out),
        }
        encode::bulk(out, b"lag");
        match g.lag(&meta) {
            Some(n) => encode::integer(out, n as i64),
            None => encode::null_bulk(out),
        }
        encode::bulk(out, b"pel-count");
        encode::integer(out, g.pel().len() as i64);
        encode::bulk(out, b"pending");
        encode::array_header(out, g.pel().len().min(limit));
        for (id, p) in g.pel().iter().take(limit) {
            encode::array_header(out, 4);
            id_bulk(out, *id);
            encode::bulk(out, &p.consumer);
            encode::integer(out, p.delivery_time_ms as i64);
            encode::integer(out, p.delivery_count as i64);
        }
        encode::bulk(out, b"consumers");
        encode::array_header(out, g.consumers().count());
        for c in g.consumers() {
            encode::array_header(out, 8);
            encode::bulk(out, b"name");
            encode::bulk(out, c.name());
            encode::bulk(out, b"seen-time");
            encode::integer(out, c.seen_time_ms() as i64);
            encode::bulk(out, b"pel-count");
            encode::integer(out, c.pending_count() as i64);
            encode::bulk(out, b"pending");
            encode::array_header(out, c.pending_count().min(limit));
            for id in c.pending().take(limit) {
                let p = &g.pel()[&id];
                encode::array_header(out, 3);
                id_bulk(out, id);
                encode::integer(out, p.delivery_time_ms as i64);
                encode::integer(out, p.delivery_count as i64);
            }
        }
    }
    Ok(())
}

fn run(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let sub = all[1];
    if sub.eq_ignore_ascii_case(b"help") {
        let out = state.out(client);
        encode::array_header(out, HELP.len());
        for line in HELP {
            encode::simple_string(out, line);
        }
        return Ok(());
    }
    let key = all[2];
    let Some(stored) = keyspace(state)?.get_mut(key) else {
        return Err("ERR no such key".into());
    };
    let mut out = Vec::new();
    if sub.eq_ignore_ascii_case(b"stream") {
        if all.len() > 3 {
            let full = all[3].eq_ignore_ascii_case(b"full");
            let count = match &all[4..] {
                [] if full => Some(10),
                [opt, n] if full && opt.eq_ignore_ascii_case(b"count") => match super::int(n)? {
                    0 => None,
                    n if n < 0 => Some(10),
                    n => Some(n as usize),
                },
                _ => {
                    return Err(format!(
                        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                        shown(sub)
                    )
                    .into())
                }
            };
            full_stream(&mut out, stored, count)?;
            state.out(client).extend_from_slice(&out);
            return Ok(());
        }
        let stream = &mut stored.stream;
        let first = match stream.first_id() {
            Some(id) => stream.range(id, StreamId::MAX, Some(1))?.pop(),
            None => None,
        };
        let last = match stream.first_id() {
            Some(_) => stream.rev_range(StreamId::MAX, StreamId::MIN, Some(1))?.pop(),
            None => None,
        };
        let segments = stream.journal().segment_count() as i64;
        encode::array_header(&mut out, 20);
        encode::bulk(&mut out, b"length");
        encode::integer(&mut out, stream.len() as i64);
        // Redis reports its radix tree here; a journal's segments are what holds the entries.
        encode::bulk(&mut out, b"radix-tree-keys");
        encode::integer(&mut out, segments);
        encode::bulk(&mut out, b"radix-tree-nodes");
        encode::integer(&mut out, segments);
        encode::bulk(&mut out, b"last-generated-id");
        id_bulk(&mut out, stream.last_id());
        encode::bulk(&mut out, b"max-deleted-entry-id");
        id_bulk(&mut out, stream.max_deleted_id());
        encode::bulk(&mut out, b"entries-added");
        encode::integer(&mut out, stream.entries_added() as i64);
        encode::bulk(&mut out, b"recorded-first-entry-id");
        id_bulk(&mut out, stream.first_id().unwrap_or(StreamId::MIN));
        encode::bulk(&mut out, b"groups");
        encode::integer(&mut out, stored.groups.len() as i64);
        for (name, e) in [(&b"first-entry"[..], first), (b"last-entry", last)] {
            encode::bulk(&mut out, name);
            match e {
                Some((id, fields)) => entry(&mut out, id, &fields),
                None => encode::null_bulk(&mut out),
            }
        }
    } else if sub.eq_ignore_ascii_case(b"groups") && all.len() == 3 {
        let meta = stored.stream.meta();
        encode::array_header(&mut out, stored.groups.len());
        for g in stored.groups.iter() {
            encode::array_header(&mut out, 12);
            encode::bulk(&mut out, b"name");
            encode::bulk(&mut out, g.name());
            encode::bulk(&mut out, b"consumers");
            encode::integer(&mut out, g.consumers().count() as i64);
            encode::bulk(&mut out, b"pending");
            encode::integer(&mut out, g.pel().len() as i64);
            encode::bulk(&mut out, b"last-delivered-id");
            id_bulk(&mut out, g.last_delivered_id());
            encode::bulk(&mut out, b"entries-read");
            match g.entries_read() {
                Some(n) => encode::integer(&mut out, n as i64),
                None => encode::null_bulk(&mut out),
            }
            encode::bulk(&mut out, b"lag");
            match g.lag(&meta) {
                Some(n) => encode::integer(&mut out, n as i64),
                None => encode::null_bulk(&mut out),
            }
        }
    } else if sub.eq_ignore_ascii_case(b"consumers") && all.len() == 4 {
        let group = all[3];
        let Some(g) = stored.groups.get(group) else {
            return Err(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                shown(group),
                shown(key)
            )
            .into());
        };
        let now = now_ms();
        encode::array_header(&mut out, g.consumers().count());
        for c in g.consumers() {
            encode::array_header(&mut out, 6);
            encode::bulk(&mut out, b"name");
            encode::bulk(&mut out, c.name());
            encode::bulk(&mut out, b"pending");
            encode::integer(&mut out, c.pending_count() as i64);
            encode::bulk(&mut out, b"idle");
            encode::integer(&mut out, now.saturating_sub(c.seen_time_ms()) as i64);
        }
    } else {
        return Err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
            shown(sub)
        )
        .into());
    }
    state.out(client).extend_from_slice(&out);
    Ok(())
}
