// Shapes of the studio API (server/API.md) and of the pipeline model
// (engine/python/rillet/pipeline/schema_v1.json).

export type Group = "sources" | "transforms" | "stateful" | "windows" | "sinks";

export type ValueType =
  | "callable" | "int" | "float" | "str" | "bool" | "timedelta" | "datetime" | "path"
  | "source" | "sink" | "clock" | "windower" | "enum" | "any";

export interface ParamDef {
  name: string;
  kind: "stream" | "multi_stream" | "flow" | "value";
  annotation: string;
  required: boolean;
  default?: string;
  binding: string;
  doc: string;
  type?: ValueType;
  choices?: unknown[];
  nullable?: boolean;
}

export interface InputPort { name: string; multi: boolean; keyed: boolean }
export interface OutputPort { name: string; keyed: boolean; same_as?: string }

export interface OperatorDef {
  name: string;
  module: string;
  group: Group;
  summary: string;
  doc: string;
  params: ParamDef[];
  inputs: InputPort[];
  outputs: OutputPort[];
}

export interface ConstructorDef {
  name: string;
  kind: "source" | "sink" | "clock" | "windower";
  module: string;
  import: string;
  summary: string;
  doc: string;
  params: ParamDef[];
  items?: "keyed" | "plain" | "any";
}

export interface Catalog {
  schema_version: number;
  groups: Group[];
  operators: OperatorDef[];
  constructors: ConstructorDef[];
  types: Record<string, { imports: string[]; example: string }>;
}

export type Param =
  | { kind: "literal"; value: unknown }
  | { kind: "expr"; code: string }
  | { kind: "function"; code: string; name: string };

export interface PNode {
  id: string;
  op: string;
  step_id: string;
  params: Record<string, Param>;
  position?: { x: number; y: number };
}

export interface Endpoint { node: string; port: string; index?: number }
export interface PEdge { from: Endpoint; to: Endpoint }

export interface Pipeline {
  schema_version: 1;
  flow_id: string;
  prelude: string;
  nodes: PNode[];
  edges: PEdge[];
}

export interface Issue {
  node: string | null;
  field: string | null;
  line: number | null;
  column: number | null;
  message: string;
}

export interface ValidationReport { errors: Issue[]; warnings: Issue[] }

export type RunStatus = "starting" | "running" | "succeeded" | "failed" | "stopped" | "lost";

export interface RunError {
  step_id: string | null;
  node_id: string | null;
  kind: string;
  message: string;
  traceback: string | null;
}

export interface Run {
  id: number;
  pipeline_id: number;
  version: number;
  status: RunStatus;
  workers: number;
  epoch_interval_ms: number;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  exit_code: number | null;
  exit_reason: string | null;
  error: RunError | null;
}

export interface PipelineSummary {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  latest_version: number;
  last_run: { id: number; status: RunStatus; started_at: string | null; ended_at: string | null; items_per_s: number | null } | null;
}

export interface Version { number: number; created_at: string; note: string | null; pipeline: Pipeline }

export interface PipelineDetail {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  latest_version: number;
  version: Version;
}

export interface Diff {
  nodes: { added: unknown[]; removed: unknown[]; changed: { id: string; step_id: string; fields: string[] }[] };
  edges: { added: unknown[]; removed: unknown[] };
  code: { where: string; diff: string }[];
}

export interface StepMetrics {
  items_in_per_s: number | null;
  items_out_per_s: number | null;
  process_p50_ns: number | null;
  process_p99_ns: number | null;
  latency_p50_ns: number | null;
  latency_p95_ns: number | null;
  latency_p99_ns: number | null;
  state_keys: number | null;
  watermark_lag_s: number | null;
}

export interface LogLine { seq: number; stream: "stdout" | "stderr"; at: string; text: string }

export type LiveMessage =
  | { type: "status"; run: Run }
  | { type: "metrics"; ts: number; steps: Record<string, StepMetrics> }
  | { type: "records"; step_id: string; items: string[]; missed: number }
  | { type: "error"; error: RunError }
  | { type: "log"; line: LogLine };

export interface Example { slug: string; title: string; description: string }
