//! A server process under test: started from a shell command with `{port}` filled in, on a
//! free loopback port, ready once it answers PING, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server.
pub struct Server {
    /// `redis-server` or `broker`.
    pub name: &'static str,
    /// The loopback port it listens on.
    pub port: u16,
    child: Child,
}

impl Server {
    /// Starts `command` (run by `sh -c`, `exec`ed so that the child's id is the server's) with
    /// every `{port}` replaced by a free port, and waits for it to answer PING.
    pub fn start(name: &'static str, command: &str) -> Result<Server, String> {
        let mut server = Server::spawn(name, command)?;
        server.wait_ready(&command.replace("{port}", &server.port.to_string()))?;
        Ok(server)
    }

    /// Starts `command` as [`Server::start`] does, without waiting for it to answer.
    pub fn spawn(name: &'static str, command: &str) -> Result<Server, String> {
        let port = free_port();
        let line = command.replace("{port}", &port.to_string());
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {line}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{name}: cannot run `{line}`: {e}"))?;
        Ok(Server { name, port, child })
    }

    /// An error if the server has exited.
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => Err(format!("{} exited ({status})", self.name)),
            None => Ok(()),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set size in KiB, from `/proc/PID/status`.
    pub fn vm_rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .map_err(|e| format!("{}: cannot read its /proc status: {e}", self.name))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{}: no VmRSS in /proc/{}/status", self.name, self.pid()))
    }

    fn wait_ready(&mut self, line: &str) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("{}: `{line}` exited at start ({status})", self.name));
            }
            if ping(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{}: `{line}` did not answer PING within {READY_TIMEOUT:?}",
                    self.name
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// SIGKILL: a server dropped is killed, not shut down.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a server on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
