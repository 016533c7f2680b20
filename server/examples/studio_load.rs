//! Load test of the studio's runs and live data (bench/README.md, *Studio
//! load*): N pipelines created and run at once, then M WebSocket viewers on
//! them, one of which reads one message per second.
//!
//! Prints the dataflows' throughput (items per second out of every run's
//! input step, summed, read from `/metrics`) in windows without viewers,
//! with viewers, and without again, and the server's memory (VmRSS) over
//! time. Nothing is asserted: numbers are for bench/README.md.
//!
//! ```text
//! cargo run --release -p rillet-studio --example studio_load -- \
//!     --pipelines 20 --viewers 50 --seconds 10 --rounds 2
//! ```

#[path = "../tests/runs_support/mod.rs"]
mod runs_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use runs_support::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    pipelines: usize,
    viewers: usize,
    seconds: f64,
    warmup: f64,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args { pipelines: 20, viewers: 50, seconds: 10.0, warmup: 3.0, rounds: 2 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).map(String::as_str).unwrap_or("");
        let bad = || -> ! {
            panic!("usage: studio_load [--pipelines N] [--viewers N] [--seconds S] [--warmup S] [--rounds N]")
        };
        match pair[0].as_str() {
            "--pipelines" => a.pipelines = v.parse().unwrap_or_else(|_| bad()),
            "--viewers" => a.viewers = v.parse().unwrap_or_else(|_| bad()),
            "--seconds" => a.seconds = v.parse().unwrap_or_else(|_| bad()),
            "--warmup" => a.warmup = v.parse().unwrap_or_else(|_| bad()),
            "--rounds" => a.rounds = v.parse().unwrap_or_else(|_| bad()),
            _ => bad(),
        }
    }
    a
}

/// A CPU-bound endless flow: numbers in batches, a map, a filter, a sink
/// that keeps the last ten.
fn busy(flow: &str) -> Value {
    let prelude = "import collections\nfrom itertools import count\n\nfrom rillet.testing import TestingSink, \
                   TestingSource\n\nLAST = collections.deque(maxlen=10)";
    chain(
        flow,
        prelude,
        &[
            ("input", "nums", json!({"source": expr("TestingSource(count(), batch_size=100)")})),
            ("map", "double", json!({"mapper": function("double", "def double(x):\n    return {\"n\": x * 2}")})),
            ("filter", "even", json!({"predicate": function("even", "def even(x):\n    return x[\"n\"] % 4 == 0")})),
            ("output", "out", json!({"sink": expr("TestingSink(LAST)")})),
        ],
    )
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Items out of every run's input step so far, from `/metrics`.
async fn items_so_far(studio: &Studio) -> u64 {
    let (_, text) = studio.get_text("/metrics", Some(&studio.state.token)).await;
    text.lines()
        .filter(|l| l.starts_with("rillet_step_items_out_total{") && l.contains(".nums\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// CPU seconds (user + system) process `pid` used so far.
fn cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else { return 0.0 };
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // utime and stime are fields 14 and 15, in clock ticks (100 per second).
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    ticks as f64 / 100.0
}

async fn run_pids(studio: &Studio) -> Vec<String> {
    let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM runs WHERE status = 'running'")
        .fetch_all(&studio.state.pool)
        .await
        .unwrap_or_default();
    pids.iter().map(i32::to_string).collect()
}

/// One measuring window.
struct Window {
    items_per_s: f64,
    /// Items per CPU second of the run processes: what the dataflows get
    /// done per unit of work, whatever else the machine runs.
    items_per_run_cpu_s: f64,
    /// The server's CPU use, in cores.
    server_cores: f64,
}

/// Throughput over `seconds` after `warmup`, with RSS samples.
async fn window(studio: &Studio, a: &Args, rss: &mut Vec<u64>) -> Window {
    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let pids = run_pids(studio).await;
    let runs_cpu = || pids.iter().map(|p| cpu_s(p)).sum::<f64>();
    let (t0, n0, c0, s0) = (Instant::now(), items_so_far(studio).await, runs_cpu(), cpu_s("self"));
    let end = t0 + Duration::from_secs_f64(a.seconds);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss.push(rss_kib());
    }
    let (t1, n1, c1, s1) = (Instant::now(), items_so_far(studio).await, runs_cpu(), cpu_s("self"));
    let secs = (t1 - t0).as_secs_f64();
    Window {
        items_per_s: (n1 - n0) as f64 / secs,
        items_per_run_cpu_s: (n1 - n0) as f64 / (c1 - c0).max(0.01),
        server_cores: (s1 - s0) / secs,
    }
}

fn show(label: &str, w: &Window) {
    println!(
        "studio_load: {label:<28} {:>10.0} items/s  {:>10.0} items per run-CPU-s  server {:.2} cores",
        w.items_per_s, w.items_per_run_cpu_s, w.server_cores
    );
}

#[derive(Default)]
struct ViewerStats {
    messages: AtomicU64,
    records: AtomicU64,
    missed: AtomicU64,
}

async fn viewer(mut ws: Ws, step: String, slow: bool, stop: Arc<AtomicBool>, stats: Arc<ViewerStats>) {
    send(&mut ws, json!({"type": "subscribe", "step_id": step, "rate": 200})).await;
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(200), ws.next()).await else { continue };
        if let Message::Text(text) = msg {
            stats.messages.fetch_add(1, Ordering::Relaxed);
            let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            if v["type"] == "records" {
                stats.records.fetch_add(v["items"].as_array().map_or(0, |i| i.len() as u64), Ordering::Relaxed);
                stats.missed.fetch_add(v["missed"].as_u64().unwrap_or(0), Ordering::Relaxed);
            }
        }
        if slow {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let studio = Studio::start().await;
    println!(
        "studio_load: {} pipelines, {} viewers, windows of {} s after {} s warm-up, {} round(s)",
        a.pipelines, a.viewers, a.seconds, a.warmup, a.rounds
    );
    let created = Instant::now();
    let mut runs = Vec::new();
    for i in 0..a.pipelines {
        let p = studio.pipeline(&format!("load {i}"), busy(&format!("load{i}"))).await;
        runs.push((i, p));
    }
    let starts = runs.iter().map(|(_, p)| studio.start_run(*p, json!({"epoch_interval_ms": 1000})));
    let started: Vec<Value> = futures_util::future::join_all(starts).await;
    let ids: Vec<i64> = started.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    for id in &ids {
        studio.wait_run(*id, Duration::from_secs(120), |r| r["status"] == "running").await;
    }
    println!("studio_load: {} runs running {:.1} s after the first create", ids.len(), created.elapsed().as_secs_f64());

    let mut rss_quiet = Vec::new();
    let mut rss_viewed = Vec::new();
    let mut without: Vec<Window> = Vec::new();
    let mut with: Vec<Window> = Vec::new();
    let rss_start = rss_kib();
    let mut slow_stats = Arc::new(ViewerStats::default());
    let mut fast_stats = Arc::new(ViewerStats::default());
    for round in 0..a.rounds {
        let quiet = window(&studio, &a, &mut rss_quiet).await;
        show(&format!("round {round}: without viewers"), &quiet);
        without.push(quiet);

        let stop = Arc::new(AtomicBool::new(false));
        slow_stats = Arc::new(ViewerStats::default());
        fast_stats = Arc::new(ViewerStats::default());
        let mut tasks = Vec::new();
        for v in 0..a.viewers {
            let (i, _) = runs[v % runs.len()];
            let ws = studio.ws(ids[v % ids.len()]).await;
            let stats = if v == 0 { slow_stats.clone() } else { fast_stats.clone() };
            tasks.push(tokio::spawn(viewer(ws, format!("load{i}.double"), v == 0, stop.clone(), stats)));
        }
        let viewed = window(&studio, &a, &mut rss_viewed).await;
        show(&format!("round {round}: with {} viewers", a.viewers), &viewed);
        with.push(viewed);
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
    }
    let quiet = window(&studio, &a, &mut rss_quiet).await;
    show("after: without viewers", &quiet);
    without.push(quiet);

    let mean = |v: &[Window], f: fn(&Window) -> f64| v.iter().map(f).sum::<f64>() / v.len() as f64;
    let (q, w) = (mean(&without, |w| w.items_per_s), mean(&with, |w| w.items_per_s));
    let (qc, wc) = (mean(&without, |w| w.items_per_run_cpu_s), mean(&with, |w| w.items_per_run_cpu_s));
    let (qs, ws) = (mean(&without, |w| w.server_cores), mean(&with, |w| w.server_cores));
    let s = |st: &ViewerStats| {
        (st.messages.load(Ordering::Relaxed), st.records.load(Ordering::Relaxed), st.missed.load(Ordering::Relaxed))
    };
    let (fm, fr, fmi) = s(&fast_stats);
    let (sm, sr, smi) = s(&slow_stats);
    let max = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
    let third = (rss_viewed.len() / 3).max(1).min(rss_viewed.len());
    println!();
    println!("| measure | without viewers | with viewers | change |");
    println!("|:---|---:|---:|---:|");
    println!(
        "| dataflow throughput, items/s (mean of {} / {} windows) | {q:.0} | {w:.0} | {:+.1}% |",
        without.len(),
        with.len(),
        (w / q - 1.0) * 100.0
    );
    println!("| items per CPU second of the run processes | {qc:.0} | {wc:.0} | {:+.1}% |", (wc / qc - 1.0) * 100.0);
    println!("| server CPU, cores | {qs:.2} | {ws:.2} | |");
    println!("| server RSS max, MiB | {:.1} | {:.1} | |", mib(max(&rss_quiet)), mib(max(&rss_viewed)));
    println!();
    println!("{} pipelines run at once; {} WebSocket viewers, 1 reading 1 message per second.", a.pipelines, a.viewers);
    println!("Fast viewers, last round: {fm} messages, {fr} records, {fmi} missed.");
    println!("Slow viewer, last round: {sm} messages, {sr} records, {smi} missed.");
    println!(
        "Server RSS: {:.1} MiB before measuring; with viewers, max {:.1} MiB in the first third of the samples and \
         {:.1} MiB in the last third.",
        mib(rss_start),
        mib(max(&rss_viewed[..third])),
        mib(max(&rss_viewed[rss_viewed.len() - third..]))
    );
    studio.close().await;
}
