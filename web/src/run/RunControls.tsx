// Start and stop a run, with its worker count and epoch interval; the run's
// status and, when it failed, the error with the step and the traceback.
import { useState } from "react";
import type { Run, RunError } from "../lib/types";
import { StatusBadge } from "../components/ui";
import { clock } from "../lib/format";
import { ENDED } from "../lib/live";

interface Props {
  run: Run | null;
  error: RunError | null;
  busy: boolean;
  canStart: boolean;
  onStart: (workers: number, epochMs: number) => void;
  onStop: () => void;
  onShowStep?: (stepId: string) => void;
  runPageLink?: string;
}

export function RunControls({ run, error, busy, canStart, onStart, onStop, onShowStep, runPageLink }: Props) {
  const [workers, setWorkers] = useState(1);
  const [epoch, setEpoch] = useState(10000);
  const alive = run !== null && !ENDED.has(run.status);
  return (
    <div className="run-controls">
      <div className="row wrap">
        <label className="inline">workers
          <input type="number" min={1} max={16} value={workers} aria-label="worker count"
            onChange={(e) => setWorkers(Math.min(16, Math.max(1, Number(e.target.value) || 1)))} disabled={alive} />
        </label>
        <label className="inline">epoch interval (ms)
          <input type="number" min={1} step={100} value={epoch} aria-label="epoch interval in milliseconds"
            onChange={(e) => setEpoch(Math.max(1, Number(e.target.value) || 1))} disabled={alive} />
        </label>
        {alive ? (
          <button type="button" className="danger" onClick={onStop} disabled={busy} aria-label="stop run">■ Stop</button>
        ) : (
          <button type="button" className="primary" onClick={() => onStart(workers, epoch)} disabled={busy || !canStart}
            aria-label="start run" title="Run the pipeline (Ctrl+Enter)">▶ Run</button>
        )}
        {run && (
          <span className="run-status" aria-label="run status">
            <span>run #{run.id} (v{run.version})</span> <StatusBadge status={run.status} runId={run.id} />
            {run.started_at && <span className="muted small">started {clock(run.started_at)}</span>}
            {run.ended_at && <span className="muted small">ended {clock(run.ended_at)}</span>}
          </span>
        )}
        {run && runPageLink && <a href={runPageLink} className="small" aria-label="open run page">open run page ↗</a>}
      </div>
      {run?.exit_reason && !error && run.status !== "succeeded" && <p className="muted small" aria-label="exit reason">{run.exit_reason}</p>}
      {error && <RunErrorView error={error} onShowStep={onShowStep} />}
    </div>
  );
}

export function RunErrorView({ error, onShowStep }: { error: RunError; onShowStep?: (stepId: string) => void }) {
  return (
    <div className="run-error" role="alert" aria-label="run error">
      <p>
        <strong>{error.kind === "user" || !error.kind ? "The pipeline failed" : `The run failed (${error.kind})`}</strong>
        {error.step_id && (
          <> in step <button type="button" className="link" onClick={() => onShowStep?.(error.step_id!)} aria-label={`show failed step ${error.step_id}`}>
            {error.step_id}</button></>
        )}
        : {error.message}
      </p>
      {error.traceback && <pre className="traceback" aria-label="traceback">{error.traceback}</pre>}
      <p className="muted small">Fix the step's code (the highlighted node), save, and run again.</p>
    </div>
  );
}
