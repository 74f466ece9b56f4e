//! What travels through the broker's ring: one slot per command, connection change or
//! in-process publish. Slots keep their buffers, so a command of a size seen before is copied
//! in without allocating.

use std::borrow::Cow;
use std::sync::Arc;

use crate::pubsub::source::Sink;
use crate::pubsub::ClientId;
use crate::server::connection::Connection;

/// A slot whose buffers grew past this is given back to the allocator after its command.
const KEEP_SLOT_CAPACITY: usize = 64 * 1024;

/// What a slot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// Nothing (a slot never written, or one already handled).
    Empty,
    /// A client connected; `connection` holds it.
    Connected,
    /// A client's command, in `args[..argc]`.
    Command,
    /// A client sent bytes that are not RESP: `args[0]` holds the error reply; after it the
    /// connection is closed.
    ProtocolError,
    /// A client closed its side of the connection: answer what it sent, then close.
    InputEnded,
    /// A client's connection ended.
    Disconnected,
    /// A publish from inside the process (a network handler): channel `args[0]`, payload
    /// `args[1]`.
    Publish,
    /// A network source to add (`source`).
    AddSource,
    /// The server is stopping: flush every client and close it, then signal `ack`.
    Shutdown,
    /// The HTTP API asks what the broker holds (channels, streams, groups): answer through
    /// `inspect`.
    Inspect,
}

/// One slot of the broker's ring.
pub(crate) struct BrokerEvent {
    pub(crate) kind: EventKind,
    pub(crate) client: ClientId,
    pub(crate) connection: Option<Arc<Connection>>,
    /// In a mutex only so that slots are `Sync`; the broker takes it out.
    pub(crate) source: Option<parking_lot::Mutex<Box<dyn Sink>>>,
    pub(crate) ack: Option<Arc<super::Ack>>,
    /// In a mutex only so that slots are `Sync`; the broker takes the sender out.
    pub(crate) inspect: Option<parking_lot::Mutex<Option<tokio::sync::oneshot::Sender<super::BrokerView>>>>,
    args: Vec<Cow<'static, [u8]>>,
    argc: usize,
}

impl std::fmt::Debug for BrokerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerEvent")
            .field("kind", &self.kind)
            .field("client", &self.client)
            .field("argc", &self.argc)
            .finish_non_exhaustive()
    }
}

impl Default for BrokerEvent {
    fn default() -> Self {
        BrokerEvent {
            kind: EventKind::Empty,
            client: ClientId(0),
            connection: None,
            source: None,
            ack: None,
            inspect: None,
            args: Vec::new(),
            argc: 0,
        }
    }
}

impl BrokerEvent {
    /// Copies `args` into the slot's buffers.
    pub(crate) fn set_args<'a>(&mut self, args: impl IntoIterator<Item = &'a [u8]>) {
        let mut n = 0;
        for arg in args {
            if n == self.args.len() {
                self.args.push(Cow::Owned(Vec::new()));
            }
            let buf = self.args[n].to_mut();
            buf.clear();
            buf.extend_from_slice(arg);
            n += 1;
        }
        self.argc = n;
    }

    /// The arguments, the command name first.
    pub(crate) fn args(&self) -> &[Cow<'static, [u8]>] {
        &self.args[..self.argc]
    }

    /// Empties the slot after it was handled, giving large buffers back.
    pub(crate) fn clear(&mut self) {
        self.kind = EventKind::Empty;
        self.connection = None;
        self.source = None;
        self.ack = None;
        self.inspect = None;
        self.argc = 0;
        if self.args.len() > 64 {
            self.args.truncate(64);
        }
        for arg in &mut self.args {
            if let Cow::Owned(v) = arg {
                if v.capacity() > KEEP_SLOT_CAPACITY {
                    *v = Vec::new();
                }
            }
        }
    }
}
