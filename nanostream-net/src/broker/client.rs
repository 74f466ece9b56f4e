//! What the broker thread knows about one client.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::server::connection::Connection;

/// A connected client, as the broker thread keeps it.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) connection: Arc<Connection>,
    /// `CLIENT SETNAME`.
    pub(crate) name: Option<Box<[u8]>>,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    pub(crate) lib_name: Option<Box<[u8]>>,
    pub(crate) lib_ver: Option<Box<[u8]>>,
    /// Replies and deliveries of the current batch, written to the socket at its end.
    pub(crate) staged: Vec<u8>,
    /// Whether `staged` is in the broker's list of clients to write at the end of the batch.
    pub(crate) dirty: bool,
    /// Since when the client's output has been above the soft limit.
    pub(crate) over_soft_since: Option<Instant>,
    /// When its last command arrived, and which.
    pub(crate) last_command: Instant,
    pub(crate) last_command_name: &'static str,
    /// It sent QUIT or broke the protocol: nothing more is executed for it.
    pub(crate) closing: bool,
    /// It waits in a blocking read: its next commands are held in `held`.
    pub(crate) blocked: bool,
    /// Commands it sent while blocked, run in order once it is served.
    pub(crate) held: VecDeque<Vec<Vec<u8>>>,
    /// The bytes of `held`.
    pub(crate) held_bytes: usize,
    /// Whether it is in the broker's list of clients with output the socket has not taken.
    pub(crate) backlogged: bool,
}

impl Client {
    pub(crate) fn new(connection: Arc<Connection>) -> Self {
        Client {
            connection,
            name: None,
            lib_name: None,
            lib_ver: None,
            staged: Vec::new(),
            dirty: false,
            over_soft_since: None,
            last_command: Instant::now(),
            last_command_name: "NULL",
            closing: false,
            blocked: false,
            held: VecDeque::new(),
            held_bytes: 0,
            backlogged: false,
        }
    }

    /// Output waiting for this client: staged in this batch plus what the socket has not taken.
    pub(crate) fn backlog(&self) -> usize {
        self.staged.len() + self.connection.pending()
    }
}
