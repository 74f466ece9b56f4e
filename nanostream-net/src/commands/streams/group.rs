//! Consumer groups: `XGROUP`, `XACK`, `XPENDING`, `XCLAIM` and `XAUTOCLAIM`.

use super::{entry, fields_of, id_bulk, int, keyspace, now_ms, reply, shown, Fail, SYNTAX};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};
use crate::streams::group::{ClaimOptions, ClaimTime, AUTOCLAIM_ATTEMPTS_FACTOR};
use crate::streams::id::{IdError, StreamId};

fn no_group(key: &[u8], group: &[u8]) -> Fail {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        shown(key),
        shown(group)
    )
    .into()
}

/// `XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER | HELP`.
pub(crate) fn xgroup(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xgroup(state, client, args);
    reply(state, client, result)
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

fn subcommand_syntax(sub: &[u8]) -> Fail {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    )
    .into()
}

fn run_xgroup(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let sub = all[1];
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    if all.len() == 2 && is(b"help") {
        let out = state.out(client);
        encode::array_header(out, XGROUP_HELP.len());
        for line in XGROUP_HELP {
            encode::simple_string(out, line);
        }
        return Ok(());
    }
    let (key, group) = (all[2], all[3]);
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    if is(b"create") || is(b"setid") {
        let mut i = 5;
        while i < all.len() {
            if is(b"create") && all[i].eq_ignore_ascii_case(b"mkstream") {
                mkstream = true;
                i += 1;
            } else if all[i].eq_ignore_ascii_case(b"entriesread") && i + 1 < all.len() {
                let n = int(all[i + 1])?;
                if n < 0 && n != -1 {
                    return Err("ERR value for ENTRIES_READ must be positive or -1".into());
                }
                entries_read = u64::try_from(n).ok();
                i += 2;
            } else {
                return Err(subcommand_syntax(sub));
            }
        }
    }
    let keyspace = keyspace(state)?;
    if !mkstream && !keyspace.contains(key) {
        return Err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into());
    }
    let exists = keyspace.get(key).is_some_and(|s| s.groups.get(group).is_some());
    if !exists && (is(b"setid") || is(b"createconsumer") || is(b"delconsumer")) {
        return Err(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            shown(group),
            shown(key)
        )
        .into());
    }
    xgroup_sub(state, client, &all, entries_read, &mut Vec::new())
}

fn xgroup_sub(
    state: &mut State,
    client: ClientId,
    all: &[&[u8]],
    entries_read: Option<u64>,
    ops: &mut Vec<crate::streams::group::GroupOp>,
) -> Result<(), Fail> {
    let (sub, key, group) = (all[1], all[2], all[3]);
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    let keyspace = state.keyspace.as_mut().expect("checked by the caller");
    if is(b"create") && (5..=8).contains(&all.len()) {
        let last = keyspace.get(key).map_or(StreamId::MIN, |s| s.stream.last_id());
        let id = match all[4] {
            b"$" => last,
            arg => StreamId::parse_strict(arg, 0)?,
        };
        let stored = keyspace.get_or_create(key)?;
        if stored.groups.create(group, id, entries_read, ops).is_err() {
            return Err("BUSYGROUP Consumer Group name already exists".into());
        }
        stored.persist(ops)?;
        encode::simple_string(state.out(client), "OK");
    } else if is(b"setid") && (all.len() == 5 || all.len() == 7) {
        let stored = keyspace.get_mut(key).expect("the group exists");
        let id = match all[4] {
            b"$" => stored.stream.last_id(),
            arg => StreamId::parse(arg, 0)?,
        };
        stored
            .groups
            .get_mut(group)
            .expect("checked")
            .set_id(id, entries_read, ops);
        stored.persist(ops)?;
        encode::simple_string(state.out(client), "OK");
    } else if is(b"destroy") && all.len() == 4 {
        let stored = keyspace.get_mut(key).expect("the key exists");
        let destroyed = stored.groups.destroy(group, ops);
        stored.persist(ops)?;
        if destroyed {
            // Readers blocked on it are told it is gone.
            state.signaled.push(key.to_vec());
        }
        encode::integer(state.out(client), i64::from(destroyed));
    } else if is(b"createconsumer") && all.len() == 5 {
        let stored = keyspace.get_mut(key).expect("the group exists");
        let created = stored
            .groups
            .get_mut(group)
            .expect("checked")
            .create_consumer(all[4], now_ms(), ops);
        stored.persist(ops)?;
        encode::integer(state.out(client), i64::from(created));
    } else if is(b"delconsumer") && all.len() == 5 {
        let stored = keyspace.get_mut(key).expect("the group exists");
        let pending = stored
            .groups
            .get_mut(group)
            .expect("checked")
            .del_consumer(all[4], ops);
        stored.persist(ops)?;
        encode::integer(state.out(client), pending as i64);
    } else {
        return Err(subcommand_syntax(sub));
    }
    state.writers.push(client);
    Ok(())
}

/// `XACK key group id [id ...]`: replies how many were pending.
pub(crate) fn xack(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xack(state, client, args);
    reply(state, client, result)
}

fn run_xack(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), Fail> {
    let key = args.next_bytes()?;
    let group = args.next_bytes()?;
    let ids = args
        .rest()
        .map(|a| StreamId::parse_strict(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut acked = 0;
    if let Some(stored) = keyspace(state)?.get_mut(key) {
        if let Some(g) = stored.groups.get_mut(group) {
            let mut ops = Vec::new();
            acked = g.ack(&ids, &mut ops);
            stored.persist(&mut ops)?;
            if acked > 0 {
                state.writers.push(client);
            }
        }
    }
    encode::integer(state.out(client), acked as i64);
    Ok(())
}

/// `XPENDING key group [[IDLE min-idle] start end count [consumer]]`.
pub(crate) fn xpending(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xpending(state, client, args);
    reply(state, client, result)
}

fn run_xpending(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let summary = all.len() == 3;
    if !summary && !(6..=9).contains(&all.len()) {
        return Err(SYNTAX.into());
    }
    let (key, group) = (all[1], all[2]);
    let mut range = None;
    if !summary {
        let mut at = 3;
        let mut min_idle = 0u64;
        if all[3].eq_ignore_ascii_case(b"idle") {
            min_idle = int(all[4])?.max(0) as u64;
            if all.len() < 8 {
                return Err(SYNTAX.into());
            }
            at += 2;
        }
        let count = int(all[at + 2])?.max(0) as usize;
        let start = StreamId::parse_range_start(all[at])?;
        let end = StreamId::parse_range_end(all[at + 1])?;
        let consumer = all.get(at + 3).copied();
        range = Some((min_idle, start, end, count, consumer));
    }
    let Some(g) = keyspace(state)?.get(key).and_then(|s| s.groups.get(group)) else {
        return Err(no_group(key, group));
    };
    let mut out = Vec::new();
    match range {
        None => {
            let s = g.pending_summary();
            encode::array_header(&mut out, 4);
            encode::integer(&mut out, s.count as i64);
            match s.bounds {
                None => {
                    encode::null_bulk(&mut out);
                    encode::null_bulk(&mut out);
                    encode::null_array(&mut out);
                }
                Some((first, last)) => {
                    id_bulk(&mut out, first);
                    id_bulk(&mut out, last);
                    encode::array_header(&mut out, s.consumers.len());
                    for (name, n) in &s.consumers {
                        encode::array_header(&mut out, 2);
                        encode::bulk(&mut out, name);
                        encode::bulk(&mut out, n.to_string().as_bytes());
                    }
                }
            }
        }
        Some((min_idle, start, end, count, consumer)) => {
            let list = g.pending_range(start, end, count, consumer, min_idle, now_ms());
            encode::array_header(&mut out, list.len());
            for p in list {
                encode::array_header(&mut out, 4);
                id_bulk(&mut out, p.id);
                encode::bulk(&mut out, p.consumer);
                encode::integer(&mut out, p.idle_ms as i64);
                encode::integer(&mut out, p.delivery_count as i64);
            }
        }
    }
    state.out(client).extend_from_slice(&out);
    Ok(())
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]`.
pub(crate) fn xclaim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xclaim(state, client, args);
    reply(state, client, result)
}

fn option_int(arg: &[u8], message: &'static str) -> Result<i64, Fail> {
    crate::resp::number::string2ll(arg).ok_or_else(|| Fail::from(message))
}

fn run_xclaim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let (key, group, consumer) = (all[1], all[2], all[3]);
    if keyspace(state)?
        .get(key)
        .and_then(|s| s.groups.get(group))
        .is_none()
    {
        return Err(no_group(key, group));
    }
    let min_idle = option_int(all[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0) as u64;
    let mut j = 5;
    let mut ids = Vec::new();
    while j < all.len() {
        match StreamId::parse_strict(all[j], 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let mut options = ClaimOptions::default();
    while j < all.len() {
        let more = all.len() - 1 - j;
        let opt = all[j];
        if opt.eq_ignore_ascii_case(b"force") {
            options.force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            options.justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more > 0 {
            j += 1;
            let idle = option_int(all[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            options.delivery_time = Some(ClaimTime::Idle(idle));
        } else if opt.eq_ignore_ascii_case(b"time") && more > 0 {
            j += 1;
            let time = option_int(all[j], "ERR Invalid TIME option argument for XCLAIM")?;
            options.delivery_time = Some(ClaimTime::Time(time));
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more > 0 {
            j += 1;
            let n = option_int(all[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")?;
            options.retry_count = u64::try_from(n).ok();
        } else if opt.eq_ignore_ascii_case(b"lastid") && more > 0 {
            j += 1;
            options.last_id = Some(StreamId::parse_strict(all[j], 0)?);
        } else {
            return Err(format!("ERR Unrecognized XCLAIM option '{}'", shown(opt)).into());
        }
        j += 1;
    }
    let now = now_ms();
    let mut ops = Vec::new();
    let stored = state
        .keyspace
        .as_mut()
        .and_then(|k| k.get_mut(key))
        .expect("checked above");
    let fields = fields_of(stored, ids.iter().copied())?;
    let g = stored.groups.get_mut(group).expect("checked above");
    let claimed = g.claim(
        consumer,
        min_idle,
        &ids,
        now,
        &options,
        |id| fields.contains_key(&id),
        &mut ops,
    );
    stored.persist(&mut ops)?;
    state.writers.push(client);
    let out = state.out(client);
    encode::array_header(out, claimed.len());
    for id in claimed {
        if options.justid {
            id_bulk(out, id);
        } else {
            match fields.get(&id) {
                Some(f) => entry(out, id, f),
                None => {
                    encode::array_header(out, 2);
                    id_bulk(out, id);
                    encode::null_array(out);
                }
            }
        }
    }
    Ok(())
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`: Redis 7's
/// three-element reply (next start, claimed entries, deleted IDs).
pub(crate) fn xautoclaim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xautoclaim(state, client, args);
    reply(state, client, result)
}

fn run_xautoclaim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let (key, group, consumer) = (all[1], all[2], all[3]);
    let min_idle = option_int(all[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")?.max(0) as u64;
    let start = StreamId::parse_range_start(all[5]).map_err(|e| match e {
        IdError::InvalidStartInterval => Fail::from("ERR invalid start ID for the interval"),
        e => Fail::Id(e),
    })?;
    let mut count = 100usize;
    let mut justid = false;
    let mut j = 6;
    while j < all.len() {
        let more = all.len() - 1 - j;
        let opt = all[j];
        if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            let max = (i64::MAX as u64 / (16u64.max(AUTOCLAIM_ATTEMPTS_FACTOR as u64))) as i64;
            let n = crate::resp::number::string2ll(all[j + 1]).filter(|n| (1..=max).contains(n));
            count = n.ok_or("ERR COUNT must be > 0")? as usize;
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(SYNTAX.into());
        }
        j += 1;
    }
    let mut ops = Vec::new();
    let Some(stored) = keyspace(state)?
        .get_mut(key)
        .filter(|s| s.groups.get(group).is_some())
    else {
        return Err(no_group(key, group));
    };
    let now = now_ms();
    let examined: Vec<StreamId> = stored
        .groups
        .get(group)
        .expect("checked above")
        .pel()
        .range(start..)
        .take(count.saturating_mul(AUTOCLAIM_ATTEMPTS_FACTOR))
        .map(|(id, _)| *id)
        .collect();
    let fields = fields_of(stored, examined)?;
    let g = stored.groups.get_mut(group).expect("checked above");
    let result = g.autoclaim(
        consumer,
        min_idle,
        start,
        count,
        now,
        justid,
        |id| fields.contains_key(&id),
        &mut ops,
    );
    stored.persist(&mut ops)?;
    state.writers.push(client);
    let out = state.out(client);
    encode::array_header(out, 3);
    id_bulk(out, result.next_start);
    encode::array_header(out, result.claimed.len());
    for id in &result.claimed {
        match (justid, fields.get(id)) {
            (false, Some(f)) => entry(out, *id, f),
            _ => id_bulk(out, *id),
        }
    }
    encode::array_header(out, result.deleted.len());
    for id in &result.deleted {
        id_bulk(out, *id);
    }
    Ok(())
}
