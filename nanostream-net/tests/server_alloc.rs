//! The broker's hot path allocates nothing in steady state: reading a `PUBLISH`, decoding it,
//! publishing it through the ring, running it, fanning the message out to subscribers (one by
//! channel, one by pattern) and writing replies and deliveries.
//!
//! Allocations are counted by a global allocator across every thread of the process (the
//! server's I/O and broker threads are the ones that matter); this test binary runs without
//! the test harness, so no harness thread allocates while it counts, and the client side uses
//! only buffers made before counting starts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nanostream_net::{Server, ServerConfig};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counter is a plain atomic and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract, which we forward.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `request` and reads exactly `reply.len()` bytes into `reply`.
fn exchange(stream: &mut TcpStream, request: &[u8], reply: &mut [u8]) {
    stream.write_all(request).unwrap();
    stream.read_exact(reply).unwrap();
}

/// One round: PUBLISH from the publisher, its reply, and the deliveries to both subscribers.
fn round(
    publisher: &mut TcpStream,
    by_channel: &mut TcpStream,
    by_pattern: &mut TcpStream,
    publish: &[u8],
    buffers: &mut [Vec<u8>; 3],
) {
    let [reply, message, pmessage] = buffers;
    exchange(publisher, publish, reply);
    assert_eq!(&reply[..], b":2\r\n");
    by_channel.read_exact(message).unwrap();
    by_pattern.read_exact(pmessage).unwrap();
}

fn main() {
    let server = Server::start(ServerConfig::loopback()).unwrap();
    let addr = server.local_addr().unwrap();
    let mut by_channel = connect(addr);
    let mut by_pattern = connect(addr);
    let mut publisher = connect(addr);
    let subscribe = b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nticks\r\n";
    let mut confirmation = vec![0; b"*3\r\n$9\r\nsubscribe\r\n$5\r\nticks\r\n:1\r\n".len()];
    exchange(&mut by_channel, subscribe, &mut confirmation);
    let psubscribe = b"*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\nt*\r\n";
    let mut confirmation = vec![0; b"*3\r\n$10\r\npsubscribe\r\n$2\r\nt*\r\n:1\r\n".len()];
    exchange(&mut by_pattern, psubscribe, &mut confirmation);

    let payload = [b'p'; 100];
    let mut publish = b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nticks\r\n$100\r\n".to_vec();
    publish.extend_from_slice(&payload);
    publish.extend_from_slice(b"\r\n");
    let message_len = b"*3\r\n$7\r\nmessage\r\n$5\r\nticks\r\n$100\r\n".len() + 102;
    let pmessage_len = b"*4\r\n$8\r\npmessage\r\n$2\r\nt*\r\n$5\r\nticks\r\n$100\r\n".len() + 102;
    let mut buffers = [vec![0; 4], vec![0; message_len], vec![0; pmessage_len]];

    // Warm up: every buffer on the path reaches its working size.
    for _ in 0..2_000 {
        round(
            &mut publisher,
            &mut by_channel,
            &mut by_pattern,
            &publish,
            &mut buffers,
        );
    }
    // Pipelined bursts too, so that batches of many commands have been seen.
    let burst: Vec<u8> = publish.repeat(64);
    let mut replies = vec![0; 4 * 64];
    let mut messages = vec![0; message_len * 64];
    let mut pmessages = vec![0; pmessage_len * 64];
    for _ in 0..50 {
        exchange(&mut publisher, &burst, &mut replies);
        by_channel.read_exact(&mut messages).unwrap();
        by_pattern.read_exact(&mut pmessages).unwrap();
    }

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..5_000 {
        round(
            &mut publisher,
            &mut by_channel,
            &mut by_pattern,
            &publish,
            &mut buffers,
        );
    }
    for _ in 0..100 {
        exchange(&mut publisher, &burst, &mut replies);
        by_channel.read_exact(&mut messages).unwrap();
        by_pattern.read_exact(&mut pmessages).unwrap();
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert!(
        buffers[1].ends_with(b"pp\r\n") && pmessages.ends_with(b"\r\n"),
        "the deliveries arrived"
    );
    assert_eq!(
        allocations, 0,
        "11,400 publishes with two deliveries each allocated {allocations} times"
    );
    server.shutdown();
    println!("server_alloc: 11,400 publishes, 22,800 deliveries, 0 allocations");
}
