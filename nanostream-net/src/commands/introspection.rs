//! The command table and `COMMAND [COUNT | DOCS | INFO | LIST]`, which redis-cli and client
//! libraries ask at start-up.

use super::{client, connection, pubsub, server, unknown_subcommand, Spec};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

const fn spec(
    name: &'static str,
    arity: i32,
    no_auth: bool,
    in_subscribed: bool,
    group: &'static str,
    summary: &'static str,
    run: fn(&mut State, ClientId, Args<'_>) -> Result<(), CommandError>,
) -> Spec {
    Spec {
        name,
        arity,
        no_auth,
        in_subscribed,
        group,
        summary,
        run,
    }
}

/// Every command the broker knows.
pub(crate) static COMMANDS: &[Spec] = &[
    spec(
        "ping",
        -1,
        false,
        true,
        "connection",
        "Ping the server.",
        connection::ping,
    ),
    spec(
        "echo",
        2,
        false,
        false,
        "connection",
        "Echo the given string.",
        connection::echo,
    ),
    spec(
        "quit",
        -1,
        true,
        true,
        "connection",
        "Close the connection.",
        connection::quit,
    ),
    spec(
        "auth",
        -2,
        true,
        false,
        "connection",
        "Authenticate to the server.",
        connection::auth,
    ),
    spec(
        "hello",
        -1,
        true,
        false,
        "connection",
        "Handshake with the server.",
        connection::hello,
    ),
    spec(
        "select",
        2,
        false,
        false,
        "connection",
        "Select database 0, the only one.",
        connection::select,
    ),
    spec(
        "client",
        -2,
        false,
        false,
        "connection",
        "Client connections: name, id, list.",
        client::client,
    ),
    spec(
        "config",
        -2,
        false,
        false,
        "server",
        "Read configuration parameters.",
        server::config,
    ),
    spec(
        "info",
        -1,
        false,
        false,
        "server",
        "Information and statistics about the server.",
        server::info,
    ),
    spec(
        "command",
        -1,
        false,
        false,
        "server",
        "Details about the commands.",
        command,
    ),
    spec(
        "publish",
        3,
        false,
        false,
        "pubsub",
        "Post a message to a channel.",
        pubsub::publish,
    ),
    spec(
        "subscribe",
        -2,
        false,
        true,
        "pubsub",
        "Listen for messages published to channels.",
        pubsub::subscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        false,
        true,
        "pubsub",
        "Stop listening to channels.",
        pubsub::unsubscribe,
    ),
    spec(
        "psubscribe",
        -2,
        false,
        true,
        "pubsub",
        "Listen for messages on channels matching patterns.",
        pubsub::psubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        false,
        true,
        "pubsub",
        "Stop listening to patterns.",
        pubsub::punsubscribe,
    ),
    spec(
        "pubsub",
        -2,
        false,
        false,
        "pubsub",
        "Inspect channels and patterns.",
        pubsub::pubsub,
    ),
];

/// Redis's flags for a command, as `COMMAND INFO` lists them.
fn flags(s: &Spec) -> &'static [&'static str] {
    match s.name {
        "ping" | "echo" => &["fast"],
        "quit" | "auth" | "hello" => &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        "select" => &["loading", "stale", "fast"],
        "publish" => &["pubsub", "loading", "stale", "fast"],
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" => {
            &["pubsub", "noscript", "loading", "stale"]
        }
        _ => &["loading", "stale"],
    }
}

fn write_info(out: &mut Vec<u8>, s: &Spec) {
    // name, arity, flags, first key, last key, step, ACL categories, tips, key specs, subcommands
    encode::array_header(out, 10);
    encode::bulk(out, s.name.as_bytes());
    encode::integer(out, i64::from(s.arity));
    let f = flags(s);
    encode::array_header(out, f.len());
    for flag in f {
        encode::simple_string(out, flag);
    }
    encode::integer(out, 0);
    encode::integer(out, 0);
    encode::integer(out, 0);
    encode::array_header(out, 1);
    let category = format!("@{}", s.group);
    encode::simple_string(out, &category);
    encode::array_header(out, 0);
    encode::array_header(out, 0);
    encode::array_header(out, 0);
}

fn write_docs(out: &mut Vec<u8>, s: &Spec) {
    encode::bulk(out, s.name.as_bytes());
    encode::array_header(out, 6);
    encode::bulk(out, b"summary");
    encode::bulk(out, s.summary.as_bytes());
    encode::bulk(out, b"since");
    encode::bulk(out, b"1.0.0");
    encode::bulk(out, b"group");
    encode::bulk(out, s.group.as_bytes());
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND DOCS [name ...]`, `COMMAND INFO [name ...]`,
/// `COMMAND LIST`.
pub(crate) fn command(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let out_all = |state: &mut State, names: Option<Vec<&[u8]>>, docs: bool| {
        let selected: Vec<Option<&Spec>> = match names {
            None => COMMANDS.iter().map(Some).collect(),
            Some(names) => names.iter().map(|n| super::lookup(n)).collect(),
        };
        let out = state.out(client);
        if docs {
            let found: Vec<&Spec> = selected.into_iter().flatten().collect();
            encode::array_header(out, found.len() * 2);
            for s in found {
                write_docs(out, s);
            }
        } else {
            encode::array_header(out, selected.len());
            for s in selected {
                match s {
                    Some(s) => write_info(out, s),
                    None => encode::null_array(out),
                }
            }
        }
    };
    if args.remaining() == 0 {
        out_all(state, None, false);
        return Ok(());
    }
    let sub = args.next_bytes()?;
    match sub.to_ascii_lowercase().as_slice() {
        b"count" => {
            super::sub_arity(&args, 2, "command|count")?;
            encode::integer(state.out(client), COMMANDS.len() as i64);
        }
        b"list" => {
            let out = state.out(client);
            encode::array_header(out, COMMANDS.len());
            for s in COMMANDS {
                encode::bulk(out, s.name.as_bytes());
            }
        }
        b"info" => {
            let names: Vec<&[u8]> = args.rest().collect();
            out_all(state, (!names.is_empty()).then_some(names), false);
        }
        b"docs" => {
            let names: Vec<&[u8]> = args.rest().collect();
            out_all(state, (!names.is_empty()).then_some(names), true);
        }
        _ => unknown_subcommand(state, client, sub, "COMMAND"),
    }
    Ok(())
}
