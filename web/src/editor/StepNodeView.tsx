// How a step looks on the canvas: its id and operator, one handle per port,
// live metrics, and a badge when validation found a problem.
import { memo } from "react";
import { Handle, Position, type NodeProps, useStore as useFlowStore } from "@xyflow/react";
import type { OperatorDef } from "../lib/types";
import { useStore } from "../lib/store";
import { nanos, rate, seconds } from "../lib/format";
import { inHandle, outHandle, type StepNode } from "./graph";
import { overlay } from "./overlay";

export const opsRef: { current: Map<string, OperatorDef> } = { current: new Map() };

const PORT_TOP = 44;
/** Below this zoom a step's text is too small to read: it is left out, which
 * makes a graph of thousands of steps much cheaper to draw and pan. */
const FAR_ZOOM = 0.4;
const PORT_GAP = 20;

function StepNodeViewImpl({ id, data, selected }: NodeProps<StepNode>) {
  const def = opsRef.current.get(data.op);
  const issues = useStore(overlay, (s) => s.issues.get(id));
  const m = useStore(overlay, (s) => s.metrics.get(id));
  const bottleneck = useStore(overlay, (s) => s.bottleneck === id);
  const failed = useStore(overlay, (s) => s.failed === id);
  const live = useStore(overlay, (s) => s.live === id);
  const far = useFlowStore((s) => s.transform[2] < FAR_ZOOM);
  const inputs = def?.inputs ?? [];
  const outputs = def?.outputs ?? [];
  const rows = Math.max(inputs.length, outputs.length, 1);
  const errors = issues?.filter((i) => (i as { severity?: string }).severity !== "warning") ?? [];
  const group = def?.group ?? "unknown";
  const p99 = m ? (m.latency_p99_ns ?? m.process_p99_ns) : null;
  const cls = [
    "step", `group-${group}`, selected && "selected", errors.length && "has-error",
    bottleneck && "bottleneck", failed && "failed", live && "live", !def && "unknown-op", far && "far",
  ].filter(Boolean).join(" ");
  return (
    <div className={cls} style={{ minHeight: PORT_TOP + rows * PORT_GAP + (m ? (m.watermark_lag_s != null ? 36 : 22) : 4) }}
      aria-label={`step ${data.step_id} (${data.op})`} data-step-id={data.step_id} title={def?.summary ?? `unknown operator ${data.op}`}>
      {!far && <div className="step-head">
        <span className="step-op">{data.op}</span>
        <span className="step-id">{data.step_id}</span>
        {errors.length > 0 && (
          <span className="step-badge error" role="status" aria-label={`${errors.length} validation error${errors.length > 1 ? "s" : ""}`}
            title={errors.map((e) => e.message).join("\n")}>!{errors.length}</span>
        )}
        {failed && <span className="step-badge error" aria-label="run failed in this step">failed</span>}
      </div>}
      {inputs.map((p, i) => (
        <div key={p.name} className={`port-label in${p.keyed ? " keyed" : ""}`} style={{ top: PORT_TOP + i * PORT_GAP - 8 }}
          title={`${p.multi ? "takes any number of streams" : "takes one stream"}${p.keyed ? " of (key, value) pairs" : ""}`}>
          {!far && `${p.name}${p.multi ? " (many)" : ""}`}
          <Handle type="target" position={Position.Left} id={inHandle(p.name)} style={{ top: 8 }}
            aria-label={`input ${p.name} of ${data.step_id}`} className={p.keyed ? "keyed" : ""} />
        </div>
      ))}
      {outputs.map((p, i) => (
        <div key={p.name} className={`port-label out${p.keyed ? " keyed" : ""}`} style={{ top: PORT_TOP + i * PORT_GAP - 8 }}
          title={p.keyed ? "emits (key, value) pairs" : "emits items"}>
          {!far && p.name}
          <Handle type="source" position={Position.Right} id={outHandle(p.name)} style={{ top: 8 }}
            aria-label={`output ${p.name} of ${data.step_id}`} className={p.keyed ? "keyed" : ""} />
        </div>
      ))}
      {m && !far && (
        <div className="step-metrics" aria-label={`metrics of ${data.step_id}`}>
          <span className="m-rate" title="items out per second (items in for sinks)">{rate(outputs.length ? m.items_out_per_s : m.items_in_per_s)}</span>
          <span className="m-p99" title="p99 latency">p99 {nanos(p99)}</span>
          {m.watermark_lag_s !== null && m.watermark_lag_s !== undefined && (
            <span className="m-wm" title="watermark lag: how far this step's watermark is behind system time">wm lag {seconds(m.watermark_lag_s)}</span>
          )}
        </div>
      )}
    </div>
  );
}

export const StepNodeView = memo(StepNodeViewImpl);
export const nodeTypes = { step: StepNodeView };
