// The live inspector: the latest records of one step, with pause, filter,
// a rate cap and a count of what this view missed.
import { useEffect, useState } from "react";
import type { LiveRun, LiveState } from "../lib/live";
import { prettyRepr } from "../lib/pretty";

interface Props {
  live: LiveRun | null;
  state: LiveState | null;
  stepId: string | null; // full step id (flow.step)
  title: string | null;
}

export function LiveRecords({ live, state, stepId, title }: Props) {
  const [filter, setFilter] = useState("");
  const [rate, setRate] = useState(20);
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    if (!live) return;
    const t = setTimeout(() => live.subscribe(stepId ? { step_id: stepId, filter, rate } : null), filter ? 250 : 0);
    return () => clearTimeout(t);
  }, [live, stepId, filter, rate]);
  useEffect(() => {
    live?.setPaused(paused);
  }, [live, paused]);
  if (!stepId) {
    return <p className="muted empty">Click a step or an edge on the canvas to see the records it emits while the pipeline runs.</p>;
  }
  const rec = state?.records?.step_id === stepId ? state.records : null;
  const running = state?.run && !["succeeded", "failed", "stopped", "lost"].includes(state.run.status);
  return (
    <div className="live-records" aria-label="live records">
      <div className="row wrap">
        <strong>{title}</strong>
        <button type="button" onClick={() => setPaused(!paused)} aria-label={paused ? "resume records" : "pause records"} disabled={!live}>
          {paused ? "▶ Resume" : "❚❚ Pause"}</button>
        <input type="search" placeholder="filter (text in the repr)" value={filter} aria-label="filter records" onChange={(e) => setFilter(e.target.value)} />
        <label className="inline">max/s
          <input type="number" min={1} max={200} value={rate} aria-label="records per second cap"
            onChange={(e) => setRate(Math.min(200, Math.max(1, Number(e.target.value) || 1)))} />
        </label>
        <span className="muted small" aria-label="records missed">missed: {rec?.missed ?? 0}</span>
        <button type="button" className="small" onClick={() => live?.clearRecords()} aria-label="clear records" disabled={!rec?.items.length}>clear</button>
      </div>
      <ol className="records" aria-label="records">
        {!live && <li className="muted empty">No run yet: start one (▶ Run) to see this step's records.</li>}
        {live && (!rec || rec.items.length === 0) && (
          <li className="muted empty">{running ? (paused ? "Paused." : "Waiting for records…") : "No records seen from this step in this run. Start a new run to watch it."}</li>
        )}
        {rec?.items.slice().reverse().map((r) => <li key={r.seq}><pre>{prettyRepr(r.text)}</pre></li>)}
      </ol>
    </div>
  );
}
