//! The slowest-subscriber metric (`slowest_backlog`, `nanostream_slowest_subscriber_backlog_bytes`,
//! the dashboard's "slowest subscriber") keeps showing a subscriber that stopped reading while
//! other clients' commands go on, and drops back once it reads again or leaves.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{wait_for, Client, Frame};
use nanostream_net::server::{Server, ServerConfig};

#[test]
fn a_stalled_subscriber_stays_the_slowest_while_others_work() {
    let server = Server::start(ServerConfig::loopback()).unwrap();
    let addr = server.local_addr().unwrap();
    let mut stalled = Client::connect(addr);
    stalled.call(&[b"SUBSCRIBE", b"slow"]);
    let mut publisher = Client::connect(addr);
    let payload = vec![b'x'; 4096];
    // Far more than the socket buffers hold (but under the 8 MiB soft limit): the rest waits
    // in the broker.
    for _ in 0..1024 {
        publisher.send(&[b"PUBLISH", b"slow", &payload]);
    }
    for _ in 0..1024 {
        assert_eq!(publisher.read(), Frame::Integer(1));
    }
    let backlog = || server.metrics().snapshot().slowest_backlog;
    assert!(
        wait_for(Duration::from_secs(10), || backlog() > 0),
        "the stalled subscriber's backlog never showed"
    );
    // Batches that do not write to the stalled subscriber leave it counted.
    for _ in 0..50 {
        assert_eq!(publisher.call(&[b"PING"]), Frame::Simple("PONG".to_string()));
    }
    assert!(
        backlog() > 0,
        "a batch without the stalled subscriber reset its backlog"
    );
    // Once it reads everything, the metric falls back to zero.
    let mut sink = vec![0; 1 << 20];
    stalled
        .stream()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let drained = wait_for(Duration::from_secs(20), || {
        while let Ok(n) = stalled.stream().read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        // Every batch recomputes the metric: give it one.
        publisher.call(&[b"PING"]);
        backlog() == 0
    });
    assert!(
        drained,
        "the backlog stayed at {} after the subscriber read it all",
        backlog()
    );
    server.shutdown();
}
