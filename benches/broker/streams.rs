//! Durable streams: each run on a fresh server writing to a fresh temporary directory, removed
//! after. XADD from `redis-benchmark`, a consumer group draining a stream, and the time a server
//! killed with SIGKILL takes to answer again on its data.

use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, Value};

use crate::redis_benchmark::{self, STREAM};
use crate::server::Server;
use crate::temp_dir::TempDir;

/// How long a reply may take (a fill batch, an XREADGROUP under fsync).
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a restarted server may take to answer XLEN with the right length.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(180);
/// XADD commands per pipelined batch when filling a stream.
const FILL_BATCH: u64 = 1000;
/// Entries per XREADGROUP.
const READ_COUNT: usize = 100;

/// When each server's writes reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// redis-server `--appendfsync always`, the broker `--fsync batch`: nothing acknowledged is
    /// lost on power loss.
    Always,
    /// redis-server `--appendfsync everysec`, the broker `--fsync interval:1000`.
    Everysec,
}

impl Durability {
    /// The pair, for row names.
    pub fn label(self) -> &'static str {
        match self {
            Durability::Always => "appendfsync always / fsync batch",
            Durability::Everysec => "appendfsync everysec / fsync interval:1000",
        }
    }

    /// The command of server `which` (0: redis-server, 1: the broker, `base` its command) with
    /// `{port}` left in and `{dir}` for the data directory.
    pub fn command(self, which: usize, base: &str) -> String {
        let (appendfsync, fsync) = match self {
            Durability::Always => ("always", "batch"),
            Durability::Everysec => ("everysec", "interval:1000"),
        };
        if which == 0 {
            format!(
                "redis-server --port {{port}} --bind 127.0.0.1 --save '' --appendonly yes \
                 --appendfsync {appendfsync} --dir '{{dir}}'"
            )
        } else {
            format!("{base} --fsync {fsync} --data-dir '{{dir}}'")
        }
    }
}

/// A fresh server on a fresh data directory. Fields drop in order: the server is killed before
/// its directory is removed.
struct Durable {
    server: Server,
    command: String,
    _dir: TempDir,
}

impl Durable {
    /// Starts server `which` (`base` its usual command) with `durability` on an empty directory;
    /// `extra` is appended to redis-server's command.
    fn start(which: usize, base: &str, durability: Durability, extra: &str) -> Result<Durable, String> {
        let dir = TempDir::new()?;
        let mut command = durability.command(which, base);
        if which == 0 {
            command.push_str(extra);
        }
        let command = command.replace("{dir}", &dir.path().to_string_lossy());
        let server = Server::start(crate::report::SERVERS[which], &command)?;
        Ok(Durable {
            server,
            command,
            _dir: dir,
        })
    }
}

/// `requests` XADD of 100 B from redis-benchmark (50 clients, `pipeline` in flight each) on a
/// fresh server; requests per second, once XLEN confirms every entry is there.
pub fn xadd(
    which: usize,
    base: &str,
    durability: Durability,
    requests: u64,
    pipeline: u32,
) -> Result<f64, String> {
    let durable = Durable::start(which, base, durability, "")?;
    let rps = redis_benchmark::xadd(durable.server.port, requests, pipeline)?;
    // redis-benchmark sends whole pipelines: up to 50 × (pipeline - 1) more than asked.
    let len = xlen(&mut connect(durable.server.port)?)?;
    if len < requests || len > requests + 50 * u64::from(pipeline - 1) {
        return Err(format!("XLEN {len} after {requests} XADD"));
    }
    Ok(rps)
}

/// A fresh server under `appendfsync always` / `--fsync batch`, `entries` of 100 B preloaded,
/// drained by one consumer: XREADGROUP COUNT 100, then XACK of what it got pipelined with the
/// next XREADGROUP. Entries per second.
pub fn consume(which: usize, base: &str, entries: u64) -> Result<f64, String> {
    let durable = Durable::start(which, base, Durability::Always, "")?;
    let mut con = connect(durable.server.port)?;
    fill(&mut con, entries, 100)?;
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(STREAM)
        .arg("g")
        .arg("0")
        .query::<()>(&mut con)
        .map_err(|e| format!("XGROUP CREATE: {e}"))?;

    type Got = Option<Vec<(String, Vec<(String, Vec<Vec<u8>>)>)>>;
    let started = Instant::now();
    let (mut read, mut acked) = (0u64, 0u64);
    let mut ids: Vec<String> = Vec::new();
    loop {
        let mut pipe = redis::pipe();
        if !ids.is_empty() {
            pipe.cmd("XACK").arg(STREAM).arg("g").arg(&ids);
        }
        pipe.cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("STREAMS")
            .arg(STREAM)
            .arg(">");
        let replies: Vec<Value> = pipe.query(&mut con).map_err(|e| format!("XREADGROUP: {e}"))?;
        let mut replies = replies.iter();
        if !ids.is_empty() {
            let n: u64 = redis::from_redis_value(replies.next().unwrap_or(&Value::Nil))
                .map_err(|e| format!("XACK: {e}"))?;
            acked += n;
        }
        let got: Got = redis::from_redis_value(replies.next().unwrap_or(&Value::Nil))
            .map_err(|e| format!("XREADGROUP reply: {e}"))?;
        ids = got
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            break;
        }
        read += ids.len() as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if read != entries || acked != entries {
        return Err(format!("{entries} entries: {read} read, {acked} acknowledged"));
    }
    Ok(entries as f64 / elapsed)
}

/// A fresh server under `appendfsync everysec` / `--fsync interval:1000` filled with `bytes` of
/// 1 KiB entries in one stream, killed with SIGKILL and restarted on its directory: milliseconds from
/// the restart's spawn until XLEN answers the full length. redis-server does not rewrite its AOF
/// on the way (`--auto-aof-rewrite-percentage 0`), so both recover from their log.
pub fn recovery(which: usize, base: &str, bytes: u64) -> Result<f64, String> {
    let entries = bytes / 1024;
    let Durable {
        server,
        command,
        _dir: dir,
    } = Durable::start(
        which,
        base,
        Durability::Everysec,
        " --auto-aof-rewrite-percentage 0",
    )?;
    let mut con = connect(server.port)?;
    fill(&mut con, entries, 1024)?;
    drop(con);
    drop(server); // SIGKILL, and waited for.

    let started = Instant::now();
    let mut server = Server::spawn(crate::report::SERVERS[which], &command)?;
    let deadline = started + RECOVERY_TIMEOUT;
    loop {
        server.check_running()?;
        if let Ok(len) = connect(server.port).and_then(|mut con| xlen(&mut con)) {
            if len == entries {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                drop(server);
                drop(dir);
                return Ok(ms);
            }
            if len > entries {
                return Err(format!("XLEN {len} after restart, {entries} written"));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no XLEN {entries} within {RECOVERY_TIMEOUT:?} of the restart"
            ));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Appends `entries` XADD `bench * f <payload bytes>`, pipelined, and checks XLEN.
fn fill(con: &mut Connection, entries: u64, payload: usize) -> Result<(), String> {
    let payload = "x".repeat(payload);
    let batch = |n: u64| {
        let mut pipe = redis::pipe();
        for _ in 0..n {
            pipe.cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg("f")
                .arg(&payload)
                .ignore();
        }
        pipe
    };
    let full = batch(FILL_BATCH);
    for _ in 0..entries / FILL_BATCH {
        full.query::<()>(con).map_err(|e| format!("filling: {e}"))?;
    }
    if !entries.is_multiple_of(FILL_BATCH) {
        batch(entries % FILL_BATCH)
            .query::<()>(con)
            .map_err(|e| format!("filling: {e}"))?;
    }
    let len = xlen(con)?;
    if len != entries {
        return Err(format!("XLEN {len} after {entries} XADD"));
    }
    Ok(())
}

/// `XLEN bench`.
pub fn xlen(con: &mut Connection) -> Result<u64, String> {
    redis::cmd("XLEN")
        .arg(STREAM)
        .query(con)
        .map_err(|e| format!("XLEN: {e}"))
}

/// A connection to the server on `port` with generous timeouts.
pub fn connect(port: u16) -> Result<Connection, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).map_err(|e| e.to_string())?;
    let con = client
        .get_connection_with_timeout(TIMEOUT)
        .map_err(|e| format!("connecting to port {port}: {e}"))?;
    con.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    con.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    Ok(con)
}
