//! Stream keys as directory names: hostile keys give one safe component, a direct child of the
//! data directory, on paper and on a real filesystem; names lead back to their keys (by the
//! name, or by the `KEY` file of a long key); distinct keys never share a name, even ignoring
//! case; the length bound; names the broker never produces are rejected.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use nanostream_net::streams::key_path::{
    dir_name, key_from_dir_name, key_of_dir, needs_key_file, parse_dir_name, read_key_file, stream_dir,
    write_key_file, DirName, KEY_FILE, MAX_DIR_NAME_LEN,
};
use proptest::prelude::*;

/// The keys of the issue, and their neighbours.
fn hostile_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        &b"../../etc"[..],
        b"/",
        b"//",
        b"/etc/passwd",
        b"a/b",
        b"a\\b",
        b"..\\..\\windows",
        b".",
        b"..",
        b"...",
        b".hidden",
        b"",
        b"\0",
        b"a\0b",
        b"%",
        b"%25",
        b"%2f",
        b"s-",
        b"h-",
        b"s-orders",
        b"orders",
        b"Orders",
        b"ORDERS",
        b"oRdErS",
        b"orders.",
        b"orders..",
        b"orders.eu",
        b"orders:eu",
        b"orders eu",
        b"orders\n",
        b"CON",
        b"nul",
        b"\xff",
        b"\xff\xfe",
        b"\xc3\x28",
        b"caf\xc3\xa9",
        b"cafe\xcc\x81",
        b"lost+found",
        b"~",
        b"*",
        b"-",
        b"--",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    // Every single byte, and all 256 together.
    keys.extend((0..=255u8).map(|b| vec![b]));
    keys.push((0..=255u8).collect());
    // 10 KB keys, two of them differing in their last byte only.
    keys.push(vec![b'x'; 10_240]);
    keys.push([vec![b'x'; 10_239], vec![b'y']].concat());
    keys.push(b"../".repeat(3_414));
    keys.push(vec![0; 10_240]);
    // Either side of the 200-byte bound.
    for n in [197, 198, 199, 200, 300] {
        keys.push(vec![b'x'; n]);
        keys.push(vec![b'X'; n / 3]);
        keys.push([vec![b'x'; n - 1], vec![b'.']].concat());
    }
    for n in [65, 66, 67, 68] {
        keys.push(vec![0xff; n]);
    }
    keys
}

/// What every name must be: one normal path component of at most 200 bytes of
/// `[a-z0-9._%-]`, never `.`, `..`, empty or hidden, never ending in `.`.
fn assert_safe_name(key: &[u8], name: &str) {
    let shown = String::from_utf8_lossy(&key[..key.len().min(40)]).into_owned();
    assert!(
        !name.is_empty() && name.len() <= MAX_DIR_NAME_LEN,
        "{shown:?}: {name}"
    );
    assert!(
        name.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'%')),
        "{shown:?}: {name}"
    );
    assert!(name != "." && name != ".." && !name.starts_with('.') && !name.ends_with('.'));
    let components: Vec<_> = Path::new(name).components().collect();
    assert_eq!(
        components,
        [Component::Normal(name.as_ref())],
        "{shown:?}: {name}"
    );
}

#[test]
fn hostile_keys_give_one_safe_component_under_the_data_dir() {
    for data_dir in ["/var/lib/nanostream", "data", "../data", "/"] {
        let data_dir = Path::new(data_dir);
        for key in hostile_keys() {
            let name = dir_name(&key);
            assert_safe_name(&key, &name);
            let dir = stream_dir(data_dir, &key);
            assert_eq!(dir.parent(), Some(data_dir));
            assert_eq!(dir.file_name(), Some(name.as_ref()));
            assert_eq!(dir.components().count(), data_dir.components().count() + 1);
            assert!(dir.starts_with(data_dir));
        }
    }
}

#[test]
fn names_of_distinct_keys_are_distinct_even_ignoring_case() {
    let keys: BTreeSet<Vec<u8>> = hostile_keys().into_iter().collect();
    let names: HashSet<String> = keys.iter().map(|k| dir_name(k)).collect();
    assert_eq!(names.len(), keys.len());
    // A case-insensitive filesystem compares names folded to one case. Names have no
    // uppercase letter, so folding changes none of them and they stay distinct.
    let folded: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    assert_eq!(folded, names);
    assert_ne!(dir_name(b"Orders"), dir_name(b"orders"));
}

#[test]
fn the_names_of_some_keys() {
    let cases: [(&[u8], &str); 17] = [
        (b"orders", "s-orders"),
        (b"Orders", "s-%4frders"),
        (b"orders:eu", "s-orders%3aeu"),
        (b"orders.eu", "s-orders.eu"),
        (b"orders.", "s-orders%2e"),
        (b"../../etc", "s-..%2f..%2fetc"),
        (b"/", "s-%2f"),
        (b"a/b", "s-a%2fb"),
        (b".", "s-%2e"),
        (b"..", "s-.%2e"),
        (b"", "s-"),
        (b"\0", "s-%00"),
        (b"%", "s-%25"),
        (b"%25", "s-%2525"),
        (b"\xff\xfe", "s-%ff%fe"),
        (b"caf\xc3\xa9", "s-caf%c3%a9"),
        (b"snake_case-key", "s-snake_case-key"),
    ];
    for (key, name) in cases {
        assert_eq!(dir_name(key), name);
        assert_eq!(key_from_dir_name(name).as_deref(), Some(key));
    }
    // Long keys: the beginning, then the SHA-256 digest of the whole key (from coreutils'
    // `sha256sum`).
    let x = vec![b'x'; 10_240];
    assert_eq!(
        dir_name(&x),
        format!(
            "h-{}-04f8f86af2cd14ffe9bbe8da1518ce9c980ae13fba87feb386b103544e9c4c6b",
            "x".repeat(133)
        )
    );
    let all: Vec<u8> = (0..=255u8).collect();
    let beginning: String = (0..44).map(|b| format!("%{b:02x}")).collect();
    assert_eq!(
        dir_name(&all),
        format!("h-{beginning}-40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880")
    );
}

#[test]
fn the_length_bound_and_where_names_become_hashed() {
    // An `s-` name up to 200 bytes, hashed beyond.
    assert_eq!(dir_name(&[b'x'; 198]).len(), 200);
    assert!(!needs_key_file(&[b'x'; 198]));
    assert!(needs_key_file(&[b'x'; 199]));
    assert_eq!(dir_name(&[0xff; 66]).len(), 200);
    assert!(!needs_key_file(&[0xff; 66]));
    assert!(needs_key_file(&[0xff; 67]));
    // A final `.` counts escaped.
    let dot = [vec![b'x'; 195], vec![b'.']].concat();
    assert!(!needs_key_file(&dot) && dir_name(&dot).len() == 200);
    let dot = [vec![b'x'; 196], vec![b'.']].concat();
    assert!(needs_key_file(&dot));
    // The beginning of a hashed name is cut between escapes: 133, 132 or 131 bytes.
    for (key, beginning) in [
        (vec![b'x'; 500], 133),
        (vec![0xff; 500], 132),
        ([&b"x"[..], &[0xff; 500]].concat(), 133),
        ([&b"xx"[..], &[0xff; 500]].concat(), 131),
    ] {
        let name = dir_name(&key);
        assert_eq!(name.len(), 2 + beginning + 1 + 64, "{name}");
        assert_eq!(parse_dir_name(&name), Some(DirName::Hashed), "{name}");
    }
    // Keys of every length up to 1000, of one byte value each.
    for b in [b'a', b'A', b'.', 0] {
        for n in 0..1000 {
            let key = vec![b; n];
            let name = dir_name(&key);
            assert!(name.len() <= MAX_DIR_NAME_LEN);
            assert_eq!(name.starts_with("h-"), needs_key_file(&key));
        }
    }
    // Hashing does not depend on the key fitting in memory twice: a 4 MiB key.
    let big = vec![b'%'; 4 << 20];
    assert!(dir_name(&big).len() <= MAX_DIR_NAME_LEN);
}

#[test]
fn names_lead_back_to_their_keys() {
    for key in hostile_keys() {
        let name = dir_name(&key);
        if needs_key_file(&key) {
            assert_eq!(parse_dir_name(&name), Some(DirName::Hashed), "{name}");
            assert_eq!(key_from_dir_name(&name), None, "{name}");
        } else {
            assert_eq!(parse_dir_name(&name), Some(DirName::Key(key.clone())), "{name}");
            assert_eq!(key_from_dir_name(&name), Some(key));
        }
    }
}

#[test]
fn names_the_broker_never_makes_are_rejected() {
    let digest = "04f8f86af2cd14ffe9bbe8da1518ce9c980ae13fba87feb386b103544e9c4c6b";
    let x133 = "x".repeat(133);
    let foreign = [
        String::new(),
        ".".into(),
        "..".into(),
        "lost+found".into(),
        ".snapshot".into(),
        "orders".into(),
        "s".into(),
        "S-orders".into(),
        "s_orders".into(),
        "s-Orders".into(),                // uppercase is escaped
        "s-%4Frders".into(),              // uppercase hex
        "s-%6frders".into(),              // `o` stands for itself
        "s-orders.".into(),               // a final `.` is escaped
        "s-%2e%2e".into(),                // only the final `.` is escaped
        "s-orders%".into(),               // a cut escape
        "s-orders%2".into(),              // a cut escape
        "s-%zz".into(),                   // not hex
        "s-a/b".into(),                   // `/` is escaped
        "s-a b".into(),                   // space is escaped
        "s-caf\u{e9}".into(),             // non-ASCII
        "s-orders~".into(),               // an editor's backup
        format!("s-{}", "x".repeat(199)), // too long: such a key is hashed
        format!("s-{}", "x".repeat(300)),
        "h-".into(),
        format!("h-{digest}"),
        format!("h--{digest}"),
        format!("h-abc-{digest}"),                           // a beginning too short
        format!("h-{x133}x-{digest}"),                       // a beginning too long
        format!("h-{x133}-{}", digest.to_ascii_uppercase()), // uppercase digest
        format!("h-{x133}-{}", &digest[1..]),                // 63 digits
        format!("h-{x133}-{digest}0"),                       // 65 digits
        format!("h-{x133}{digest}"),                         // no separator
        format!("h-{}%2e-{digest}", "x".repeat(130)),        // `.` stands for itself here
        format!("h-{}%4F-{digest}", "x".repeat(130)),        // uppercase hex
        format!("h-{}%4-{digest}", "x".repeat(130)),         // a cut escape
        format!("h-{}/-{digest}", "x".repeat(132)),          // `/` is escaped
        format!("H-{x133}-{digest}"),
    ];
    for name in &foreign {
        assert_eq!(parse_dir_name(name), None, "{name:?}");
        assert_eq!(key_from_dir_name(name), None, "{name:?}");
    }
    // Its shape is a hashed name's: only the KEY file tells (see the filesystem test).
    assert_eq!(
        parse_dir_name(&format!("h-{x133}-{digest}")),
        Some(DirName::Hashed)
    );
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nanostream-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn on_a_real_filesystem_every_key_gets_its_own_child_and_comes_back() {
    let tmp = TempDir::new("streams-key-path");
    let data_dir = tmp.0.join("data");
    fs::create_dir(&data_dir).unwrap();
    let canonical_data_dir = data_dir.canonicalize().unwrap();

    let keys: BTreeSet<Vec<u8>> = hostile_keys().into_iter().collect();
    for key in &keys {
        let dir = stream_dir(&data_dir, key);
        // `create_dir` fails if the name exists: no two keys share a directory here.
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(
            dir.canonicalize().unwrap().parent(),
            Some(canonical_data_dir.as_path())
        );
        if needs_key_file(key) {
            write_key_file(&dir, key).unwrap();
        }
    }
    // Nothing was created anywhere else.
    let beside: Vec<_> = fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["data"]);

    // Strays in the data directory are skipped, not misread.
    for stray in ["lost+found", ".snapshot", "S-orders", "s-%4Frders", "s-orders~"] {
        fs::create_dir(data_dir.join(stray)).unwrap();
    }
    let mut recovered = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    for entry in fs::read_dir(&data_dir).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_dir());
        match key_of_dir(&entry.path()).unwrap() {
            Some(key) => assert!(recovered.insert(key)),
            None => {
                skipped.insert(entry.file_name().into_string().unwrap());
            }
        }
    }
    assert_eq!(recovered, keys);
    let strays: BTreeSet<String> = ["lost+found", ".snapshot", "S-orders", "s-%4Frders", "s-orders~"]
        .map(String::from)
        .into();
    assert_eq!(skipped, strays);
}

#[test]
fn key_files_round_trip_and_are_checked_against_the_name() {
    let tmp = TempDir::new("streams-key-file");
    let dir = tmp.0.as_path();
    let all: Vec<u8> = (0..=255u8).collect();
    for key in [&b""[..], b"orders", &all, &[0; 10_240]] {
        write_key_file(dir, key).unwrap();
        assert_eq!(read_key_file(dir).unwrap(), key);
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        assert_eq!(files, [KEY_FILE], "no temporary file is left");
    }

    let long = vec![b'k'; 1000];
    let other = vec![b'k'; 1001];
    let dir = stream_dir(&tmp.0, &long);
    fs::create_dir(&dir).unwrap();
    // A hashed name without its KEY file (a crash before it was written).
    assert_eq!(key_of_dir(&dir).unwrap_err().kind(), ErrorKind::NotFound);
    // With another key's file: the digest does not match.
    write_key_file(&dir, &other).unwrap();
    let e = key_of_dir(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        e.to_string()
            .contains("KEY file holds the key of another stream directory"),
        "{e}"
    );
    write_key_file(&dir, &long).unwrap();
    assert_eq!(key_of_dir(&dir).unwrap(), Some(long));
    // A spelled name needs no file.
    assert_eq!(key_of_dir(&tmp.0.join("s-a%2fb")).unwrap(), Some(b"a/b".to_vec()));
    assert_eq!(key_of_dir(Path::new("/")).unwrap(), None);
    assert_eq!(key_of_dir(Path::new("data/..")).unwrap(), None);
}

/// 512 cases per property, or `NSNET_PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    let default = if cfg!(miri) { 8 } else { 512 };
    std::env::var("NSNET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bytes that meet each rule of the escaping: literals, uppercase, `%`, hex digits, `.`, `/`,
/// NUL, non-ASCII.
const TRICKY: &[u8] = b"aAzZ09.%2e-_/\0\xff\x80 ";

/// Keys of every kind: random bytes, the tricky alphabet around the 200-byte bound, long text
/// sharing its beginning, and up to 12 KB.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..100),
        4 => prop::collection::vec(prop::sample::select(TRICKY), 0..260),
        2 => prop::collection::vec(prop::sample::select(&b"xX."[..]), 120..260),
        1 => prop::collection::vec(any::<u8>(), 0..12_000),
    ]
}

/// A key and a near miss: one byte changed, inserted or removed, or the key extended.
fn key_and_neighbour() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (key(), any::<prop::sample::Index>(), any::<u8>(), 0..4u8).prop_map(|(key, at, byte, how)| {
        let mut other = key.clone();
        let i = if key.is_empty() { 0 } else { at.index(key.len()) };
        match how {
            0 if !key.is_empty() => other[i] = byte,
            1 if !key.is_empty() => {
                other.remove(i);
            }
            2 => other.insert(i, byte),
            _ => other.push(byte),
        }
        (key, other)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn distinct_keys_get_distinct_names(keys in prop::collection::vec(key(), 0..40)) {
        let keys: HashSet<Vec<u8>> = keys.into_iter().collect();
        let names: HashSet<String> = keys.iter().map(|k| dir_name(k)).collect();
        prop_assert_eq!(names.len(), keys.len());
    }

    #[test]
    fn near_misses_get_distinct_names((key, other) in key_and_neighbour()) {
        prop_assume!(key != other);
        prop_assert_ne!(dir_name(&key), dir_name(&other));
    }

    #[test]
    fn every_name_is_safe_and_leads_back(key in key()) {
        let name = dir_name(&key);
        assert_safe_name(&key, &name);
        let dir = stream_dir(Path::new("data"), &key);
        prop_assert_eq!(dir.parent(), Some(Path::new("data")));
        match parse_dir_name(&name) {
            Some(DirName::Key(back)) => {
                prop_assert!(!needs_key_file(&key));
                prop_assert_eq!(back, key);
            }
            Some(DirName::Hashed) => prop_assert!(needs_key_file(&key)),
            None => prop_assert!(false, "{} is rejected", name),
        }
    }

    /// A name changed by one character is rejected, or read as the key it spells exactly:
    /// never misread.
    #[test]
    fn an_altered_name_is_never_misread(
        key in key(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(&b"aAfF0%.-/_\xff~sh"[..]),
    ) {
        let mut name = dir_name(&key).into_bytes();
        let i = at.index(name.len());
        name[i] = c;
        let Ok(name) = String::from_utf8(name) else { return Ok(()) };
        match parse_dir_name(&name) {
            Some(DirName::Key(back)) => prop_assert_eq!(dir_name(&back), name),
            Some(DirName::Hashed) => prop_assert!(name.starts_with("h-") && name.len() > 190),
            None => {}
        }
    }
}
