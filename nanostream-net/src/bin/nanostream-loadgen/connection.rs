//! Opening a blocking connection to the server, with AUTH, and reading one reply from it.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::reply::{self, Reply};

/// Where the server is and how to log in.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Sent with AUTH right after connecting, if set.
    pub password: Option<String>,
}

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Endpoint {
    /// Connects (TCP_NODELAY on) and authenticates; the error says what failed, for the user.
    pub fn connect(&self) -> Result<TcpStream, String> {
        let target = format!("{}:{}", self.host, self.port);
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {target}: {e}"))?;
        let mut last = format!("cannot resolve {target}: no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(mut stream) => {
                    stream.set_nodelay(true).map_err(|e| format!("{target}: {e}"))?;
                    if let Some(password) = &self.password {
                        let mut out = Vec::new();
                        command(&mut out, &[b"AUTH", password.as_bytes()]);
                        stream
                            .write_all(&out)
                            .map_err(|e| format!("{target}: AUTH: {e}"))?;
                        let deadline = Instant::now() + CONNECT_TIMEOUT;
                        read_reply(&mut stream, &mut Vec::new(), deadline, |reply| match reply {
                            Reply::Simple(_) => Ok(()),
                            Reply::Error(e) => Err(format!("AUTH refused: {}", String::from_utf8_lossy(e))),
                            other => Err(format!("AUTH: unexpected reply {other:?}")),
                        })
                        .map_err(|e| format!("{target}: {e}"))?;
                    }
                    return Ok(stream);
                }
                Err(e) => last = format!("cannot connect to {target}: {e}"),
            }
        }
        Err(last)
    }
}

/// Appends a command as a RESP multibulk request.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads until one whole reply is in `buf`, hands it to `check`, and removes it from `buf`
/// (bytes after it stay). Fails if `deadline` passes first or the server closes.
pub fn read_reply<T>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
    check: impl FnOnce(&Reply<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((reply, used)) = reply::parse(buf).map_err(|e| e.to_string())? {
            let result = check(&reply);
            buf.drain(..used);
            return result;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no reply before the deadline".into());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err("no reply before the deadline".into())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
