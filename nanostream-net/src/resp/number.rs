//! Redis's `string2ll` (`util.c`): the one integer syntax of the protocol and of commands.

/// Parses `s` as Redis's `string2ll` does, or returns `None`.
///
/// Accepted: `0`, or an optional `-` followed by a digit 1-9 and more digits, within `i64`,
/// at most 20 bytes. Refused: the empty string, `+`, spaces, leading zeros, `-0`, overflow.
///
/// ```
/// use nanostream_net::resp::number::string2ll;
///
/// assert_eq!(string2ll(b"-42"), Some(-42));
/// assert_eq!(string2ll(b"007"), None);
/// assert_eq!(string2ll(b"+1"), None);
/// ```
pub fn string2ll(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE is 21: Redis refuses 21 bytes or more before looking at them.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if v > i64::MIN.unsigned_abs() {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::string2ll;

    #[test]
    fn table() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (b"0", Some(0)),
            (b"1", Some(1)),
            (b"-1", Some(-1)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"18446744073709551616", None),
            (b"", None),
            (b"-", None),
            (b"-0", None),
            (b"00", None),
            (b"01", None),
            (b"+1", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1a", None),
            (b"0x10", None),
            (b"000000000000000000001", None),
        ];
        for (input, want) in cases {
            assert_eq!(string2ll(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }
}
