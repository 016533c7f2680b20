// Export: the pipeline as the Python file `python -m rillet.run` runs.
import { useEffect, useState } from "react";
import { api, ApiError, errorText } from "../lib/api";
import type { Pipeline } from "../lib/types";
import { Modal } from "../components/ui";
import { CodeEditor } from "../components/CodeEditor";

export function Export({ pipeline, dark, onClose }: { pipeline: Pipeline; dark: boolean; onClose: () => void }) {
  const [source, setSource] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    api<{ source: string }>("POST", "/api/export", { pipeline }).then((r) => setSource(r.source), (e) => {
      if (e instanceof ApiError && e.issues.length) {
        setProblem(`The pipeline can't be exported until these are fixed: ${e.issues.map((i) => i.message).join("; ")}`);
      } else setProblem(`Export failed: ${errorText(e)}`);
    });
  }, [pipeline]);
  const download = () => {
    const url = URL.createObjectURL(new Blob([source ?? ""], { type: "text/x-python" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${pipeline.flow_id || "pipeline"}.py`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <Modal title="Export as Python" onClose={onClose} wide>
      {problem && <p className="field-error" role="alert">{problem}</p>}
      {!problem && source === null && <p className="muted">Generating the Python file…</p>}
      {source !== null && (
        <>
          <p className="muted small">Run it with <code>python -m rillet.run {pipeline.flow_id}.py:flow</code>. Importing this file gives back the same graph.</p>
          <div className="export-code"><CodeEditor value={source} readOnly dark={dark} label="exported Python code" /></div>
          <div className="row end">
            <button type="button" onClick={() => navigator.clipboard?.writeText(source)} aria-label="copy code">Copy</button>
            <button type="button" className="primary" onClick={download} aria-label="download .py file">Download {pipeline.flow_id}.py</button>
          </div>
        </>
      )}
    </Modal>
  );
}
