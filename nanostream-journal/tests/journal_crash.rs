//! The crash loop: a child process appends with `EveryBatch` and reports each durable offset;
//! the parent kills it with SIGKILL at a random moment, reopens, and checks that every offset
//! reported durable is there, in order, with the right payload, and that offsets are contiguous.
//!
//! Half the rounds use the plain `Journal` API (durable = `commit()` returned); the other half a
//! NanoStream pipeline where a business stage gated on the journal's durable watermark reports
//! each event it sees (the LMAX pattern: it must only ever see durable events).
//!
//! `NSJ_CRASH_ROUNDS` sets the number of rounds (default 50); `NSJ_SEED` replays a run.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{tagged, ChildLines, KillOnDrop, Rng, TempDir};
use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
use nanostream_journal::{BytesCodec, Durability, Journal, JournalConfig, JournalHandler, JournalReader};

const CHILD_DIR: &str = "NSJ_CRASH_DIR";
const CHILD_MODE: &str = "NSJ_CRASH_MODE";

fn config() -> JournalConfig {
    JournalConfig::new()
        .segment_size(256 << 10)
        .index_interval(1024)
        .durability(Durability::EveryBatch)
}

/// The payload at `offset`: the offset itself, then a pattern, 8..=64 bytes.
fn payload(offset: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&offset.to_le_bytes());
    let extra = (offset % 57) as usize;
    out.extend((0..extra).map(|i| (offset as u8).wrapping_add(i as u8)));
}

/// The child: appends forever, printing `DURABLE <offset>` for each durable record.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return; // only runs as the parent's child
    };
    let mode = std::env::var(CHILD_MODE).unwrap_or_default();
    let mut rng = Rng::new(std::process::id().into());
    let journal = Journal::open(&dir, config()).expect("child open");
    let start = journal.next_offset();
    if mode == "pipeline" {
        let (journaller, handle) = JournalHandler::new(journal, BytesCodec);
        let mut producer = build_single_producer(256, Vec::new, BlockingWaitStrategy::new())
            .handle_events_with(journaller)
            .and_then()
            .depends_on(&handle.durable_watermark())
            .handle_events_with(move |_: &Vec<u8>, seq: i64, end: bool| {
                let mut out = std::io::stdout().lock();
                writeln!(out, "DURABLE {}", start + seq as u64).expect("report");
                if end {
                    out.flush().expect("flush");
                }
            })
            .build()
            .expect("pipeline");
        for offset in start.. {
            producer.publish(|e, _| payload(offset, e)).expect("publish");
        }
    } else {
        let mut journal = journal;
        let mut out = std::io::stdout().lock();
        let mut buf = Vec::new();
        let mut offset = start;
        loop {
            for _ in 0..rng.range(1, 16) {
                payload(offset, &mut buf);
                assert_eq!(journal.append(&buf).expect("append"), offset);
                offset += 1;
            }
            journal.commit().expect("commit");
            writeln!(out, "DURABLE {}", offset - 1).expect("report");
            out.flush().expect("flush");
        }
    }
}

/// Checks the whole journal: offsets 0..next contiguous, payloads right.
fn verify(dir: &Path, next: u64) {
    let mut r = JournalReader::open(dir).expect("reader");
    let mut expected = Vec::new();
    let mut n = 0;
    while let Some(rec) = r.read_next().expect("read") {
        assert_eq!(rec.offset, n, "contiguous offsets");
        payload(n, &mut expected);
        assert_eq!(rec.payload, &expected[..], "payload of offset {n}");
        n += 1;
    }
    assert_eq!(n, next, "the reader sees exactly the recovered records");
}

#[test]
fn crash_loop_keeps_every_durable_record() {
    let rounds: u32 = std::env::var("NSJ_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut rng = Rng::from_env("crash_loop");
    let tmp = TempDir::new("crash");
    let dir = tmp.join("journal");
    let exe = std::env::current_exe().expect("test binary");
    let mut durable: Option<u64> = None;
    let mut killed_while_writing = 0;
    for round in 0..rounds {
        let mode = if round % 2 == 0 { "journal" } else { "pipeline" };
        let mut child = KillOnDrop(
            Command::new(&exe)
                .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_DIR, &dir)
                .env(CHILD_MODE, mode)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn child"),
        );
        let lines = ChildLines::new(child.0.stdout.take().expect("child stdout"));
        let reports = rng.range(0, 40);
        let mut seen = 0;
        while seen < reports {
            let line = lines.next_line(Duration::from_secs(60));
            if let Some(offset) = tagged(&line, "DURABLE ") {
                let offset: u64 = offset.parse().expect("offset");
                assert!(durable.is_none_or(|d| offset > d), "reports go forward");
                durable = Some(offset);
                seen += 1;
            }
        }
        // A random extra moment, so the kill lands anywhere in the append/sync cycle.
        let spin = Instant::now() + Duration::from_micros(rng.range(0, 3000));
        while Instant::now() < spin {
            std::hint::spin_loop();
        }
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().expect("reap");
        assert!(!status.success(), "the child was killed");
        if reports > 0 {
            killed_while_writing += 1;
        }

        let journal = Journal::open(&dir, config()).expect("recover after SIGKILL");
        let next = journal.next_offset();
        if let Some(d) = durable {
            assert!(
                next > d,
                "round {round}: offset {d} was reported durable, next is {next}"
            );
        }
        if rng.range(0, 2) == 0 {
            journal.close().expect("close");
        } else {
            drop(journal);
        }
        verify(&dir, next);
    }
    assert!(killed_while_writing > rounds / 2);
    eprintln!("crash loop: {rounds} rounds, last durable offset {durable:?}");
}
