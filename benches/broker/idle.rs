//! What an idle client costs a server: resident memory per open connection.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::server::Server;

/// Opens `count` connections to `server`, each answering one PING so that it is accepted and
/// registered, and returns the growth of the server's resident set per connection in KiB.
pub fn kib_per_connection(server: &Server, count: usize) -> Result<f64, String> {
    let before = server.vm_rss_kib()?;
    let mut connections = Vec::with_capacity(count);
    let mut pong = [0u8; 7];
    for i in 0..count {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port))
            .map_err(|e| format!("{}: idle connection {i} of {count}: {e}", server.name))?;
        stream
            .write_all(b"*1\r\n$4\r\nPING\r\n")
            .and_then(|()| stream.read_exact(&mut pong))
            .map_err(|e| format!("{}: idle connection {i} of {count}: PING: {e}", server.name))?;
        if &pong != b"+PONG\r\n" {
            return Err(format!(
                "{}: idle connection {i}: PING answered {pong:?}",
                server.name
            ));
        }
        connections.push(stream);
    }
    let after = server.vm_rss_kib()?;
    drop(connections);
    Ok(after.saturating_sub(before) as f64 / count as f64)
}

/// `struct rlimit` of Linux, where `rlim_t` is 64 bits.
#[repr(C)]
struct Rlimit {
    cur: u64,
    max: u64,
}

/// `RLIMIT_NOFILE` on Linux.
const RLIMIT_NOFILE: i32 = 7;

extern "C" {
    fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
}

/// Raises this process's soft open-file limit to the hard limit; returns the soft limit now.
pub fn raise_open_files() -> Result<u64, String> {
    let mut limit = Rlimit { cur: 0, max: 0 };
    // SAFETY: `limit` has the layout of Linux's `struct rlimit` and is writable for the call.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    limit.cur = limit.max;
    // SAFETY: `limit` has the layout of Linux's `struct rlimit` and lives across the call.
    if unsafe { setrlimit(RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(limit.cur)
}
