//! `CLIENT SETNAME | GETNAME | SETINFO | ID | LIST | INFO | HELP`.

use std::fmt::Write as _;
use std::time::Instant;

use super::{sub_arity, unknown_subcommand};
use crate::broker::{Client, State};
use crate::pubsub::{ClientId, Registry};
use crate::resp::{encode, Args, CommandError};

/// Names may not contain spaces, newlines or special characters (Redis allows `!`..=`~`).
pub(crate) fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// `CLIENT <subcommand> ...`.
pub(crate) fn client(state: &mut State, id: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let sub = args.next_bytes()?;
    let lower = sub.to_ascii_lowercase();
    match lower.as_slice() {
        b"setname" => {
            sub_arity(&args, 3, "client|setname")?;
            let name = args.next_bytes()?;
            if !valid_name(name) {
                encode::error(
                    state.out(id),
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
                return Ok(());
            }
            let c = state.clients.get_mut(&id).expect("connected");
            c.name = (!name.is_empty()).then(|| name.to_vec().into_boxed_slice());
            encode::simple_string(state.out(id), "OK");
        }
        b"getname" => {
            sub_arity(&args, 2, "client|getname")?;
            let name = state.clients[&id].name.clone();
            match name {
                Some(n) => encode::bulk(state.out(id), &n),
                None => encode::null_bulk(state.out(id)),
            }
        }
        b"setinfo" => {
            sub_arity(&args, 4, "client|setinfo")?;
            let attribute = args.next_bytes()?;
            let value = args.next_bytes()?;
            if !valid_name(value) {
                let mut m = b"ERR ".to_vec();
                m.extend_from_slice(attribute);
                m.extend_from_slice(b" cannot contain spaces, newlines or special characters.");
                encode::error_bytes(state.out(id), &m);
                return Ok(());
            }
            let value = Some(value.to_vec().into_boxed_slice());
            let c = state.clients.get_mut(&id).expect("connected");
            if attribute.eq_ignore_ascii_case(b"lib-name") {
                c.lib_name = value;
            } else if attribute.eq_ignore_ascii_case(b"lib-ver") {
                c.lib_ver = value;
            } else {
                let mut m = b"ERR Unrecognized option '".to_vec();
                m.extend_from_slice(attribute);
                m.push(b'\'');
                encode::error_bytes(state.out(id), &m);
                return Ok(());
            }
            encode::simple_string(state.out(id), "OK");
        }
        b"id" => {
            sub_arity(&args, 2, "client|id")?;
            encode::integer(state.out(id), id.0 as i64);
        }
        b"info" => {
            sub_arity(&args, 2, "client|info")?;
            let mut line = String::new();
            describe(&mut line, &state.clients[&id], &state.registry, "client|info");
            encode::bulk(state.out(id), line.as_bytes());
        }
        b"list" => {
            sub_arity(&args, -2, "client|list")?;
            let mut only_pubsub = None;
            let mut ids: Option<Vec<u64>> = None;
            while args.remaining() > 0 {
                let option = args.next_bytes()?.to_ascii_lowercase();
                match option.as_slice() {
                    b"type" if args.remaining() > 0 => {
                        let kind = args.next_bytes()?.to_ascii_lowercase();
                        only_pubsub = match kind.as_slice() {
                            b"pubsub" => Some(true),
                            b"normal" => Some(false),
                            b"master" | b"replica" | b"slave" => {
                                encode::bulk(state.out(id), b"");
                                return Ok(());
                            }
                            _ => {
                                let mut m = b"ERR Unknown client type '".to_vec();
                                m.extend_from_slice(&kind);
                                m.push(b'\'');
                                encode::error_bytes(state.out(id), &m);
                                return Ok(());
                            }
                        };
                    }
                    b"id" if args.remaining() > 0 => {
                        let mut list = Vec::new();
                        for raw in args.rest() {
                            match crate::resp::number::string2ll(raw) {
                                Some(n) if n > 0 => list.push(n as u64),
                                _ => {
                                    encode::error(state.out(id), "ERR Invalid client ID");
                                    return Ok(());
                                }
                            }
                        }
                        ids = Some(list);
                    }
                    _ => {
                        encode::error(state.out(id), "ERR syntax error");
                        return Ok(());
                    }
                }
            }
            let mut order: Vec<&ClientId> = state.clients.keys().collect();
            order.sort();
            let mut text = String::new();
            for cid in order {
                if ids.as_ref().is_some_and(|l| !l.contains(&cid.0)) {
                    continue;
                }
                let subscribed = state.registry.count(*cid) > 0;
                if only_pubsub.is_some_and(|p| p != subscribed) {
                    continue;
                }
                let command = if *cid == id {
                    "client|list"
                } else {
                    state.clients[cid].last_command_name
                };
                describe(&mut text, &state.clients[cid], &state.registry, command);
            }
            encode::bulk(state.out(id), text.as_bytes());
        }
        b"help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "LIST [TYPE <normal|pubsub>] [ID <id> [<id> ...]]",
                "    Return information about client connections.",
                "SETINFO <option> <value>",
                "    Set client meta attr. Options are LIB-NAME and LIB-VER.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "HELP",
                "    Print this help.",
            ];
            let out = state.out(id);
            encode::array_header(out, lines.len());
            for line in lines {
                encode::simple_string(out, line);
            }
        }
        _ => unknown_subcommand(state, id, sub, "CLIENT"),
    }
    Ok(())
}

/// One `CLIENT LIST` line, in Redis's field order (fields the broker has no notion of are
/// reported as Redis reports an idle client).
fn describe(out: &mut String, c: &Client, registry: &Registry, command: &str) {
    let id = c.connection.id;
    let now = Instant::now();
    let subs = registry.client_channels(id).count();
    let psubs = registry.client_patterns(id).count();
    let name = c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let lib_name = c
        .lib_name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib_ver = c
        .lib_ver
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let flags = if subs + psubs > 0 { "P" } else { "N" };
    let omem = c.backlog();
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db=0 sub={} psub={} ssub=0 \
         multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} \
         tot-mem={} events=r cmd={} user=default redir=-1 resp=2 lib-name={} lib-ver={}",
        id.0,
        c.connection.peer,
        c.connection.local,
        name,
        now.duration_since(c.connection.created).as_secs(),
        now.duration_since(c.last_command).as_secs(),
        flags,
        subs,
        psubs,
        omem,
        omem,
        command,
        lib_name,
        lib_ver,
    );
}
