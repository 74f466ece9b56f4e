//! The command table and `COMMAND [COUNT | DOCS | INFO | LIST]`, which redis-cli and client
//! libraries ask at start-up.

use super::{client, connection, pubsub, server, streams, unknown_subcommand, Spec};
use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

type Run = fn(&mut State, ClientId, Args<'_>) -> Result<(), CommandError>;

/// A command that needs authentication and is refused in subscribed state; the methods below
/// lift either restriction or add subcommands.
const fn command_spec(
    name: &'static str,
    arity: i32,
    group: &'static str,
    summary: &'static str,
    run: Run,
) -> Spec {
    Spec {
        name,
        arity,
        no_auth: false,
        in_subscribed: false,
        group,
        summary,
        subcommands: &[],
        run,
    }
}

impl Spec {
    /// Runs before the client authenticated.
    const fn no_auth(self) -> Spec {
        Spec {
            no_auth: true,
            ..self
        }
    }

    /// Runs while the client has subscriptions.
    const fn in_subscribed(self) -> Spec {
        Spec {
            in_subscribed: true,
            ..self
        }
    }

    /// A container command and its subcommands.
    const fn subcommands(self, subcommands: &'static [(&'static str, i32)]) -> Spec {
        Spec { subcommands, ..self }
    }
}

const CLIENT: &[(&str, i32)] = &[
    ("client|setname", 3),
    ("client|getname", 2),
    ("client|setinfo", 4),
    ("client|id", 2),
    ("client|info", 2),
    ("client|list", -2),
    ("client|help", 2),
];
const CONFIG: &[(&str, i32)] = &[("config|get", -3), ("config|help", 2)];
const XGROUP: &[(&str, i32)] = &[
    ("xgroup|create", -5),
    ("xgroup|destroy", 4),
    ("xgroup|delconsumer", 5),
    ("xgroup|createconsumer", 5),
    ("xgroup|setid", -5),
    ("xgroup|help", 2),
];
const XINFO: &[(&str, i32)] = &[
    ("xinfo|stream", -3),
    ("xinfo|groups", 3),
    ("xinfo|consumers", 4),
    ("xinfo|help", 2),
];
const COMMAND: &[(&str, i32)] = &[
    ("command|count", 2),
    ("command|docs", -2),
    ("command|info", -2),
    ("command|list", -2),
    ("command|help", 2),
];
const PUBSUB: &[(&str, i32)] = &[
    ("pubsub|channels", -2),
    ("pubsub|numsub", -2),
    ("pubsub|numpat", 2),
    ("pubsub|help", 2),
];

/// Every command the broker knows.
#[rustfmt::skip]
pub(crate) static COMMANDS: &[Spec] = &[
    command_spec("ping", -1, "connection", "Ping the server.", connection::ping).in_subscribed(),
    command_spec("echo", 2, "connection", "Echo the given string.", connection::echo),
    command_spec("quit", -1, "connection", "Close the connection.", connection::quit).no_auth().in_subscribed(),
    command_spec("reset", 1, "connection", "Reset the connection.", connection::reset).no_auth().in_subscribed(),
    command_spec("auth", -2, "connection", "Authenticate to the server.", connection::auth).no_auth(),
    command_spec("hello", -1, "connection", "Handshake with the server.", connection::hello).no_auth(),
    command_spec("select", 2, "connection", "Select database 0, the only one.", connection::select),
    command_spec("client", -2, "connection", "Client connections: name, id, list.", client::client).subcommands(CLIENT),
    command_spec("config", -2, "server", "Read configuration parameters.", server::config).subcommands(CONFIG),
    command_spec("info", -1, "server", "Information and statistics about the server.", server::info),
    command_spec("command", -1, "server", "Details about the commands.", command).subcommands(COMMAND),
    command_spec("publish", 3, "pubsub", "Post a message to a channel.", pubsub::publish),
    command_spec("subscribe", -2, "pubsub", "Listen for messages published to channels.", pubsub::subscribe).in_subscribed(),
    command_spec("unsubscribe", -1, "pubsub", "Stop listening to channels.", pubsub::unsubscribe).in_subscribed(),
    command_spec("psubscribe", -2, "pubsub", "Listen for messages on channels matching patterns.", pubsub::psubscribe).in_subscribed(),
    command_spec("punsubscribe", -1, "pubsub", "Stop listening to patterns.", pubsub::punsubscribe).in_subscribed(),
    command_spec("pubsub", -2, "pubsub", "Inspect channels and patterns.", pubsub::pubsub).subcommands(PUBSUB),
    command_spec("xadd", -5, "stream", "Append an entry to a stream, durably.", streams::xadd),
    command_spec("xlen", 2, "stream", "The number of entries in a stream.", streams::xlen),
    command_spec("xrange", -4, "stream", "Entries in a range of IDs.", streams::xrange),
    command_spec("xrevrange", -4, "stream", "Entries in a range of IDs, newest first.", streams::xrevrange),
    command_spec("xread", -4, "stream", "Entries after IDs, from one or more streams; may block.", streams::xread),
    command_spec("xreadgroup", -7, "stream", "Entries for a consumer of a group; may block.", streams::xreadgroup),
    command_spec("xdel", -3, "stream", "Delete entries by ID.", streams::xdel),
    command_spec("xsetid", -3, "stream", "Set a stream's last ID and counters.", streams::xsetid),
    command_spec("xtrim", -4, "stream", "Delete the oldest entries.", streams::xtrim),
    command_spec("xinfo", -2, "stream", "Information about streams, groups and consumers.", streams::xinfo).subcommands(XINFO),
    command_spec("xgroup", -2, "stream", "Create and manage consumer groups.", streams::xgroup).subcommands(XGROUP),
    command_spec("xack", -4, "stream", "Acknowledge entries of a group.", streams::xack),
    command_spec("xpending", -3, "stream", "The pending entries of a group.", streams::xpending),
    command_spec("xclaim", -6, "stream", "Take pending entries over.", streams::xclaim),
    command_spec("xautoclaim", -6, "stream", "Take idle pending entries over, by scanning.", streams::xautoclaim),
    command_spec("del", -2, "generic", "Delete keys (streams, with their groups).", streams::del),
    command_spec("exists", -2, "generic", "Count the keys that exist.", streams::exists),
    command_spec("type", 2, "generic", "The type of a key.", streams::type_),
    command_spec("keys", 2, "generic", "The keys matching a pattern.", streams::keys),
    command_spec("scan", -2, "generic", "Iterate over the keys.", streams::scan),
];
/// Redis's flags for a command, as `COMMAND INFO` lists them.
fn flags(s: &Spec) -> &'static [&'static str] {
    match s.name {
        "ping" | "echo" => &["fast"],
        "quit" | "auth" | "hello" | "reset" => {
            &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"]
        }
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
