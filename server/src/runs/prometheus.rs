//! `GET /metrics`: the runs' metrics in Prometheus text format (API.md).
//!
//! Counters and histograms are the engine's cumulative values per (step,
//! worker), for the runs alive in this server and the ones that ended
//! recently (`keep_ended_runs`).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;

use super::db;
use super::metrics::{Hist, StepReport};
use crate::error::AppResult;
use crate::security::require_session_or_bearer;
use crate::state::AppState;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> AppResult<impl IntoResponse> {
    require_session_or_bearer(&state, &headers)?;
    let by_status = db::count_by_status(&state.pool).await?;
    let mut runs = Vec::new();
    for run in state.runs.known() {
        let m = run.metrics.lock().expect("metrics lock");
        runs.push((run.pipeline_id, run.id, m.bounds().to_vec(), m.cells().cloned().collect::<Vec<_>>()));
    }
    let counters = state.runs.counters();
    let text = render(
        &runs,
        &by_status,
        counters.clients.load(Ordering::Relaxed),
        counters.records_dropped.load(Ordering::Relaxed),
    );
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}

type RunCells = (i64, i64, Vec<u64>, Vec<StepReport>);

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(pipeline: i64, run: i64, cell: &StepReport) -> String {
    format!("pipeline=\"{pipeline}\",run=\"{run}\",step_id=\"{}\",worker=\"{}\"", label(&cell.step_id), cell.worker)
}

fn histogram(out: &mut String, name: &str, labels: &str, bounds: &[u64], h: &Hist) {
    let mut cumulative = 0u64;
    for (i, bound) in bounds.iter().enumerate() {
        cumulative += h.counts.get(i).copied().unwrap_or(0);
        let le = *bound as f64 / 1e9;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
    }
    let total: u64 = h.counts.iter().sum();
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum as f64 / 1e9);
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

pub fn render(runs: &[RunCells], by_status: &[(String, i64)], clients: u64, dropped: u64) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    family(&mut out, "rillet_step_items_in_total", "counter", "Items into a step, per worker.");
    for (p, r, _, cells) in runs {
        for c in cells {
            let _ = writeln!(out, "rillet_step_items_in_total{{{}}} {}", labels(*p, *r, c), c.items_in);
        }
    }
    family(&mut out, "rillet_step_items_out_total", "counter", "Items out of a step, per worker.");
    for (p, r, _, cells) in runs {
        for c in cells {
            let _ = writeln!(out, "rillet_step_items_out_total{{{}}} {}", labels(*p, *r, c), c.items_out);
        }
    }
    family(&mut out, "rillet_step_process_seconds", "histogram", "Time a step spent per item.");
    for (p, r, bounds, cells) in runs {
        for c in cells {
            histogram(&mut out, "rillet_step_process_seconds", &labels(*p, *r, c), bounds, &c.process_ns);
        }
    }
    family(&mut out, "rillet_step_latency_seconds", "histogram", "Latency from ingestion to a step's output.");
    for (p, r, bounds, cells) in runs {
        for c in cells {
            histogram(&mut out, "rillet_step_latency_seconds", &labels(*p, *r, c), bounds, &c.latency_ns);
        }
    }
    family(&mut out, "rillet_step_state_keys", "gauge", "Keys holding state in a step, per worker.");
    for (p, r, _, cells) in runs {
        for c in cells.iter().filter(|c| c.state_keys.is_some()) {
            let _ = writeln!(out, "rillet_step_state_keys{{{}}} {}", labels(*p, *r, c), c.state_keys.unwrap_or(0));
        }
    }
    family(&mut out, "rillet_step_watermark_lag_seconds", "gauge", "System time minus a windowing step's watermark.");
    for (p, r, _, cells) in runs {
        for c in cells {
            if let Some(lag) = c.watermark_lag_s {
                let _ = writeln!(out, "rillet_step_watermark_lag_seconds{{{}}} {lag}", labels(*p, *r, c));
            }
        }
    }
    family(&mut out, "rillet_runs", "gauge", "Runs by status, as recorded in PostgreSQL.");
    for status in ["starting", "running", "succeeded", "failed", "stopped", "lost"] {
        let n = by_status.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "rillet_runs{{status=\"{status}\"}} {n}");
    }
    family(&mut out, "rillet_ws_clients", "gauge", "Open live WebSocket connections.");
    let _ = writeln!(out, "rillet_ws_clients {clients}");
    family(
        &mut out,
        "rillet_ws_records_dropped_total",
        "counter",
        "Sampled records not sent to a live client (rate cap, pause or a slow client).",
    );
    let _ = writeln!(out, "rillet_ws_records_dropped_total {dropped}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let mut counts = vec![0; 3];
        counts[1] = 2;
        counts[2] = 1;
        let cell = StepReport {
            step_id: "f.\"a\"".into(),
            worker: 1,
            items_in: 7,
            items_out: 9,
            process_ns: Hist { counts: counts.clone(), sum: 3_000_000_000, count: 3 },
            latency_ns: Hist { counts, sum: 0, count: 3 },
            state_keys: Some(4),
            watermark_lag_s: None,
        };
        let text = render(&[(3, 12, vec![100, 1_000_000_000], vec![cell])], &[("running".into(), 2)], 5, 6);
        let l = r#"pipeline="3",run="12",step_id="f.\"a\"",worker="1""#;
        for want in [
            format!("rillet_step_items_in_total{{{l}}} 7"),
            format!("rillet_step_items_out_total{{{l}}} 9"),
            format!("rillet_step_process_seconds_bucket{{{l},le=\"0.0000001\"}} 0"),
            format!("rillet_step_process_seconds_bucket{{{l},le=\"1\"}} 2"),
            format!("rillet_step_process_seconds_bucket{{{l},le=\"+Inf\"}} 3"),
            format!("rillet_step_process_seconds_sum{{{l}}} 3"),
            format!("rillet_step_state_keys{{{l}}} 4"),
            "rillet_runs{status=\"running\"} 2".to_string(),
            "rillet_runs{status=\"lost\"} 0".to_string(),
            "rillet_ws_clients 5".to_string(),
            "rillet_ws_records_dropped_total 6".to_string(),
            "# TYPE rillet_step_latency_seconds histogram".to_string(),
        ] {
            assert!(text.lines().any(|line| line == want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("rillet_step_watermark_lag_seconds{"));
    }
}
