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

/// Throughput over `seconds` after `warmup`, with RSS samples.
async fn window(studio: &Studio, a: &Args, rss: &mut Vec<u64>) -> f64 {
    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let (t0, n0) = (Instant::now(), items_so_far(studio).await);
    let end = t0 + Duration::from_secs_f64(a.seconds);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss.push(rss_kib());
    }
    let (t1, n1) = (Instant::now(), items_so_far(studio).await);
    (n1 - n0) as f64 / (t1 - t0).as_secs_f64()
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
    let mut without = Vec::new();
    let mut with = Vec::new();
    let rss_start = rss_kib();
    let mut slow_stats = Arc::new(ViewerStats::default());
    let mut fast_stats = Arc::new(ViewerStats::default());
    for round in 0..a.rounds {
        let quiet = window(&studio, &a, &mut rss_quiet).await;
        println!("studio_load: round {round}: without viewers {quiet:>12.0} items/s");
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
        println!("studio_load: round {round}: with {} viewers {viewed:>10.0} items/s", a.viewers);
        with.push(viewed);
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
    }
    let last = without.len();
    let quiet = window(&studio, &a, &mut rss_quiet).await;
    println!("studio_load: after: without viewers {quiet:>12.0} items/s");
    without.push(quiet);
    let _ = last;

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (q, w) = (mean(&without), mean(&with));
    let s = |st: &ViewerStats| {
        (st.messages.load(Ordering::Relaxed), st.records.load(Ordering::Relaxed), st.missed.load(Ordering::Relaxed))
    };
    let (fm, fr, fmi) = s(&fast_stats);
    let (sm, sr, smi) = s(&slow_stats);
    let max = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
    let third = rss_viewed.len() / 3;
    println!();
    println!("| measure | value |");
    println!("|:---|---:|");
    println!("| pipelines run at once | {} |", a.pipelines);
    println!("| WebSocket viewers (1 reads 1 msg/s) | {} |", a.viewers);
    println!("| throughput without viewers, mean of {} windows | {q:.0} items/s |", without.len());
    println!("| throughput with viewers, mean of {} windows | {w:.0} items/s |", with.len());
    println!("| change with viewers | {:+.1}% |", (w / q - 1.0) * 100.0);
    println!("| fast viewers, last round: messages / records / missed | {fm} / {fr} / {fmi} |");
    println!("| slow viewer, last round: messages / records / missed | {sm} / {sr} / {smi} |");
    println!("| server RSS at start of measuring | {:.1} MiB |", mib(rss_start));
    println!("| server RSS max without viewers | {:.1} MiB |", mib(max(&rss_quiet)));
    println!("| server RSS max with viewers | {:.1} MiB |", mib(max(&rss_viewed)));
    println!(
        "| server RSS with viewers, max of first third / of last third | {:.1} / {:.1} MiB |",
        mib(max(&rss_viewed[..third.max(1).min(rss_viewed.len())])),
        mib(max(&rss_viewed[rss_viewed.len().saturating_sub(third.max(1))..]))
    );
    studio.close().await;
}
