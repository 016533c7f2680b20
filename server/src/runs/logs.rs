//! Log lines of a run's user code (its stdout and stderr), kept with bounds:
//! the newest lines in memory for live readers, the first `log_max_lines`
//! in PostgreSQL. Anything past a bound is counted, never buffered.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::Utc;
use sqlx::PgPool;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::db::{self, LogLine};

/// Lines handed to the writer but not yet in PostgreSQL, at most.
const PERSIST_QUEUE: usize = 4096;
/// Lines written per INSERT.
const PERSIST_BATCH: usize = 500;

struct Inner {
    ring: VecDeque<LogLine>,
    last_seq: i64,
    /// Lines handed to the writer so far.
    queued: i64,
    /// Lines that are not in PostgreSQL (over the limit, or the writer
    /// could not keep up).
    dropped: i64,
}

/// The log of one run.
pub struct Logs {
    memory_lines: usize,
    max_lines: i64,
    inner: Mutex<Inner>,
    writer: Mutex<Option<mpsc::Sender<LogLine>>>,
}

impl Logs {
    /// A log whose lines are written to PostgreSQL by the returned task.
    pub fn new(pool: PgPool, run_id: i64, memory_lines: usize, max_lines: i64) -> (Logs, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(PERSIST_QUEUE);
        let task = tokio::spawn(persist(pool, run_id, rx));
        let logs = Logs {
            memory_lines: memory_lines.max(1),
            max_lines,
            inner: Mutex::new(Inner { ring: VecDeque::new(), last_seq: 0, queued: 0, dropped: 0 }),
            writer: Mutex::new(Some(tx)),
        };
        (logs, task)
    }

    /// Adds a line; returns it with its seq, for live readers.
    pub fn push(&self, stream: &'static str, text: String) -> LogLine {
        let mut inner = self.inner.lock().expect("log lock");
        inner.last_seq += 1;
        let line = LogLine { seq: inner.last_seq, stream, at: Utc::now(), text };
        if inner.ring.len() == self.memory_lines {
            inner.ring.pop_front();
        }
        inner.ring.push_back(line.clone());
        let sent = inner.queued < self.max_lines
            && self.writer.lock().expect("writer lock").as_ref().is_some_and(|w| w.try_send(line.clone()).is_ok());
        if sent {
            inner.queued += 1;
        } else {
            inner.dropped += 1;
        }
        line
    }

    /// Lines after `after` still in memory, at most `limit`.
    pub fn recent(&self, after: i64, limit: usize) -> Vec<LogLine> {
        let inner = self.inner.lock().expect("log lock");
        inner.ring.iter().filter(|l| l.seq > after).take(limit).cloned().collect()
    }

    /// (last seq, lines not kept in PostgreSQL).
    pub fn counts(&self) -> (i64, i64) {
        let inner = self.inner.lock().expect("log lock");
        (inner.last_seq, inner.dropped)
    }

    /// No more lines: the writer finishes what it has, then ends.
    pub fn close(&self) {
        self.writer.lock().expect("writer lock").take();
    }
}

async fn persist(pool: PgPool, run_id: i64, mut rx: mpsc::Receiver<LogLine>) {
    let mut batch = Vec::with_capacity(PERSIST_BATCH);
    while rx.recv_many(&mut batch, PERSIST_BATCH).await > 0 {
        if let Err(e) = db::insert_logs(&pool, run_id, &batch).await {
            tracing::warn!(run_id, error = %e, lines = batch.len(), "could not store log lines");
        }
        batch.clear();
    }
}

/// Splits a byte stream into lines of at most `max_bytes` (longer lines
/// are cut and marked with `…`; the rest of such a line is skipped).
pub struct LineSplitter {
    buf: Vec<u8>,
    max_bytes: usize,
    skipping: bool,
}

impl LineSplitter {
    pub fn new(max_bytes: usize) -> Self {
        LineSplitter { buf: Vec::new(), max_bytes: max_bytes.max(16), skipping: false }
    }

    /// Feeds bytes; calls `emit` with every complete line.
    pub fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String)) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let (chunk, rest, ends) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            if !self.skipping {
                let room = self.max_bytes - self.buf.len();
                self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room {
                    let mut line = text(&self.buf);
                    line.push('…');
                    emit(line);
                    self.buf.clear();
                    self.skipping = !ends;
                } else if ends {
                    emit(text(&self.buf));
                    self.buf.clear();
                }
            } else if ends {
                self.skipping = false;
            }
            bytes = rest;
        }
    }

    /// The end of the stream: a last line without a newline.
    pub fn finish(&mut self, emit: &mut impl FnMut(String)) {
        if !self.buf.is_empty() {
            emit(text(&self.buf));
            self.buf.clear();
        }
    }
}

/// UTF-8 text PostgreSQL can store: invalid bytes and NULs replaced, a
/// trailing CR dropped.
fn text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).replace('\0', "\u{FFFD}")
}

/// Reads `reader` to its end, calling `emit` per line.
pub async fn pump(mut reader: impl AsyncRead + Unpin, max_bytes: usize, mut emit: impl FnMut(String)) {
    let mut splitter = LineSplitter::new(max_bytes);
    let mut chunk = vec![0u8; 8192];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => splitter.feed(&chunk[..n], &mut emit),
        }
    }
    splitter.finish(&mut emit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, parts: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for p in parts {
            s.feed(p, &mut |l| out.push(l));
        }
        s.finish(&mut |l| out.push(l));
        out
    }

    #[test]
    fn lines_across_chunks() {
        assert_eq!(split(100, &[b"ab", b"c\nde\r\n", b"\n", b"tail"]), ["abc", "de", "", "tail"]);
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let long = [b'x'; 40];
        let got = split(16, &[&long, &long, b"yy\nok\n"]);
        assert_eq!(got, [format!("{}…", "x".repeat(16)), "ok".to_string()]);
        // Exactly at the limit is not cut.
        assert_eq!(split(16, &[&[b'z'; 16], b"\n"]), ["z".repeat(16)]);
    }

    #[test]
    fn invalid_utf8_and_nul_become_replacement_characters() {
        assert_eq!(split(100, &[b"a\xffb\0c\n"]), ["a\u{FFFD}b\u{FFFD}c"]);
    }
}
