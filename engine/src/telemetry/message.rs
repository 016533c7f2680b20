//! The lines of the run channel, as `engine/TELEMETRY.md` defines them.
//!
//! Newline-delimited JSON both ways. Both sides ignore unknown message
//! types and fields, so fields can be added without a protocol bump.

use serde::{Deserialize, Serialize};

use super::histogram::Snapshot;
use super::queue::Weigh;

/// Bumped only for changes an older server would misread.
pub const PROTOCOL: u32 = 1;

/// Engine → server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Hello(Hello),
    Metrics(Metrics),
    Records(Records),
    Error(ErrorReport),
    Bye { reason: ByeReason },
}

#[derive(Clone, Debug, Serialize)]
pub struct Hello {
    pub token: Option<String>,
    pub protocol: u32,
    pub pid: u32,
    /// This process's index in the run, and how many processes there are.
    pub process: usize,
    pub processes: usize,
    /// Workers in the whole run, and the indexes of this process's workers.
    pub workers: usize,
    pub process_workers: Vec<usize>,
    /// `None` when the object run is not a `Dataflow` (the run then fails).
    pub flow_id: Option<String>,
    pub steps: Vec<StepInfo>,
    /// The bounds of every histogram's buckets, so the server need not
    /// hard-code them.
    pub histogram_bounds_ns: Vec<u64>,
}

/// A top-level step: a node the user wrote.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StepInfo {
    pub step_id: String,
    /// The operator's name, e.g. `flat_map` or `count_window`.
    pub op: String,
    /// Stream ids of the input ports, in port order, and each one's port
    /// name (`up`; `ups.0`, `ups.1` for the streams of a multi-port).
    pub ups: Vec<String>,
    pub up_ports: Vec<String>,
    /// The same for the output ports (`down`, `trues`, `late`, ...).
    pub downs: Vec<String>,
    pub down_ports: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Metrics {
    pub ts: f64,
    pub process: usize,
    pub steps: Vec<StepMetrics>,
    /// Messages this process could not send since the run started (full
    /// queue, or no connection), sampled records included.
    pub dropped_messages: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct StepMetrics {
    pub step_id: String,
    pub worker: usize,
    pub items_in: u64,
    pub items_out: u64,
    pub process_ns: Snapshot,
    pub latency_ns: Snapshot,
    pub state_keys: Option<u64>,
    pub watermark_lag_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Records {
    pub step_id: String,
    pub worker: usize,
    pub port: String,
    pub ts: f64,
    pub items: Vec<String>,
    pub dropped: u64,
}

impl Weigh for Records {
    fn weight(&self) -> usize {
        128 + self.step_id.len() + self.items.iter().map(|i| i.len() + 4).sum::<usize>()
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    pub step_id: Option<String>,
    pub kind: Fault,
    pub message: String,
    pub traceback: Option<String>,
}

/// Who has to act on a failure (see `errors::RunError`).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    User,
    External,
    Internal,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    /// Every input reached its end and everything was written.
    Eof,
    /// Ctrl-C (here or in another process of the cluster).
    Interrupted,
    /// A source raised `AbortExecution`.
    Aborted,
}

impl Message {
    /// One line of the channel, newline included.
    pub fn encode(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("telemetry messages always serialize");
        line.push(b'\n');
        line
    }
}

/// Server → engine.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Incoming {
    /// The complete set of top-level steps to sample from now on.
    Sample { steps: Vec<String> },
    #[serde(other)]
    Unknown,
}

impl Incoming {
    /// A line from the server; `None` if it is not JSON of a known shape.
    pub fn parse(line: &str) -> Option<Incoming> {
        serde_json::from_str(line).ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn decode(m: &Message) -> Value {
        let line = m.encode();
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one message, one line");
        serde_json::from_slice(&line).unwrap()
    }

    #[test]
    fn hello_has_the_documented_fields() {
        let hello = Hello {
            token: Some("t0k".into()),
            protocol: PROTOCOL,
            pid: 42,
            process: 0,
            processes: 1,
            workers: 2,
            process_workers: vec![0, 1],
            flow_id: Some("wc".into()),
            steps: vec![StepInfo {
                step_id: "wc.split".into(),
                op: "flat_map".into(),
                ups: vec!["wc.inp.down".into()],
                up_ports: vec!["up".into()],
                downs: vec!["wc.split.down".into()],
                down_ports: vec!["down".into()],
            }],
            histogram_bounds_ns: vec![100, 130],
        };
        assert_eq!(
            decode(&Message::Hello(hello)),
            json!({"type": "hello", "token": "t0k", "protocol": 1, "pid": 42, "process": 0,
                   "processes": 1, "workers": 2, "process_workers": [0, 1], "flow_id": "wc",
                   "steps": [{"step_id": "wc.split", "op": "flat_map", "ups": ["wc.inp.down"],
                              "up_ports": ["up"], "downs": ["wc.split.down"], "down_ports": ["down"]}],
                   "histogram_bounds_ns": [100, 130]})
        );
    }

    #[test]
    fn metrics_nulls_and_histograms() {
        let m = Message::Metrics(Metrics {
            ts: 1.5,
            process: 1,
            dropped_messages: 3,
            steps: vec![StepMetrics {
                step_id: "f.s".into(),
                worker: 2,
                items_in: 10,
                items_out: 20,
                process_ns: Snapshot { counts: vec![1, 0], sum: 5, count: 1 },
                latency_ns: Snapshot::default(),
                state_keys: None,
                watermark_lag_s: Some(0.25),
            }],
        });
        assert_eq!(
            decode(&m),
            json!({"type": "metrics", "ts": 1.5, "process": 1, "dropped_messages": 3,
                   "steps": [{"step_id": "f.s", "worker": 2, "items_in": 10, "items_out": 20,
                              "process_ns": {"counts": [1, 0], "sum": 5, "count": 1},
                              "latency_ns": {"counts": [], "sum": 0, "count": 0},
                              "state_keys": null, "watermark_lag_s": 0.25}]})
        );
    }

    #[test]
    fn records_error_and_bye() {
        let r = Message::Records(Records {
            step_id: "f.s".into(),
            worker: 0,
            port: "down".into(),
            ts: 2.0,
            items: vec!["'a\nb'".into(), "(1, 2)".into()],
            dropped: 7,
        });
        assert_eq!(
            decode(&r),
            json!({"type": "records", "step_id": "f.s", "worker": 0, "port": "down", "ts": 2.0,
                   "items": ["'a\nb'", "(1, 2)"], "dropped": 7})
        );
        let e = Message::Error(ErrorReport {
            step_id: None,
            kind: Fault::External,
            message: "peer gone".into(),
            traceback: None,
        });
        assert_eq!(
            decode(&e),
            json!({"type": "error", "step_id": null, "kind": "external", "message": "peer gone", "traceback": null})
        );
        assert_eq!(decode(&Message::Bye { reason: ByeReason::Eof }), json!({"type": "bye", "reason": "eof"}));
        assert_eq!(
            decode(&Message::Bye { reason: ByeReason::Interrupted }),
            json!({"type": "bye", "reason": "interrupted"})
        );
    }

    #[test]
    fn server_lines_parse_and_unknowns_are_ignored() {
        assert_eq!(
            Incoming::parse(r#"{"type": "sample", "steps": ["f.a", "f.b"], "later": 1}"#),
            Some(Incoming::Sample { steps: vec!["f.a".into(), "f.b".into()] })
        );
        assert_eq!(Incoming::parse(r#"{"type": "sample", "steps": []}"#), Some(Incoming::Sample { steps: vec![] }));
        assert_eq!(Incoming::parse(r#"{"type": "pause_all"}"#), Some(Incoming::Unknown));
        assert_eq!(Incoming::parse("not json"), None);
        assert_eq!(Incoming::parse(r#"{"type": "sample"}"#), None, "a sample needs its steps");
    }

    #[test]
    fn record_weight_grows_with_the_reprs() {
        let small =
            Records { step_id: "f.s".into(), worker: 0, port: "down".into(), ts: 0.0, items: vec![], dropped: 0 };
        let big = Records { items: vec!["x".repeat(2000); 20], ..small };
        assert!(big.weight() > 40_000);
    }
}
