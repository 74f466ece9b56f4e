//! A subscriber that reads a channel and throws the messages away, so that PUBLISH has a
//! receiver to write to.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A subscribed connection drained by a thread of its own until dropped.
pub struct Sink {
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl Sink {
    /// Subscribes to `channel` on the server at `port` and waits for the confirmation.
    pub fn subscribe(port: u16, channel: &str) -> Result<Sink, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("sink: {e}"))?;
        let request = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{channel}\r\n", channel.len());
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("sink: {e}"))?;
        // The confirmation: *3 $9 subscribe $len channel :1, all of it before anything else.
        let confirmation = format!(
            "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
            channel.len()
        );
        let mut got = vec![0u8; confirmation.len()];
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        stream
            .read_exact(&mut got)
            .map_err(|e| format!("sink: no subscribe confirmation: {e}"))?;
        if got != confirmation.as_bytes() {
            return Err(format!(
                "sink: unexpected confirmation {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let reader = thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            while !flag.load(Ordering::Relaxed) {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(_) => return,
                }
            }
        });
        Ok(Sink {
            stop,
            reader: Some(reader),
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
