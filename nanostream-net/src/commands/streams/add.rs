//! `XADD`, `XLEN`, `XDEL`, `XTRIM` and `XSETID`.

use super::{int, keyspace, now_ms, reply, Fail, SYNTAX};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};
use crate::streams::id::{StreamId, XaddId};
use crate::streams::stream::TrimTo;

/// The trimming options of `XADD` and `XTRIM`, as `streamParseAddOrTrimArgsOrReply` parses
/// them.
#[derive(Debug, Default)]
struct Parsed {
    trim: Option<TrimTo>,
    approximate: bool,
    limit: Option<u64>,
    no_mkstream: bool,
    /// `XADD`'s ID and the index of the first field.
    id: Option<XaddId>,
    fields_at: usize,
}

/// Parses the options from `args[2..]`; for `XADD`, up to and including the ID.
fn parse(args: &[&[u8]], xadd: bool) -> Result<Parsed, Fail> {
    let mut p = Parsed::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args[i];
        if xadd && opt == b"*" {
            p.id = Some(XaddId::Auto);
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid")) && more > 0 {
            if p.trim.is_some() {
                return Err(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible".into(),
                );
            }
            p.approximate = false;
            let next = args[i + 1];
            if more >= 2 && next == b"~" {
                p.approximate = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let threshold = args[i + 1];
            p.trim = Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                let n = int(threshold)?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.".into());
                }
                TrimTo::MaxLen(n as u64)
            } else {
                TrimTo::MinId(StreamId::parse_strict(threshold, 0)?)
            });
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let n = int(args[i + 1])?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.".into());
            }
            p.limit = Some(n as u64);
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            p.no_mkstream = true;
        } else if xadd {
            p.id = Some(XaddId::parse(opt)?);
            break;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    p.fields_at = i + 1;
    if p.limit.is_some_and(|l| l > 0) && p.trim.is_none() {
        return Err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy".into());
    }
    if !xadd && p.trim.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy".into());
    }
    if limit_given {
        if !p.approximate {
            return Err("ERR syntax error, LIMIT cannot be used without the special ~ option".into());
        }
        // LIMIT 0 means no limit.
        if p.limit == Some(0) {
            p.limit = None;
        }
    } else if p.approximate {
        p.limit = Some(10_000);
    }
    Ok(p)
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id> field value
/// [field value ...]`: replies the new entry's ID once it is durable.
pub(crate) fn xadd(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xadd(state, client, args);
    reply(state, client, result)
}

fn run_xadd(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let p = parse(&all, true)?;
    let fields = all.get(p.fields_at..).unwrap_or(&[]);
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("xadd").into());
    }
    let id_arg = p.id.unwrap_or(XaddId::Auto);
    id_arg.check_not_zero()?;
    let key = all[1];
    let keyspace = keyspace(state)?;
    if p.no_mkstream && !keyspace.contains(key) {
        encode::null_bulk(state.out(client));
        return Ok(());
    }
    let stored = keyspace.get_or_create(key)?;
    let id = id_arg.resolve(stored.stream.last_id(), now_ms())?;
    stored.stream.append(id, fields)?;
    stored.touch();
    if let Some(to) = p.trim {
        stored.stream.trim(to, p.approximate, p.limit)?;
    }
    state.writers.push(client);
    if !state.signaled.iter().any(|k| k == key) {
        state.signaled.push(key.to_vec());
    }
    super::id_bulk(state.out(client), id);
    Ok(())
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`: replies how many entries went.
pub(crate) fn xtrim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xtrim(state, client, args);
    reply(state, client, result)
}

fn run_xtrim(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let p = parse(&all, false)?;
    if p.fields_at <= all.len() {
        return Err(SYNTAX.into());
    }
    let removed = match keyspace(state)?.get_mut(all[1]) {
        Some(stored) => {
            let to = p.trim.expect("parse requires a strategy");
            let removed = stored.stream.trim(to, p.approximate, p.limit)?;
            if removed > 0 {
                stored.touch();
                state.writers.push(client);
            }
            removed
        }
        None => 0,
    };
    encode::integer(state.out(client), removed as i64);
    Ok(())
}

/// `XLEN key`.
pub(crate) fn xlen(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let key = args.next_bytes()?;
    let len = match state.keyspace.as_ref().and_then(|k| k.get(key)) {
        Some(stored) => stored.stream.len(),
        None => 0,
    };
    encode::integer(state.out(client), len as i64);
    Ok(())
}

/// `XDEL key id [id ...]`: replies how many existed.
pub(crate) fn xdel(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xdel(state, client, args);
    reply(state, client, result)
}

fn run_xdel(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), Fail> {
    let key = args.next_bytes()?;
    // Every ID is checked before anything is deleted.
    let ids = args
        .rest()
        .map(|a| StreamId::parse_strict(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = match keyspace(state)?.get_mut(key) {
        Some(stored) => {
            let n = stored.stream.delete(&ids)?;
            if n > 0 {
                stored.touch();
                state.writers.push(client);
            }
            n
        }
        None => 0,
    };
    encode::integer(state.out(client), deleted as i64);
    Ok(())
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`.
///
/// One difference from Redis: the last ID can only grow. Redis lets it go back down to the
/// newest entry still in the stream; entries trimmed away can still be in the journal, whose
/// entries stay in ID order, so here a lower ID gets Redis's error for an ID below the top item.
pub(crate) fn xsetid(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_xsetid(state, client, args);
    reply(state, client, result)
}

fn run_xsetid(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let id = StreamId::parse_strict(all[2], 0)?;
    let (mut entries_added, mut max_deleted) = (None, None);
    let mut i = 3;
    while i < all.len() {
        let more = all.len() - 1 - i;
        let opt = all[i];
        if opt.eq_ignore_ascii_case(b"entriesadded") && more > 0 {
            let n = int(all[i + 1])?;
            if n < 0 {
                return Err("ERR entries_added must be positive".into());
            }
            entries_added = Some(n as u64);
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"maxdeletedid") && more > 0 {
            let m = StreamId::parse_strict(all[i + 1], 0)?;
            if id < m {
                return Err(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id".into(),
                );
            }
            max_deleted = Some(m);
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let Some(stored) = keyspace(state)?.get_mut(all[1]) else {
        return Err("ERR no such key".into());
    };
    let stream = &mut stored.stream;
    if id < stream.max_deleted_id() {
        return Err("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id".into());
    }
    if id < stream.last_id() {
        return Err("ERR The ID specified in XSETID is smaller than the target stream top item".into());
    }
    if !stream.is_empty() && entries_added.is_some_and(|n| n < stream.len()) {
        return Err(
            "ERR The entries_added specified in XSETID is smaller than the target stream length".into(),
        );
    }
    stream.set_last_id(id, entries_added, max_deleted)?;
    stored.touch();
    state.writers.push(client);
    encode::simple_string(state.out(client), "OK");
    Ok(())
}
