// Puts a run's live state on the canvas: metrics per node, the bottleneck,
// the step a run failed in.
import { useCallback, useEffect, useMemo } from "react";
import type { OperatorDef } from "../lib/types";
import type { LiveState } from "../lib/live";
import type { StepNode } from "../editor/graph";
import { overlay } from "../editor/overlay";

export function useRunOverlay(
  flowId: string, nodes: StepNode[], live: LiveState | null, ops: Map<string, OperatorDef>, focus: (nodeId: string) => void,
) {
  // Only step ids matter here; positions change on every drag frame.
  const idsKey = nodes.map((n) => `${n.id}=${n.data.step_id}`).join("\n");
  const { nodeOfStep, stepOfNodeMap, sinks } = useMemo(() => {
    const nodeOfStep = new Map<string, string>();
    const stepOfNodeMap = new Map<string, string>();
    const sinks = new Set<string>();
    for (const n of nodes) {
      const full = `${flowId}.${n.data.step_id}`;
      nodeOfStep.set(full, n.id);
      stepOfNodeMap.set(n.id, full);
      if ((ops.get(n.data.op)?.outputs.length ?? 1) === 0) sinks.add(full);
    }
    return { nodeOfStep, stepOfNodeMap, sinks };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [flowId, idsKey, ops]);

  const latest = live?.metrics.length ? live.metrics[live.metrics.length - 1] : null;
  useEffect(() => {
    const metrics = new Map<string, NonNullable<typeof latest>["steps"][string]>();
    let bottleneck: string | null = null;
    let worst = 0;
    let busy = 0;
    if (latest) {
      for (const [step, m] of Object.entries(latest?.steps ?? {})) {
        const exact = nodeOfStep.get(step);
        const node = exact ?? findStep(nodeOfStep, flowId, step);
        if (!node || (!exact && metrics.has(node))) continue;
        metrics.set(node, m);
        // The busiest step: the share of a second it spends processing.
        const load = (m.items_in_per_s ?? 0) * (m.process_p50_ns ?? 0);
        if (load > 0) busy++;
        if (load > worst) {
          worst = load;
          bottleneck = node;
        }
      }
    }
    overlay.set((s) => ({ ...s, metrics, bottleneck: busy > 1 ? bottleneck : null }));
  }, [latest, nodeOfStep, flowId]);

  const err = live?.error ?? live?.run?.error ?? null;
  const failed = err ? (err.node_id && stepOfNodeMap.has(err.node_id) ? err.node_id : err.step_id ? findStep(nodeOfStep, flowId, err.step_id) : null) : null;
  useEffect(() => {
    overlay.set((s) => ({ ...s, failed }));
  }, [failed]);

  const stepOfNode = useCallback((id: string) => stepOfNodeMap.get(id) ?? null, [stepOfNodeMap]);
  const showStep = useCallback((stepId: string) => {
    const node = findStep(nodeOfStep, flowId, stepId);
    if (node) focus(node);
  }, [nodeOfStep, flowId, focus]);
  return { stepOfNode, sinks, showStep };
}

/** The node of a step id as the engine reports it: `flow.step`, just
 * `step`, or a sub-step inside an operator such as `flow.step.inner`. */
function findStep(nodeOfStep: Map<string, string>, flowId: string, stepId: string): string | null {
  for (const id of [stepId, `${flowId}.${stepId}`]) {
    if (nodeOfStep.has(id)) return nodeOfStep.get(id)!;
    let best: string | null = null;
    for (const k of nodeOfStep.keys()) if (id.startsWith(k + ".") && (!best || k.length > best.length)) best = k;
    if (best) return nodeOfStep.get(best)!;
  }
  return null;
}
