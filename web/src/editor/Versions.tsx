// Version history: every save is a version; pick any two to see what changed.
import { useEffect, useState } from "react";
import { api, errorText } from "../lib/api";
import type { Diff, Version } from "../lib/types";
import { ago } from "../lib/format";

interface Meta { number: number; created_at: string; note: string | null }

export function Versions({ pipelineId, latest, onOpen }: { pipelineId: number; latest: number; onOpen: (v: Version) => void }) {
  const [list, setList] = useState<Meta[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [diffProblem, setDiffProblem] = useState<string | null>(null);
  useEffect(() => {
    api<Meta[]>("GET", `/api/pipelines/${pipelineId}/versions`).then((l) => {
      setList(l);
      setProblem(null);
      if (l.length >= 2) {
        setTo(l[0].number);
        setFrom(l[1].number);
      } else if (l.length === 1) setTo(l[0].number);
    }, (e) => setProblem(`Couldn't load the version history: ${errorText(e)}`));
  }, [pipelineId, latest]);
  useEffect(() => {
    setDiff(null);
    setDiffProblem(null);
    if (from === null || to === null || from === to) return;
    api<Diff>("GET", `/api/pipelines/${pipelineId}/diff?from=${from}&to=${to}`).then(setDiff, (e) => setDiffProblem(`Couldn't compare v${from} and v${to}: ${errorText(e)}`));
  }, [pipelineId, from, to]);
  const open = async (n: number) => {
    try {
      onOpen(await api<Version>("GET", `/api/pipelines/${pipelineId}/versions/${n}`));
    } catch (e) {
      setProblem(`Couldn't open v${n}: ${errorText(e)}`);
    }
  };
  if (problem) return <p className="field-error" role="alert">{problem}</p>;
  if (!list) return <p className="muted">Loading versions…</p>;
  return (
    <div className="versions" aria-label="version history">
      <ul className="version-list">
        {list.map((v) => (
          <li key={v.number}>
            <span className="vnum">v{v.number}</span>
            <span className="muted small">{ago(v.created_at)}</span>
            <span className="note">{v.note || <span className="muted">no note</span>}</span>
            <span className="actions">
              <button type="button" className="small" aria-label={`compare from v${v.number}`} aria-pressed={from === v.number} onClick={() => setFrom(v.number)}>A</button>
              <button type="button" className="small" aria-label={`compare to v${v.number}`} aria-pressed={to === v.number} onClick={() => setTo(v.number)}>B</button>
              <button type="button" className="small" aria-label={`open v${v.number} in the editor`} onClick={() => open(v.number)}>open</button>
              <a className="small" href={`/api/pipelines/${pipelineId}/versions/${v.number}/export`} aria-label={`download v${v.number} as Python`}>.py</a>
            </span>
          </li>
        ))}
      </ul>
      {list.length < 2 ? <p className="muted small">Save again to compare versions: every save is a new version.</p> : (
        <section className="diff" aria-label="version diff">
          <h3>Changes from v{from} (A) to v{to} (B)</h3>
          {from === to && <p className="muted small">Pick two different versions with the A and B buttons.</p>}
          {diffProblem && <p className="field-error" role="alert">{diffProblem}</p>}
          {diff && <DiffView diff={diff} />}
        </section>
      )}
    </div>
  );
}

function label(x: unknown): string {
  if (x && typeof x === "object") {
    const o = x as Record<string, unknown>;
    if (typeof o.step_id === "string") return `${o.step_id}${o.op ? ` (${o.op})` : ""}`;
    if (o.from && o.to) {
      const f = o.from as Record<string, unknown>;
      const t = o.to as Record<string, unknown>;
      return `${f.node}.${f.port} → ${t.node}.${t.port}`;
    }
    if (typeof o.id === "string") return o.id;
  }
  return typeof x === "string" ? x : JSON.stringify(x);
}

export function DiffView({ diff }: { diff: Diff }) {
  const none = !diff.nodes.added.length && !diff.nodes.removed.length && !diff.nodes.changed.length
    && !diff.edges.added.length && !diff.edges.removed.length && !diff.code.length;
  if (none) return <p className="muted small">The two versions are the same.</p>;
  return (
    <div>
      {diff.nodes.added.map((n, i) => <p key={`na${i}`} className="diff-add">+ step {label(n)}</p>)}
      {diff.nodes.removed.map((n, i) => <p key={`nr${i}`} className="diff-del">− step {label(n)}</p>)}
      {diff.nodes.changed.map((c) => <p key={`nc${c.id}`} className="diff-chg">~ step {c.step_id}: {c.fields.join(", ")}</p>)}
      {diff.edges.added.map((e, i) => <p key={`ea${i}`} className="diff-add">+ edge {label(e)}</p>)}
      {diff.edges.removed.map((e, i) => <p key={`er${i}`} className="diff-del">− edge {label(e)}</p>)}
      {diff.code.map((c) => (
        <div key={c.where} className="code-diff">
          <h4>{c.where}</h4>
          <pre>{c.diff.split("\n").map((l, i) => (
            <span key={i} className={l.startsWith("+") && !l.startsWith("+++") ? "diff-add" : l.startsWith("-") && !l.startsWith("---") ? "diff-del" : l.startsWith("@@") ? "diff-hunk" : ""}>{l}{"\n"}</span>
          ))}</pre>
        </div>
      ))}
    </div>
  );
}
