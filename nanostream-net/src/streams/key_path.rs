//! Stream keys as directory names: each stream lives in its own directory, a direct child of
//! the data directory, whatever bytes its key holds.
//!
//! A Redis key is any sequence of bytes: `../../etc`, `/`, NUL bytes, invalid UTF-8 and keys
//! of many kilobytes are all valid stream keys. [`dir_name`] turns a key into one path
//! component that never escapes the data directory, and distinct keys always get distinct
//! names, on case-sensitive and case-insensitive filesystems alike.
//!
//! ```
//! use nanostream_net::streams::key_path::{dir_name, key_from_dir_name, stream_dir};
//! use std::path::Path;
//!
//! assert_eq!(dir_name(b"orders"), "s-orders");
//! assert_eq!(dir_name(b"Orders:eu"), "s-%4frders%3aeu");
//! assert_eq!(dir_name(b"../../etc"), "s-..%2f..%2fetc");
//! assert_eq!(
//!     stream_dir(Path::new("/var/lib/nanostream"), b"../../etc"),
//!     Path::new("/var/lib/nanostream/s-..%2f..%2fetc"),
//! );
//! // At start-up, the data directory's listing gives back every stream's key.
//! assert_eq!(key_from_dir_name("s-%4frders%3aeu").as_deref(), Some(&b"Orders:eu"[..]));
//! // A directory the broker did not create is not a stream.
//! assert_eq!(key_from_dir_name("lost+found"), None);
//! ```
//!
//! # The names
//!
//! A key whose escaped form fits is named **`s-`** followed by the key, byte by byte:
//!
//! - `a`–`z`, `0`–`9`, `-`, `_` and `.` stand for themselves, except a `.` that ends the key;
//! - every other byte, including `A`–`Z`, `%` and a final `.`, is written `%` and two
//!   lowercase hex digits (`O` is `%4f`, `/` is `%2f`, NUL is `%00`, `%` is `%25`).
//!
//! These names spell the key: [`key_from_dir_name`] reads it back. The code is injective
//! (`%` never stands for itself, so each name decodes one way), and the prefix keeps every
//! name away from what a path component must not be: the name is never empty, never `.` or
//! `..`, never hidden (it never begins with `.`) and never holds a `/` or a NUL byte.
//!
//! A name is at most [`MAX_DIR_NAME_LEN`] (200) bytes, below the 255 that ext4, XFS, Btrfs,
//! APFS and NTFS allow for one component (eCryptfs, which allows 143, is too short). A key whose `s-` name would be
//! longer (more than 198 escaped bytes: from 67 bytes of binary key, or 199 bytes of
//! lowercase text) is named **`h-`**, the beginning of its escaped form (131 to 133 bytes,
//! cut between escapes, so that a listing stays readable), `-`, and the SHA-256 digest of the
//! whole key in 64 lowercase hex digits. Such a name no longer holds the key: the key is kept
//! in a file named [`KEY_FILE`] inside the directory ([`write_key_file`]), and
//! [`key_of_dir`] reads it back and checks it against the name.
//!
//! ## Why these choices
//!
//! - **Distinct keys, distinct names.** Two `s-` names are equal only for equal keys; an `s-`
//!   name never equals an `h-` name; two `h-` names are equal only if the SHA-256 digests of
//!   two different keys are equal, which nobody knows how to bring about, even on purpose (a
//!   client chooses its keys, so a hash an attacker can collide, such as CRC-32 or FNV, would
//!   let one client's stream be written into another's). SHA-256 comes from the `ring`
//!   crate, which the TLS listener already depends on.
//! - **Readable where it can be.** Most keys are short lowercase text and get a name that is
//!   the key itself (`s-orders`); a long key still shows how it begins.
//! - **Why not always a hash.** A name that spells the key recovers it from a listing, with
//!   no file to lose; only the rare long key depends on its `KEY` file.
//! - **Case-insensitive filesystems** (the default on macOS and Windows) treat `Orders` and
//!   `orders` as one name. Names are made of lowercase letters, digits, `-`, `_`, `.` and `%`
//!   only (uppercase letters in a key are escaped, hex digits are lowercase), so two names
//!   never differ by case alone: `Orders` is `s-%4frders` and `orders` is `s-orders`. Being
//!   ASCII, names are also untouched by the Unicode normalization of macOS filesystems.
//! - **Windows** drops a final `.` from a file name, so a key's final `.` is escaped; its
//!   reserved device names (`CON`, `NUL`, ...) never occur, every name beginning with `s-`
//!   or `h-`.
//!
//! [`parse_dir_name`] accepts exactly the names [`dir_name`] produces (the same escapes,
//! the same choice between `s-` and `h-`, the same cut), so a stray directory in the data
//! directory (`lost+found`, `.snapshot`, `S-orders`, `s-%4Frders`, an editor's `s-orders~`)
//! is not taken for a stream. A name of the right shape is always some key's, though:
//! `s-orders.old` is the directory of the key `orders.old`. An `h-` name's digest can only
//! be checked against its `KEY` file.
//!
//! # Creating and recovering a stream's directory
//!
//! The journal only makes a directory its own when it is new or empty, so a stream whose
//! name is hashed ([`needs_key_file`]) is created in this order: open the journal in
//! [`stream_dir`], then [`write_key_file`], then append the stream's first entry. A crash
//! before the `KEY` file is written loses no acknowledged entry: [`key_of_dir`] reports
//! the missing file, and such a directory holds an empty journal. At start-up, each
//! directory in the data directory goes through [`key_of_dir`]: `s-` names give their key
//! from the name, `h-` names from their `KEY` file, other names are skipped.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The longest directory name [`dir_name`] produces, in bytes (names are ASCII).
pub const MAX_DIR_NAME_LEN: usize = 200;

/// The file, inside a stream's directory, that holds the key of a stream whose directory
/// name is hashed (see [`needs_key_file`]).
pub const KEY_FILE: &str = "KEY";

/// The beginning of a name that spells its key.
const PLAIN: &str = "s-";
/// The beginning of a name that ends in the SHA-256 digest of its key.
const HASHED: &str = "h-";
/// Length of the digest in hex.
const DIGEST_HEX_LEN: usize = 64;
/// Room for the readable beginning of a hashed name: `h-`, the beginning, `-`, the digest.
const HASHED_BEGINNING_MAX: usize = MAX_DIR_NAME_LEN - HASHED.len() - 1 - DIGEST_HEX_LEN;
/// The beginning of a hashed name is cut between escapes, so it is never shorter than this.
const HASHED_BEGINNING_MIN: usize = HASHED_BEGINNING_MAX - 2;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How a directory name given by [`dir_name`] leads back to its key (see
/// [`parse_dir_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirName {
    /// The name spells the key: here it is.
    Key(Vec<u8>),
    /// The name ends in the SHA-256 digest of a long key; the key is in the directory's
    /// [`KEY_FILE`] ([`key_of_dir`] reads and checks it).
    Hashed,
}

/// Whether `byte` stands for itself in a name; `last` says it is the key's last byte.
fn is_literal(byte: u8, last: bool) -> bool {
    matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_') || (byte == b'.' && !last)
}

/// The length of `byte` in a name: 1, or 3 for `%xx`.
fn escaped_len(byte: u8, last: bool) -> usize {
    if is_literal(byte, last) {
        1
    } else {
        3
    }
}

/// The length of `key` escaped, as an `s-` name spells it.
fn spelled_len(key: &[u8]) -> usize {
    let last = key.len().wrapping_sub(1);
    key.iter()
        .enumerate()
        .map(|(i, &b)| escaped_len(b, i == last))
        .sum()
}

fn push_escaped(name: &mut String, byte: u8, last: bool) {
    if is_literal(byte, last) {
        name.push(char::from(byte));
    } else {
        name.push('%');
        name.push(char::from(HEX[usize::from(byte >> 4)]));
        name.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// The directory name of the stream `key`: one path component, at most
/// [`MAX_DIR_NAME_LEN`] bytes of `[a-z0-9._%-]`, distinct for distinct keys (the module
/// docs describe the scheme).
///
/// ```
/// use nanostream_net::streams::key_path::{dir_name, MAX_DIR_NAME_LEN};
///
/// assert_eq!(dir_name(b""), "s-");
/// assert_eq!(dir_name(b".."), "s-.%2e");
/// assert_eq!(dir_name(b"a\0b%"), "s-a%00b%25");
/// assert_eq!(dir_name(&[0xff, 0xfe]), "s-%ff%fe");
///
/// let long = dir_name(&[b'x'; 10_000]);
/// assert!(long.starts_with("h-xxx") && long.len() <= MAX_DIR_NAME_LEN);
/// ```
pub fn dir_name(key: &[u8]) -> String {
    let spelled = spelled_len(key);
    if PLAIN.len() + spelled <= MAX_DIR_NAME_LEN {
        let last = key.len().wrapping_sub(1);
        let mut name = String::with_capacity(PLAIN.len() + spelled);
        name.push_str(PLAIN);
        for (i, &b) in key.iter().enumerate() {
            push_escaped(&mut name, b, i == last);
        }
        return name;
    }
    let mut name = String::with_capacity(MAX_DIR_NAME_LEN);
    name.push_str(HASHED);
    for &b in key {
        if name.len() - HASHED.len() + escaped_len(b, false) > HASHED_BEGINNING_MAX {
            break;
        }
        push_escaped(&mut name, b, false);
    }
    // The spelled key is longer than 198 bytes, so the cut falls well before its last byte:
    // the rule for a final `.` never applies to the beginning.
    debug_assert!(name.len() - HASHED.len() >= HASHED_BEGINNING_MIN);
    name.push('-');
    for &byte in ring::digest::digest(&ring::digest::SHA256, key).as_ref() {
        name.push(char::from(HEX[usize::from(byte >> 4)]));
        name.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    debug_assert!(name.len() <= MAX_DIR_NAME_LEN);
    name
}

/// Whether the directory name of `key` is hashed, so that the key must be written in the
/// directory's [`KEY_FILE`] ([`write_key_file`]) to be recovered.
///
/// ```
/// use nanostream_net::streams::key_path::needs_key_file;
///
/// assert!(!needs_key_file(b"orders"));
/// assert!(needs_key_file(&[b'x'; 199]));
/// ```
pub fn needs_key_file(key: &[u8]) -> bool {
    PLAIN.len() + spelled_len(key) > MAX_DIR_NAME_LEN
}

/// Decodes literal bytes and `%xx` escapes (lowercase hex); `None` for anything else.
/// Whether the escapes were the ones [`dir_name`] chooses is checked by the caller.
fn unescape(spelled: &str) -> Option<Vec<u8>> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }
    let mut bytes = spelled.bytes();
    let mut key = Vec::with_capacity(spelled.len());
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let high = hex(bytes.next()?)?;
            let low = hex(bytes.next()?)?;
            key.push((high << 4) | low);
        } else if is_literal(b, false) {
            key.push(b);
        } else {
            return None;
        }
    }
    Some(key)
}

/// What the directory name `name` says of its stream's key, or `None` if [`dir_name`] never
/// produces `name` (a directory the broker did not create).
///
/// An `s-` name gives its key. An `h-` name is accepted when it has the shape of a hashed
/// name (the beginning of a long key's escaped form, cut as [`dir_name`] cuts it, then `-`
/// and 64 lowercase hex digits); whether its digest is right can only be checked with the
/// key, which [`key_of_dir`] reads from the directory's [`KEY_FILE`].
///
/// ```
/// use nanostream_net::streams::key_path::{dir_name, parse_dir_name, DirName};
///
/// assert_eq!(parse_dir_name("s-orders"), Some(DirName::Key(b"orders".to_vec())));
/// assert_eq!(parse_dir_name(&dir_name(&[7; 100])), Some(DirName::Hashed));
/// assert_eq!(parse_dir_name("s-%4Frders"), None); // uppercase hex: not ours
/// assert_eq!(parse_dir_name("s-%6frders"), None); // `o` is never escaped
/// assert_eq!(parse_dir_name(".snapshot"), None);
/// ```
pub fn parse_dir_name(name: &str) -> Option<DirName> {
    if name.len() > MAX_DIR_NAME_LEN {
        return None;
    }
    if let Some(spelled) = name.strip_prefix(PLAIN) {
        let key = unescape(spelled)?;
        // The canonical escapes, and short enough not to be hashed.
        return (dir_name(&key) == name).then_some(DirName::Key(key));
    }
    let rest = name.strip_prefix(HASHED)?;
    let (beginning, digest) = rest.split_at_checked(rest.len().checked_sub(DIGEST_HEX_LEN)?)?;
    let beginning = beginning.strip_suffix('-')?;
    if !digest.bytes().all(|d| matches!(d, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    if !(HASHED_BEGINNING_MIN..=HASHED_BEGINNING_MAX).contains(&beginning.len()) {
        return None;
    }
    let bytes = unescape(beginning)?;
    let mut canonical = String::with_capacity(beginning.len());
    for &b in &bytes {
        push_escaped(&mut canonical, b, false);
    }
    (canonical == beginning).then_some(DirName::Hashed)
}

/// The key spelled by the directory name `name`, or `None` if `name` is hashed (the key is
/// then in the directory's [`KEY_FILE`]: see [`key_of_dir`]) or is not a name [`dir_name`]
/// produces.
///
/// ```
/// use nanostream_net::streams::key_path::{dir_name, key_from_dir_name};
///
/// let key = b"\0../x\xff";
/// assert_eq!(key_from_dir_name(&dir_name(key)).as_deref(), Some(&key[..]));
/// assert_eq!(key_from_dir_name(&dir_name(&[b'x'; 300])), None); // hashed
/// ```
pub fn key_from_dir_name(name: &str) -> Option<Vec<u8>> {
    match parse_dir_name(name)? {
        DirName::Key(key) => Some(key),
        DirName::Hashed => None,
    }
}

/// The directory of the stream `key`: `data_dir` joined with [`dir_name`]`(key)`, always a
/// direct child of `data_dir`.
pub fn stream_dir(data_dir: &Path, key: &[u8]) -> PathBuf {
    data_dir.join(dir_name(key))
}

/// Writes `key` to the [`KEY_FILE`] in `dir`, atomically and durably: a temporary file
/// `KEY.tmp`, fsync, rename over `KEY`, fsync of `dir`. `dir` must exist.
pub fn write_key_file(dir: &Path, key: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{KEY_FILE}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(key)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(KEY_FILE))?;
    File::open(dir)?.sync_all()
}

/// Reads the key written by [`write_key_file`] in `dir`, as it is: [`key_of_dir`] also
/// checks it against the directory's name.
pub fn read_key_file(dir: &Path) -> io::Result<Vec<u8>> {
    fs::read(dir.join(KEY_FILE))
}

/// The key of the stream whose directory is `dir`, for start-up: `Ok(None)` if the last
/// component of `dir` is not a name [`dir_name`] produces (skip the directory); the key
/// spelled by an `s-` name; for an `h-` name, the key in its [`KEY_FILE`], checked to give
/// this very name.
///
/// Only the name is looked at for `s-` names: list directories only (a stray *file* named
/// like a stream would otherwise be taken for one).
///
/// # Errors
///
/// For an `h-` name: reading the `KEY` file failed (`NotFound` if it was never written), or
/// it holds a key whose name is not this one (`InvalidData`).
pub fn key_of_dir(dir: &Path) -> io::Result<Option<Vec<u8>>> {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return Ok(None);
    };
    match parse_dir_name(name) {
        None => Ok(None),
        Some(DirName::Key(key)) => Ok(Some(key)),
        Some(DirName::Hashed) => {
            let key = read_key_file(dir)?;
            if dir_name(&key) == name {
                Ok(Some(key))
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: its {KEY_FILE} file holds the key of another stream directory",
                        dir.display()
                    ),
                ))
            }
        }
    }
}
