//! Glob patterns as PSUBSCRIBE and PUBSUB CHANNELS read them: Redis's `stringmatchlen`.
//!
//! The syntax, all of it byte-wise and binary-safe:
//!
//! - `*` matches any run of bytes, the empty run included; consecutive stars act as one.
//! - `?` matches any one byte.
//! - `[...]` matches one byte from a class: single bytes, ranges `a-z` (a reversed range `z-a`
//!   is read as `a-z`), `\x` for a literal `x`; `[^...]` negates. `]` right after `[` or `[^`
//!   closes an empty class (`[]` matches nothing, `[^]` any byte). A class that never closes
//!   ends at the end of the pattern, so `[ab` is `[ab]`.
//! - `\x` matches `x` literally; a `\` at the very end of the pattern matches a `\`.
//! - Any other byte matches itself (case-sensitive: this is `nocase = 0`).
//!
//! Two details follow redis-server as built for x86-64, where C's `char` is signed: the bounds
//! of a range and the byte tested against them compare as `i8`, so bytes `0x80..=0xFF` sort
//! before `0x00`, and `[a-\xff]` is the range `\xff..=a`, which holds `\x00`..`a` and `\xff`
//! but not `\x80`. A pattern whose matching would nest more than 1000 stars deep does not match
//! (Redis 7's guard against abusive patterns), even where the glob alone would.
//!
//! # How the worst case is bounded
//!
//! Redis matches recursively: each `*` tries the rest of the pattern at every remaining
//! position of the subject. Two rules from Redis 7 keep that in check, and this module keeps
//! their results while running as a loop with no recursion:
//!
//! - When the rest of the pattern after a `*` fails at every remaining position, the whole match
//!   fails (`skipLongerMatches`): an earlier `*` taking more bytes would only start that same rest
//!   later. So only the innermost `*` is ever retried, and one backtracking point suffices.
//! - The rest of a pattern after its 1001st group of stars is never tried (`nesting > 1000`).
//!
//! With one retry point whose subject position only moves forward, the matcher scans at most
//! `subject.len() + 1` stretches of the pattern, each at most `pattern.len()` bytes long: the
//! work is `O(pattern.len() × subject.len())` steps, the memory constant, and the stack depth
//! one frame. [`glob_match_steps`] reports the step count so that tests can check the bound.

/// How deep Redis lets stars nest before it gives up: `if (nesting > 1000) return 0;`.
const MAX_NESTING: usize = 1000;

/// Whether `subject` matches the glob `pattern`, exactly as Redis's `stringmatchlen` with
/// `nocase = 0` decides it.
///
/// ```
/// use nanostream_net::pubsub::glob_match;
///
/// assert!(glob_match(b"news.*", b"news.sport"));
/// assert!(glob_match(b"h[ae]llo", b"hallo"));
/// assert!(!glob_match(b"h[^e]llo", b"hello"));
/// assert!(glob_match(b"\\*", b"*"));
/// assert!(!glob_match(b"\\*", b"x"));
/// ```
pub fn glob_match(pattern: &[u8], subject: &[u8]) -> bool {
    glob_match_steps(pattern, subject).0
}

/// [`glob_match`], also returning the number of pattern elements the matcher examined.
///
/// The count is at most `(subject.len() + 1) × (pattern.len() + 1)`; it is there so that tests
/// can show a hostile pattern costs a bounded amount of work without timing anything.
///
/// ```
/// use nanostream_net::pubsub::pattern::glob_match_steps;
///
/// let pattern = "*a".repeat(30) + "b";
/// let subject = "a".repeat(100);
/// let (matched, steps) = glob_match_steps(pattern.as_bytes(), subject.as_bytes());
/// assert!(!matched);
/// assert!(steps <= (subject.len() + 1) * (pattern.len() + 1));
/// ```
pub fn glob_match_steps(pattern: &[u8], subject: &[u8]) -> (bool, usize) {
    let mut steps = 0;
    // The call Redis would be in: where it starts in the pattern and subject, and its nesting.
    let mut p = 0;
    let mut s = 0;
    let mut nesting = 0;
    // The innermost `*` whose loop is live: the pattern after it, and the subject position its
    // current try started at. Outer stars are never resumed (see the module docs).
    let mut retry: Option<(usize, usize)> = None;
    loop {
        if nesting > MAX_NESTING {
            // Every further try of this star fails the same way, and when the star runs out of
            // positions the whole match fails: the result is known now.
            return (false, steps);
        }
        match run(pattern, subject, p, s, &mut steps) {
            Outcome::Match => return (true, steps),
            Outcome::Star { rest, at } => {
                retry = Some((rest, at));
                p = rest;
                s = at;
                nesting += 1;
            }
            Outcome::Fail => match retry.as_mut() {
                None => return (false, steps),
                Some((rest, at)) => {
                    *at += 1;
                    if *at == subject.len() {
                        // The star tried every position: `skipLongerMatches`, no match at all.
                        return (false, steps);
                    }
                    p = *rest;
                    s = *at;
                }
            },
        }
    }
}

/// What one straight run of the matcher ends in.
enum Outcome {
    Match,
    Fail,
    /// A `*` that is not the pattern's last byte: try the pattern from `rest` at subject
    /// position `at`, then later ones.
    Star {
        rest: usize,
        at: usize,
    },
}

/// The pattern byte at `i`, or NUL past the end (Redis's strings carry a NUL terminator that
/// `stringmatchlen` reads in a few places).
fn byte_at(pattern: &[u8], i: usize) -> u8 {
    pattern.get(i).copied().unwrap_or(0)
}

/// Matches from `pattern[p..]` and `subject[s..]` until the first `*`, a mismatch or the end of
/// either, as one pass of `stringmatchlen`'s main loop.
fn run(pattern: &[u8], subject: &[u8], mut p: usize, mut s: usize, steps: &mut usize) -> Outcome {
    let plen = pattern.len();
    while p < plen && s < subject.len() {
        *steps += 1;
        let c = subject[s];
        match pattern[p] {
            b'*' => {
                while byte_at(pattern, p + 1) == b'*' {
                    p += 1;
                }
                if p + 1 == plen {
                    return Outcome::Match;
                }
                return Outcome::Star { rest: p + 1, at: s };
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let negate = byte_at(pattern, p) == b'^';
                if negate {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    *steps += 1;
                    let left = plen - p;
                    let here = byte_at(pattern, p);
                    if here == b'\\' && left >= 2 {
                        p += 1;
                        if pattern[p] == c {
                            matched = true;
                        }
                    } else if here == b']' {
                        break;
                    } else if left == 0 {
                        // Unterminated: the class ends with the pattern.
                        p -= 1;
                        break;
                    } else if left >= 3 && pattern[p + 1] == b'-' {
                        // C's `char` is signed on x86-64: compare as i8, as redis-server does.
                        let (mut start, mut end) = (pattern[p] as i8, pattern[p + 2] as i8);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p += 2;
                        if (start..=end).contains(&(c as i8)) {
                            matched = true;
                        }
                    } else if here == c {
                        matched = true;
                    }
                    p += 1;
                }
                if matched == negate {
                    return Outcome::Fail;
                }
                s += 1;
            }
            here => {
                let literal = if here == b'\\' && plen - p >= 2 {
                    p += 1;
                    pattern[p]
                } else {
                    here
                };
                if literal != c {
                    return Outcome::Fail;
                }
                s += 1;
            }
        }
        p += 1;
        if s == subject.len() {
            while byte_at(pattern, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    if p == plen && s == subject.len() {
        Outcome::Match
    } else {
        Outcome::Fail
    }
}

/// A glob pattern that owns its bytes: a PSUBSCRIBE subscription or a PUBSUB CHANNELS filter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(Box<[u8]>);

impl Pattern {
    /// A pattern from its bytes, any bytes: every byte string is a valid glob.
    pub fn new(bytes: impl Into<Box<[u8]>>) -> Self {
        Pattern(bytes.into())
    }

    /// The pattern's bytes, as the client sent them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `subject` matches this pattern ([`glob_match`]).
    ///
    /// ```
    /// use nanostream_net::pubsub::Pattern;
    ///
    /// let p = Pattern::new(&b"user:[0-9]*"[..]);
    /// assert!(p.matches(b"user:42"));
    /// assert!(!p.matches(b"user:x"));
    /// ```
    pub fn matches(&self, subject: &[u8]) -> bool {
        glob_match(&self.0, subject)
    }
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pattern(\"{}\")", self.0.escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_past_the_end_is_never_a_class_byte() {
        // `[` alone reads the terminator, which closes nothing and matches nothing.
        assert!(!glob_match(b"[", b"\0"));
        assert!(glob_match(b"[^", b"\0"));
        assert!(glob_match(b"[\0", b"\0"));
    }
}
