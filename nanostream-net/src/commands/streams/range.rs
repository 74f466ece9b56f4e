//! `XRANGE` and `XREVRANGE`.

use super::{entries, keyspace, reply, Fail, SYNTAX};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};
use crate::streams::id::StreamId;

/// `XRANGE key start end [COUNT count]`.
pub(crate) fn xrange(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run(state, client, args, false);
    reply(state, client, result)
}

/// `XREVRANGE key end start [COUNT count]`.
pub(crate) fn xrevrange(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let result = run(state, client, args, true);
    reply(state, client, result)
}

fn run(state: &mut State, client: ClientId, mut args: Args<'_>, reverse: bool) -> Result<(), Fail> {
    let key = args.next_bytes()?;
    let (first, second) = (args.next_bytes()?, args.next_bytes()?);
    let (start_arg, end_arg) = if reverse { (second, first) } else { (first, second) };
    let (start, end) = StreamId::parse_range(start_arg, end_arg)?;
    let mut limit = None;
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        if opt.eq_ignore_ascii_case(b"count") && args.remaining() > 0 {
            let n = super::int(args.next_bytes()?)?;
            limit = Some(n.max(0) as usize);
        } else {
            return Err(SYNTAX.into());
        }
    }
    let list = match keyspace(state)?.get_mut(key) {
        // COUNT 0 (or negative) on an existing stream is the null reply, as in Redis.
        Some(_) if limit == Some(0) => {
            encode::null_array(state.out(client));
            return Ok(());
        }
        Some(stored) => {
            if reverse {
                stored.stream.rev_range(end, start, limit)?
            } else {
                stored.stream.range(start, end, limit)?
            }
        }
        _ => Vec::new(),
    };
    entries(state.out(client), &list);
    Ok(())
}
