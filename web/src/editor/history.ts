// Undo and redo as whole snapshots of the document (nodes, edges, prelude).
// Snapshots share unchanged objects with the live state, so they are cheap.
import type { StepEdge, StepNode } from "./graph";

export interface Snapshot { nodes: StepNode[]; edges: StepEdge[]; prelude: string }

const LIMIT = 200;

export class History {
  private past: Snapshot[] = [];
  private future: Snapshot[] = [];
  private lastTag: string | null = null;
  private lastAt = 0;

  /** Records `now` as the state to go back to. Edits with the same `tag`
   * within 1.5 s (typing in one field) make one step. Returns false when it coalesced. */
  push(now: Snapshot, tag?: string): boolean {
    const t = Date.now();
    const coalesce = tag !== undefined && tag === this.lastTag && t - this.lastAt < 1500;
    this.lastTag = tag ?? null;
    this.lastAt = t;
    if (coalesce) return false;
    this.past.push(now);
    if (this.past.length > LIMIT) this.past.shift();
    this.future = [];
    return true;
  }

  undo(now: Snapshot): Snapshot | null {
    const prev = this.past.pop();
    if (!prev) return null;
    this.future.push(now);
    this.lastTag = null;
    return prev;
  }

  redo(now: Snapshot): Snapshot | null {
    const next = this.future.pop();
    if (!next) return null;
    this.past.push(now);
    this.lastTag = null;
    return next;
  }

  get canUndo() { return this.past.length > 0; }
  get canRedo() { return this.future.length > 0; }
}
