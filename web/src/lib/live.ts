// One run as the browser sees it: its status, logs, metrics history and the
// records of the step being inspected, fed by GET /api/runs/{id}/live.
import { api, errorText } from "./api";
import { Store } from "./store";
import type { LiveMessage, LogLine, Run, RunError, StepMetrics } from "./types";

export interface MetricsSample { ts: number; steps: Record<string, StepMetrics> }

export interface LiveState {
  run: Run | null;
  connected: boolean;
  problem: string | null; // why the live connection is down, and what to do
  logs: LogLine[];
  metrics: MetricsSample[]; // the last HISTORY_SECONDS
  records: { step_id: string; items: { seq: number; text: string }[]; missed: number } | null;
  error: RunError | null;
}

const HISTORY_SECONDS = 600;
const MAX_LOG_LINES = 5000;
const MAX_RECORDS = 500;
export const ENDED = new Set(["succeeded", "failed", "stopped", "lost"]);

export interface Subscription { step_id: string; filter: string; rate: number }

export class LiveRun {
  readonly store = new Store<LiveState>({
    run: null, connected: false, problem: null, logs: [], metrics: [], records: null, error: null,
  });
  private ws: WebSocket | null = null;
  private closed = false;
  private retry = 0;
  private sub: Subscription | null = null;
  private paused = false;
  private seq = 0;

  constructor(readonly runId: number) {
    this.open();
    void this.loadLogs();
  }

  private async loadLogs() {
    try {
      let after = 0;
      for (let page = 0; page < 20; page++) {
        const res = await api<{ lines: LogLine[]; next: number; truncated: boolean }>(
          "GET", `/api/runs/${this.runId}/logs?after=${after}&limit=1000`);
        if (res.lines.length) this.addLogs(res.lines);
        if (res.lines.length < 1000) break;
        after = res.next;
      }
    } catch (e) {
      this.store.set((s) => ({ ...s, problem: `Couldn't load the run's logs: ${errorText(e)}` }));
    }
  }

  private addLogs(lines: LogLine[]) {
    this.store.set((s) => {
      const seen = new Set(s.logs.map((l) => l.seq));
      const fresh = lines.filter((l) => !seen.has(l.seq));
      if (!fresh.length) return s;
      const logs = [...s.logs, ...fresh].sort((a, b) => a.seq - b.seq).slice(-MAX_LOG_LINES);
      return { ...s, logs };
    });
  }

  private open() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/runs/${this.runId}/live`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.store.set((s) => ({ ...s, connected: true, problem: null }));
      if (this.sub) this.send({ type: "subscribe", ...this.sub });
      if (this.paused) this.send({ type: "pause" });
    };
    ws.onmessage = (ev) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      this.ws = null;
      const run = this.store.get().run;
      const over = run && ENDED.has(run.status);
      this.store.set((s) => ({
        ...s,
        connected: false,
        problem: over || this.closed ? null : "The live connection to the server dropped; reconnecting… If this stays, check that `rillet studio` is running.",
      }));
      if (!this.closed && !over) {
        const delay = Math.min(5000, 250 * 2 ** this.retry++);
        setTimeout(() => !this.closed && this.open(), delay);
      }
    };
  }

  private onMessage(msg: LiveMessage) {
    switch (msg.type) {
      case "status":
        this.store.set((s) => ({ ...s, run: msg.run, error: msg.run.error ?? s.error }));
        if (ENDED.has(msg.run.status)) void this.loadLogs();
        break;
      case "metrics":
        this.store.set((s) => {
          const metrics = [...s.metrics, { ts: msg.ts, steps: msg.steps }];
          const cut = msg.ts - HISTORY_SECONDS;
          while (metrics.length && metrics[0].ts < cut) metrics.shift();
          return { ...s, metrics };
        });
        break;
      case "records":
        this.store.set((s) => {
          if (!this.sub || msg.step_id !== this.sub.step_id) return s;
          const prev = s.records?.step_id === msg.step_id ? s.records : { step_id: msg.step_id, items: [], missed: 0 };
          const items = [...prev.items, ...msg.items.map((text) => ({ seq: this.seq++, text }))].slice(-MAX_RECORDS);
          return { ...s, records: { step_id: msg.step_id, items, missed: prev.missed + (msg.missed ?? 0) } };
        });
        break;
      case "error":
        this.store.set((s) => ({ ...s, error: msg.error }));
        break;
      case "log":
        this.addLogs([msg.line]);
        break;
    }
  }

  private send(msg: unknown) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  subscribe(sub: Subscription | null) {
    const old = this.sub;
    if (old && (!sub || old.step_id !== sub.step_id)) this.send({ type: "unsubscribe", step_id: old.step_id });
    this.sub = sub;
    if (sub) this.send({ type: "subscribe", ...sub });
    if (!sub || old?.step_id !== sub.step_id) {
      this.store.set((s) => ({ ...s, records: sub ? { step_id: sub.step_id, items: [], missed: 0 } : null }));
    }
  }

  setPaused(paused: boolean) {
    this.paused = paused;
    this.send({ type: paused ? "pause" : "resume" });
  }

  clearRecords() {
    this.store.set((s) => (s.records ? { ...s, records: { ...s.records, items: [], missed: 0 } } : s));
  }

  close() {
    this.closed = true;
    this.ws?.close();
  }
}

export async function stopRun(id: number): Promise<void> {
  await api("POST", `/api/runs/${id}/stop`, {});
}
