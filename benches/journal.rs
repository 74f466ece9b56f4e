//! Journal append throughput under each durability policy, beside the floor measured in the same
//! run on the same disk: plain sequential `write()` of the same bytes (the same record framing)
//! with the same fsync cadence.
//!
//! Part 1: `Journal::append_at` (one clock read per batch, as `JournalHandler` does) + `commit()`
//! every 100 records (a "batch"), for 64 B, 256 B and
//! 1 KiB payloads, 64 MiB of payload per run, 32 MiB segments (so rotation, with its
//! preallocation and fsyncs, is inside the timed region).
//! Part 2: 100-byte events through a NanoStream pipeline: producer → `JournalHandler`
//! (`EveryBatch`, group commit) → business stage gated on the durable watermark.
//!
//! Part 3 (only with `NSJ_BENCH_ONLY=seal`): `Never` with 1 and 8 MiB segments, with and without
//! the fdatasync of each segment as it is sealed. `NSJ_BENCH_ONLY=tail`: the last record of a
//! 256 MiB journal found by checking every record and from the index. `NSJ_BENCH_ONLY=open`:
//! `Journal::open` of a half-full 64 MiB tail segment after a clean close and after a crash.
//!
//! Run: `cargo bench --bench journal` (files go to `$NSJ_BENCH_DIR`, default the system temp dir).
//! Prints a Markdown table; `benches/README.md` records the figures with the machine.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nanostream::{build_single_producer, BlockingWaitStrategy, Producer};
use nanostream_journal::{BytesCodec, Durability, Journal, JournalConfig, JournalHandler};

const BATCH: usize = 100;
const PAYLOAD_BYTES: usize = 64 << 20;
/// Half the payload: every journal run rotates (and preallocates) twice inside the timed region.
const SEGMENT_BYTES: u64 = 32 << 20;
const RUNS: usize = 3;

fn bench_dir() -> PathBuf {
    std::env::var_os("NSJ_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("nsj-bench-{}", std::process::id()))
}

#[derive(Clone, Copy)]
enum Policy {
    Never,
    EveryBatch,
    EveryN(u64),
    Interval(Duration),
}

impl Policy {
    fn name(self) -> String {
        match self {
            Policy::Never => "Never".into(),
            Policy::EveryBatch => format!("EveryBatch ({BATCH} records)"),
            Policy::EveryN(n) => format!("EveryN({n})"),
            Policy::Interval(d) => format!("Interval({d:?})"),
        }
    }
    fn durability(self) -> Durability {
        match self {
            Policy::Never => Durability::Never,
            Policy::EveryBatch => Durability::EveryBatch,
            Policy::EveryN(n) => Durability::EveryN(n),
            Policy::Interval(d) => Durability::Interval(d),
        }
    }
}

/// Nanoseconds since the Unix epoch.
fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Appends `n` records of `size` bytes; returns the time until everything is durable under the
/// policy (close included for the policies that sync).
fn journal_run(dir: &Path, policy: Policy, size: usize, n: usize) -> Duration {
    let _ = std::fs::remove_dir_all(dir);
    let config = JournalConfig::new()
        .segment_size(SEGMENT_BYTES)
        .durability(policy.durability());
    let mut j = Journal::open(dir, config).expect("open");
    let payload = vec![0xA5u8; size];
    let start = Instant::now();
    let mut timestamp = 0;
    for i in 0..n {
        // One clock read per batch, as `JournalHandler` does (`on_batch_start`): the records of
        // a batch share the time it reached the journal.
        if i % BATCH == 0 {
            timestamp = wall_clock_ns();
        }
        j.append_at(timestamp, &payload).expect("append");
        if i % BATCH == BATCH - 1 {
            j.commit().expect("commit");
        }
    }
    j.commit().expect("commit");
    if !matches!(policy, Policy::Never) {
        j.sync().expect("final sync");
    }
    let elapsed = start.elapsed();
    drop(j);
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

/// The floor: one `write()` per batch of the same framed bytes, fsync at the same cadence.
fn floor_run(dir: &Path, policy: Policy, size: usize, n: usize) -> Duration {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    let path = dir.join("floor.log");
    let mut f: File = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("open floor file");
    let span = (nanostream_journal::RECORD_HEADER_LEN + size + 7) & !7;
    let batch = vec![0xA5u8; span * BATCH];
    let start = Instant::now();
    let mut last_sync = Instant::now();
    let mut since_sync = 0u64;
    let mut written = 0;
    while written < n {
        let k = BATCH.min(n - written);
        f.write_all(&batch[..span * k]).expect("write");
        written += k;
        since_sync += k as u64;
        match policy {
            Policy::Never => {}
            Policy::EveryBatch => f.sync_data().expect("fdatasync"),
            Policy::EveryN(m) => {
                if since_sync >= m {
                    f.sync_data().expect("fdatasync");
                    since_sync = 0;
                }
            }
            Policy::Interval(d) => {
                if last_sync.elapsed() >= d {
                    f.sync_data().expect("fdatasync");
                    last_sync = Instant::now();
                }
            }
        }
    }
    if !matches!(policy, Policy::Never) {
        f.sync_data().expect("final fdatasync");
    }
    let elapsed = start.elapsed();
    drop(f);
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(n: usize, size: usize, d: Duration) -> (f64, f64) {
    let s = d.as_secs_f64();
    (n as f64 / s, (n * size) as f64 / s / 1e6)
}

/// Under `EveryBatch`, the cost of rotation as the appender sees it: the append that rotates
/// (seal, fdatasync, install of the next segment) and the first `commit()` after it (which must not
/// write back a segment of prefaulted zeros). Returns (rotating append, first commit).
fn rotation_commit_run(dir: &Path, size: usize) -> (Duration, Duration) {
    let _ = std::fs::remove_dir_all(dir);
    let config = JournalConfig::new()
        .segment_size(SEGMENT_BYTES)
        .durability(Durability::EveryBatch);
    let mut j = Journal::open(dir, config).expect("open");
    let payload = vec![0xA5u8; size];
    let mut i = 0usize;
    let rotating = loop {
        let segments = j.segment_count();
        let t = Instant::now();
        j.append(&payload).expect("append");
        let d = t.elapsed();
        i += 1;
        if j.segment_count() != segments {
            break d;
        }
        if i.is_multiple_of(BATCH) {
            j.commit().expect("commit");
        }
    };
    for _ in 1..BATCH {
        j.append(&payload).expect("append");
    }
    let t = Instant::now();
    j.commit().expect("commit");
    let commit = t.elapsed();
    drop(j);
    let _ = std::fs::remove_dir_all(dir);
    (rotating, commit)
}

/// 100-byte events through producer → journal (EveryBatch) → gated business stage.
fn pipeline_run(dir: &Path, events: u64) -> Duration {
    let _ = std::fs::remove_dir_all(dir);
    let config = JournalConfig::new()
        .segment_size(SEGMENT_BYTES)
        .durability(Durability::EveryBatch);
    let journal = Journal::open(dir, config).expect("open");
    let (journaller, status) = JournalHandler::new(journal, BytesCodec);
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = Arc::clone(&seen);
    let mut producer = build_single_producer(1 << 16, || [0u8; 100], BlockingWaitStrategy::new())
        .handle_events_with(journaller)
        .and_then()
        .depends_on(&status.durable_watermark())
        .handle_events_with(move |e: &[u8; 100], _: i64, _: bool| {
            seen2.fetch_add(u64::from(e[0]), Ordering::Relaxed);
        })
        .build()
        .expect("pipeline");
    let start = Instant::now();
    for i in 0..events {
        producer.publish(|e, _| e[0] = (i & 1) as u8).expect("publish");
    }
    producer.shutdown().expect("shutdown");
    let elapsed = start.elapsed();
    assert_eq!(seen.load(Ordering::Relaxed), events / 2);
    assert_eq!(status.durable_watermark().get(), events as i64 - 1);
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

/// Under `Never` with `segment` -byte segments: appends `n` records of `size` bytes (commit every
/// batch) with or without the fdatasync of each segment as it is sealed
/// ([`JournalConfig::seal_sync`]); returns the time of the appends (nothing is synced at the end:
/// `Never`).
fn seal_sync_run(dir: &Path, segment: u64, size: usize, n: usize, seal_sync: bool) -> Duration {
    let _ = std::fs::remove_dir_all(dir);
    let config = JournalConfig::new()
        .segment_size(segment)
        .durability(Durability::Never)
        .seal_sync(seal_sync);
    let mut j = Journal::open(dir, config).expect("open");
    let payload = vec![0xA5u8; size];
    let start = Instant::now();
    let mut timestamp = 0;
    for i in 0..n {
        if i % BATCH == 0 {
            timestamp = wall_clock_ns();
        }
        j.append_at(timestamp, &payload).expect("append");
        if i % BATCH == BATCH - 1 {
            j.commit().expect("commit");
        }
    }
    j.commit().expect("commit");
    let elapsed = start.elapsed();
    drop(j);
    let _ = std::fs::remove_dir_all(dir);
    elapsed
}

/// `NSJ_BENCH_ONLY=seal`: `Never` with small segments, with and without the seal-time fdatasync,
/// alternating in one run.
fn seal_sync_table(root: &Path) {
    const SEAL_RUNS: usize = 5;
    println!("| payload | segment | seal fdatasync | rec/s | MB/s | with ÷ without |");
    println!("|---|---|---|---:|---:|---:|");
    for size in [64usize, 1024] {
        let n = PAYLOAD_BYTES / size;
        for segment in [1u64 << 20, 8 << 20] {
            let (mut on, mut off) = (Vec::new(), Vec::new());
            for _ in 0..SEAL_RUNS {
                off.push(seal_sync_run(&root.join("s"), segment, size, n, false));
                on.push(seal_sync_run(&root.join("s"), segment, size, n, true));
            }
            let (on, off) = (median(on), median(off));
            for (label, d) in [("no", off), ("yes", on)] {
                let (r, m) = rate(n, size, d);
                println!(
                    "| {size} B | {} MiB | {label} | {:.2} M | {m:.0} | {} |",
                    segment >> 20,
                    r / 1e6,
                    if label == "yes" {
                        format!("{:.2}", off.as_secs_f64() / on.as_secs_f64())
                    } else {
                        "—".to_string()
                    }
                );
            }
        }
    }
    println!(
        "(median of {SEAL_RUNS}, {} MiB of payload per run)",
        PAYLOAD_BYTES >> 20
    );
}

/// `NSJ_BENCH_ONLY=tail`: the last record of a 256 MiB journal, found by checking every record
/// (`inspect`, as `tail -n` did) and from the newest segment's index (`end_offset` + `seek`).
fn tail_table(root: &Path) {
    let dir = root.join("t");
    let _ = std::fs::remove_dir_all(&dir);
    let size = 256usize;
    let n = (256usize << 20) / size;
    let config = JournalConfig::new()
        .segment_size(SEGMENT_BYTES)
        .durability(Durability::Never);
    let mut j = Journal::open(&dir, config).expect("open");
    let payload = vec![0x5Au8; size];
    for _ in 0..n {
        j.append(&payload).expect("append");
    }
    j.close().expect("close");
    let mut scan = Vec::new();
    let mut index = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let segments = nanostream_journal::inspect(&dir).expect("inspect");
        let end = segments.last().expect("segments").end_offset();
        let mut r = nanostream_journal::JournalReader::open(&dir).expect("reader");
        r.seek(end - 1).expect("seek");
        assert_eq!(r.read_next().expect("read").expect("record").offset, n as u64 - 1);
        scan.push(t.elapsed());
        let t = Instant::now();
        let mut r = nanostream_journal::JournalReader::open(&dir).expect("reader");
        let end = r.end_offset().expect("end");
        r.seek(end - 1).expect("seek");
        assert_eq!(r.read_next().expect("read").expect("record").offset, n as u64 - 1);
        index.push(t.elapsed());
    }
    println!(
        "last record of a {} MiB journal ({n} records of {size} B, {} MiB segments, in the page \
         cache): every record checked {:.1} ms, from the index {:.3} ms (median of {RUNS})",
        (n * (size + 24)) >> 20,
        SEGMENT_BYTES >> 20,
        median(scan).as_secs_f64() * 1e3,
        median(index).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `NSJ_BENCH_ONLY=open`: `Journal::open` of a 64 MiB tail segment half full (256 B records),
/// after a clean close and after a crash (a drop); every open checks the whole tail.
fn open_table(root: &Path) {
    let dir = root.join("o");
    let _ = std::fs::remove_dir_all(&dir);
    let config = JournalConfig::new().segment_size(64 << 20);
    let mut j = Journal::open(&dir, config.clone()).expect("open");
    let payload = vec![0x3Cu8; 256];
    let n = (32usize << 20) / (256 + 24);
    for _ in 0..n {
        j.append(&payload).expect("append");
    }
    j.close().expect("close");
    let (mut clean, mut crash) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let j = Journal::open(&dir, config.clone()).expect("open");
        clean.push(t.elapsed());
        assert!(!j.open_report().scanned);
        drop(j); // a crash: the next open finds no marker
        let t = Instant::now();
        let j = Journal::open(&dir, config.clone()).expect("open");
        crash.push(t.elapsed());
        assert!(j.open_report().scanned);
        j.close().expect("close");
    }
    println!(
        "Journal::open of a 64 MiB tail segment holding {n} records of 256 B (32 MiB, in the page \
         cache): after close {:.1} ms, after a crash {:.1} ms (median of {RUNS})",
        median(clean).as_secs_f64() * 1e3,
        median(crash).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probe
    }
    let root = bench_dir();
    match std::env::var("NSJ_BENCH_ONLY").as_deref() {
        Ok("seal") => {
            seal_sync_table(&root);
            let _ = std::fs::remove_dir_all(&root);
            return;
        }
        Ok("open") => {
            open_table(&root);
            let _ = std::fs::remove_dir_all(&root);
            return;
        }
        Ok("tail") => {
            tail_table(&root);
            let _ = std::fs::remove_dir_all(&root);
            return;
        }
        _ => {}
    }
    // `NSJ_BENCH_ONLY=never` runs only the `Never` rows (for quick iterations).
    let only_never = std::env::var("NSJ_BENCH_ONLY").is_ok_and(|v| v == "never");
    let all = [
        Policy::Never,
        Policy::EveryBatch,
        Policy::EveryN(1000),
        Policy::Interval(Duration::from_millis(10)),
    ];
    let policies = if only_never { &all[..1] } else { &all[..] };
    println!(
        "| payload | policy | journal rec/s | journal MB/s | floor rec/s | floor MB/s | journal / floor |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for size in [64usize, 256, 1024] {
        let n = PAYLOAD_BYTES / size;
        for &policy in policies {
            let mut j = Vec::new();
            let mut f = Vec::new();
            for _ in 0..RUNS {
                // Alternate, so drift in the machine affects both alike.
                j.push(journal_run(&root.join("j"), policy, size, n));
                f.push(floor_run(&root.join("f"), policy, size, n));
            }
            let (jd, fd) = (median(j), median(f));
            let ((jr, jm), (fr, fm)) = (rate(n, size, jd), rate(n, size, fd));
            println!(
                "| {size} B | {} | {:.2} M | {jm:.0} | {:.2} M | {fm:.0} | {:.2} |",
                policy.name(),
                jr / 1e6,
                fr / 1e6,
                fd.as_secs_f64() / jd.as_secs_f64()
            );
        }
    }
    if only_never {
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    println!();
    println!("| payload | EveryBatch: the append that rotates | the first commit after it |");
    println!("|---|---:|---:|");
    for size in [64usize, 1024] {
        let runs: Vec<(Duration, Duration)> = (0..RUNS)
            .map(|_| rotation_commit_run(&root.join("r"), size))
            .collect();
        let rot = median(runs.iter().map(|r| r.0).collect());
        let com = median(runs.iter().map(|r| r.1).collect());
        println!(
            "| {size} B | {:.2} ms | {:.2} ms |",
            rot.as_secs_f64() * 1e3,
            com.as_secs_f64() * 1e3
        );
    }
    let events = 2_000_000u64;
    let runs: Vec<Duration> = (0..RUNS).map(|_| pipeline_run(&root.join("p"), events)).collect();
    let d = median(runs);
    println!();
    println!(
        "pipeline, 100 B events, EveryBatch (group commit), ring 65536, blocking wait: \
         {events} events in {:.3} s = {:.2} M events/s ({:.0} MB/s of payload), median of {RUNS}",
        d.as_secs_f64(),
        events as f64 / d.as_secs_f64() / 1e6,
        events as f64 * 100.0 / d.as_secs_f64() / 1e6
    );
    let _ = std::fs::remove_dir_all(&root);
}
