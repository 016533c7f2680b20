// Auto-layout: dagre ranks the steps left to right along the edges.
import dagre from "@dagrejs/dagre";
import type { StepEdge, StepNode } from "./graph";

export function autoLayout(nodes: StepNode[], edges: StepEdge[]): StepNode[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 30, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.measured?.width ?? 200, height: n.measured?.height ?? 80 });
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    const w = n.measured?.width ?? 200;
    const h = n.measured?.height ?? 80;
    return { ...n, position: { x: Math.round(p.x - w / 2), y: Math.round(p.y - h / 2) } };
  });
}
