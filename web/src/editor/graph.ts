// The pipeline model <-> the canvas's nodes and edges, and the rules a new
// connection must follow (each refusal comes with a reason to show).
import type { Edge, Node } from "@xyflow/react";
import type { Catalog, OperatorDef, Param, PEdge, Pipeline, PNode } from "../lib/types";

export interface StepData extends Record<string, unknown> {
  op: string;
  step_id: string;
  params: Record<string, Param>;
}

export type StepNode = Node<StepData, "step">;
export interface EdgeData extends Record<string, unknown> { index?: number }
export type StepEdge = Edge<EdgeData>;

export const inHandle = (port: string) => `in:${port}`;
export const outHandle = (port: string) => `out:${port}`;
export const portOf = (handle: string | null | undefined) => (handle ?? "").replace(/^(in|out):/, "");

export function edgeId(e: PEdge): string {
  return `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}${e.to.index !== undefined ? "#" + e.to.index : ""}`;
}

export function toFlow(p: Pipeline): { nodes: StepNode[]; edges: StepEdge[] } {
  const nodes = p.nodes.map((n, i): StepNode => ({
    id: n.id,
    type: "step",
    position: n.position ?? { x: 240 * i, y: 0 },
    data: { op: n.op, step_id: n.step_id, params: n.params ?? {} },
  }));
  const edges = p.edges.map(toFlowEdge);
  return { nodes, edges };
}

export function toFlowEdge(e: PEdge): StepEdge {
  return {
    id: edgeId(e),
    source: e.from.node,
    sourceHandle: outHandle(e.from.port),
    target: e.to.node,
    targetHandle: inHandle(e.to.port),
    data: e.to.index !== undefined ? { index: e.to.index } : {},
    label: e.to.index !== undefined ? String(e.to.index) : undefined,
  };
}

export function toModel(flowId: string, prelude: string, nodes: StepNode[], edges: StepEdge[]): Pipeline {
  return {
    schema_version: 1,
    flow_id: flowId,
    prelude,
    nodes: nodes.map((n): PNode => ({
      id: n.id,
      op: n.data.op,
      step_id: n.data.step_id,
      params: n.data.params,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    })),
    edges: edges.map((e): PEdge => {
      const to: PEdge["to"] = { node: e.target, port: portOf(e.targetHandle) };
      if (e.data?.index !== undefined) to.index = e.data.index;
      return { from: { node: e.source, port: portOf(e.sourceHandle) }, to };
    }),
  };
}

export function opIndex(cat: Catalog): Map<string, OperatorDef> {
  return new Map(cat.operators.map((o) => [o.name, o]));
}

/** A step id that no node has yet: `base`, else `base_2`, `base_3`... */
export function uniqueStepId(base: string, taken: Set<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_]/g, "_") || "step";
  if (!taken.has(clean)) return clean;
  for (let i = 2; ; i++) if (!taken.has(`${clean}_${i}`)) return `${clean}_${i}`;
}

let idCounter = 0;
export function newNodeId(taken: Set<string>): string {
  for (;;) {
    const id = `n${Date.now().toString(36)}${(idCounter++).toString(36)}`;
    if (!taken.has(id)) return id;
  }
}

type Keyedness = "keyed" | "plain" | "unknown";

/** Whether the items of a node's output port are known to be `(key, value)`
 * pairs, known not to be, or unknown (then validation decides at save). */
export function outputKeyedness(
  cat: Catalog, ops: Map<string, OperatorDef>, nodes: Map<string, StepNode>, edges: StepEdge[],
  nodeId: string, port: string, seen = new Set<string>(),
): Keyedness {
  const node = nodes.get(nodeId);
  const def = node && ops.get(node.data.op);
  if (!node || !def || seen.has(nodeId)) return "unknown";
  seen.add(nodeId);
  const out = def.outputs.find((o) => o.name === port);
  if (!out) return "unknown";
  if (out.keyed) return "keyed";
  if (out.same_as) {
    const up = edges.find((e) => e.target === nodeId && portOf(e.targetHandle) === out.same_as);
    return up ? outputKeyedness(cat, ops, nodes, edges, up.source, portOf(up.sourceHandle), seen) : "unknown";
  }
  if (def.inputs.length === 0) {
    for (const p of Object.values(node.data.params)) {
      if (p.kind !== "expr") continue;
      const ctor = cat.constructors.find((c) => c.kind === "source" && new RegExp(`^${c.name}\\s*\\(`).test(p.code));
      if (ctor?.items === "keyed") return "keyed";
      if (ctor?.items === "plain") return "plain";
    }
  }
  return "unknown";
}

export interface ConnectionCheck { ok: boolean; reason?: string; index?: number }

/** Whether an edge from (source, sourcePort) to (target, targetPort) may be
 * added, and the `index` it gets on a multi port. */
export function checkConnection(
  cat: Catalog, ops: Map<string, OperatorDef>, nodes: StepNode[], edges: StepEdge[],
  source: string, sourceHandle: string | null | undefined, target: string, targetHandle: string | null | undefined,
): ConnectionCheck {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const from = byId.get(source);
  const to = byId.get(target);
  if (!from || !to) return { ok: false, reason: "One end of this connection is not a step on the canvas." };
  const fromPort = portOf(sourceHandle);
  const toPort = portOf(targetHandle);
  if (!sourceHandle?.startsWith("out:") || !targetHandle?.startsWith("in:")) {
    return { ok: false, reason: "Connect an output port (right side of a step) to an input port (left side of another step)." };
  }
  if (source === target) {
    return { ok: false, reason: `A step can't take its own output: connect "${from.data.step_id}" to another step.` };
  }
  const toDef = ops.get(to.data.op);
  const input = toDef?.inputs.find((i) => i.name === toPort);
  if (!input) return { ok: false, reason: `"${to.data.step_id}" has no input named "${toPort}".` };
  const into = edges.filter((e) => e.target === target && portOf(e.targetHandle) === toPort);
  if (into.some((e) => e.source === source && portOf(e.sourceHandle) === fromPort)) {
    return { ok: false, reason: `"${from.data.step_id}.${fromPort}" is already connected to "${to.data.step_id}.${toPort}".` };
  }
  if (!input.multi && into.length > 0) {
    const other = byId.get(into[0].source)?.data.step_id ?? into[0].source;
    return {
      ok: false,
      reason: `Input "${toPort}" of "${to.data.step_id}" already takes the stream of "${other}". An input takes one stream: delete that edge first, or use a merge step.`,
    };
  }
  // A path from the target back to the source would close a loop.
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (id === source) {
      return { ok: false, reason: `Connecting "${from.data.step_id}" to "${to.data.step_id}" would make a cycle; a dataflow can't loop back. Connect to a step further down instead.` };
    }
    if (seen.has(id)) continue;
    seen.add(id);
    for (const e of edges) if (e.source === id) stack.push(e.target);
  }
  if (input.keyed) {
    const k = outputKeyedness(cat, ops, byId, edges, source, fromPort);
    if (k === "plain") {
      return {
        ok: false,
        reason: `"${to.data.step_id}" (${to.data.op}) needs keyed items, (key, value) pairs, but "${from.data.step_id}" emits plain items. Put a key_on step between them.`,
      };
    }
  }
  return { ok: true, index: input.multi ? into.length : undefined };
}
