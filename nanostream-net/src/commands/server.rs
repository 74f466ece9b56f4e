//! Server commands: `CONFIG GET` and `INFO`.

use std::fmt::Write as _;

use super::unknown_subcommand;
use crate::broker::State;
use crate::pubsub::{glob_match, ClientId};
use crate::resp::{encode, Args, CommandError};

/// `CONFIG GET pattern [pattern ...]`: the settings clients ask about, as name/value pairs.
pub(crate) fn config(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let sub = args.next_bytes()?;
    if sub.eq_ignore_ascii_case(b"get") {
        let settings = &state.settings;
        let limit = settings.output_limit;
        let known: Vec<(&str, String)> = vec![
            ("save", String::new()),
            ("appendonly", "no".into()),
            ("databases", "1".into()),
            ("port", settings.port.to_string()),
            ("tls-port", settings.tls_port.to_string()),
            ("maxclients", settings.max_clients.to_string()),
            ("proto-max-bulk-len", settings.max_bulk_len.to_string()),
            ("requirepass", settings.password.clone().unwrap_or_default()),
            (
                "client-output-buffer-limit",
                format!(
                    "normal 0 0 0 slave 0 0 0 pubsub {} {} {}",
                    limit.hard,
                    limit.soft,
                    limit.soft_for.as_secs()
                ),
            ),
            ("timeout", "0".into()),
            ("notify-keyspace-events", String::new()),
            ("maxmemory", "0".into()),
        ];
        let patterns: Vec<&[u8]> = args.rest().collect();
        let mut matched: Vec<&(&str, String)> = Vec::new();
        for entry in &known {
            let lower = entry.0.as_bytes();
            if patterns
                .iter()
                .any(|p| glob_match(&p.to_ascii_lowercase(), lower))
            {
                matched.push(entry);
            }
        }
        let out = state.out(client);
        encode::array_header(out, matched.len() * 2);
        for (name, value) in matched {
            encode::bulk(out, name.as_bytes());
            encode::bulk(out, value.as_bytes());
        }
    } else if sub.eq_ignore_ascii_case(b"help") {
        let lines = [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "HELP",
            "    Print this help.",
        ];
        let out = state.out(client);
        encode::array_header(out, lines.len());
        for line in lines {
            encode::simple_string(out, line);
        }
    } else {
        unknown_subcommand(state, client, sub, "CONFIG");
    }
    Ok(())
}

/// The resident memory of this process, from `/proc/self/statm` (0 where it is unavailable).
fn resident_bytes() -> u64 {
    // SAFETY: `sysconf` only reads a configuration value; it has no pointer arguments.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page)
}

/// `INFO [section ...]`: server, clients, memory and stats, in Redis's format.
pub(crate) fn info(state: &mut State, client: ClientId, mut args: Args<'_>) -> Result<(), CommandError> {
    let wanted: Vec<Vec<u8>> = args.rest().map(|s| s.to_ascii_lowercase()).collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == b"all" || w == b"everything" || w == b"default");
    let want = |name: &[u8]| all || wanted.iter().any(|w| w == name);
    let snapshot = state.metrics.snapshot();
    let settings = &state.settings;
    let mut text = String::new();
    let section = |text: &mut String, title: &str| {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let _ = write!(text, "# {title}\r\n");
    };
    if want(b"server") {
        section(&mut text, "Server");
        let uptime = settings.started.elapsed().as_secs();
        let _ = write!(
            text,
            "redis_version:{}\r\nnanostream_version:{}\r\nredis_mode:standalone\r\nos:{} {}\r\n\
             arch_bits:{}\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\n\
             uptime_in_seconds:{}\r\nuptime_in_days:{}\r\n",
            super::connection::REDIS_VERSION,
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            settings.port,
            uptime,
            uptime / 86_400,
        );
    }
    if want(b"clients") {
        section(&mut text, "Clients");
        let pubsub = state
            .clients
            .keys()
            .filter(|c| state.registry.count(**c) > 0)
            .count();
        let _ = write!(
            text,
            "connected_clients:{}\r\nmaxclients:{}\r\npubsub_clients:{}\r\nblocked_clients:0\r\n",
            state.clients.len(),
            settings.max_clients,
            pubsub,
        );
    }
    if want(b"memory") {
        section(&mut text, "Memory");
        let rss = resident_bytes();
        let output: usize = state.clients.values().map(|c| c.backlog()).sum();
        let _ = write!(
            text,
            "used_memory:{rss}\r\nused_memory_rss:{rss}\r\nused_memory_clients_output:{output}\r\n\
             maxmemory:0\r\nmaxmemory_policy:noeviction\r\n",
        );
    }
    if want(b"stats") {
        section(&mut text, "Stats");
        let _ = write!(
            text,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
             pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsub_messages_in:{}\r\n\
             pubsub_messages_out:{}\r\nring_used:{}\r\nring_capacity:{}\r\n",
            snapshot.connections_total,
            snapshot.commands,
            snapshot.bytes_in,
            snapshot.bytes_out,
            snapshot.rejected_connections,
            state.registry.channels(None).len(),
            state.registry.numpat(),
            snapshot.messages_in,
            snapshot.messages_out,
            snapshot.ring_used,
            settings.ring_size,
        );
    }
    encode::bulk(state.out(client), text.as_bytes());
    Ok(())
}
