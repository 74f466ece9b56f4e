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
