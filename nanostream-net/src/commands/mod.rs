//! The commands the broker answers, one file per command family, and the table that says
//! each command's arity and whether it runs before authentication or in subscribed state.
//!
//! Checks run in redis-server 7's order: unknown command, wrong number of arguments,
//! authentication, then the subscribed-state restriction.

mod client;
mod connection;
mod introspection;
mod pubsub;
mod server;
mod streams;

use std::borrow::Cow;

use crate::broker::State;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

pub(crate) use introspection::COMMANDS;

/// One command: its name as Redis shows it, its arity (negative: at least that many,
/// counting the name), and where it may run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) arity: i32,
    /// Runs before the client authenticated.
    pub(crate) no_auth: bool,
    /// Runs while the client has subscriptions.
    pub(crate) in_subscribed: bool,
    pub(crate) group: &'static str,
    pub(crate) summary: &'static str,
    /// For a container command (`CLIENT`, `CONFIG`, ...): each subcommand's full name as
    /// Redis shows it (`client|setname`) and its arity.
    pub(crate) subcommands: &'static [(&'static str, i32)],
    pub(crate) run: fn(&mut State, ClientId, Args<'_>) -> Result<(), CommandError>,
}

impl Spec {
    /// The subcommand named by `name`, if this is a container command that has it.
    fn subcommand(&self, name: &[u8]) -> Option<(&'static str, i32)> {
        self.subcommands.iter().copied().find(|(full, _)| {
            full.split_once('|')
                .is_some_and(|(_, sub)| sub.as_bytes().eq_ignore_ascii_case(name))
        })
    }
}

/// What the I/O thread must know about a command before the broker runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Early {
    /// Nothing.
    None,
    /// `QUIT`: read nothing more from this client.
    Quit,
    /// A correct `AUTH` or `HELLO ... AUTH`: lift the unauthenticated limits now, before the
    /// next request is parsed.
    Authenticates,
}

/// What the I/O thread looks at, without running anything.
pub(crate) fn early(args: &[Cow<'_, [u8]>], password: Option<&str>) -> Early {
    let Some(name) = args.first() else {
        return Early::None;
    };
    if name.eq_ignore_ascii_case(b"quit") {
        return Early::Quit;
    }
    let Some(password) = password else {
        return Early::None;
    };
    let ok = if name.eq_ignore_ascii_case(b"auth") {
        connection::auth_matches(&args[1..], password)
    } else if name.eq_ignore_ascii_case(b"hello") {
        connection::hello_auth_matches(args, password)
    } else {
        false
    };
    if ok {
        Early::Authenticates
    } else {
        Early::None
    }
}

/// Looks a command up by name, ignoring case.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Runs one request for `client`, writing its reply into the client's output.
pub(crate) fn execute(state: &mut State, client: ClientId, all: &[Cow<'_, [u8]>]) {
    let Some(args) = Args::new(all) else { return };
    let Some(spec) = lookup(args.name()) else {
        CommandError::unknown_command(all).write_reply(state.out(client));
        return;
    };
    // A container command names its subcommand; Redis reports an unknown one, checks the
    // subcommand's own arity, and names it `command|sub` in errors.
    let (full_name, arity) = match (spec.subcommands.is_empty(), all.get(1)) {
        (false, Some(sub)) => match spec.subcommand(sub) {
            Some(found) => found,
            None => {
                unknown_subcommand(state, client, sub, &spec.name.to_ascii_uppercase());
                return;
            }
        },
        _ => (spec.name, spec.arity),
    };
    let argc = all.len() as i64;
    let arity = i64::from(arity);
    if (arity > 0 && argc != arity) || argc < -arity {
        CommandError::WrongArity(full_name).write_reply(state.out(client));
        return;
    }
    let (authenticated, subscribed) = {
        let c = &state.clients[&client];
        (c.connection.is_authenticated(), state.registry.count(client) > 0)
    };
    if !authenticated && !spec.no_auth {
        encode::error(state.out(client), "NOAUTH Authentication required.");
        return;
    }
    if subscribed && !spec.in_subscribed {
        let message = format!(
            "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        encode::error(state.out(client), &message);
        return;
    }
    if let Some(c) = state.clients.get_mut(&client) {
        c.last_command = std::time::Instant::now();
        c.last_command_name = full_name;
    }
    state.commands += 1;
    if let Err(e) = (spec.run)(state, client, args.command(full_name)) {
        e.write_reply(state.out(client));
    }
}

/// Redis's reply for an unknown subcommand.
pub(crate) fn unknown_subcommand(state: &mut State, client: ClientId, sub: &[u8], command: &str) {
    let mut m = b"ERR unknown subcommand '".to_vec();
    m.extend_from_slice(&sub[..sub.len().min(128)]);
    m.extend_from_slice(format!("'. Try {command} HELP.").as_bytes());
    encode::error_bytes(state.out(client), &m);
}
