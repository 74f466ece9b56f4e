//! The network source: remote publishes to a channel or pattern land in the user's ring, with
//! the back-pressure the user chose.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Client, Frame};
use nanostream::{build_single_producer, BlockingWaitStrategy};
use nanostream_net::{Backpressure, Server, ServerConfig, Subscription};

type Order = (Vec<u8>, Vec<u8>);

fn translate(order: &mut Order, channel: &[u8], payload: &[u8]) {
    order.0.clear();
    order.0.extend_from_slice(channel);
    order.1.clear();
    order.1.extend_from_slice(payload);
}

#[test]
fn publishes_matching_the_pattern_arrive_in_the_ring_in_order() {
    let server = Server::start(ServerConfig::loopback()).unwrap();
    let (tx, rx) = mpsc::channel::<Order>();
    let producer = build_single_producer(64, Order::default, BlockingWaitStrategy::new())
        .handle_events_with(move |order: &Order, _: i64, _: bool| {
            tx.send(order.clone()).unwrap();
        })
        .build()
        .unwrap();
    let stats = server.add_source(
        Subscription::Pattern(b"orders.*".to_vec()),
        producer,
        translate,
        Backpressure::Wait,
    );

    let mut client = Client::connect(server.local_addr().unwrap());
    for i in 0..500 {
        let payload = format!("order {i}");
        // The source counts as a receiver.
        assert_eq!(
            client.call(&[b"PUBLISH", b"orders.eu", payload.as_bytes()]),
            Frame::Integer(1)
        );
    }
    assert_eq!(
        client.call(&[b"PUBLISH", b"trades.eu", b"not for the source"]),
        Frame::Integer(0)
    );
    for i in 0..500 {
        let (channel, payload) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(channel, b"orders.eu");
        assert_eq!(payload, format!("order {i}").as_bytes());
    }
    assert_eq!(stats.published(), 500);
    assert_eq!(stats.dropped(), 0);
    server.shutdown();
    assert!(
        rx.recv_timeout(Duration::from_millis(10)).is_err(),
        "nothing else arrived"
    );
}

#[test]
fn a_full_ring_drops_and_counts_without_holding_the_broker_up() {
    let server = Server::start(ServerConfig::loopback()).unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (seen_tx, seen_rx) = mpsc::channel::<Vec<u8>>();
    // A consumer stuck until the gate opens: the 4-slot ring fills up.
    let producer = build_single_producer(4, Order::default, BlockingWaitStrategy::new())
        .handle_events_with(move |order: &Order, _: i64, _: bool| {
            let _ = gate_rx.recv();
            seen_tx.send(order.1.clone()).unwrap();
        })
        .build()
        .unwrap();
    let stats = server.add_source(
        Subscription::Channel(b"orders".to_vec()),
        producer,
        translate,
        Backpressure::DropAndCount,
    );
    let mut client = Client::connect(server.local_addr().unwrap());
    const SENT: u64 = 100;
    for i in 0..SENT {
        // Every publish is answered although the ring is full: the broker never waits.
        assert_eq!(
            client.call(&[b"PUBLISH", b"orders", i.to_string().as_bytes()]),
            Frame::Integer(1)
        );
    }
    assert_eq!(stats.published() + stats.dropped(), SENT);
    assert!(
        stats.dropped() >= SENT - 5,
        "at most the ring's 4 slots and the one in hand are kept"
    );
    // What was kept arrives in order once the consumer moves.
    for _ in 0..stats.published() {
        gate_tx.send(()).unwrap();
    }
    let mut last = None;
    for _ in 0..stats.published() {
        let payload = seen_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let n: u64 = String::from_utf8(payload).unwrap().parse().unwrap();
        assert!(last.is_none_or(|l| n > l), "in order");
        last = Some(n);
    }
    drop(gate_tx);
    server.shutdown();
}
