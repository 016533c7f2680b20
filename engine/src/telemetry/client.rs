//! The connection to the studio server and the thread that owns it.
//!
//! One thread per process writes everything: it takes sampled records from
//! the workers' queue, reads the metrics counters every
//! [`METRICS_INTERVAL`], and writes the last message when the run ends. A
//! second thread per connection reads the server's `sample` requests. If
//! the server goes away, messages are dropped (and counted) and the writer
//! tries to connect again at most once every [`RECONNECT_INTERVAL`]; the
//! workers never notice.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::message::{Incoming, Message};
use super::metrics::Hub;

pub const METRICS_INTERVAL: Duration = Duration::from_millis(500);
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);
/// A server that doesn't read for this long is treated as gone, so a stuck
/// server can't hold up the end of a run for long either.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the end of a run waits for its last messages to go out.
const FINISH_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest line accepted from the server; longer ones are skipped.
const MAX_LINE: u64 = 1 << 20;

/// Failures of the channel. The studio server (or its absence) is at
/// fault for all of them, and none stops the run: each is logged once.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(
        "rillet: can't connect to the studio at {path} ({source}); the run goes on without live \
         metrics and records, retrying once a second (unset RILLET_TELEMETRY_SOCKET to run without the studio)"
    )]
    Connect { path: String, source: std::io::Error },
    #[error(
        "rillet: lost the connection to the studio at {path} ({source}); the run goes on, \
         reconnecting at most once a second"
    )]
    Lost { path: String, source: std::io::Error },
}

/// Where to connect, from the environment the studio gives a run.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub path: PathBuf,
    pub token: Option<String>,
}

impl Endpoint {
    pub const SOCKET_VAR: &'static str = "RILLET_TELEMETRY_SOCKET";
    pub const TOKEN_VAR: &'static str = "RILLET_TELEMETRY_TOKEN";

    pub fn from_env() -> Option<Endpoint> {
        let path = std::env::var_os(Self::SOCKET_VAR).filter(|p| !p.is_empty())?;
        Some(Endpoint { path: PathBuf::from(path), token: std::env::var(Self::TOKEN_VAR).ok() })
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

/// Logs each kind of channel failure once per process run.
#[derive(Default)]
struct Complaints {
    connect: bool,
    lost: bool,
}

impl Complaints {
    fn say(&mut self, err: ChannelError) {
        let said = match err {
            ChannelError::Connect { .. } => &mut self.connect,
            ChannelError::Lost { .. } => &mut self.lost,
        };
        if !std::mem::replace(said, true) {
            eprintln!("{err}");
        }
    }
}

/// A live connection and the thread reading from it.
struct Conn {
    stream: UnixStream,
    reader: JoinHandle<()>,
}

impl Conn {
    fn close(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        let _ = self.reader.join();
    }
}

/// The writing thread's state.
struct Writer {
    hub: Arc<Hub>,
    endpoint: Endpoint,
    hello: Vec<u8>,
    conn: Option<Conn>,
    last_attempt: Instant,
    /// Bumped per connection, so a reader of an old connection doesn't
    /// turn off sampling that a newer connection asked for.
    generation: Arc<AtomicU64>,
    /// Messages taken from the queue but not sent: no connection.
    unsent: u64,
    complaints: Complaints,
}

impl Writer {
    fn connect(&mut self) {
        self.last_attempt = Instant::now();
        let stream = match UnixStream::connect(&self.endpoint.path) {
            Ok(stream) => stream,
            Err(source) => return self.complaints.say(ChannelError::Connect { path: self.endpoint.shown(), source }),
        };
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let reading = match stream.try_clone() {
            Ok(s) => s,
            Err(source) => return self.complaints.say(ChannelError::Connect { path: self.endpoint.shown(), source }),
        };
        let generation = self.generation.fetch_add(1, SeqCst) + 1;
        let (hub, generations) = (Arc::clone(&self.hub), Arc::clone(&self.generation));
        let reader = std::thread::Builder::new()
            .name("rillet-telemetry-read".into())
            .spawn(move || read_requests(reading, &hub, &generations, generation));
        let Ok(reader) = reader else { return };
        self.conn = Some(Conn { stream, reader });
        // The first line of every connection says who we are.
        let hello = self.hello.clone();
        self.write(&hello);
    }

    fn write(&mut self, line: &[u8]) {
        let Some(conn) = &mut self.conn else {
            self.unsent += 1;
            return;
        };
        if let Err(source) = conn.stream.write_all(line) {
            self.unsent += 1;
            self.complaints.say(ChannelError::Lost { path: self.endpoint.shown(), source });
            if let Some(conn) = self.conn.take() {
                conn.close();
            }
        }
    }

    fn send(&mut self, message: &Message) {
        if self.conn.is_none() {
            self.unsent += 1;
            return;
        }
        self.write(&message.encode());
    }

    fn send_metrics(&mut self) {
        let dropped = self.hub.queue.refused() + self.unsent;
        let metrics = Message::Metrics(self.hub.metrics(crate::runtime::now_secs(), dropped));
        self.send(&metrics);
    }

    fn run(mut self, last: Arc<Mutex<Option<Message>>>) {
        let mut taken = Vec::new();
        let mut next_metrics = Instant::now() + METRICS_INTERVAL;
        loop {
            let wait = next_metrics.saturating_duration_since(Instant::now());
            let closed = self.hub.queue.take_all(wait, &mut taken);
            if self.conn.is_none() && self.last_attempt.elapsed() >= RECONNECT_INTERVAL {
                self.connect();
            }
            for records in taken.drain(..) {
                self.send(&Message::Records(records));
            }
            if closed {
                break;
            }
            if Instant::now() >= next_metrics {
                self.send_metrics();
                next_metrics = Instant::now() + METRICS_INTERVAL;
            }
        }
        // The run is over: final counts, then why it ended.
        self.send_metrics();
        if let Some(message) = last.lock().unwrap_or_else(|p| p.into_inner()).take() {
            self.send(&message);
        }
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.stream.flush();
            conn.close();
        }
    }
}

/// Apply the server's requests until the connection ends.
fn read_requests(stream: UnixStream, hub: &Hub, generations: &AtomicU64, generation: u64) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if !line.ends_with(b"\n") && line.len() as u64 >= MAX_LINE => {
                // Too long to be a request of ours: skip the rest of it.
                let mut rest = Vec::new();
                while reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut rest).is_ok_and(|n| n > 0) {
                    if rest.ends_with(b"\n") {
                        break;
                    }
                    rest.clear();
                }
            }
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                if let Some(Incoming::Sample { steps }) = Incoming::parse(text.trim()) {
                    if generations.load(SeqCst) == generation {
                        hub.sample_only(&steps);
                    }
                }
            }
        }
    }
    // Nobody is watching any more.
    if generations.load(SeqCst) == generation {
        hub.sample_only(&[]);
    }
}

/// The channel of one process: the writing thread and how to stop it.
pub struct Channel {
    hub: Arc<Hub>,
    last: Arc<Mutex<Option<Message>>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnects when the writing thread ends.
    ended: mpsc::Receiver<()>,
}

impl Channel {
    /// Connect (logging once if that fails) and start the writing thread.
    pub fn open(hub: Arc<Hub>, endpoint: Endpoint, hello: &Message) -> Channel {
        let mut writer = Writer {
            hub: Arc::clone(&hub),
            endpoint,
            hello: hello.encode(),
            conn: None,
            last_attempt: Instant::now(),
            generation: Arc::new(AtomicU64::new(0)),
            unsent: 0,
            complaints: Complaints::default(),
        };
        // Connect before the dataflow is built, so that the server hears
        // from the run before any of its records.
        writer.connect();
        let last = Arc::new(Mutex::new(None));
        let (ended_tx, ended) = mpsc::channel::<()>();
        let last_for_thread = Arc::clone(&last);
        let thread = std::thread::Builder::new()
            .name("rillet-telemetry".into())
            .spawn(move || {
                let _ended = ended_tx;
                writer.run(last_for_thread);
            })
            .ok();
        Channel { hub, last, thread, ended }
    }

    /// Send the final metrics and `message`, close the connection, and wait
    /// (a bounded time) for that to happen.
    pub fn finish(mut self, message: Option<Message>) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = message;
        self.hub.queue.close();
        if let Err(mpsc::RecvTimeoutError::Disconnected) = self.ended.recv_timeout(FINISH_TIMEOUT) {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        // Otherwise the server is stuck: leave the thread; the process is
        // about to exit anyway.
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.hub.queue.close();
    }
}
