// The pipeline list: every pipeline with its last edit and last run, and
// the ways to make a new one (blank, from the gallery, from a .py file).
import { useEffect, useRef, useState } from "react";
import { api, ApiError, errorText } from "../lib/api";
import type { Example, Pipeline, PipelineSummary } from "../lib/types";
import { ago, rate } from "../lib/format";
import { Link, Modal, navigate, StatusBadge, toast, TopBar } from "../components/ui";

export function ListPage() {
  const [list, setList] = useState<PipelineSummary[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [examples, setExamples] = useState<Example[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<PipelineSummary | null>(null);
  const [importIssues, setImportIssues] = useState<string[] | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  const load = () =>
    api<PipelineSummary[]>("GET", "/api/pipelines").then((l) => { setList(l); setProblem(null); },
      (e) => setProblem(`Couldn't load the pipelines: ${errorText(e)}`));
  useEffect(() => {
    void load();
    api<Example[]>("GET", "/api/examples").then(setExamples, (e) => { setExamples([]); toast(`Couldn't load the gallery: ${errorText(e)}`, "error"); });
    const t = setInterval(load, 5000); // last-run status changes while a run goes on
    return () => clearInterval(t);
  }, []);

  const taken = new Set(list?.map((p) => p.name) ?? []);
  const freeName = (base: string) => {
    if (!taken.has(base)) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base} ${i}`)) return `${base} ${i}`;
  };

  const create = async (name: string) => {
    try {
      const p = await api<{ id: number }>("POST", "/api/pipelines", { name });
      navigate(`/pipelines/${p.id}`);
    } catch (e) {
      toast(`Not created: ${errorText(e)}`, "error");
    }
  };
  const duplicate = async (p: PipelineSummary) => {
    try {
      await api("POST", `/api/pipelines/${p.id}/duplicate`, { name: freeName(`${p.name} copy`) });
      toast(`Duplicated "${p.name}".`, "ok");
      void load();
    } catch (e) {
      toast(`Not duplicated: ${errorText(e)}`, "error");
    }
  };
  const remove = async (p: PipelineSummary) => {
    try {
      await api("DELETE", `/api/pipelines/${p.id}`);
      toast(`Deleted "${p.name}".`, "ok");
      setDeleting(null);
      void load();
    } catch (e) {
      toast(`Not deleted: ${errorText(e)}`, "error");
    }
  };
  const fromExample = async (ex: Example) => {
    try {
      const p = await api<{ id: number }>("POST", `/api/examples/${ex.slug}`, { name: freeName(ex.title) });
      navigate(`/pipelines/${p.id}`);
    } catch (e) {
      toast(`Couldn't open the example: ${errorText(e)}`, "error");
    }
  };
  const importFile = async (file: File) => {
    setImportIssues(null);
    if (file.size > 1024 * 1024) {
      setImportIssues([`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; a pipeline file should be a few KB. Pick the .py file that defines the Dataflow.`]);
      return;
    }
    try {
      const source = await file.text();
      const { pipeline } = await api<{ pipeline: Pipeline }>("POST", "/api/import", { source });
      const base = file.name.replace(/\.py$/, "");
      const p = await api<{ id: number }>("POST", "/api/pipelines", { name: freeName(base), pipeline, note: `imported from ${file.name}` });
      navigate(`/pipelines/${p.id}`);
    } catch (e) {
      if (e instanceof ApiError && e.issues.length) {
        setImportIssues(e.issues.map((i) => `${i.line ? `line ${i.line}: ` : ""}${i.message}`));
      } else setImportIssues([`Import failed: ${errorText(e)}`]);
    } finally {
      if (fileRef.current) fileRef.current.value = "";
    }
  };

  return (
    <div className="list-page">
      <TopBar />
      <main className="list-main">
        <div className="row">
          <h1>Pipelines</h1>
          <div className="spacer" />
          <button type="button" className="primary" onClick={() => setCreating(true)} aria-label="new pipeline">+ New pipeline</button>
          <button type="button" onClick={() => fileRef.current?.click()} aria-label="import .py file">Import .py</button>
          <input ref={fileRef} type="file" accept=".py,text/x-python" hidden aria-label="python file to import"
            onChange={(e) => e.target.files?.[0] && void importFile(e.target.files[0])} />
        </div>
        {importIssues && (
          <div className="import-issues" role="alert" aria-label="import problems">
            <p><strong>That file can't be shown as a graph:</strong></p>
            <ul>{importIssues.map((m, i) => <li key={i}>{m}</li>)}</ul>
            <p className="muted small">Fix the lines above (the studio reads Dataflows built with rillet.operators calls at the top level of the file) and import again.</p>
          </div>
        )}
        {problem && <p className="field-error" role="alert">{problem}</p>}
        {list === null && !problem && <p className="muted">Loading…</p>}
        {list && list.length === 0 && (
          <div className="empty-state">
            <p>No pipelines yet. Start from an example below, create a blank one, or import a Rillet or Bytewax-style <code>.py</code> file.</p>
          </div>
        )}
        {list && list.length > 0 && (
          <table className="pipelines" aria-label="pipelines">
            <thead><tr><th>Name</th><th>Last edit</th><th>Version</th><th>Last run</th><th>Throughput</th><th><span className="sr-only">actions</span></th></tr></thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.id}>
                  <td><Link to={`/pipelines/${p.id}`} label={`open ${p.name}`}>{p.name}</Link></td>
                  <td title={p.updated_at}>{ago(p.updated_at)}</td>
                  <td>v{p.latest_version}</td>
                  <td>{p.last_run ? <Link to={`/runs/${p.last_run.id}`} label={`run ${p.last_run.id} of ${p.name}`}><StatusBadge status={p.last_run.status} /></Link> : <StatusBadge status={null} />}</td>
                  <td>{p.last_run?.items_per_s != null ? rate(p.last_run.items_per_s) : "–"}</td>
                  <td className="actions">
                    <button type="button" className="small" onClick={() => void duplicate(p)} aria-label={`duplicate ${p.name}`}>Duplicate</button>
                    <button type="button" className="small danger" onClick={() => setDeleting(p)} aria-label={`delete ${p.name}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2>Gallery</h2>
        <div className="gallery" aria-label="example gallery">
          {examples === null && <p className="muted">Loading examples…</p>}
          {examples?.map((ex) => (
            <article key={ex.slug} className="card">
              <h3>{ex.title}</h3>
              <p className="small">{ex.description.split("\n\n")[0]}</p>
              <button type="button" onClick={() => void fromExample(ex)} aria-label={`use example ${ex.title}`}>Open as a new pipeline</button>
            </article>
          ))}
        </div>
      </main>
      {creating && <CreateDialog suggested={freeName("my pipeline")} onCreate={(n) => void create(n)} onClose={() => setCreating(false)} />}
      {deleting && (
        <Modal title={`Delete "${deleting.name}"?`} onClose={() => setDeleting(null)}>
          <p>This deletes the pipeline, all {deleting.latest_version} of its versions and its runs. It can't be undone; export it first to keep a copy.</p>
          <div className="row end">
            <button type="button" onClick={() => setDeleting(null)} aria-label="cancel delete">Cancel</button>
            <button type="button" className="danger" onClick={() => void remove(deleting)} aria-label="confirm delete">Delete</button>
          </div>
        </Modal>
      )}
    </div>
  );
}

function CreateDialog({ suggested, onCreate, onClose }: { suggested: string; onCreate: (name: string) => void; onClose: () => void }) {
  const [name, setName] = useState(suggested);
  const ok = name.trim().length > 0 && name.trim().length <= 200;
  return (
    <Modal title="New pipeline" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); if (ok) onCreate(name.trim()); }}>
        <label className="field-label" htmlFor="new-name">Name</label>
        <input id="new-name" value={name} onChange={(e) => setName(e.target.value)} aria-label="new pipeline name" maxLength={200} autoFocus />
        {!ok && <p className="field-error">A name has 1 to 200 characters.</p>}
        <div className="row end">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={!ok} aria-label="create pipeline">Create</button>
        </div>
      </form>
    </Modal>
  );
}
