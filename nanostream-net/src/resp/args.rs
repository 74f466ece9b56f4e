//! A cursor over a command's arguments, with Redis's wording for bad arity and bad integers.

use std::borrow::Cow;

use thiserror::Error;

use super::number::string2ll;

/// Why a command's arguments were refused. `Display` is the text after the `-` of Redis's
/// reply, so `-{error}\r\n` is what redis-server 7 sends.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// Too few or too many arguments; holds the command's lower-case name as Redis shows it.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    /// An argument that must be an integer is not one by `string2ll`'s rules.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An argument that must be text is not UTF-8 (Redis has no such check; the wording is ours).
    #[error("ERR invalid UTF-8 in argument")]
    NotUtf8,
    /// No such command: holds Redis's whole message, which quotes the client's bytes (so it
    /// may not be UTF-8; `Display` shows it lossily, [`write_reply`](Self::write_reply) exactly).
    #[error("{}", String::from_utf8_lossy(.0))]
    UnknownCommand(Vec<u8>),
}

/// A C string's bytes: up to the first NUL, as `%s` prints them.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

impl CommandError {
    /// Redis 7's error for an unknown command, from the whole request (name first):
    /// `ERR unknown command '<name>', with args beginning with: '<arg>' ...`, the name cut at
    /// 128 bytes, the quoted arguments at 128 bytes in all, each cut at a NUL.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use nanostream_net::resp::CommandError;
    ///
    /// let args = [Cow::Borrowed(&b"FOO"[..]), Cow::Borrowed(&b"a"[..])];
    /// assert_eq!(
    ///     CommandError::unknown_command(&args).to_string(),
    ///     "ERR unknown command 'FOO', with args beginning with: 'a' "
    /// );
    /// ```
    pub fn unknown_command(request: &[Cow<'_, [u8]>]) -> Self {
        let name = request.first().map_or(&b""[..], |n| c_str(n));
        let mut m = b"ERR unknown command '".to_vec();
        m.extend_from_slice(&name[..name.len().min(128)]);
        m.extend_from_slice(b"', with args beginning with: ");
        let mut quoted = 0;
        for arg in request.iter().skip(1) {
            if quoted >= 128 {
                break;
            }
            let arg = c_str(arg);
            let arg = &arg[..arg.len().min(128 - quoted)];
            m.push(b'\'');
            m.extend_from_slice(arg);
            m.extend_from_slice(b"' ");
            quoted += arg.len() + 3;
        }
        CommandError::UnknownCommand(m)
    }

    /// Appends the exact reply, `-<message>\r\n`, with `\r` and `\n` in the message turned
    /// into spaces as Redis's `addReplyErrorFormat` does.
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        match self {
            CommandError::UnknownCommand(m) => super::encode::error_bytes(out, m),
            // The other messages are fixed text and a command name: no newline to flatten.
            e => {
                use std::io::Write;
                // Writing to a Vec cannot fail.
                let _ = write!(out, "-{e}\r\n");
            }
        }
    }
}

/// A cursor over one request's arguments, the command name first.
///
/// ```
/// use nanostream_net::resp::{parse_request, Args, CommandError, Limits};
///
/// let (req, _) = parse_request(b"PUBLISH news 42\r\n", &Limits::default())?.unwrap();
/// let mut args = Args::new(req.args()).expect("not empty");
/// assert!(args.name_is("publish"));
/// let mut args = args.command("publish");
/// assert_eq!(args.next_str()?, "news");
/// assert_eq!(args.next_i64()?, 42);
/// args.finish()?;
/// assert_eq!(
///     args.next_bytes().unwrap_err().to_string(),
///     "ERR wrong number of arguments for 'publish' command"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Args<'r> {
    all: &'r [Cow<'r, [u8]>],
    next: usize,
    command: &'static str,
}

impl<'r> Args<'r> {
    /// A cursor just after the command name; `None` if there is no argument at all.
    pub fn new(all: &'r [Cow<'r, [u8]>]) -> Option<Self> {
        if all.is_empty() {
            return None;
        }
        Some(Args {
            all,
            next: 1,
            command: "",
        })
    }

    /// The command name as the client sent it.
    pub fn name(&self) -> &'r [u8] {
        &self.all[0]
    }

    /// Every argument, the command name first, whatever the cursor has taken.
    pub fn all(&self) -> &'r [Cow<'r, [u8]>] {
        self.all
    }

    /// Whether the command name is `name`, ignoring ASCII case.
    pub fn name_is(&self, name: &str) -> bool {
        self.all[0].eq_ignore_ascii_case(name.as_bytes())
    }

    /// Names the command, lower-case as Redis shows it, for [`CommandError::WrongArity`].
    pub fn command(mut self, name: &'static str) -> Self {
        self.command = name;
        self
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.all.len() - self.next
    }

    /// The arity error for this command.
    pub fn wrong_arity(&self) -> CommandError {
        CommandError::WrongArity(self.command)
    }

    /// The next argument as bytes.
    pub fn next_bytes(&mut self) -> Result<&'r [u8], CommandError> {
        let all: &'r [Cow<'r, [u8]>] = self.all;
        let arg = all.get(self.next).ok_or_else(|| self.wrong_arity())?;
        self.next += 1;
        Ok(arg)
    }

    /// The next argument as UTF-8 text.
    pub fn next_str(&mut self) -> Result<&'r str, CommandError> {
        std::str::from_utf8(self.next_bytes()?).map_err(|_| CommandError::NotUtf8)
    }

    /// The next argument as an integer, by Redis's `string2ll` rules.
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        string2ll(self.next_bytes()?).ok_or(CommandError::NotInteger)
    }

    /// The arguments left, all at once (for variadic commands such as `SUBSCRIBE`).
    pub fn rest(&mut self) -> impl ExactSizeIterator<Item = &'r [u8]> + 'r {
        let all: &'r [Cow<'r, [u8]>] = self.all;
        let rest = &all[self.next..];
        self.next = all.len();
        rest.iter().map(|a| &**a)
    }

    /// Succeeds only if every argument was taken.
    pub fn finish(&self) -> Result<(), CommandError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.wrong_arity())
        }
    }
}
