//! `GET /api/runs/{id}/live`: the live WebSocket of a run (API.md).
//!
//! One task reads the client's commands, one writes: the writer takes what
//! the run's hub buffered for this subscriber and sends it, so a client
//! that reads slowly only delays itself, and its bounded buffers count
//! what it misses.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::hub::{Subscriber, MAX_RATE};
use super::registry::LiveRun;
use super::routes::found;
use crate::error::AppResult;
use crate::security::check_websocket;
use crate::state::AppState;

/// How often buffered records are flushed to a client at most.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Longest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum FromClient {
    Subscribe { step_id: String, filter: Option<String>, rate: Option<u32> },
    Unsubscribe { step_id: String },
    Pause,
    Resume,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    check_websocket(&state, &headers)?;
    let row = found(&state, id).await?;
    let run = state.runs.get(id);
    let counters = state.runs.counters().clone();
    Ok(ws.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| async move {
        counters.clients.fetch_add(1, Ordering::Relaxed);
        serve(socket, row, run).await;
        counters.clients.fetch_sub(1, Ordering::Relaxed);
    }))
}

async fn serve(socket: WebSocket, row: super::db::Run, run: Option<Arc<LiveRun>>) {
    let (mut tx, mut rx) = socket.split();
    let Some(run) = run else {
        // A run from before this server started: its record is all there is.
        let mut first = vec![json!({"type": "status", "run": row})];
        if let Some(error) = &row.error {
            first.push(json!({"type": "error", "error": error}));
        }
        for m in first {
            if tx.send(Message::Text(Utf8Bytes::from(m.to_string()))).await.is_err() {
                return;
            }
        }
        while let Some(Ok(m)) = rx.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
        return;
    };

    let (sub_id, sub) = run.hub.join();
    sub.send(&json!({"type": "status", "run": run.row()}));
    if let Some(error) = run.engine.lock().expect("engine lock").error.clone() {
        sub.send(&json!({"type": "error", "error": error}));
    }

    let reader = {
        let (run, sub) = (run.clone(), sub.clone());
        async move {
            while let Some(Ok(msg)) = rx.next().await {
                match msg {
                    Message::Text(text) => command(&run, &sub, text.as_str()),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        }
    };
    let writer = async {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Records that arrive within a period go out together.
            tick.tick().await;
            for text in sub.drain() {
                if tx.send(Message::Text(Utf8Bytes::from(text))).await.is_err() {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = reader => {}
        _ = writer => {}
    }
    run.hub.leave(sub_id);
}

fn command(run: &LiveRun, sub: &Subscriber, text: &str) {
    let msg: FromClient = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            let message = format!(
                "could not read that message ({e}); send subscribe {{step_id, filter?, rate? (1 to {MAX_RATE})}}, \
                 unsubscribe {{step_id}}, pause or resume"
            );
            sub.send(&json!({"type": "warning", "message": message}));
            return;
        }
    };
    match msg {
        FromClient::Subscribe { step_id, filter, rate } => run.hub.subscribe(sub, step_id, filter, rate),
        FromClient::Unsubscribe { step_id } => sub.unsubscribe(&step_id),
        FromClient::Pause => sub.set_paused(true),
        FromClient::Resume => sub.set_paused(false),
    }
}
