// What the canvas draws on top of the pipeline itself: validation issues,
// live metrics, the failed step of a run. Kept out of the nodes' data so that
// it is neither saved nor put into the undo history.
import type { Issue, StepMetrics } from "../lib/types";
import { Store } from "../lib/store";

export interface Overlay {
  issues: Map<string, Issue[]>; // node id -> errors and warnings (warnings have `warning: true`)
  metrics: Map<string, StepMetrics>; // node id -> latest metrics
  bottleneck: string | null; // node id
  failed: string | null; // node id of the step a run failed in
  live: string | null; // node id whose records the inspector streams
}

export const emptyOverlay = (): Overlay => ({ issues: new Map(), metrics: new Map(), bottleneck: null, failed: null, live: null });

export const overlay = new Store<Overlay>(emptyOverlay());

export interface NodeIssue extends Issue { severity: "error" | "warning" }
