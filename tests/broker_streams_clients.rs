//! Redis Streams through three clients, against redis-server 7 and the broker: redis-py running
//! `tests/clients/streams.py` (every stream command, exact replies, blocking reads, consumer
//! groups, hostile keys), a `redis-cli` session whose printed output is compared between the two
//! servers, and the `redis` crate doing XADD / XRANGE / XREADGROUP / XACK / XPENDING.
//!
//! The broker runs with `--data-dir` in a fresh temporary directory, removed afterwards.

mod broker;
mod common;
mod streams_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broker::{cli, run_bounded};
use common::{Server, Target};
use redis::{Client, Connection, Value};
use streams_support::TempDir;

/// Debian's interpreter, which has python3-redis; not whatever `python3` is first in PATH.
const PYTHON: &str = "/usr/bin/python3";

/// How long `streams.py` may run: each of its own waits is bounded at 10 s.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);

/// How long one redis-cli session may run.
const CLI_DEADLINE: Duration = Duration::from_secs(30);

/// Every read of the `redis` crate waits at most this long.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server of `target` with no keys; for the broker, also the temporary directory that holds
/// its data directory (kept alive as long as the server).
struct Fresh {
    server: Server,
    /// `ROOT/nest/ed/data` is the broker's `--data-dir`, two levels below the temporary root so
    /// that a key like `../../etc` escaping it would show up as a new entry in `ROOT/nest`.
    root: Option<TempDir>,
}

impl Fresh {
    fn start(target: Target, tag: &str) -> Fresh {
        match target {
            Target::Redis => Fresh {
                server: Server::redis(&[]),
                root: None,
            },
            Target::Broker => {
                let root = TempDir::new(tag);
                let data = root.path().join("nest/ed/data");
                std::fs::create_dir_all(&data).expect("create the data directory");
                let data = data.to_str().expect("a UTF-8 temporary path").to_owned();
                Fresh {
                    server: Server::broker(&["--data-dir", &data]),
                    root: Some(root),
                }
            }
        }
    }

    /// Fails the test if anything was written beside the data directory rather than in it.
    fn assert_nothing_outside_data_dir(&self) {
        let Some(root) = &self.root else { return };
        let listing = |dir: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(listing(root.path()), ["nest"], "beside ROOT/nest");
        assert_eq!(listing(&root.path().join("nest")), ["ed"], "beside ROOT/nest/ed");
        assert_eq!(
            listing(&root.path().join("nest/ed")),
            ["data"],
            "beside the data directory"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// redis-py

fn streams_py(target: Target) {
    let fresh = Fresh::start(target, "py");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/streams.py");
    let mut command = Command::new(PYTHON);
    command
        .arg(&script)
        .arg(fresh.server.port.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_bounded(&mut command, None, SCRIPT_DEADLINE);
    assert!(
        output.status.success(),
        "streams.py against {target:?} failed ({}):\n{}{}\n(needs {PYTHON} with python3-redis: \
         `apt-get install python3-redis`)",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    fresh.assert_nothing_outside_data_dir();
}

#[test]
fn streams_py_on_redis() {
    streams_py(Target::Redis);
}

#[test]
fn streams_py_on_broker() {
    streams_py(Target::Broker);
}

// ---------------------------------------------------------------------------------------------
// redis-cli

/// A session of stream commands, fed to `redis-cli` on stdin. Explicit IDs and no idle times,
/// so that every line of the output is deterministic.
const CLI_SESSION: &str = "\
XADD cli 1-1 a 1 b 2
XADD cli 2-0 c 3
XADD cli 2-* d 4
XADD cli 2-1 e 5
XADD cli 3 f 6
XADD cli 0-0 x y
XADD cli * odd
XLEN cli
XRANGE cli - +
XRANGE cli (1-1 + COUNT 2
XREVRANGE cli + - COUNT 2
XREVRANGE cli (3-0 (1-1
XREAD COUNT 2 STREAMS cli 0
XREAD STREAMS cli 3-0
XREAD STREAMS cli cli2 0
XDEL cli 2-0 9-9
XLEN cli
XTRIM cli MAXLEN = 3
XRANGE cli - +
XGROUP CREATE cli g 0
XGROUP CREATE cli g 0
XGROUP CREATE missing g $
XGROUP CREATE made g $ MKSTREAM
XLEN made
XREADGROUP GROUP g alice COUNT 2 STREAMS cli >
XREADGROUP GROUP g alice STREAMS cli 0
XREADGROUP GROUP nog alice STREAMS cli >
XPENDING cli g
XPENDING cli nog
XACK cli g 2-1 9-9
XPENDING cli g
XINFO GROUPS cli
XGROUP CREATECONSUMER cli g bob
XGROUP CREATECONSUMER cli g bob
XCLAIM cli g bob 0 1-1 JUSTID
XPENDING cli g
XAUTOCLAIM cli g carol 0 0-0 COUNT 5
XAUTOCLAIM cli g carol 0 0-0 JUSTID
XGROUP DELCONSUMER cli g carol
XGROUP SETID cli g 0
XREADGROUP GROUP g dave COUNT 1 STREAMS cli >
XGROUP DESTROY cli g
XGROUP DESTROY cli g
XSETID cli 10-0
XADD cli 9-9 late entry
XADD cli 10-* next entry
XADD nothing NOMKSTREAM 1-1 a 1
EXISTS nothing
XINFO STREAM nothing
XADD cli bad-id a 1
TYPE cli
EXISTS cli made
DEL cli made
EXISTS cli
";

/// What redis-server 7 prints for [`CLI_SESSION`] (redis-cli without a terminal: one value a
/// line, nested arrays flattened, an empty line for nil and for an empty array, and an error
/// followed by an empty line).
const CLI_EXPECTED: &str = "\
1-1
2-0
2-1
ERR The ID specified in XADD is equal or smaller than the target stream top item

3-0
ERR The ID specified in XADD must be greater than 0-0

ERR wrong number of arguments for 'xadd' command

4
1-1
a
1
b
2
2-0
c
3
2-1
d
4
3-0
f
6
2-0
c
3
2-1
d
4
3-0
f
6
2-1
d
4
2-1
d
4
2-0
c
3
cli
1-1
a
1
b
2
2-0
c
3

ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.

1
3
0
1-1
a
1
b
2
2-1
d
4
3-0
f
6
OK
BUSYGROUP Consumer Group name already exists

ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.

OK
0
cli
1-1
a
1
b
2
2-1
d
4
cli
1-1
a
1
b
2
2-1
d
4
NOGROUP No such key 'cli' or consumer group 'nog' in XREADGROUP with GROUP option

2
1-1
2-1
alice
2
NOGROUP No such key 'cli' or consumer group 'nog'

1
1
1-1
1-1
alice
1
name
g
consumers
1
pending
1
last-delivered-id
2-1
entries-read

lag

1
0
1-1
1
1-1
1-1
bob
1
0-0
1-1
a
1
b
2

0-0
1-1

1
OK
cli
1-1
a
1
b
2
1
0
OK
ERR The ID specified in XADD is equal or smaller than the target stream top item

10-1

0
ERR no such key

ERR Invalid stream ID specified as stream command argument

stream
2
2
0
";

fn cli_session_output(port: u16) -> String {
    let output = run_bounded(&mut cli(port), Some(CLI_SESSION.as_bytes()), CLI_DEADLINE);
    assert!(
        output.status.success(),
        "redis-cli session on port {port}: {} (stderr: {})",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("redis-cli prints text here")
}

/// Every difference between two transcripts, as a line diff: `-` for a wanted line that is
/// missing, `+` for a line printed instead, each with its line number, so that one difference
/// does not hide the ones after it.
fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    // common[i][j]: the longest common subsequence of w[i..] and g[j..].
    let mut common = vec![vec![0usize; g.len() + 1]; w.len() + 1];
    for i in (0..w.len()).rev() {
        for j in (0..g.len()).rev() {
            common[i][j] = if w[i] == g[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < w.len() || j < g.len() {
        if i < w.len() && j < g.len() && w[i] == g[j] {
            i += 1;
            j += 1;
        } else if i < w.len() && (j == g.len() || common[i + 1][j] >= common[i][j + 1]) {
            out.push_str(&format!("-{:>4} {}\n", i + 1, w[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{:>4} {}\n", j + 1, g[j]));
            j += 1;
        }
    }
    format!(
        "{} lines wanted, {} got; `-N` is wanted line N, `+N` is printed line N:\n{out}",
        w.len(),
        g.len()
    )
}

#[test]
fn cli_session_on_redis() {
    let fresh = Fresh::start(Target::Redis, "cli");
    let got = cli_session_output(fresh.server.port);
    assert!(got == CLI_EXPECTED, "{}", line_diff(CLI_EXPECTED, &got));
}

#[test]
fn cli_session_on_broker() {
    // The broker's transcript is compared with redis-server's own, produced now.
    let redis = Fresh::start(Target::Redis, "cli");
    let want = cli_session_output(redis.server.port);
    let fresh = Fresh::start(Target::Broker, "cli");
    let got = cli_session_output(fresh.server.port);
    assert!(
        got == want,
        "broker and redis-server differ: {}",
        line_diff(&want, &got)
    );
    fresh.assert_nothing_outside_data_dir();
}

// ---------------------------------------------------------------------------------------------
// the redis crate

fn connect(server: &Server) -> Connection {
    let client = Client::open(server.url()).expect("a valid URL");
    let con = client
        .get_connection_with_timeout(READ_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.url()));
    con.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    con.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    con
}

/// An entry as XRANGE and XREADGROUP return it: its ID and its fields and values, flat.
type Entry = (String, Vec<Vec<u8>>);

/// XPENDING's summary: the count, the smallest and greatest pending IDs, and each consumer's count.
type PendingSummary = (i64, Option<String>, Option<String>, Option<Vec<(String, i64)>>);

fn crate_commands(target: Target) {
    let fresh = Fresh::start(target, "crate");
    let mut con = connect(&fresh.server);
    let key: &[u8] = b"crate:\x00\xff";
    let binary: Vec<u8> = (0..=255u8).collect();

    let id: String = redis::cmd("XADD")
        .arg(key)
        .arg("1-1")
        .arg("f")
        .arg(&binary)
        .query(&mut con)
        .unwrap();
    assert_eq!(id, "1-1");
    let id: String = redis::cmd("XADD")
        .arg(key)
        .arg("1-*")
        .arg("g")
        .arg("two")
        .arg("h")
        .arg("")
        .query(&mut con)
        .unwrap();
    assert_eq!(id, "1-2");
    let err = redis::cmd("XADD")
        .arg(key)
        .arg("1-2")
        .arg("f")
        .arg("x")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    assert!(
        err.to_string()
            .contains("The ID specified in XADD is equal or smaller than the target stream top item"),
        "{err}"
    );
    // A pipeline of 1,000 XADDs with `*`: every ID is greater than the one before.
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("XADD").arg(key).arg("*").arg("n").arg(i);
    }
    let ids: Vec<String> = pipe.query(&mut con).unwrap();
    let parsed: Vec<(u64, u64)> = ids
        .iter()
        .map(|id| {
            let (ms, seq) = id.split_once('-').expect("an ID is ms-seq");
            (ms.parse().unwrap(), seq.parse().unwrap())
        })
        .collect();
    assert!(parsed[0] > (1, 2), "{}", ids[0]);
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "IDs out of order");
    let len: i64 = redis::cmd("XLEN").arg(key).query(&mut con).unwrap();
    assert_eq!(len, 1002);

    let range: Vec<Entry> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(3)
        .query(&mut con)
        .unwrap();
    assert_eq!(
        range,
        vec![
            ("1-1".to_string(), vec![b"f".to_vec(), binary.clone()]),
            (
                "1-2".to_string(),
                vec![b"g".to_vec(), b"two".to_vec(), b"h".to_vec(), Vec::new()]
            ),
            (ids[0].clone(), vec![b"n".to_vec(), b"0".to_vec()]),
        ]
    );
    let last: Vec<Entry> = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(
        last,
        vec![(ids[999].clone(), vec![b"n".to_vec(), b"999".to_vec()])]
    );

    // A consumer group from 1-2: XREADGROUP gets the 1,000 entries after it, two at a time.
    let ok: String = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg("grp")
        .arg("1-2")
        .query(&mut con)
        .unwrap();
    assert_eq!(ok, "OK");
    type Streams = Option<Vec<(Vec<u8>, Vec<Entry>)>>;
    let read: Streams = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("grp")
        .arg("worker")
        .arg("COUNT")
        .arg(2)
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        read,
        Some(vec![(
            key.to_vec(),
            vec![
                (ids[0].clone(), vec![b"n".to_vec(), b"0".to_vec()]),
                (ids[1].clone(), vec![b"n".to_vec(), b"1".to_vec()]),
            ]
        )])
    );
    let summary: PendingSummary = redis::cmd("XPENDING")
        .arg(key)
        .arg("grp")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        summary,
        (
            2,
            Some(ids[0].clone()),
            Some(ids[1].clone()),
            Some(vec![("worker".to_string(), 2)])
        )
    );
    let detail: Vec<(String, String, i64, i64)> = redis::cmd("XPENDING")
        .arg(key)
        .arg("grp")
        .arg("-")
        .arg("+")
        .arg(10)
        .arg("worker")
        .query(&mut con)
        .unwrap();
    assert_eq!(detail.len(), 2, "{detail:?}");
    for ((id, consumer, idle, deliveries), want) in detail.iter().zip(&ids) {
        assert_eq!((id, consumer.as_str(), *deliveries), (want, "worker", 1));
        assert!((0..60_000).contains(idle), "idle {idle}");
    }
    let acked: i64 = redis::cmd("XACK")
        .arg(key)
        .arg("grp")
        .arg(&ids[0])
        .arg(&ids[1])
        .arg("9-9")
        .query(&mut con)
        .unwrap();
    assert_eq!(acked, 2);
    let summary: PendingSummary = redis::cmd("XPENDING")
        .arg(key)
        .arg("grp")
        .query(&mut con)
        .unwrap();
    assert_eq!(summary, (0, None, None, None));
    // The worker's history is empty now; a BLOCK on new entries times out with a nil reply.
    let history: Streams = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("grp")
        .arg("worker")
        .arg("STREAMS")
        .arg(key)
        .arg("0")
        .query(&mut con)
        .unwrap();
    assert_eq!(history, Some(vec![(key.to_vec(), Vec::new())]));
    let rest: Streams = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("grp")
        .arg("worker")
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query(&mut con)
        .unwrap();
    let rest = rest.expect("998 entries left");
    assert_eq!(rest[0].1.len(), 998);
    let timed_out: Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("grp")
        .arg("worker")
        .arg("BLOCK")
        .arg(100)
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query(&mut con)
        .unwrap();
    assert_eq!(timed_out, Value::Nil);
    // A missing group is NOGROUP.
    let err = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("nogroup")
        .arg("worker")
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOGROUP"), "{err}");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    fresh.assert_nothing_outside_data_dir();
}

#[test]
fn crate_commands_on_redis() {
    crate_commands(Target::Redis);
}

#[test]
fn crate_commands_on_broker() {
    crate_commands(Target::Broker);
}
