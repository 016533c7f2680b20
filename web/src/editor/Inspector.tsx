// The selected step's form: its step id and one field per value param.
import type { Catalog, Issue, OperatorDef, Param } from "../lib/types";
import type { Marker } from "../components/CodeEditor";
import { codeOfParam, Field, paramFromCode } from "./fields";
import type { StepNode } from "./graph";
import type { NodeIssue } from "./overlay";

interface Props {
  node: StepNode;
  def: OperatorDef | undefined;
  cat: Catalog;
  issues: Issue[];
  dark: boolean;
  onParams: (params: Record<string, Param>) => void;
  onStepId: (stepId: string) => void;
  onImports: (lines: string[]) => void;
}

export function markersFor(issues: Issue[], field: string): Marker[] {
  return issues
    .filter((i) => i.field === field)
    .map((i) => ({ line: i.line, column: i.column, message: i.message, severity: (i as NodeIssue).severity ?? "error" }));
}

export function Inspector({ node, def, cat, issues, dark, onParams, onStepId, onImports }: Props) {
  const values = def?.params.filter((p) => p.kind === "value") ?? [];
  const stepIssues = markersFor(issues, "step_id");
  const other = issues.filter((i) => !i.field || (i.field !== "step_id" && !values.some((p) => p.name === i.field)));
  return (
    <div className="inspector" aria-label={`inspector of ${node.data.step_id}`}>
      <h2>
        <span className="op-name">{node.data.op}</span>
        {def && <span className={`group-chip group-${def.group}`}>{def.group}</span>}
      </h2>
      {def ? <p className="muted small">{def.summary}</p> : (
        <p className="field-error" role="alert">
          The catalog has no operator "{node.data.op}". Delete this step, or install the package that provides it and restart the studio.
        </p>
      )}
      <div className="field">
        <label className="field-label" htmlFor="step-id-input">step id <span className="req">*</span></label>
        <input id="step-id-input" type="text" value={node.data.step_id} spellCheck={false}
          onChange={(e) => onStepId(e.target.value)} aria-label="step id" />
        {stepIssues.map((m, i) => <p key={i} className="field-error" role="alert">{m.message}</p>)}
      </div>
      {other.map((i, k) => (
        <p key={k} className={(i as NodeIssue).severity === "warning" ? "field-warning" : "field-error"} role="alert">{i.message}</p>
      ))}
      {values.map((p) => (
        <Field key={`${node.id}.${p.name}`} def={p} cat={cat} dark={dark} label={p.name}
          code={codeOfParam(node.data.params[p.name])} markers={markersFor(issues, p.name)}
          onChange={(code, imports) => {
            const next = { ...node.data.params };
            const param = paramFromCode(p, code);
            if (param) next[p.name] = param;
            else delete next[p.name];
            onParams(next);
            if (imports?.length) onImports(imports);
          }} />
      ))}
      {def && (
        <details className="op-doc">
          <summary>Documentation of {def.name}</summary>
          <pre>{def.doc}</pre>
        </details>
      )}
    </div>
  );
}
