//! `glob_match` against Redis's `stringmatchlen`: a table of cases from Redis's test suite and
//! from reading the C, a property test against a naive reference matcher, and the hostile
//! patterns that a plain backtracking matcher would take exponential time or stack on.

use nanostream_net::pubsub::pattern::glob_match_steps;
use nanostream_net::pubsub::{glob_match, Pattern};
use proptest::prelude::*;

/// (pattern, subject, matches). Cases marked "redis 7.0.15" were run as `KEYS` against a real
/// redis-server 7.0.15 (x86-64) on a unix socket, with the subjects set as keys.
const CASES: &[(&[u8], &[u8], bool)] = &[
    // Empty pattern and subject: only the empty pattern matches the empty subject, and a star
    // does not (the main loop never runs). Redis 7.0.15: `KEYS **` leaves out the key "".
    (b"", b"", true),
    (b"", b"a", false),
    (b"a", b"", false),
    (b"*", b"", false),
    (b"**", b"", false),
    (b"?", b"", false),
    // Stars.
    (b"*", b"a", true),
    (b"*", b"anything at all", true),
    (b"***", b"abc", true),
    (b"a*", b"a", true),
    (b"a**", b"a", true),
    (b"a*", b"abc", true),
    (b"*c", b"abc", true),
    (b"*c", b"abd", false),
    (b"a*c", b"ac", true),
    (b"a*c", b"abbbc", true),
    (b"a*c", b"abbbd", false),
    (b"a*b*c", b"aXbYc", true),
    (b"a*b*c", b"acb", false),
    (b"a*?", b"a", false),
    (b"a*?", b"ab", true),
    (b"*a*", b"bab", true),
    (b"*a*", b"bbb", false),
    // pubsub.tcl: PSUBSCRIBE foo.* bar.*
    (b"foo.*", b"foo.1", true),
    (b"bar.*", b"bar.1", true),
    (b"foo.*", b"foo.", true),
    (b"bar.*", b"barfoo.foo", false),
    (b"foo.*", b"foo.", true),
    // keyspace.tcl: KEYS foo*, KEYS with hashtag.
    (b"foo*", b"foo_a", true),
    (b"foo*", b"key_x", false),
    (b"{a}*", b"{a}x", true),
    (b"{a}*", b"{b}x", false),
    // Question marks.
    (b"?", b"a", true),
    (b"?", b"ab", false),
    (b"h?llo", b"hello", true),
    (b"h?llo", b"hllo", false),
    (b"??", b"\x00\xff", true),
    // Classes (the Redis KEYS documentation's examples).
    (b"h[ae]llo", b"hello", true),
    (b"h[ae]llo", b"hallo", true),
    (b"h[ae]llo", b"hillo", false),
    (b"h[^e]llo", b"hallo", true),
    (b"h[^e]llo", b"hello", false),
    (b"h[a-b]llo", b"hallo", true),
    (b"h[a-b]llo", b"hbllo", true),
    (b"h[a-b]llo", b"hcllo", false),
    (b"[a-z0-9]", b"7", true),
    (b"[a-z0-9]", b"_", false),
    (b"[^a-z]", b"A", true),
    (b"[^a-z]", b"q", false),
    // Reversed ranges are swapped.
    (b"[z-a]", b"m", true),
    (b"[z-a]", b"A", false),
    (b"[9-0]", b"5", true),
    // Range bounds compare as signed chars (redis 7.0.15 on x86-64): `[a-\xff]` is \xff..=a.
    (b"[a-\xff]", b"a", true),
    (b"[a-\xff]", b"\x00", true),
    (b"[a-\xff]", b"*", true),
    (b"[a-\xff]", b"\xff", true),
    (b"[a-\xff]", b"b", false),
    (b"[a-\xff]", b"\x80", false),
    (b"[\x80-\xff]", b"\x80", true),
    (b"[\x80-\xff]", b"\xc3", true),
    (b"[\x80-\xff]", b"a", false),
    (b"[\x00-\x7f]", b"\x80", false),
    // `-` at the edges is a plain byte; `a-]` is a range that swallows the `]`.
    (b"[-a]", b"-", true),
    (b"[a-]", b"-", false),
    (b"[a-]", b"]", true),
    (b"[a-]x", b"ax", false),
    (b"[a-]x", b"x", true),
    // Empty classes: `[]` matches nothing, `[^]` any byte.
    (b"[]", b"a", false),
    (b"[]a", b"a", false),
    (b"[^]", b"a", true),
    (b"[^]", b"]", true),
    (b"[]]", b"]", false),
    (b"[^]]", b"]", false),
    // `^` is only special first.
    (b"[a^]", b"^", true),
    (b"[^^]", b"^", false),
    (b"[^^]", b"a", true),
    // Escapes inside classes.
    (b"[\\]]", b"]", true),
    (b"[\\]]", b"\\", false),
    (b"[\\-]", b"-", true),
    (b"[a\\-z]", b"m", false),
    (b"[a\\-z]", b"-", true),
    (b"[\\^a]", b"^", true),
    (b"[\\\\]", b"\\", true),
    // Unterminated classes end with the pattern.
    (b"[", b"a", false),
    (b"[", b"[", false),
    (b"[ab", b"a", true),
    (b"[ab", b"b", true),
    (b"[ab", b"c", false),
    (b"[ab", b"ab", false),
    (b"[^", b"x", true),
    (b"[^", b"", false),
    (b"[^a", b"a", false),
    (b"[^a", b"b", true),
    // A `\` last in a class is a plain byte (redis 7.0.15: `KEYS "[\\"` finds the key "\").
    (b"[\\", b"\\", true),
    (b"[\\", b"a", false),
    // Escapes outside classes.
    (b"\\*", b"*", true),
    (b"\\*", b"a", false),
    (b"\\?", b"?", true),
    (b"\\?", b"a", false),
    (b"\\[a]", b"[a]", true),
    (b"\\[a]", b"a", false),
    (b"\\a", b"a", true),
    (b"\\\\", b"\\", true),
    // A trailing `\` matches itself (redis 7.0.15: `KEYS "\\"` finds the key "\").
    (b"\\", b"\\", true),
    (b"a\\", b"a\\", true),
    (b"\\", b"", false),
    // Binary subjects and patterns.
    (b"\x00", b"\x00", true),
    (b"\x00*", b"\x00\x01\x02", true),
    (b"*\xff", b"\x00\xff", true),
    (b"[\x00]", b"\x00", true),
    (b"[\x00]", b"0", false),
    (b"a\x00b", b"a\x00b", true),
    (b"a\x00b", b"a", false),
    (b"\r\n*", b"\r\n\r\n", true),
    // Case-sensitive.
    (b"Hello", b"hello", false),
    (b"[A-Z]", b"a", false),
];

#[test]
fn table_of_redis_cases() {
    for &(pattern, subject, expected) in CASES {
        assert_eq!(
            glob_match(pattern, subject),
            expected,
            "pattern {:?} subject {:?}",
            pattern.escape_ascii().to_string(),
            subject.escape_ascii().to_string()
        );
        assert_eq!(Pattern::new(pattern).matches(subject), expected);
        assert_eq!(reference(pattern, subject), expected, "the reference disagrees");
    }
}

/// One element of a glob, parsed the way `stringmatchlen` walks it.
#[derive(Debug)]
enum Token {
    Star,
    Any,
    Literal(u8),
    Class {
        negate: bool,
        singles: Vec<u8>,
        ranges: Vec<(u8, u8)>,
    },
}

impl Token {
    fn accepts(&self, c: u8) -> bool {
        match self {
            Token::Star => unreachable!("stars are handled by the matcher"),
            Token::Any => true,
            Token::Literal(l) => *l == c,
            Token::Class {
                negate,
                singles,
                ranges,
            } => {
                let hit = singles.contains(&c)
                    || ranges.iter().any(|&(a, b)| {
                        let (a, b) = (a as i8, b as i8);
                        (a.min(b)..=a.max(b)).contains(&(c as i8))
                    });
                hit != *negate
            }
        }
    }
}

fn tokenize(p: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                out.push(Token::Star);
                i += 1;
            }
            b'?' => {
                out.push(Token::Any);
                i += 1;
            }
            b'\\' if i + 1 < p.len() => {
                out.push(Token::Literal(p[i + 1]));
                i += 2;
            }
            b'[' => {
                i += 1;
                let negate = p.get(i) == Some(&b'^');
                if negate {
                    i += 1;
                }
                let (mut singles, mut ranges) = (Vec::new(), Vec::new());
                while i < p.len() {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        singles.push(p[i + 1]);
                        i += 2;
                    } else if p[i] == b']' {
                        i += 1;
                        break;
                    } else if i + 2 < p.len() && p[i + 1] == b'-' {
                        ranges.push((p[i], p[i + 2]));
                        i += 3;
                    } else {
                        singles.push(p[i]);
                        i += 1;
                    }
                }
                out.push(Token::Class {
                    negate,
                    singles,
                    ranges,
                });
            }
            b => {
                out.push(Token::Literal(b));
                i += 1;
            }
        }
    }
    out
}

fn match_tokens(t: &[Token], s: &[u8]) -> bool {
    match t.first() {
        None => s.is_empty(),
        Some(Token::Star) => (0..=s.len()).any(|i| match_tokens(&t[1..], &s[i..])),
        Some(tok) => !s.is_empty() && tok.accepts(s[0]) && match_tokens(&t[1..], &s[1..]),
    }
}

/// A plain exponential glob over the tokens, plus the one quirk of Redis's loop: an empty
/// subject matches only the empty pattern.
fn reference(p: &[u8], s: &[u8]) -> bool {
    if s.is_empty() {
        return p.is_empty();
    }
    match_tokens(&tokenize(p), s)
}

fn glob_bytes(alphabet: &'static [u8], max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..=max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn agrees_with_the_reference_without_classes(
        p in glob_bytes(b"ab*?\\", 10),
        s in glob_bytes(b"ab*?\\", 10),
    ) {
        prop_assert_eq!(glob_match(&p, &s), reference(&p, &s));
    }

    #[test]
    fn agrees_with_the_reference_with_classes(
        p in glob_bytes(b"ab*?[]^-\\\x00\xff\x80", 10),
        s in glob_bytes(b"ab]^-\\\x00\xff\x80", 8),
    ) {
        prop_assert_eq!(glob_match(&p, &s), reference(&p, &s));
    }

    #[test]
    fn steps_stay_within_the_documented_bound(
        p in glob_bytes(b"ab*?[]^-\\", 40),
        s in glob_bytes(b"ab]^-\\", 40),
    ) {
        let (_, steps) = glob_match_steps(&p, &s);
        prop_assert!(steps <= bound(&p, &s), "{} steps", steps);
    }

    #[test]
    fn literal_subjects_match_themselves_escaped(s in glob_bytes(b"ab*?[]^-\\\x00\xff", 12)) {
        let mut p = Vec::new();
        for &b in &s {
            p.push(b'\\');
            p.push(b);
        }
        prop_assert!(glob_match(&p, &s));
        prop_assert_eq!(glob_match(b"*", &s), !s.is_empty());
    }
}

fn bound(pattern: &[u8], subject: &[u8]) -> usize {
    (subject.len() + 1) * (pattern.len() + 1)
}

/// keyspace.tcl, "Regression for pattern matching long nested loops".
#[test]
fn many_stars_before_a_missing_byte_cost_linear_work() {
    let pattern = "a*".repeat(50) + "b";
    let subject = "a".repeat(64);
    let (matched, steps) = glob_match_steps(pattern.as_bytes(), subject.as_bytes());
    assert!(!matched);
    assert!(
        steps <= bound(pattern.as_bytes(), subject.as_bytes()),
        "{steps} steps"
    );

    // A naive backtracker needs C(n, k) tries here; the matcher stays within the product.
    let pattern = "*a".repeat(2000) + "b";
    let subject = "a".repeat(100_000);
    let (matched, steps) = glob_match_steps(pattern.as_bytes(), subject.as_bytes());
    assert!(!matched);
    assert!(
        steps <= bound(pattern.as_bytes(), subject.as_bytes()),
        "{steps} steps"
    );
    // In fact linear: one pass over the stars, then one retry per subject byte.
    assert!(steps <= 4 * (pattern.len() + subject.len()), "{steps} steps");
}

/// keyspace.tcl, "Regression for pattern matching very long nested loops": `KEYS` with `*?`
/// 50000 times finds nothing for a key of 50000 `a`s, because of the nesting limit, though the
/// glob alone would match. It must also not exhaust the stack.
#[test]
fn nesting_beyond_a_thousand_stars_does_not_match() {
    let pattern = "*?".repeat(50_000);
    let subject = "a".repeat(50_000);
    let (matched, steps) = glob_match_steps(pattern.as_bytes(), subject.as_bytes());
    assert!(!matched);
    assert!(steps <= bound(pattern.as_bytes(), subject.as_bytes()));
    assert!(reference(b"*?*?*?", b"aaa"), "the glob alone matches");
}

/// The edge of the nesting limit, confirmed with `KEYS` against redis-server 7.0.15: `*a` 1000
/// times finds the keys of 1000 and 1001 `a`s, `*a` 1001 times finds neither, and `a*` 1001
/// times (its last star trailing) finds the 1001 `a`s, but `a*` 1001 times then `?` does not find
/// `a` 1001 times then `b` (that last star is not trailing), while `a*` 1000 times then `?` does.
#[test]
fn nesting_limit_edge_as_redis() {
    let a1000 = "a".repeat(1000);
    let a1001 = "a".repeat(1001);
    let star_a_1000 = "*a".repeat(1000);
    let star_a_1001 = "*a".repeat(1001);
    assert!(glob_match(star_a_1000.as_bytes(), a1000.as_bytes()));
    assert!(glob_match(star_a_1000.as_bytes(), a1001.as_bytes()));
    assert!(!glob_match(star_a_1001.as_bytes(), a1001.as_bytes()));
    assert!(glob_match("a*".repeat(1001).as_bytes(), a1001.as_bytes()));
    let a1001b = a1001.clone() + "b";
    assert!(!glob_match(
        ("a*".repeat(1001) + "?").as_bytes(),
        a1001b.as_bytes()
    ));
    assert!(glob_match(
        ("a*".repeat(1000) + "?").as_bytes(),
        a1001b.as_bytes()
    ));
}

#[test]
fn a_thread_with_a_small_stack_matches_a_hostile_pattern() {
    let handle = std::thread::Builder::new()
        .stack_size(32 * 1024)
        .spawn(|| {
            let pattern = "*a".repeat(999) + "b";
            glob_match(pattern.as_bytes(), "a".repeat(5000).as_bytes())
        })
        .expect("spawn");
    assert!(!handle.join().expect("no stack overflow"));
}
