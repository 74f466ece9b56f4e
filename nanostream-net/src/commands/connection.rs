//! Connection commands: PING, ECHO, QUIT, AUTH, HELLO, SELECT.

use std::borrow::Cow;

use crate::broker::State;
use crate::ops::DisconnectReason;
use crate::pubsub::ClientId;
use crate::resp::{encode, Args, CommandError};

/// The server name and version `HELLO` reports: clients use them to decide which Redis
/// features to expect, and the broker answers as Redis 7.0 does.
pub(crate) const REDIS_VERSION: &str = "7.0.15";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// `PING [message]`; in subscribed state, RESP2 clients get `["pong", message]`.
pub(crate) fn ping(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    if args.remaining() > 1 {
        return Err(args.wrong_arity());
    }
    let message = args.rest().next();
    let subscribed = state.registry.count(client) > 0;
    let out = state.out(client);
    match (subscribed, message) {
        (true, message) => {
            encode::array_header(out, 2);
            encode::bulk(out, b"pong");
            encode::bulk(out, message.unwrap_or(b""));
        }
        (false, None) => encode::simple_string(out, "PONG"),
        (false, Some(m)) => encode::bulk(out, m),
    }
    Ok(())
}

/// `ECHO message`.
pub(crate) fn echo(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let message = args.next_bytes()?;
    encode::bulk(state.out(client), message);
    Ok(())
}

/// `QUIT`: `+OK`, then the connection closes once its output is written.
pub(crate) fn quit(state: &mut State, client: ClientId, _args: Args<'_>) -> Result<(), CommandError> {
    encode::simple_string(state.out(client), "OK");
    state.close_after_flush(client, DisconnectReason::Quit);
    Ok(())
}

/// `SELECT index`: only database 0 exists.
pub(crate) fn select(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let index = args.next_i64()?;
    if i32::try_from(index).is_err() {
        return Err(CommandError::NotInteger);
    }
    let out = state.out(client);
    if index == 0 {
        encode::simple_string(out, "OK");
    } else {
        encode::error(out, "ERR DB index is out of range");
    }
    Ok(())
}

/// Whether `AUTH`'s arguments (after the name) carry the right password for the default user.
pub(crate) fn auth_matches(args: &[Cow<'_, [u8]>], password: &str) -> bool {
    match args {
        [pass] => pass.as_ref() == password.as_bytes(),
        [user, pass] => user.as_ref() == b"default" && pass.as_ref() == password.as_bytes(),
        _ => false,
    }
}

/// Whether a whole `HELLO` request authenticates with the right password.
pub(crate) fn hello_auth_matches(all: &[Cow<'_, [u8]>], password: &str) -> bool {
    let mut i = 2;
    while i < all.len() {
        if all[i].eq_ignore_ascii_case(b"auth") && i + 2 < all.len() {
            return auth_matches(&all[i + 1..i + 3], password);
        }
        i += if all[i].eq_ignore_ascii_case(b"setname") {
            2
        } else {
            1
        };
    }
    false
}

/// `AUTH [username] password`.
pub(crate) fn auth(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let rest = &args.all()[1..];
    if rest.len() > 2 {
        encode::error(state.out(client), "ERR syntax error");
        return Ok(());
    }
    let Some(password) = state.settings.password.clone() else {
        let out = state.out(client);
        if rest.len() == 1 {
            encode::error(
                out,
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            );
        } else if rest[0].as_ref() == b"default" {
            encode::simple_string(out, "OK");
        } else {
            encode::error(out, WRONGPASS);
        }
        return Ok(());
    };
    if auth_matches(rest, &password) {
        state.clients[&client].connection.set_authenticated();
        encode::simple_string(state.out(client), "OK");
    } else {
        encode::error(state.out(client), WRONGPASS);
    }
    Ok(())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`: RESP2 only; `HELLO 3`
/// is answered `-NOPROTO`.
pub(crate) fn hello(state: &mut State, client: ClientId, args: Args<'_>) -> Result<(), CommandError> {
    let all = args.all();
    if all.len() >= 2 {
        match crate::resp::number::string2ll(&all[1]) {
            None => {
                encode::error(
                    state.out(client),
                    "ERR Protocol version is not an integer or out of range",
                );
                return Ok(());
            }
            Some(2) => {}
            Some(_) => {
                encode::error(state.out(client), "NOPROTO unsupported protocol version");
                return Ok(());
            }
        }
    }
    let mut credentials = None;
    let mut name = None;
    let mut j = 2;
    while j < all.len() {
        let more = all.len() - 1 - j;
        let option = &all[j];
        if option.eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some(&all[j + 1..j + 3]);
            j += 3;
        } else if option.eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(&all[j + 1]);
            j += 2;
        } else {
            let mut m = b"ERR Syntax error in HELLO option '".to_vec();
            m.extend_from_slice(option);
            m.push(b'\'');
            encode::error_bytes(state.out(client), &m);
            return Ok(());
        }
    }
    if let Some(credentials) = credentials {
        let ok = match &state.settings.password {
            Some(p) => auth_matches(credentials, p),
            None => credentials[0].as_ref() == b"default",
        };
        if !ok {
            encode::error(state.out(client), WRONGPASS);
            return Ok(());
        }
        state.clients[&client].connection.set_authenticated();
    }
    if !state.clients[&client].connection.is_authenticated() {
        encode::error(
            state.out(client),
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        );
        return Ok(());
    }
    if let Some(name) = name {
        if !super::client::valid_name(name) {
            encode::error(
                state.out(client),
                "ERR Client names cannot contain spaces, newlines or special characters.",
            );
            return Ok(());
        }
        let c = state.clients.get_mut(&client).expect("connected");
        c.name = (!name.is_empty()).then(|| name.to_vec().into_boxed_slice());
    }
    let out = state.out(client);
    encode::array_header(out, 14);
    encode::bulk(out, b"server");
    encode::bulk(out, b"redis");
    encode::bulk(out, b"version");
    encode::bulk(out, REDIS_VERSION.as_bytes());
    encode::bulk(out, b"proto");
    encode::integer(out, 2);
    encode::bulk(out, b"id");
    encode::integer(out, client.0 as i64);
    encode::bulk(out, b"mode");
    encode::bulk(out, b"standalone");
    encode::bulk(out, b"role");
    encode::bulk(out, b"master");
    encode::bulk(out, b"modules");
    encode::array_header(out, 0);
    Ok(())
}
