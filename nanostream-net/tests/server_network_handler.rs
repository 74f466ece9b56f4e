//! The network handler in a pipeline (the market-data example's shape): remote subscribers
//! receive every event in order, and one that stops reading slows nobody down.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{message, Client, Frame};
use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
use nanostream_net::server::{OutputLimit, Server, ServerConfig};

const EVENTS: u64 = if cfg!(miri) { 10 } else { 20_000 };

#[test]
fn remote_subscribers_receive_every_event_in_order() {
    let server = Server::start(ServerConfig::loopback()).unwrap();
    let addr = server.local_addr().unwrap();
    let mut subscribers: Vec<Client> = (0..3).map(|_| Client::connect(addr)).collect();
    for s in &mut subscribers {
        let confirmation = s.call(&[b"SUBSCRIBE", b"ticks"]);
        assert_eq!(confirmation.items()[0], Frame::Bulk(Some(b"subscribe".to_vec())));
    }

    let ticks = server.network_handler("ticks", |n: &u64, out: &mut Vec<u8>| {
        out.extend_from_slice(n.to_string().as_bytes())
    });
    let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(ticks)
        .build()
        .unwrap();
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut s| {
            std::thread::spawn(move || {
                for i in 0..EVENTS {
                    assert_eq!(s.read(), message(b"ticks", i.to_string().as_bytes()), "event {i}");
                }
            })
        })
        .collect();
    for i in 0..EVENTS {
        producer.publish(|event, _| *event = i).unwrap();
    }
    producer.shutdown().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    server.shutdown();
}

#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_slows_no_one() {
    let config = ServerConfig {
        output_limit: OutputLimit {
            hard: 256 * 1024,
            soft: 0,
            soft_for: Duration::ZERO,
        },
        ..ServerConfig::loopback()
    };
    let server = Server::start(config).unwrap();
    let addr = server.local_addr().unwrap();
    let mut slow = Client::connect(addr);
    slow.call(&[b"SUBSCRIBE", b"ticks"]);
    let mut fast = Client::connect(addr);
    fast.call(&[b"SUBSCRIBE", b"ticks"]);

    // 1 KiB per event, 20 MB in all: far more than the limit plus what the kernel buffers.
    let payload = vec![b'x'; 1000];
    let ticks = server.network_handler("ticks", move |n: &u64, out: &mut Vec<u8>| {
        out.extend_from_slice(format!("{n:08}").as_bytes());
        out.extend_from_slice(&payload);
    });
    let mut producer = build_single_producer(1024, || 0u64, BlockingWaitStrategy::new())
        .handle_events_with(ticks)
        .build()
        .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let reader = std::thread::spawn(move || {
        for i in 0..EVENTS {
            let frame = fast.read();
            let payload = frame.items()[2].bytes();
            assert_eq!(&payload[..8], format!("{i:08}").as_bytes(), "event {i}");
            counter.store(i + 1, Ordering::Release);
        }
    });
    for i in 0..EVENTS {
        // Keep the reading subscriber within 64 events (64 KiB) of the pipeline, far below
        // the limit, so that only the one that stopped reading passes it.
        let caught_up = common::wait_for(Duration::from_secs(30), || {
            received.load(Ordering::Acquire) + 64 >= i
        });
        assert!(caught_up, "the reading subscriber stopped receiving at {i}");
        producer.publish(|event, _| *event = i).unwrap();
    }
    // The pipeline finishes although one subscriber never read a byte.
    producer.shutdown().unwrap();
    reader.join().unwrap();

    // The slow subscriber was disconnected: after what the kernel had buffered, the end.
    let mut rest = Vec::new();
    let ended = slow.stream().try_clone().unwrap().read_to_end(&mut rest);
    assert!(
        ended.is_ok()
            || ended
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the connection should end, got {ended:?}"
    );
    assert!(
        rest.len() < (EVENTS as usize) * 1000,
        "the slow subscriber cannot have received everything ({} bytes)",
        rest.len()
    );
    // The broker counts the disconnection once the I/O thread has retired the connection.
    let counted = common::wait_for(Duration::from_secs(10), || {
        server
            .metrics()
            .encode()
            .contains("nanostream_disconnections_total{reason=\"output_limit\"} 1")
    });
    assert!(counted, "{}", server.metrics().encode());
    server.shutdown();
}
