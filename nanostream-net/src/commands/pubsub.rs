//! Pub/sub commands: PUBLISH, (P)SUBSCRIBE, (P)UNSUBSCRIBE, PUBSUB.

use super::{sub_arity, unknown_subcommand};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

/// `PUBLISH channel message`: replies the number of receivers.
pub(crate) fn publish(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let channel = args.next_bytes()?;
    let payload = args.next_bytes()?;
    let receivers = state.publish(channel, payload);
    encode::integer(state.out(client), receivers as i64);
    Ok(())
}

/// `SUBSCRIBE channel [channel ...]`.
pub(crate) fn subscribe(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    for channel in args.rest() {
        let count = state.registry.subscribe(client, channel);
        encode::subscribe(state.out(client), channel, count);
    }
    Ok(())
}

/// `PSUBSCRIBE pattern [pattern ...]`.
pub(crate) fn psubscribe(
    state: &mut State,
    client: ClientId,
    mut args: Args<'_>,
) -> Result<(), CommandError> {
    for pattern in args.rest() {
        let count = state.registry.psubscribe(client, pattern);
        encode::psubscribe(state.out(client), pattern, count);
    }
    Ok(())
}

/// `UNSUBSCRIBE [channel ...]`: every channel when none is named.
pub(crate) fn unsubscribe(
    state: &mut State,
    client: ClientId,
    mut args: Args<'_>,
) -> Result<(), CommandError> {
    if args.remaining() == 0 {
        let removed = state.registry.unsubscribe_all(client);
        if removed.is_empty() {
            let count = state.registry.count(client);
            encode::unsubscribe(state.out(client), None, count);
        }
        for (channel, count) in removed {
            encode::unsubscribe(state.out(client), Some(&channel), count);
        }
    } else {
        for channel in args.rest() {
            let count = state.registry.unsubscribe(client, channel);
            encode::unsubscribe(state.out(client), Some(channel), count);
        }
    }
    Ok(())
}

/// `PUNSUBSCRIBE [pattern ...]`: every pattern when none is named.
pub(crate) fn punsubscribe(
    state: &mut State,
    client: ClientId,
    mut args: Args<'_>,
) -> Result<(), CommandError> {
    if args.remaining() == 0 {
        let removed = state.registry.punsubscribe_all(client);
        if removed.is_empty() {
            let count = state.registry.count(client);
            encode::punsubscribe(state.out(client), None, count);
        }
        for (pattern, count) in removed {
            encode::punsubscribe(state.out(client), Some(&pattern), count);
        }
    } else {
        for pattern in args.rest() {
            let count = state.registry.punsubscribe(client, pattern);
            encode::punsubscribe(state.out(client), Some(pattern), count);
        }
    }
    Ok(())
}

/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | HELP`.
pub(crate) fn pubsub(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let sub = args.next_bytes()?;
    match sub.to_ascii_lowercase().as_slice() {
        b"channels" => {
            sub_arity(&args, -2, "pubsub|channels")?;
            if args.remaining() > 1 {
                return Err(CommandError::WrongArity("pubsub|channels"));
            }
            let pattern = args.rest().next();
            let channels: Vec<Vec<u8>> = state
                .registry
                .channels(pattern)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            let out = state.out(client);
            encode::array_header(out, channels.len());
            for channel in channels {
                encode::bulk(out, &channel);
            }
        }
        b"numsub" => {
            sub_arity(&args, -2, "pubsub|numsub")?;
            let counts: Vec<(&[u8], usize)> = args.rest().map(|c| (c, state.registry.numsub(c))).collect();
            let out = state.out(client);
            encode::array_header(out, counts.len() * 2);
            for (channel, count) in counts {
                encode::bulk(out, channel);
                encode::integer(out, count as i64);
            }
        }
        b"numpat" => {
            sub_arity(&args, 2, "pubsub|numpat")?;
            let n = state.registry.numpat();
            encode::integer(state.out(client), n as i64);
        }
        b"help" => {
            let lines = [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "HELP",
                "    Print this help.",
            ];
            let out = state.out(client);
            encode::array_header(out, lines.len());
            for line in lines {
                encode::simple_string(out, line);
            }
        }
        _ => unknown_subcommand(state, client, sub, "PUBSUB"),
    }
    Ok(())
}
