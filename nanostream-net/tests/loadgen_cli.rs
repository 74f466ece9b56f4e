//! `nanostream-loadgen` run as a user runs it, against a redis-server started for each test
//! (redis-server must be installed) and against a fake server that loses every message.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nanostream_net::resp::{encode, parse_request, Args, Limits};

/// A redis-server on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(extra: &[&str]) -> RedisServer {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): these tests need it installed"));
        let server = RedisServer { child, port };
        server.wait_for_ping();
        server
    }

    fn wait_for_ping(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                stream.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                let mut reply = [0u8; 64];
                if stream.write_all(b"PING\r\n").is_ok() {
                    // A password-protected server answers NOAUTH: it is up all the same.
                    if let Ok(n) = stream.read(&mut reply) {
                        if n > 0 {
                            return;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within 10 s",
                self.port
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the loadgen with `args`, no inherited `NANOSTREAM_LOADGEN_*` settings.
fn loadgen(port: u16, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nanostream-loadgen"));
    for (name, _) in std::env::vars() {
        if name.starts_with("NANOSTREAM_LOADGEN_") {
            command.env_remove(name);
        }
    }
    command
        .args(["--port", &port.to_string(), "--quiet"])
        .args(args)
        .output()
        .expect("run nanostream-loadgen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON line of the output as a map from key to raw value (strings unquoted).
fn json_line(stdout: &str) -> BTreeMap<String, String> {
    let line = stdout.lines().find(|l| l.starts_with('{')).expect("a JSON line");
    parse_flat_json(line)
}

/// A parser for one flat JSON object of strings and numbers, enough for the loadgen's line.
fn parse_flat_json(line: &str) -> BTreeMap<String, String> {
    let inner = line
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .expect("an object");
    let mut map = BTreeMap::new();
    let mut chars = inner.chars().peekable();
    let string = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        assert_eq!(chars.next(), Some('"'), "a string");
        let mut s = String::new();
        loop {
            match chars.next().expect("a closed string") {
                '"' => return s,
                '\\' => match chars.next().expect("an escape") {
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        s.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                    }
                    c => s.push(c),
                },
                c => s.push(c),
            }
        }
    };
    while chars.peek().is_some() {
        let key = string(&mut chars);
        assert_eq!(chars.next(), Some(':'));
        let value = if chars.peek() == Some(&'"') {
            string(&mut chars)
        } else {
            let v: String = std::iter::from_fn(|| chars.next_if(|&c| c != ',')).collect();
            assert!(v.parse::<f64>().is_ok(), "{key}: {v} is not a number");
            v
        };
        map.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    map
}

#[test]
fn small_run_delivers_every_message() {
    let redis = RedisServer::start(&[]);
    let out = loadgen(
        redis.port,
        &[
            "--subscribers",
            "2",
            "--publishers",
            "1",
            "--messages",
            "2000",
            "--warmup",
            "0",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("published  2000 messages"), "{stdout}");
    assert!(stdout.contains("delivered  4000 of 4000 expected"), "{stdout}");
    assert!(stdout.contains("0 out of order, 0 missing"), "{stdout}");
    assert!(stdout.contains("(4000 samples after the warmup)"), "{stdout}");
}

#[test]
fn json_line_has_every_figure() {
    let redis = RedisServer::start(&[]);
    let out = loadgen(
        redis.port,
        &[
            "--subscribers",
            "10",
            "--publishers",
            "3",
            "--channels",
            "4",
            "--messages",
            "3000",
            "--json",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let json = json_line(&stdout);
    for key in [
        "host",
        "port",
        "subscribers",
        "publishers",
        "channels",
        "payload",
        "rate",
        "pipeline",
        "published",
        "publish_secs",
        "publish_rate",
        "expected",
        "received",
        "delivery_secs",
        "delivery_rate",
        "missing",
        "out_of_order",
        "latency_samples",
        "p50_us",
        "p99_us",
        "p999_us",
        "max_us",
    ] {
        assert!(json.contains_key(key), "no {key} in {json:?}");
    }
    assert_eq!(json["host"], "127.0.0.1");
    assert_eq!(json["port"], redis.port.to_string());
    // 3000 messages spread evenly over 4 channels reach 10 subscribers (3, 3, 2, 2 per channel).
    assert_eq!(json["published"], "3000");
    assert_eq!(json["expected"], "7500");
    assert_eq!(json["received"], "7500");
    assert_eq!(json["missing"], "0");
    assert_eq!(json["out_of_order"], "0");
}

/// A loopback port bound by a socket that never listens: a connection to it is refused, and
/// while this is held no other server (another test's, started in parallel) can take it.
struct RefusingPort {
    fd: libc::c_int,
    port: u16,
}

impl RefusingPort {
    fn new() -> Self {
        // SAFETY: socket() takes no pointers; the descriptor it returns is owned by the value
        // built below and closed once, in Drop.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_in and `len` its size, both live across the
        // calls; bind reads `len` bytes of it, getsockname writes at most `len` bytes into it.
        unsafe {
            let ptr = (&mut addr as *mut libc::sockaddr_in).cast::<libc::sockaddr>();
            assert_eq!(
                libc::bind(fd, ptr, len),
                0,
                "bind: {}",
                std::io::Error::last_os_error()
            );
            assert_eq!(libc::getsockname(fd, ptr, &mut len), 0, "getsockname");
        }
        RefusingPort {
            fd,
            port: u16::from_be(addr.sin_port),
        }
    }
}

impl Drop for RefusingPort {
    fn drop(&mut self) {
        // SAFETY: `fd` is the descriptor `new` opened, closed only here.
        unsafe { libc::close(self.fd) };
    }
}

#[test]
fn bad_port_fails_with_one_line() {
    let refusing = RefusingPort::new();
    let port = refusing.port;
    let out = loadgen(port, &["--messages", "10"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot connect to 127.0.0.1:"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn paced_runs_deliver_every_message() {
    let redis = RedisServer::start(&[]);
    // Stopped by the count: 600 messages at 3000/s take about 0.2 s.
    let out = loadgen(
        redis.port,
        &[
            "--subscribers",
            "3",
            "--publishers",
            "2",
            "--rate",
            "3000",
            "--messages",
            "600",
            "--pipeline",
            "4",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let json = json_line(&text(&out.stdout));
    assert_eq!(
        (json["published"].as_str(), json["received"].as_str()),
        ("600", "1800")
    );
    // Stopped by the clock: whatever was published reached every subscriber.
    let out = loadgen(
        redis.port,
        &[
            "--subscribers",
            "2",
            "--rate",
            "2000",
            "--duration",
            "0.5",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let json = json_line(&text(&out.stdout));
    let published: u64 = json["published"].parse().unwrap();
    assert!(published > 0);
    assert_eq!(json["received"], (2 * published).to_string());
    assert_eq!(json["missing"], "0");
}

#[test]
fn csv_rows_append_under_one_header() {
    let redis = RedisServer::start(&[]);
    let path = std::env::temp_dir().join(format!("loadgen_cli_{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&path);
    for _ in 0..2 {
        let out = loadgen(
            redis.port,
            &["--messages", "100", "--csv", path.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let csv = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("host,port,subscribers,"), "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let received = header.iter().position(|h| *h == "received").unwrap();
    for row in &lines[1..] {
        assert_eq!(row.split(',').nth(received), Some("100"), "{csv}");
    }
}

#[test]
fn password_is_sent_with_auth() {
    let redis = RedisServer::start(&["--requirepass", "s3cret"]);
    let out = loadgen(redis.port, &["--password", "s3cret", "--messages", "100"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = loadgen(redis.port, &["--messages", "100"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("NOAUTH"), "{stderr}");
    let out = loadgen(redis.port, &["--password", "wrong", "--messages", "100"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("AUTH refused"),
        "{}",
        text(&out.stderr)
    );
}

/// A server that confirms SUBSCRIBE and acknowledges PUBLISH but delivers nothing.
fn start_losing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            thread::spawn(move || serve_losing(stream));
        }
    });
    port
}

fn serve_losing(stream: TcpStream) {
    let limits = Limits::default();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut input = Vec::new();
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(chunk) => chunk.to_vec(),
        };
        reader.consume(chunk.len());
        input.extend_from_slice(&chunk);
        let mut out = Vec::new();
        let mut at = 0;
        while let Ok(Some((request, used))) = parse_request(&input[at..], &limits) {
            at += used;
            let mut args = Args::new(request.args()).unwrap().command("any");
            if args.name_is("SUBSCRIBE") {
                encode::subscribe(&mut out, args.next_bytes().unwrap(), 1);
            } else {
                encode::integer(&mut out, 1);
            }
        }
        input.drain(..at);
        if writer.write_all(&out).is_err() {
            return;
        }
    }
}

#[test]
fn lost_deliveries_fail_the_run() {
    let port = start_losing_server();
    let out = loadgen(port, &["--messages", "100"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("delivered  0 of 100 expected"), "{stdout}");
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "nanostream-loadgen: lost 100 of 100 deliveries"
    );
}
