// The live inspector: the latest records of one step, with pause, filter,
// a rate cap and a count of what this view missed.
import { useEffect, useState } from "react";
import { ENDED, type LiveRun, type LiveState } from "../lib/live";
import { prettyRepr } from "../lib/pretty";

export interface LiveOptions { filter: string; rate: number; paused: boolean }
export const defaultLiveOptions: LiveOptions = { filter: "", rate: 20, paused: false };

/** Keeps `live` subscribed to `stepId` with `opts`, whatever panel is shown,
 * so records stream from the moment a run starts. */
export function useLiveSubscription(live: LiveRun | null, stepId: string | null, opts: LiveOptions) {
  const [debounced, setDebounced] = useState(opts.filter);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(opts.filter), 250);
    return () => clearTimeout(t);
  }, [opts.filter]);
  useEffect(() => {
    live?.subscribe(stepId ? { step_id: stepId, filter: debounced, rate: opts.rate } : null);
  }, [live, stepId, debounced, opts.rate]);
  useEffect(() => {
    live?.setPaused(opts.paused);
  }, [live, opts.paused]);
}

interface Props {
  live: LiveRun | null;
  state: LiveState | null;
  stepId: string | null; // full step id (flow.step)
  title: string | null;
  opts: LiveOptions;
  setOpts: (o: LiveOptions) => void;
}

export function LiveRecords({ live, state, stepId, title, opts, setOpts }: Props) {
  if (!stepId) {
    return <p className="muted empty">Click a step or an edge on the canvas to see the records it emits while the pipeline runs.</p>;
  }
  const rec = state?.records?.step_id === stepId ? state.records : null;
  const running = state?.run && !ENDED.has(state.run.status);
  return (
    <div className="live-records" aria-label="live records">
      <div className="row wrap">
        <strong>{title}</strong>
        <button type="button" onClick={() => setOpts({ ...opts, paused: !opts.paused })} aria-label={opts.paused ? "resume records" : "pause records"}>
          {opts.paused ? "▶ Resume" : "❚❚ Pause"}</button>
        <input type="search" placeholder="filter (text in the repr)" value={opts.filter} aria-label="filter records"
          onChange={(e) => setOpts({ ...opts, filter: e.target.value })} />
        <label className="inline">max/s
          <input type="number" min={1} max={200} value={opts.rate} aria-label="records per second cap"
            onChange={(e) => setOpts({ ...opts, rate: Math.min(200, Math.max(1, Number(e.target.value) || 1)) })} />
        </label>
        <span className="muted small" aria-label="records missed" title="records of this step this view did not get: over the rate cap, filtered out, or sampled away">missed: {rec?.missed ?? 0}</span>
        <span className="muted small">shown: {rec?.items.length ?? 0}</span>
        <button type="button" className="small" onClick={() => live?.clearRecords()} aria-label="clear records" disabled={!rec?.items.length}>clear</button>
      </div>
      <ol className="records" aria-label="records">
        {!live && <li className="muted empty">No run yet: start one (▶ Run) to see this step's records.</li>}
        {live && (!rec || rec.items.length === 0) && (
          <li className="muted empty">{running ? (opts.paused ? "Paused: press Resume to see records again." : "Waiting for records…") : "No records seen from this step. Start a run while this step is selected to watch it."}</li>
        )}
        {rec?.items.slice().reverse().map((r) => <li key={r.seq}><pre>{prettyRepr(r.text)}</pre></li>)}
      </ol>
    </div>
  );
}
