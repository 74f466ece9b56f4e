//! The registry's replies and queries against Redis 7's, and against a plain model under random
//! operations.
//!
//! The sequence in `redis_7_session` was run against redis-server 7.0.15 on a unix socket (three
//! raw connections, A and B subscribing, C publishing and querying); every count asserted there
//! is the one it replied. Redis lists `UNSUBSCRIBE`-with-no-argument replies in its hash order;
//! the registry uses ascending byte order, with the same counts position by position.

use std::collections::{BTreeMap, BTreeSet};

use nanostream_net::pubsub::{glob_match, ClientId, Registry};
use proptest::prelude::*;

const A: ClientId = ClientId(1);
const B: ClientId = ClientId(2);
const C: ClientId = ClientId(3);

fn names(v: Vec<(std::sync::Arc<[u8]>, usize)>) -> Vec<(Vec<u8>, usize)> {
    v.into_iter().map(|(n, c)| (n.to_vec(), c)).collect()
}

#[test]
fn redis_7_session() {
    let mut r = Registry::new();
    // UNSUBSCRIBE x with nothing subscribed: `unsubscribe x 0`.
    assert_eq!(r.unsubscribe(A, b"x"), 0);
    // PUNSUBSCRIBE with nothing: one frame with a null pattern and 0.
    assert!(r.punsubscribe_all(A).is_empty());
    assert_eq!(r.count(A), 0);
    // SUBSCRIBE news news sport: 1 1 2.
    assert_eq!(r.subscribe(A, b"news"), 1);
    assert_eq!(r.subscribe(A, b"news"), 1);
    assert_eq!(r.subscribe(A, b"sport"), 2);
    // PSUBSCRIBE n* ne* n*: 3 4 4 (patterns add to the channel count).
    assert_eq!(r.psubscribe(A, b"n*"), 3);
    assert_eq!(r.psubscribe(A, b"ne*"), 4);
    assert_eq!(r.psubscribe(A, b"n*"), 4);
    assert_eq!(r.psubscribe(B, b"n*"), 1);
    // PUBLISH news hi: 4 (A: news, n*, ne*; B: n*).
    assert_eq!(r.publish_count(b"news"), 4);
    // NUMPAT: 2 distinct patterns, though three (client, pattern) pairs.
    assert_eq!(r.numpat(), 2);
    // NUMSUB news sport n*: 1 1 0 (a pattern is not a channel).
    assert_eq!(r.numsub(b"news"), 1);
    assert_eq!(r.numsub(b"sport"), 1);
    assert_eq!(r.numsub(b"n*"), 0);
    // PUBSUB CHANNELS s*: sport.
    assert_eq!(r.channels(Some(b"s*")), vec![&b"sport"[..]]);
    // UNSUBSCRIBE: two frames counting 3 then 2.
    assert_eq!(
        names(r.unsubscribe_all(A)),
        vec![(b"news".to_vec(), 3), (b"sport".to_vec(), 2)]
    );
    // Again: a null-channel frame with the pattern count, 2.
    assert!(r.unsubscribe_all(A).is_empty());
    assert_eq!(r.count(A), 2);
    // PUNSUBSCRIBE zzz: 2.
    assert_eq!(r.punsubscribe(A, b"zzz"), 2);
    // PUNSUBSCRIBE: n* 1, ne* 0.
    assert_eq!(
        names(r.punsubscribe_all(A)),
        vec![(b"n*".to_vec(), 1), (b"ne*".to_vec(), 0)]
    );
    // NUMPAT after A leaves: 1; after B disconnects: 0.
    assert_eq!(r.numpat(), 1);
    r.remove_client(B);
    assert_eq!(r.numpat(), 0);
}

/// pubsub.tcl: "SUBSCRIBE to one channel more than once", "UNSUBSCRIBE from non-subscribed
/// channels", "PUNSUBSCRIBE from non-subscribed channels", "Mix SUBSCRIBE and PSUBSCRIBE",
/// "NUMPATs returns the number of unique patterns".
#[test]
fn redis_test_suite_sequences() {
    let mut r = Registry::new();
    for _ in 0..3 {
        assert_eq!(r.subscribe(A, b"chan1"), 1);
    }
    assert_eq!(r.publish_count(b"chan1"), 1);

    for ch in [&b"foo"[..], b"bar", b"quux"] {
        assert_eq!(r.unsubscribe(B, ch), 0);
        assert_eq!(r.punsubscribe(B, ch), 0);
    }

    assert_eq!(r.subscribe(C, b"foo.bar"), 1);
    assert_eq!(r.psubscribe(C, b"foo.*"), 2);
    assert_eq!(r.publish_count(b"foo.bar"), 2);

    let mut r = Registry::new();
    r.psubscribe(A, b"foo*");
    r.psubscribe(B, b"foo*");
    r.psubscribe(A, b"bar*");
    r.psubscribe(B, b"baz*");
    assert_eq!(r.numpat(), 3);
}

/// pubsub.tcl "PUBLISH/PSUBSCRIBE basics" with two pattern subscribers.
#[test]
fn psubscribe_basics() {
    let mut r = Registry::new();
    assert_eq!(r.psubscribe(A, b"foo.*"), 1);
    assert_eq!(r.psubscribe(A, b"bar.*"), 2);
    assert_eq!(r.psubscribe(B, b"foo.*"), 1);
    assert_eq!(r.publish_count(b"foo.1"), 2);
    assert_eq!(r.publish_count(b"bar.1"), 1);
    assert_eq!(r.publish_count(b"foo1"), 0);
    assert_eq!(r.publish_count(b"barfoo.foo"), 0);
    assert_eq!(r.punsubscribe(A, b"foo.*"), 1);
    assert_eq!(r.publish_count(b"foo.1"), 1);
}

#[test]
fn receivers_split_channel_and_pattern_deliveries() {
    let mut r = Registry::new();
    r.subscribe(A, b"news");
    r.subscribe(B, b"news");
    r.psubscribe(A, b"n*");
    r.psubscribe(A, b"*s");
    r.psubscribe(C, b"*s");
    r.psubscribe(C, b"x*");
    let rx = r.receivers(b"news");
    let mut direct = rx.subscribers().to_vec();
    direct.sort();
    assert_eq!(direct, vec![A, B]);
    let mut by_pattern: Vec<(Vec<u8>, Vec<ClientId>)> = rx
        .map(|(p, ids)| {
            let mut ids = ids.to_vec();
            ids.sort();
            (p.to_vec(), ids)
        })
        .collect();
    by_pattern.sort();
    assert_eq!(
        by_pattern,
        vec![(b"*s".to_vec(), vec![A, C]), (b"n*".to_vec(), vec![A])]
    );
    // A counts three times: the channel and two patterns.
    assert_eq!(r.publish_count(b"news"), 5);
    assert_eq!(r.publish_count(b"nothing"), 1);
    assert_eq!(r.publish_count(b"x"), 1);
    assert_eq!(r.receivers(b"none").subscribers(), &[] as &[ClientId]);
}

#[test]
fn remove_client_leaves_no_trace() {
    let mut r = Registry::new();
    r.subscribe(A, b"a");
    r.subscribe(A, b"shared");
    r.subscribe(B, b"shared");
    r.psubscribe(A, b"p*");
    r.psubscribe(A, b"shared*");
    r.psubscribe(B, b"shared*");
    r.remove_client(A);
    assert_eq!(r.count(A), 0);
    assert_eq!(r.numsub(b"a"), 0);
    assert_eq!(r.numsub(b"shared"), 1);
    assert_eq!(r.numpat(), 1);
    assert_eq!(r.channels(None), vec![&b"shared"[..]]);
    assert_eq!(r.publish_count(b"shared"), 2);
    assert_eq!(r.publish_count(b"pq"), 0);
    assert_eq!(r.client_channels(A).count() + r.client_patterns(A).count(), 0);
    assert_eq!(r.subscribed_clients(), 1);
    r.remove_client(B);
    assert_eq!(r.numpat(), 0);
    assert_eq!(r.subscribed_clients(), 0);
    assert!(r.channels(None).is_empty());
    assert_eq!(r.publish_count(b"shared"), 0);
    // Removing an unknown client is a no-op, and the ids are free for reuse.
    r.remove_client(C);
    assert_eq!(r.subscribe(A, b"a"), 1);
}

#[test]
fn pubsub_channels_with_and_without_a_pattern() {
    let mut r = Registry::new();
    assert!(r.channels(None).is_empty());
    r.subscribe(A, b"news.tech");
    r.subscribe(B, b"news.sport");
    r.subscribe(B, b"weather");
    r.subscribe(C, b"\x00bin\xff");
    r.psubscribe(C, b"news.*"); // patterns are not channels
    assert_eq!(
        r.channels(None),
        vec![&b"\x00bin\xff"[..], b"news.sport", b"news.tech", b"weather"]
    );
    assert_eq!(
        r.channels(Some(b"news.*")),
        vec![&b"news.sport"[..], b"news.tech"]
    );
    assert_eq!(r.channels(Some(b"*[rh]")), vec![&b"news.tech"[..], b"weather"]);
    assert_eq!(r.channels(Some(b"\x00*")), vec![&b"\x00bin\xff"[..]]);
    assert!(r.channels(Some(b"nothing")).is_empty());
    r.unsubscribe(B, b"weather");
    assert_eq!(r.channels(Some(b"w*")), Vec::<&[u8]>::new());
}

#[test]
fn binary_names_are_distinct() {
    let mut r = Registry::new();
    assert_eq!(r.subscribe(A, b"a\x00"), 1);
    assert_eq!(r.subscribe(A, b"a"), 2);
    assert_eq!(r.subscribe(A, b""), 3);
    assert_eq!(r.psubscribe(A, b"a"), 4); // a pattern named like a channel is still a pattern
    assert_eq!(r.numsub(b"a\x00"), 1);
    assert_eq!(r.publish_count(b"a"), 2);
    assert_eq!(r.publish_count(b""), 1);
    assert_eq!(r.unsubscribe(A, b"a\x00"), 3);
    assert_eq!(r.numsub(b"a\x00"), 0);
}

#[test]
fn many_subscribers_removed_in_any_order() {
    let mut r = Registry::new();
    for id in 0..100 {
        r.subscribe(ClientId(id), b"ch");
    }
    for id in (0..100).filter(|i| i % 3 == 0) {
        assert_eq!(r.unsubscribe(ClientId(id), b"ch"), 0);
    }
    let mut left = r.receivers(b"ch").subscribers().to_vec();
    left.sort();
    let expected: Vec<ClientId> = (0..100).filter(|i| i % 3 != 0).map(ClientId).collect();
    assert_eq!(left, expected);
}

/// Every client's channels and patterns: the model the registry is checked against.
type Model = BTreeMap<ClientId, (BTreeSet<Vec<u8>>, BTreeSet<Vec<u8>>)>;

#[derive(Debug, Clone)]
enum Op {
    Subscribe(u64, Vec<u8>),
    Unsubscribe(u64, Vec<u8>),
    UnsubscribeAll(u64),
    Psubscribe(u64, Vec<u8>),
    Punsubscribe(u64, Vec<u8>),
    PunsubscribeAll(u64),
    Remove(u64),
}

const CHANNELS: &[&[u8]] = &[b"a", b"b", b"ab", b"ba", b"", b"a\x00", b"\xff"];
const PATTERNS: &[&[u8]] = &[b"*", b"a*", b"*b", b"?", b"[ab]", b"a", b"\\*", b"[^a]*"];

fn name(from: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::select(from).prop_map(|n| n.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..4u64;
    prop_oneof![
        4 => (client.clone(), name(CHANNELS)).prop_map(|(c, n)| Op::Subscribe(c, n)),
        2 => (client.clone(), name(CHANNELS)).prop_map(|(c, n)| Op::Unsubscribe(c, n)),
        1 => client.clone().prop_map(Op::UnsubscribeAll),
        4 => (client.clone(), name(PATTERNS)).prop_map(|(c, n)| Op::Psubscribe(c, n)),
        2 => (client.clone(), name(PATTERNS)).prop_map(|(c, n)| Op::Punsubscribe(c, n)),
        1 => client.clone().prop_map(Op::PunsubscribeAll),
        1 => client.prop_map(Op::Remove),
    ]
}

fn model_count(m: &Model, c: ClientId) -> usize {
    m.get(&c).map_or(0, |(ch, p)| ch.len() + p.len())
}

/// Applies `op` to the model; returns what the registry must reply.
fn apply_model(m: &mut Model, op: &Op) -> Vec<(Vec<u8>, usize)> {
    match op {
        Op::Subscribe(c, n) | Op::Psubscribe(c, n) => {
            let e = m.entry(ClientId(*c)).or_default();
            if matches!(op, Op::Subscribe(..)) {
                &mut e.0
            } else {
                &mut e.1
            }
            .insert(n.clone());
            vec![(n.clone(), model_count(m, ClientId(*c)))]
        }
        Op::Unsubscribe(c, n) | Op::Punsubscribe(c, n) => {
            if let Some(e) = m.get_mut(&ClientId(*c)) {
                if matches!(op, Op::Unsubscribe(..)) {
                    &mut e.0
                } else {
                    &mut e.1
                }
                .remove(n);
            }
            vec![(n.clone(), model_count(m, ClientId(*c)))]
        }
        Op::UnsubscribeAll(c) | Op::PunsubscribeAll(c) => {
            let Some(e) = m.get_mut(&ClientId(*c)) else {
                return Vec::new();
            };
            let set = if matches!(op, Op::UnsubscribeAll(..)) {
                &mut e.0
            } else {
                &mut e.1
            };
            let names: Vec<Vec<u8>> = std::mem::take(set).into_iter().collect();
            let mut left = e.0.len() + e.1.len() + names.len();
            names
                .into_iter()
                .map(|n| {
                    left -= 1;
                    (n, left)
                })
                .collect()
        }
        Op::Remove(c) => {
            m.remove(&ClientId(*c));
            Vec::new()
        }
    }
}

fn apply_registry(r: &mut Registry, op: &Op) -> Vec<(Vec<u8>, usize)> {
    match op {
        Op::Subscribe(c, n) => vec![(n.clone(), r.subscribe(ClientId(*c), n))],
        Op::Unsubscribe(c, n) => vec![(n.clone(), r.unsubscribe(ClientId(*c), n))],
        Op::Psubscribe(c, n) => vec![(n.clone(), r.psubscribe(ClientId(*c), n))],
        Op::Punsubscribe(c, n) => vec![(n.clone(), r.punsubscribe(ClientId(*c), n))],
        Op::UnsubscribeAll(c) => names(r.unsubscribe_all(ClientId(*c))),
        Op::PunsubscribeAll(c) => names(r.punsubscribe_all(ClientId(*c))),
        Op::Remove(c) => {
            r.remove_client(ClientId(*c));
            Vec::new()
        }
    }
}

fn check_queries(r: &Registry, m: &Model) -> Result<(), TestCaseError> {
    let mut all_patterns: BTreeSet<&[u8]> = BTreeSet::new();
    let mut all_channels: BTreeSet<&[u8]> = BTreeSet::new();
    for (c, (chs, pats)) in m {
        prop_assert_eq!(r.count(*c), chs.len() + pats.len());
        prop_assert_eq!(
            r.client_channels(*c).map(<[u8]>::to_vec).collect::<BTreeSet<_>>(),
            chs.clone()
        );
        prop_assert_eq!(
            r.client_patterns(*c).map(<[u8]>::to_vec).collect::<BTreeSet<_>>(),
            pats.clone()
        );
        all_patterns.extend(pats.iter().map(Vec::as_slice));
        all_channels.extend(chs.iter().map(Vec::as_slice));
    }
    for c in 0..4 {
        if !m.contains_key(&ClientId(c)) {
            prop_assert_eq!(r.count(ClientId(c)), 0);
        }
    }
    prop_assert_eq!(r.numpat(), all_patterns.len());
    prop_assert_eq!(r.channels(None), all_channels.iter().copied().collect::<Vec<_>>());
    for &filter in PATTERNS {
        let expected: Vec<&[u8]> = all_channels
            .iter()
            .copied()
            .filter(|c| glob_match(filter, c))
            .collect();
        prop_assert_eq!(r.channels(Some(filter)), expected);
    }
    for &ch in CHANNELS {
        let direct: BTreeSet<ClientId> = m
            .iter()
            .filter(|(_, (chs, _))| chs.contains(ch))
            .map(|(c, _)| *c)
            .collect();
        let mut by_pattern: BTreeSet<(Vec<u8>, ClientId)> = BTreeSet::new();
        for (c, (_, pats)) in m {
            for p in pats.iter().filter(|p| glob_match(p, ch)) {
                by_pattern.insert((p.clone(), *c));
            }
        }
        prop_assert_eq!(r.numsub(ch), direct.len());
        prop_assert_eq!(r.publish_count(ch), direct.len() + by_pattern.len());
        let rx = r.receivers(ch);
        let got_direct: Vec<ClientId> = rx.subscribers().to_vec();
        prop_assert_eq!(got_direct.len(), direct.len(), "no duplicates");
        prop_assert_eq!(got_direct.into_iter().collect::<BTreeSet<_>>(), direct);
        let mut got_pattern = Vec::new();
        for (p, ids) in rx {
            prop_assert!(!ids.is_empty());
            got_pattern.extend(ids.iter().map(|c| (p.to_vec(), *c)));
        }
        prop_assert_eq!(got_pattern.len(), by_pattern.len(), "no duplicates");
        prop_assert_eq!(got_pattern.into_iter().collect::<BTreeSet<_>>(), by_pattern);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_operations_agree_with_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut r = Registry::new();
        let mut m = Model::new();
        for op in &ops {
            let expected = apply_model(&mut m, op);
            // A client left with no subscription is forgotten, in the model and the registry.
            m.retain(|_, (c, p)| !c.is_empty() || !p.is_empty());
            prop_assert_eq!(apply_registry(&mut r, op), expected, "after {:?}", op);
            prop_assert_eq!(r.subscribed_clients(), m.len());
            check_queries(&r, &m)?;
        }
    }
}
