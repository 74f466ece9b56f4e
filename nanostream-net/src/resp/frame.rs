//! A parsed request: its arguments, borrowed from the read buffer where possible.

use std::borrow::Cow;

/// How the client framed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `*<count>\r\n` followed by `$<len>\r\n<bytes>\r\n` per argument (what clients send).
    Multibulk,
    /// A line split on spaces with Redis's quoting rules (what people type into telnet).
    Inline,
}

/// One client request: the command name and its arguments.
///
/// Multibulk arguments always borrow from the read buffer. Inline arguments borrow too,
/// except a token that an escape or a quote in its middle makes differ from the input bytes,
/// which is owned.
///
/// A request may have no arguments (`*0\r\n`, `*-1\r\n`, an empty inline line): Redis skips
/// those without a reply, and so should a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    kind: RequestKind,
    args: Vec<Cow<'a, [u8]>>,
}

impl<'a> Request<'a> {
    /// A request of the given kind with these arguments.
    pub fn new(kind: RequestKind, args: Vec<Cow<'a, [u8]>>) -> Self {
        Request { kind, args }
    }

    /// How the client framed it.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// All arguments, the command name first.
    pub fn args(&self) -> &[Cow<'a, [u8]>] {
        &self.args
    }

    /// The arguments, taken out of the request.
    pub fn into_args(self) -> Vec<Cow<'a, [u8]>> {
        self.args
    }

    /// Whether there is no argument at all (a request Redis skips).
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Argument `i` (0 is the command name).
    pub fn arg(&self, i: usize) -> Option<&[u8]> {
        self.args.get(i).map(|a| &**a)
    }

    /// A copy that owns its arguments, free of the read buffer.
    pub fn into_owned(self) -> Request<'static> {
        Request {
            kind: self.kind,
            args: self
                .args
                .into_iter()
                .map(|a| Cow::Owned(a.into_owned()))
                .collect(),
        }
    }
}
