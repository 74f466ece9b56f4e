//! Starting the servers the end-to-end tests talk to: the real `nanostream-broker` binary and,
//! as the reference, Debian's `redis-server` 7. Both listen on a free loopback port and are
//! killed when the handle drops.

#![allow(dead_code)] // each test binary uses a different part of these helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start answering.
pub const START_DEADLINE: Duration = Duration::from_secs(20);

/// Which server a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `nanostream-broker`, the binary under test.
    Broker,
    /// `redis-server` 7, the reference the broker's replies are compared with.
    Redis,
}

/// A running server, killed on drop.
#[derive(Debug)]
pub struct Server {
    /// What it is.
    pub target: Target,
    /// Its RESP port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

/// The `nanostream-broker` binary that `cargo test --workspace` built beside this test.
pub fn broker_binary() -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test's own path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("nanostream-broker{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it, or \
         `cargo build -p nanostream-net --bins` first",
        path.display()
    );
    path
}

/// `redis-server`, which CI installs from Debian's packages.
pub fn redis_binary() -> PathBuf {
    for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if std::path::Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("redis-server is not installed: `apt-get install redis-server redis-tools` (CI does)");
}

impl Server {
    /// Starts the broker with extra command-line arguments (the port is chosen here).
    pub fn broker(args: &[&str]) -> Server {
        Self::broker_with(args, |_| {})
    }

    /// Starts the broker, letting `configure` adjust the command (environment variables).
    pub fn broker_with(args: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let port = free_port();
        let mut command = Command::new(broker_binary());
        command
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .env_remove("NANOSTREAM_PASSWORD")
            .env("NANOSTREAM_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        configure(&mut command);
        Self::start(Target::Broker, port, command)
    }

    /// Starts redis-server without persistence, with extra `--option value` arguments.
    pub fn redis(args: &[&str]) -> Server {
        let port = free_port();
        let mut command = Command::new(redis_binary());
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Self::start(Target::Redis, port, command)
    }

    /// Starts `target` with no extra arguments.
    pub fn start_default(target: Target) -> Server {
        match target {
            Target::Broker => Self::broker(&[]),
            Target::Redis => Self::redis(&[]),
        }
    }

    fn start(target: Target, port: u16, mut command: Command) -> Server {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {target:?}: {e}"));
        let mut server = Server {
            target,
            port,
            child: Some(child),
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                // An unauthenticated PING gets +PONG or -NOAUTH: either way, it is serving.
                if stream.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(&stream).read_line(&mut line).is_ok() && !line.is_empty() {
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{:?} exited before listening: {status}", self.target);
            }
            assert!(
                Instant::now() < deadline,
                "{:?} did not listen within {START_DEADLINE:?}",
                self.target
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id, for signals and /proc.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A plain TCP connection with a read timeout, so a test waiting for bytes that never
    /// come fails instead of hanging.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// `redis://127.0.0.1:port/`, for the `redis` crate and redis-py.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Sends SIGTERM (or `signal`) and waits up to `deadline` for the exit.
    pub fn signal_and_wait(&mut self, signal: i32, deadline: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut().expect("running");
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own child's, which
        // has not been reaped yet (we hold its `Child`), so the pid cannot have been reused.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads exactly `n` bytes or fails the test.
pub fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read the expected reply");
    buf
}

/// Sends `request` and reads exactly as many bytes as `expected` holds, returning them.
pub fn exchange(stream: &mut TcpStream, request: &[u8], expected_len: usize) -> Vec<u8> {
    stream.write_all(request).expect("send");
    read_exact(stream, expected_len)
}

/// Encodes a command as a RESP array of bulk strings, as every client sends it.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads until the peer closes the connection (or the read timeout fails the test).
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => out,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => out,
        Err(e) => panic!(
            "expected the server to close the connection: {e} (read so far: {:?})",
            String::from_utf8_lossy(&out)
        ),
    }
}

/// Polls `condition` until it holds or `deadline` passes; returns whether it held.
pub fn wait_for(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The fenced code blocks of the README section under `heading` (up to the next `## `), each
/// with its language, for the tests that run the README's examples as written.
pub fn readme_blocks(heading: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let start = readme.find(heading).expect("the section exists");
    let end = readme[start + 3..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 3 + e);
    let mut blocks = Vec::new();
    let mut lines = readme[start..end].lines();
    while let Some(line) = lines.next() {
        if let Some(lang) = line.strip_prefix("```").filter(|l| !l.is_empty()) {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            blocks.push((lang.trim().to_string(), body.join("\n")));
        }
    }
    blocks
}
