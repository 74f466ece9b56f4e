//! Inline commands: a line split into arguments by Redis's `sdssplitargs` rules (`sds.c`).
//!
//! Tokens are separated by whitespace. Inside `"..."`, the escapes `\n \r \t \b \a`, `\xHH`
//! (two hex digits) and `\<any>` (that byte) apply; inside `'...'`, only `\'`. A quote may
//! open in the middle of a token (`a"b c"` is `ab c`), but a closing quote must be followed
//! by whitespace or the end of the line; otherwise, or if a quote is never closed, the line
//! is refused. The line never holds a NUL byte: [`decode`](super::decode) stops looking for
//! the line end at a NUL as Redis's `strchr` does.

use std::borrow::Cow;

use super::error::ProtocolError;

/// `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A token under construction: a range of the line while it matches the input, owned bytes
/// from the first byte that does not.
struct Token<'a> {
    line: &'a [u8],
    start: usize,
    end: usize,
    owned: Option<Vec<u8>>,
}

impl<'a> Token<'a> {
    fn new(line: &'a [u8]) -> Self {
        Token {
            line,
            start: 0,
            end: 0,
            owned: None,
        }
    }

    /// Adds the input byte at `i` unchanged.
    fn copy(&mut self, i: usize) {
        if self.owned.is_none() {
            if self.start == self.end {
                self.start = i;
                self.end = i + 1;
                return;
            }
            if self.end == i {
                self.end += 1;
                return;
            }
        }
        let b = self.line[i];
        self.own().push(b);
    }

    /// Adds a byte that is not the input byte at its position (an escape's result).
    fn push(&mut self, b: u8) {
        self.own().push(b);
    }

    fn own(&mut self) -> &mut Vec<u8> {
        let (line, start, end) = (self.line, self.start, self.end);
        self.owned.get_or_insert_with(|| line[start..end].to_vec())
    }

    fn finish(self) -> Cow<'a, [u8]> {
        match self.owned {
            Some(v) => Cow::Owned(v),
            None => Cow::Borrowed(&self.line[self.start..self.end]),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline request line (without its line end) into arguments.
///
/// ```
/// use nanostream_net::resp::inline::split_args;
///
/// let args = split_args(br#"set "a b" 'c\'d' "\x41\n""#)?;
/// assert_eq!(args, [&b"set"[..], b"a b", b"c'd", b"A\n"]);
/// # Ok::<(), nanostream_net::resp::ProtocolError>(())
/// ```
pub fn split_args(line: &[u8]) -> Result<Vec<Cow<'_, [u8]>>, ProtocolError> {
    // The C code reads a NUL-terminated string: a NUL ends the line.
    let line = match line.iter().position(|&b| b == 0) {
        Some(n) => &line[..n],
        None => line,
    };
    let at = |i: usize| line.get(i).copied();
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_space) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(args);
        }
        let mut token = Token::new(line);
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = at(p);
            if in_dq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'x') => {
                        match (at(p + 2).and_then(hex), at(p + 3).and_then(hex)) {
                            (Some(h), Some(l)) => {
                                token.push(h * 16 + l);
                                p += 3;
                            }
                            // `\x` without two hex digits is `x`.
                            _ => {
                                token.copy(p + 1);
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if at(p + 1).is_some() => {
                        p += 1;
                        match line[p] {
                            b'n' => token.push(b'\n'),
                            b'r' => token.push(b'\r'),
                            b't' => token.push(b'\t'),
                            b'b' => token.push(0x08),
                            b'a' => token.push(0x07),
                            _ => token.copy(p),
                        }
                    }
                    Some(b'"') => {
                        if at(p + 1).is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(_) => token.copy(p),
                }
            } else if in_sq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'\'') => {
                        p += 1;
                        token.copy(p);
                    }
                    Some(b'\'') => {
                        if at(p + 1).is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(_) => token.copy(p),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(_) => token.copy(p),
                }
            }
            p += 1;
        }
        args.push(token.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        split_args(line).map(|v| v.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn table() {
        let ok: &[(&[u8], &[&[u8]])] = &[
            (b"", &[]),
            (b"   \t ", &[]),
            (b"ping", &[b"ping"]),
            (b"  set  k   v ", &[b"set", b"k", b"v"]),
            (b"a\tb", &[b"a", b"b"]),
            (br#""""#, &[b""]),
            (br#"''"#, &[b""]),
            (br#""a b""#, &[b"a b"]),
            (br#""\"""#, &[b"\""]),
            (br#"a"b c" d"#, &[b"ab c", b"d"]),
            (br#""\n\r\t\b\a\\\"\q""#, &[b"\n\r\t\x08\x07\\\"q"]),
            (br#""\x41\x7a\xfF""#, &[b"Az\xff"]),
            (br#""\x4""#, &[b"x4"]),
            (br#"'it\'s'"#, &[b"it's"]),
            (br#"'a\nb'"#, &[b"a\\nb"]),
            (b"a\x0bb", &[b"a\x0bb"]),
            (b"abc\0def", &[b"abc"]),
        ];
        for (line, want) in ok {
            let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
            assert_eq!(split(line), Ok(want), "{:?}", String::from_utf8_lossy(line));
        }
        let bad: &[&[u8]] = &[
            br#""abc"#,
            br#"'abc"#,
            br#""abc"x"#,
            br#"'abc'x"#,
            br#""\"#,
            br#"a"b c"d"#,
            b"\"ab\0\"",
        ];
        for line in bad {
            assert_eq!(split(line), Err(ProtocolError::UnbalancedQuotes), "{:?}", line);
        }
    }

    #[test]
    fn plain_and_simply_quoted_tokens_borrow() {
        let line = br#"publish "chan" 'x y' a"b""#;
        let args = split_args(line).unwrap();
        assert!(matches!(args[0], Cow::Borrowed(b"publish")));
        assert!(matches!(args[1], Cow::Borrowed(b"chan")));
        assert!(matches!(args[2], Cow::Borrowed(b"x y")));
        assert!(matches!(args[3], Cow::Owned(_)));
    }
}
