//! Replies, written straight into the connection's output `Vec<u8>`, byte for byte as
//! redis-server 7 writes them. Nothing is allocated besides the output's own growth.

/// Appends a decimal integer without a temporary string.
fn decimal(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

fn line(out: &mut Vec<u8>, prefix: u8, n: i64) {
    out.push(prefix);
    decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).expect("a length fits in i64")
}

/// `+<s>\r\n`. `s` must not hold `\r` or `\n`.
///
/// ```
/// let mut out = Vec::new();
/// nanostream_net::resp::encode::simple_string(&mut out, "OK");
/// assert_eq!(out, b"+OK\r\n");
/// ```
pub fn simple_string(out: &mut Vec<u8>, s: &str) {
    debug_assert!(!s.contains(['\r', '\n']), "a simple string is one line");
    out.push(b'+');
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `-<message>\r\n`, where `message` starts with the error code (`ERR ...`). Like Redis's
/// `addReplyErrorFormat`, `\r` and `\n` are trimmed from both ends and become spaces inside.
pub fn error(out: &mut Vec<u8>, message: &str) {
    error_bytes(out, message.as_bytes());
}

/// [`error`] for a message that quotes client bytes and so may not be UTF-8.
pub fn error_bytes(out: &mut Vec<u8>, message: &[u8]) {
    let newline = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = message.iter().position(|b| !newline(b)).unwrap_or(message.len());
    let end = message.iter().rposition(|b| !newline(b)).map_or(start, |i| i + 1);
    out.push(b'-');
    out.extend(
        message[start..end]
            .iter()
            .map(|&b| if newline(&b) { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// `:<n>\r\n`.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    line(out, b':', n);
}

/// `$<len>\r\n<bytes>\r\n`, binary-safe.
pub fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    line(out, b'$', len_i64(bytes.len()));
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// `$-1\r\n`, the null bulk string.
pub fn null_bulk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// `*<len>\r\n`; the `len` elements follow.
pub fn array_header(out: &mut Vec<u8>, len: usize) {
    line(out, b'*', len_i64(len));
}

/// `*-1\r\n`, the null array.
pub fn null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

/// A message pushed to a channel subscriber:
/// `*3\r\n$7\r\nmessage\r\n$<len>\r\n<channel>\r\n$<len>\r\n<payload>\r\n`.
///
/// ```
/// let mut out = Vec::new();
/// nanostream_net::resp::encode::message(&mut out, b"news", b"hi");
/// assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
/// ```
pub fn message(out: &mut Vec<u8>, channel: &[u8], payload: &[u8]) {
    out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n");
    bulk(out, channel);
    bulk(out, payload);
}

/// A message pushed to a pattern subscriber:
/// `*4\r\n$8\r\npmessage\r\n` then the pattern, the channel and the payload as bulk strings.
pub fn pmessage(out: &mut Vec<u8>, pattern: &[u8], channel: &[u8], payload: &[u8]) {
    out.extend_from_slice(b"*4\r\n$8\r\npmessage\r\n");
    bulk(out, pattern);
    bulk(out, channel);
    bulk(out, payload);
}

fn confirmation(out: &mut Vec<u8>, kind: &[u8], name: Option<&[u8]>, count: usize) {
    array_header(out, 3);
    bulk(out, kind);
    match name {
        Some(name) => bulk(out, name),
        None => null_bulk(out),
    }
    integer(out, len_i64(count));
}

/// `SUBSCRIBE` confirmation for one channel, with the client's subscription count after it:
/// `*3\r\n$9\r\nsubscribe\r\n$<len>\r\n<channel>\r\n:<count>\r\n`.
pub fn subscribe(out: &mut Vec<u8>, channel: &[u8], count: usize) {
    confirmation(out, b"subscribe", Some(channel), count);
}

/// `UNSUBSCRIBE` confirmation for one channel, with the subscription count after it. Redis
/// sends `channel = None` (a null bulk) and count 0 to an `UNSUBSCRIBE` without arguments
/// from a client with no channel subscriptions.
pub fn unsubscribe(out: &mut Vec<u8>, channel: Option<&[u8]>, count: usize) {
    confirmation(out, b"unsubscribe", channel, count);
}

/// `PSUBSCRIBE` confirmation for one pattern, with the subscription count after it.
pub fn psubscribe(out: &mut Vec<u8>, pattern: &[u8], count: usize) {
    confirmation(out, b"psubscribe", Some(pattern), count);
}

/// `PUNSUBSCRIBE` confirmation for one pattern (`None`: see [`unsubscribe`]).
pub fn punsubscribe(out: &mut Vec<u8>, pattern: Option<&[u8]>, count: usize) {
    confirmation(out, b"punsubscribe", pattern, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_at_the_edges() {
        for n in [0, 1, -1, 9, 10, -10, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            integer(&mut out, n);
            assert_eq!(out, format!(":{n}\r\n").into_bytes());
        }
    }
}
