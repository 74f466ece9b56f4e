//! The keyspace commands, over the stream keys (the only keys the broker has): `DEL`,
//! `EXISTS`, `TYPE`, `KEYS` and `SCAN`, so that redis-cli and GUI tools can browse them.

use super::{int, reply, Fail, SYNTAX};
use crate::broker::State;
use crate::pubsub::pattern::glob_match;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

/// `DEL key [key ...]`: deletes streams with their groups and files.
pub(crate) fn del(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_del(state, client, args);
    reply(state, client, result)
}

fn run_del(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), Fail> {
    let mut deleted = 0;
    for key in args.rest() {
        let Some(keyspace) = state.keyspace.as_mut() else {
            break;
        };
        if keyspace.remove(key)? {
            deleted += 1;
            // Readers blocked on it in a group are told it is gone.
            state.signaled.push(key.to_vec());
        }
    }
    encode::integer(state.out(client), deleted);
    Ok(())
}

/// `EXISTS key [key ...]`: a key named twice counts twice.
pub(crate) fn exists(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let n = match &state.keyspace {
        Some(k) => args.rest().filter(|key| k.contains(key)).count(),
        None => 0,
    };
    encode::integer(state.out(client), n as i64);
    Ok(())
}

/// `TYPE key`: `stream` or `none`.
pub(crate) fn type_(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let key = args.next_bytes()?;
    let found = state.keyspace.as_ref().is_some_and(|k| k.contains(key));
    encode::simple_string(state.out(client), if found { "stream" } else { "none" });
    Ok(())
}

/// `KEYS pattern`.
pub(crate) fn keys(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let pattern = args.next_bytes()?;
    let found: Vec<Vec<u8>> = match &state.keyspace {
        Some(k) => k
            .keys()
            .filter(|key| glob_match(pattern, key))
            .map(<[u8]>::to_vec)
            .collect(),
        None => Vec::new(),
    };
    let out = state.out(client);
    encode::array_header(out, found.len());
    for key in &found {
        encode::bulk(out, key);
    }
    Ok(())
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
///
/// The cursor is the position in the keys' byte order: a key present for the whole scan is
/// returned once, unless keys before it are deleted meanwhile (then it may be skipped); one
/// added during the scan may or may not be.
pub(crate) fn scan(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run_scan(state, client, args);
    reply(state, client, result)
}

fn run_scan(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), Fail> {
    let all = super::arg_list(&args);
    let cursor = std::str::from_utf8(all[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
        .ok_or("ERR invalid cursor")?;
    let (mut pattern, mut count, mut type_filter) = (None, 10usize, None);
    let mut i = 2;
    while i < all.len() {
        let more = all.len() - 1 - i;
        let opt = all[i];
        if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            let n = int(all[i + 1])?;
            if n < 1 {
                return Err(SYNTAX.into());
            }
            count = n as usize;
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"match") && more > 0 {
            pattern = Some(all[i + 1]);
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"type") && more > 0 {
            type_filter = Some(all[i + 1]);
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let (mut found, mut next) = (Vec::new(), 0u64);
    if let Some(k) = &state.keyspace {
        let start = usize::try_from(cursor).unwrap_or(usize::MAX);
        let total = k.len();
        let end = start.saturating_add(count).min(total);
        for key in k.keys().skip(start).take(end.saturating_sub(start)) {
            let type_ok = type_filter.is_none_or(|t| t.eq_ignore_ascii_case(b"stream"));
            if type_ok && pattern.is_none_or(|p| glob_match(p, key)) {
                found.push(key.to_vec());
            }
        }
        if end < total {
            next = end as u64;
        }
    }
    let out = state.out(client);
    encode::array_header(out, 2);
    encode::bulk(out, next.to_string().as_bytes());
    encode::array_header(out, found.len());
    for key in &found {
        encode::bulk(out, key);
    }
    Ok(())
}
