//! `nanostream-journal`: inspect a NanoStream journal directory.
//!
//! A binary crate of its own, so that `clap` is not a dependency of the journal library. From the
//! workspace: `cargo run -p nanostream-journal-cli -- stats DIR`.
//!
//! ```text
//! nanostream-journal dump   DIR [--from OFFSET] [--limit N] [--preview BYTES]
//! nanostream-journal verify DIR
//! nanostream-journal stats  DIR
//! nanostream-journal tail   DIR [-n N] [-f]
//! nanostream-journal recover DIR [--segment-size BYTES]
//! ```
//! Every command but `recover` is read-only: it never takes the writer lock, so it can run beside
//! a live writer. `recover` opens the journal as its writer (so it is refused while one runs),
//! with [`JournalConfig::repair`] set, prints what recovery found and dropped, and closes it
//! cleanly.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nanostream_journal::{inspect, Error, Journal, JournalConfig, JournalReader, Record};

#[derive(Parser)]
#[command(
    name = "nanostream-journal",
    version,
    about = "Inspect a NanoStream journal directory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print records: offset, timestamp, size and a payload preview.
    Dump {
        /// The journal directory.
        dir: PathBuf,
        /// First offset to print (default: the first retained).
        #[arg(long)]
        from: Option<u64>,
        /// Print at most this many records.
        #[arg(long)]
        limit: Option<u64>,
        /// Payload bytes to preview.
        #[arg(long, default_value_t = 32)]
        preview: usize,
    },
    /// Check every record's length, sequence and CRC; report the first bad record.
    Verify {
        /// The journal directory.
        dir: PathBuf,
    },
    /// Segments, records, bytes, first and last offset.
    Stats {
        /// The journal directory.
        dir: PathBuf,
    },
    /// Print the last records; with -f, keep following new ones (Ctrl-C to stop).
    Tail {
        /// The journal directory.
        dir: PathBuf,
        /// How many of the last records to print first.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: u64,
        /// Follow: wait for and print new records as they are appended.
        #[arg(short = 'f', long)]
        follow: bool,
        /// Payload bytes to preview.
        #[arg(long, default_value_t = 32)]
        preview: usize,
    },
    /// Open the journal as its writer, recovering it as `Journal::open` does and also moving an
    /// unreadable newest segment aside; print what was dropped; close it cleanly.
    Recover {
        /// The journal directory.
        dir: PathBuf,
        /// Size of segments created from now on (default: that of the newest readable segment).
        #[arg(long)]
        segment_size: Option<u64>,
    },
}

/// Why the command failed: a journal error (exit 2) or a verification failure (exit 1).
enum Failure {
    Journal(Error),
    Output(io::Error),
    Invalid,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Journal(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(cli.command, &mut out).and_then(|()| out.flush().map_err(Failure::Output));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Output(e)) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Journal(e)) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Invalid) => {
            let _ = out.flush();
            ExitCode::from(1)
        }
    }
}

fn run(command: Command, out: &mut impl Write) -> Result<(), Failure> {
    match command {
        Command::Dump {
            dir,
            from,
            limit,
            preview,
        } => {
            let mut reader = JournalReader::open(&dir)?;
            if let Some(from) = from {
                reader.seek(from)?;
            }
            let mut printed = 0;
            while limit.is_none() || limit > Some(printed) {
                let Some(record) = reader.read_next()? else { break };
                print_record(out, &record, preview)?;
                printed += 1;
            }
            Ok(())
        }
        Command::Verify { dir } => {
            let segments = inspect(&dir)?;
            let mut records = 0;
            for s in &segments {
                records += s.records;
                if let Some(problem) = &s.problem {
                    writeln!(out, "FAILED: {problem}")?;
                    writeln!(
                        out,
                        "{} valid records before it; segment {} holds offsets {}..{} valid",
                        records,
                        s.path.display(),
                        s.base,
                        s.end_offset()
                    )?;
                    return Err(Failure::Invalid);
                }
                if !s.index_ok {
                    writeln!(
                        out,
                        "note: index of {} is missing or invalid (the next writer open rebuilds it)",
                        s.path.display()
                    )?;
                }
            }
            let range = match (segments.first(), segments.last()) {
                (Some(f), Some(l)) if l.end_offset() > f.base => {
                    format!("offsets {}..={}", f.base, l.end_offset() - 1)
                }
                _ => "no records".to_string(),
            };
            writeln!(
                out,
                "OK: {records} records in {} segments, every CRC valid ({range})",
                segments.len()
            )?;
            Ok(())
        }
        Command::Stats { dir } => {
            let segments = inspect(&dir)?;
            // Records are counted up to the first problem: what a reader can read in order.
            let first_bad = segments.iter().position(|s| s.problem.is_some());
            let readable = &segments[..first_bad.map_or(segments.len(), |i| i + 1)];
            let records: u64 = readable.iter().map(|s| s.records).sum();
            let file_bytes: u64 = segments.iter().map(|s| s.file_bytes).sum();
            let used_bytes: u64 = segments.iter().map(|s| s.used_bytes).sum();
            writeln!(out, "directory:     {}", dir.display())?;
            writeln!(out, "segments:      {}", segments.len())?;
            writeln!(out, "records:       {records}")?;
            writeln!(out, "bytes on disk: {file_bytes} (preallocated)")?;
            writeln!(out, "bytes used:    {used_bytes}")?;
            match (readable.first(), readable.last()) {
                (Some(f), Some(l)) if l.end_offset() > f.base => {
                    writeln!(out, "first offset:  {}", f.base)?;
                    writeln!(out, "last offset:   {}", l.end_offset() - 1)?;
                }
                _ => writeln!(out, "first offset:  (empty)\nlast offset:   (empty)")?,
            }
            if let Some((first, _)) = readable.iter().find_map(|s| s.timestamps) {
                writeln!(out, "first time:    {}", format_ns(first))?;
            }
            if let Some((_, last)) = readable.iter().rev().find_map(|s| s.timestamps) {
                writeln!(out, "last time:     {}", format_ns(last))?;
            }
            if first_bad.is_none() {
                return Ok(());
            }
            let beyond: u64 = segments[readable.len()..].iter().map(|s| s.records).sum();
            for s in segments.iter().filter(|s| s.problem.is_some()) {
                if let Some(problem) = &s.problem {
                    writeln!(out, "problem:       {problem}")?;
                }
            }
            writeln!(
                out,
                "records past the first problem: {beyond} (not counted above; run `verify`)"
            )?;
            Err(Failure::Invalid)
        }
        Command::Recover { dir, segment_size } => recover(&dir, segment_size, out),
        Command::Tail {
            dir,
            lines,
            follow,
            preview,
        } => {
            // From the index near the end: O(lines) records read, whatever the journal's size.
            let mut reader = JournalReader::open(&dir)?;
            let first = reader.position();
            let end = reader.end_offset()?;
            reader.seek(end.saturating_sub(lines).max(first))?;
            loop {
                let record = if follow {
                    out.flush()?;
                    reader.wait_next(Duration::from_millis(500))?
                } else {
                    reader.read_next()?
                };
                match record {
                    Some(record) => print_record(out, &record, preview)?,
                    None if follow => continue,
                    None => return Ok(()),
                }
            }
        }
    }
}

/// `recover`: opens the journal as its writer with repair on, reports, closes it cleanly.
fn recover(dir: &std::path::Path, segment_size: Option<u64>, out: &mut impl Write) -> Result<(), Failure> {
    let segments = inspect(dir)?;
    let size = segment_size.or_else(|| {
        segments
            .iter()
            .rev()
            .find(|s| s.file_bytes > 0)
            .map(|s| s.file_bytes)
    });
    let mut config = JournalConfig::new().create(false).repair(true);
    if let Some(size) = size {
        config = config.segment_size(size);
    }
    let journal = Journal::open(dir, config)?;
    let report = journal.open_report();
    writeln!(
        out,
        "{}: {}; next offset {}",
        dir.display(),
        if report.scanned {
            "recovered as after a crash (no clean shutdown, or the tail did not match it)"
        } else {
            "clean shutdown, the tail matched it"
        },
        report.next_offset
    )?;
    match &report.dropped {
        Some(dropped) => writeln!(out, "{dropped}")?,
        None => writeln!(out, "nothing dropped")?,
    }
    journal.close()?;
    let problems: Vec<_> = inspect(dir)?.into_iter().filter_map(|s| s.problem).collect();
    for p in &problems {
        writeln!(
            out,
            "still damaged (recovery keeps sealed segments as they are): {p}"
        )?;
    }
    Ok(())
}

fn print_record(out: &mut impl Write, record: &Record<'_>, preview: usize) -> io::Result<()> {
    let shown = &record.payload[..record.payload.len().min(preview)];
    let hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = shown
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let more = if shown.len() < record.payload.len() {
        "…"
    } else {
        ""
    };
    writeln!(
        out,
        "offset={} time={} size={} payload={hex}{more} |{text}|",
        record.offset,
        format_ns(record.timestamp),
        record.payload.len()
    )
}

/// Formats ns since the Unix epoch as RFC 3339 UTC.
fn format_ns(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
