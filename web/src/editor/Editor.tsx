// The pipeline editor: palette, canvas, inspector, and the run, live and
// metrics panels under the canvas.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  applyEdgeChanges, applyNodeChanges, Background, type Connection, ControlButton, Controls, type EdgeChange,
  type FinalConnectionState, MiniMap, type NodeChange, ReactFlow, useNodesInitialized, useReactFlow, type Viewport,
} from "@xyflow/react";
import { api, ApiError, errorText } from "../lib/api";
import type { Catalog, Issue, Param, Pipeline, PipelineDetail, Run, Version } from "../lib/types";
import { Store, useStore } from "../lib/store";
import { ENDED, LiveRun, stopRun, type LiveState } from "../lib/live";
import { withImports } from "../lib/pyexpr";
import { CodeEditor } from "../components/CodeEditor";
import { leaveGuard, StatusBadge, toast, TopBar, useTheme } from "../components/ui";
import {
  checkConnection, newNodeId, opIndex, portOf, type StepEdge, type StepNode, toFlow, toFlowEdge, toModel, uniqueStepId,
} from "./graph";
import { History, type Snapshot } from "./history";
import { autoLayout } from "./layout";
import { emptyOverlay, type NodeIssue, overlay } from "./overlay";
import { nodeTypes, opsRef } from "./StepNodeView";
import { DRAG_TYPE, Palette } from "./Palette";
import { paletteItems, type PaletteItem } from "./palette-items";
import { Inspector, markersFor } from "./Inspector";
import { Versions } from "./Versions";
import { Help } from "./Help";
import { Export } from "./Export";
import { RunControls } from "../run/RunControls";
import { Logs } from "../run/Logs";
import { defaultLiveOptions, LiveRecords, useLiveSubscription } from "../run/LiveRecords";
import { MetricsPanel } from "../run/Metrics";
import { useRunOverlay } from "../run/useRunOverlay";

type RightTab = "inspect" | "prelude" | "versions";
type BottomTab = "run" | "live" | "metrics" | "logs";

const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement && !!t.closest("input, textarea, select, [contenteditable=true], .cm-editor");

let clipboard: { nodes: StepNode[]; edges: StepEdge[] } | null = null;

interface Props { cat: Catalog; detail: PipelineDetail }

export function Editor({ cat, detail }: Props) {
  const dark = useTheme() === "dark";
  const rf = useReactFlow<StepNode, StepEdge>();
  const ops = useMemo(() => opIndex(cat), [cat]);
  opsRef.current = ops;
  const items = useMemo(() => paletteItems(cat), [cat]);

  const initial = useMemo(() => toFlow(detail.version.pipeline), [detail]);
  const [nodes, setNodes] = useState<StepNode[]>(initial.nodes);
  const [edges, setEdges] = useState<StepEdge[]>(initial.edges);
  const [prelude, setPrelude] = useState(detail.version.pipeline.prelude ?? "");
  const [flowId, setFlowId] = useState(detail.version.pipeline.flow_id);
  const [name, setName] = useState(detail.name);
  const [version, setVersion] = useState(detail.latest_version);
  const [rev, setRev] = useState(0);
  const [savedRev, setSavedRev] = useState(0);
  const [saving, setSaving] = useState(false);
  const [rightTab, setRightTab] = useState<RightTab>("inspect");
  const [bottomTab, setBottomTab] = useState<BottomTab>("run");
  const [bottomOpen, setBottomOpen] = useState(true);
  const [showHelp, setShowHelp] = useState(false);
  const [exporting, setExporting] = useState<Pipeline | null>(null);
  const [report, setReport] = useState<{ errors: Issue[]; warnings: Issue[] } | null>(null);
  const [validationProblem, setValidationProblem] = useState<string | null>(null);
  const [connProblem, setConnProblem] = useState<string | null>(null);
  const [live, setLive] = useState<LiveRun | null>(null);
  const [starting, setStarting] = useState(false);
  const [target, setTarget] = useState<{ nodeId: string; title: string } | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const canvasRef = useRef<HTMLDivElement>(null);

  // Latest values for callbacks that outlive a render.
  const cur = useRef({ nodes, edges, prelude });
  cur.current = { nodes, edges, prelude };
  const history = useRef(new History());
  const dirty = rev !== savedRev;

  const snapshot = (): Snapshot => ({ ...cur.current });
  /** Call before every change to the document: records undo and marks it changed. */
  const commit = useCallback((tag?: string) => {
    history.current.push({ ...cur.current }, tag);
    setRev((r) => r + 1);
  }, []);
  const restore = (s: Snapshot) => {
    setNodes(s.nodes);
    setEdges(s.edges);
    setPrelude(s.prelude);
    setRev((r) => r + 1);
  };
  const undo = () => {
    const s = history.current.undo(snapshot());
    if (s) restore(s);
  };
  const redo = () => {
    const s = history.current.redo(snapshot());
    if (s) restore(s);
  };

  const model = useCallback(() => toModel(flowId, cur.current.prelude, cur.current.nodes, cur.current.edges), [flowId]);

  // ------------------------------------------------------------ validation --
  useEffect(() => {
    const t = setTimeout(async () => {
      try {
        const r = await api<{ errors: Issue[]; warnings: Issue[] }>("POST", "/api/validate", { pipeline: model() });
        setReport(r);
        setValidationProblem(null);
      } catch (e) {
        setValidationProblem(`Couldn't check the pipeline: ${errorText(e)}`);
      }
    }, 450);
    return () => clearTimeout(t);
  }, [rev, flowId, model]);

  useEffect(() => {
    const issues = new Map<string, NodeIssue[]>();
    const add = (i: Issue, severity: NodeIssue["severity"]) => {
      if (!i.node) return;
      const list = issues.get(i.node) ?? [];
      list.push({ ...i, severity });
      issues.set(i.node, list);
    };
    report?.errors.forEach((i) => add(i, "error"));
    report?.warnings.forEach((i) => add(i, "warning"));
    overlay.set((s) => ({ ...s, issues }));
  }, [report]);
  useEffect(() => () => overlay.set(emptyOverlay()), []);

  const preludeMarkers = useMemo(() => [
    ...(report?.errors ?? []).filter((i) => !i.node && i.field === "prelude").map((i) => ({ line: i.line, column: i.column, message: i.message, severity: "error" as const })),
    ...(report?.warnings ?? []).filter((i) => !i.node && i.field === "prelude").map((i) => ({ line: i.line, column: i.column, message: i.message, severity: "warning" as const })),
  ], [report]);
  const globalIssues = (report?.errors ?? []).filter((i) => !i.node && i.field !== "prelude");
  const errorCount = report?.errors.length ?? 0;

  // ---------------------------------------------------------------- graph --
  const onNodesChange = useCallback((changes: NodeChange<StepNode>[]) => {
    if (changes.some((c) => c.type === "remove")) commit();
    setNodes((ns) => applyNodeChanges(changes, ns));
  }, [commit]);
  const onEdgesChange = useCallback((changes: EdgeChange<StepEdge>[]) => {
    if (changes.some((c) => c.type === "remove")) commit();
    setEdges((es) => applyEdgeChanges(changes, es));
  }, [commit]);

  const check = useCallback((c: Connection | { source: string; sourceHandle?: string | null; target: string; targetHandle?: string | null }) =>
    checkConnection(cat, ops, cur.current.nodes, cur.current.edges, c.source, c.sourceHandle, c.target, c.targetHandle), [cat, ops]);

  const onConnect = useCallback((c: Connection) => {
    const r = check(c);
    if (!r.ok) {
      setConnProblem(r.reason!);
      return;
    }
    commit();
    setConnProblem(null);
    const e = toFlowEdge({ from: { node: c.source, port: portOf(c.sourceHandle) }, to: { node: c.target, port: portOf(c.targetHandle), ...(r.index !== undefined ? { index: r.index } : {}) } });
    setEdges((es) => [...es, e]);
  }, [check, commit]);

  const onConnectEnd = useCallback((_: MouseEvent | TouchEvent, s: FinalConnectionState) => {
    if (s.isValid || !s.fromHandle || !s.toHandle || !s.fromNode || !s.toNode) return;
    const fromIsSource = s.fromHandle.type === "source";
    const [src, srcH, dst, dstH] = fromIsSource
      ? [s.fromNode.id, s.fromHandle.id, s.toNode.id, s.toHandle.id]
      : [s.toNode.id, s.toHandle.id, s.fromNode.id, s.fromHandle.id];
    const r = check({ source: src, sourceHandle: srcH, target: dst, targetHandle: dstH });
    if (!r.ok) setConnProblem(r.reason!);
  }, [check]);

  const addItem = useCallback((item: PaletteItem, at?: { x: number; y: number }) => {
    commit();
    const taken = new Set(cur.current.nodes.map((n) => n.data.step_id));
    const ids = new Set(cur.current.nodes.map((n) => n.id));
    let pos = at;
    if (!pos) {
      const r = canvasRef.current?.getBoundingClientRect();
      pos = rf.screenToFlowPosition({ x: (r?.left ?? 0) + (r?.width ?? 800) / 2 - 90, y: (r?.top ?? 0) + (r?.height ?? 600) / 2 - 30 });
    }
    // Don't drop a step on top of another: move down to the first free spot.
    for (let tries = 0; tries < 50 && cur.current.nodes.some((n) => Math.abs(n.position.x - pos!.x) < 180 && Math.abs(n.position.y - pos!.y) < 70); tries++) {
      pos = { x: pos.x, y: pos.y + 80 };
    }
    const node: StepNode = {
      id: newNodeId(ids), type: "step", position: pos, selected: true,
      data: { op: item.op, step_id: uniqueStepId(item.stepBase, taken), params: { ...item.params } },
    };
    setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node]);
    if (item.imports.length) setPrelude((p) => withImports(p, item.imports));
    setRightTab("inspect");
  }, [commit, rf]);

  const onDrop = useCallback((e: React.DragEvent) => {
    const key = e.dataTransfer.getData(DRAG_TYPE);
    const item = items.find((i) => i.key === key);
    if (!item) return;
    e.preventDefault();
    addItem(item, rf.screenToFlowPosition({ x: e.clientX - 40, y: e.clientY - 20 }));
  }, [items, addItem, rf]);

  const updateNode = useCallback((id: string, data: Partial<StepNode["data"]>, tag: string) => {
    commit(tag);
    setNodes((ns) => ns.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...data } } : n)));
  }, [commit]);

  const selected = nodes.filter((n) => n.selected);
  const selectedNode = selected.length === 1 ? selected[0] : null;
  const selIssues = useStore(overlay, (s) => (selectedNode ? s.issues.get(selectedNode.id) : undefined)) ?? NONE;

  const copy = () => {
    const sel = cur.current.nodes.filter((n) => n.selected);
    if (!sel.length) return;
    const ids = new Set(sel.map((n) => n.id));
    clipboard = { nodes: sel, edges: cur.current.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
    toast(`Copied ${sel.length} step${sel.length > 1 ? "s" : ""}.`);
  };
  const paste = () => {
    if (!clipboard) return;
    commit();
    const taken = new Set(cur.current.nodes.map((n) => n.data.step_id));
    const ids = new Set(cur.current.nodes.map((n) => n.id));
    const rename = new Map<string, string>();
    const fresh = clipboard.nodes.map((n) => {
      const id = newNodeId(ids);
      ids.add(id);
      rename.set(n.id, id);
      const stepId = uniqueStepId(n.data.step_id, taken);
      taken.add(stepId);
      return { ...n, id, selected: true, position: { x: n.position.x + 40, y: n.position.y + 40 }, data: { ...n.data, step_id: stepId } };
    });
    const freshEdges = clipboard.edges.map((e) => ({ ...e, id: `${e.id}~${rename.get(e.source)}`, source: rename.get(e.source)!, target: rename.get(e.target)! }));
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...fresh]);
    setEdges((es) => [...es, ...freshEdges]);
  };
  const layout = () => {
    commit();
    setNodes((ns) => autoLayout(ns, cur.current.edges));
    setTimeout(() => rf.fitView({ duration: 200 }), 50);
  };
  const deleteSelected = () => {
    const sel = cur.current.nodes.filter((n) => n.selected).map((n) => n.id);
    const selEdges = cur.current.edges.filter((e) => e.selected).map((e) => e.id);
    if (sel.length || selEdges.length) void rf.deleteElements({ nodes: sel.map((id) => ({ id })), edges: selEdges.map((id) => ({ id })) });
  };

  // ------------------------------------------------------------ save, run --
  const save = useCallback(async (note?: string): Promise<boolean> => {
    setSaving(true);
    try {
      const savingRev = rev;
      const res = await api<{ number: number }>("POST", `/api/pipelines/${detail.id}/versions`, note ? { pipeline: model(), note } : { pipeline: model() });
      setVersion(res.number);
      setSavedRev(savingRev);
      toast(`Saved version ${res.number}.`, "ok");
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.issues.length) setReport({ errors: e.issues, warnings: [] });
      toast(`Not saved: ${errorText(e)}`, "error");
      return false;
    } finally {
      setSaving(false);
    }
  }, [rev, detail.id, model]);

  const [liveId, setLiveId] = useState<number | null>(null);
  const attach = useCallback((runId: number) => setLiveId(runId), []);
  useEffect(() => {
    if (liveId === null) return;
    const l = new LiveRun(liveId);
    setLive(l);
    return () => l.close();
  }, [liveId]);

  useEffect(() => {
    // Show the newest run of this pipeline, live if it is still going.
    api<Run[] | { runs: Run[] }>("GET", `/api/runs?pipeline=${detail.id}`).then((r) => {
      const list = Array.isArray(r) ? r : r.runs;
      if (list?.length) attach(list[0].id);
    }, () => undefined);
  }, [detail.id, attach]);

  const start = async (workers: number, epochMs: number) => {
    setStarting(true);
    try {
      if (dirty && !(await save("saved to run"))) return;
      const res = await api<Run | { run: Run }>("POST", `/api/pipelines/${detail.id}/runs`, { workers, epoch_interval_ms: epochMs });
      const run = "run" in res ? res.run : res;
      attach(run.id);
      setBottomOpen(true);
      setBottomTab(target ? "live" : "run");
    } catch (e) {
      if (e instanceof ApiError && e.issues.length) {
        setReport({ errors: e.issues, warnings: [] });
        toast(`The run didn't start: fix the ${e.issues.length} problem${e.issues.length > 1 ? "s" : ""} marked on the steps, then run again.`, "error");
      } else toast(`The run didn't start: ${errorText(e)}`, "error");
    } finally {
      setStarting(false);
    }
  };
  const liveState: LiveState | null = useStore((live?.store ?? nullStore) as Store<LiveState | null>, (s) => s);
  const run = liveState?.run ?? null;
  const alive = !!run && !ENDED.has(run.status);
  const stop = async () => {
    if (!run) return;
    try {
      await stopRun(run.id);
    } catch (e) {
      toast(`Couldn't stop run #${run.id}: ${errorText(e)}`, "error");
    }
  };

  const { stepOfNode, sinks, showStep } = useRunOverlay(flowId, nodes, liveState, ops, (id) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id })));
    const n = cur.current.nodes.find((x) => x.id === id);
    if (n) rf.fitView({ nodes: [{ id }], duration: 300, maxZoom: 1.2 });
  });
  useEffect(() => {
    overlay.set((s) => ({ ...s, live: target?.nodeId ?? null }));
  }, [target]);
  // A run that fails shows its error (and the step) wherever the panel was.
  const runError = liveState?.error ?? null;
  useEffect(() => {
    if (runError) {
      setBottomTab("run");
      setBottomOpen(true);
    }
  }, [runError]);

  // ------------------------------------------------------------ shortcuts --
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (mod && k === "s") {
      e.preventDefault();
      void save();
      return;
    }
    if (mod && e.key === "Enter") {
      e.preventDefault();
      if (!alive && !starting) void start(1, 10000);
      return;
    }
    if (isTyping(e.target) || document.querySelector(".modal")) return;
    if (mod && k === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
    else if ((mod && k === "z" && e.shiftKey) || (mod && k === "y")) { e.preventDefault(); redo(); }
    else if (mod && k === "c") copy();
    else if (mod && k === "v") paste();
    else if (mod && k === "a") { e.preventDefault(); setNodes((ns) => ns.map((n) => ({ ...n, selected: true }))); }
    else if (mod) return;
    else if (e.key === "/") { e.preventDefault(); searchRef.current?.focus(); }
    else if (e.key === "?") setShowHelp(true);
    else if (k === "f") rf.fitView({ duration: 200 });
    else if (k === "l") layout();
  };
  useEffect(() => {
    const h = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener("keydown", h);
    return () => window.removeEventListener("keydown", h);
  }, []);
  useEffect(() => {
    const h = (e: BeforeUnloadEvent) => {
      if (dirty) e.preventDefault();
    };
    window.addEventListener("beforeunload", h);
    leaveGuard.current = dirty ? () => window.confirm("This pipeline has unsaved changes. Leave without saving them? (Cancel, then Ctrl+S, to keep them.)") : null;
    return () => {
      window.removeEventListener("beforeunload", h);
      leaveGuard.current = null;
    };
  }, [dirty]);

  const rename = async (next: string) => {
    const n = next.trim();
    if (!n || n === detail.name) return setName(detail.name);
    try {
      await api("PATCH", `/api/pipelines/${detail.id}`, { name: n });
      detail.name = n;
      toast(`Renamed to "${n}".`, "ok");
    } catch (e) {
      setName(detail.name);
      toast(`Not renamed: ${errorText(e)}`, "error");
    }
  };

  const openVersion = (v: Version) => {
    commit();
    const f = toFlow(v.pipeline);
    setNodes(f.nodes);
    setEdges(f.edges);
    setPrelude(v.pipeline.prelude ?? "");
    setFlowId(v.pipeline.flow_id);
    toast(`Opened v${v.number} in the editor; save to make it the newest version.`);
    setTimeout(() => rf.fitView(), 50);
  };

  const targetStep = target ? stepOfNode(target.nodeId) : null;
  const [liveOpts, setLiveOpts] = useState(defaultLiveOptions);
  useLiveSubscription(live, targetStep, liveOpts);
  // A minimap redraws every step on each pan frame: off by default on big graphs.
  const [minimap, setMinimap] = useState(initial.nodes.length <= 800);
  // Skipping the paint of off-view steps (.canvas.big) only once every step
  // has been measured: before that it made opening 2,000 steps 6x slower.
  const measured = useNodesInitialized();

  return (
    <div className="editor-page">
      <TopBar onHelp={() => setShowHelp(true)}>
        <input className="pipeline-name" value={name} aria-label="pipeline name" onChange={(e) => setName(e.target.value)}
          onBlur={(e) => void rename(e.target.value)} onKeyDown={(e) => e.key === "Enter" && (e.target as HTMLInputElement).blur()} />
        <span className="muted small" aria-label="saved state">v{version}{dirty ? " · unsaved changes" : " · saved"}</span>
        <span className={`validity ${errorCount ? "bad" : "good"}`} aria-label="validation summary" role="status">
          {report === null ? "checking…" : errorCount ? `${errorCount} problem${errorCount > 1 ? "s" : ""}` : "valid"}
        </span>
        <div className="spacer" />
        <button type="button" onClick={undo} disabled={!history.current.canUndo} aria-label="undo" title="Undo (Ctrl+Z)">↶</button>
        <button type="button" onClick={redo} disabled={!history.current.canRedo} aria-label="redo" title="Redo (Ctrl+Shift+Z)">↷</button>
        <button type="button" onClick={layout} aria-label="auto-layout" title="Auto-layout (L)">⇶ Layout</button>
        <button type="button" onClick={() => setExporting(model())} aria-label="export" title="View and download the Python file">⇩ Export</button>
        <button type="button" onClick={() => void save()} disabled={saving} aria-label="save" title="Save a new version (Ctrl+S)">{saving ? "Saving…" : "Save"}</button>
        {alive ? (
          <button type="button" className="danger" onClick={() => void stop()} aria-label="stop run (toolbar)">■ Stop</button>
        ) : (
          <button type="button" className="primary" onClick={() => void start(1, 10000)} disabled={starting} aria-label="run" title="Run with 1 worker (Ctrl+Enter); more options in the Run panel">▶ Run</button>
        )}
        {run && <StatusBadge status={run.status} runId={run.id} />}
      </TopBar>
      <div className="editor-body">
        <Palette ref={searchRef} groups={cat.groups} items={items} onAdd={addItem} />
        <div className="center">
          <div className={`canvas${nodes.length > 300 && measured ? " big" : ""}`} ref={canvasRef} onDragOver={(e) => { if (e.dataTransfer.types.includes(DRAG_TYPE)) { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; } }} onDrop={onDrop}
            aria-label="pipeline canvas">
            <ReactFlow<StepNode, StepEdge>
              nodes={nodes} edges={edges} nodeTypes={nodeTypes}
              onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={onConnect} onConnectEnd={onConnectEnd}
              isValidConnection={(c) => check(c).ok}
              onNodeDragStart={() => commit()}
              onNodeClick={(_, n) => {
                setTarget({ nodeId: n.id, title: `records of ${n.data.step_id}` });
                setRightTab("inspect");
                if (alive) { setBottomTab("live"); setBottomOpen(true); }
              }}
              onEdgeClick={(_, e) => {
                const from = nodes.find((n) => n.id === e.source);
                const to = nodes.find((n) => n.id === e.target);
                setTarget({ nodeId: e.source, title: `records on ${from?.data.step_id}.${portOf(e.sourceHandle)} → ${to?.data.step_id}` });
                if (alive) { setBottomTab("live"); setBottomOpen(true); }
              }}
              colorMode={dark ? "dark" : "light"}
              deleteKeyCode={["Delete", "Backspace"]}
              multiSelectionKeyCode={["Control", "Meta", "Shift"]}
              selectionKeyCode="Shift"
              // Rendering only the visible steps re-renders all of them on every pan frame: slower, measured.
              onlyRenderVisibleElements={false}
              minZoom={0.05}
              fitView={initial.nodes.length > 0}
              fitViewOptions={{ maxZoom: 1.1, padding: 0.2 }}
              proOptions={{ hideAttribution: true }}
              onMoveEnd={(_: unknown, v: Viewport) => { (window as unknown as { __rilletViewport?: Viewport }).__rilletViewport = v; }}
            >
              <Background gap={20} />
              <Controls aria-label="zoom controls">
                <ControlButton onClick={() => setMinimap(!minimap)} aria-label={minimap ? "hide minimap" : "show minimap"} title={minimap ? "Hide the minimap" : "Show the minimap"}>▣</ControlButton>
              </Controls>
              {minimap && <MiniMap pannable zoomable ariaLabel="minimap" style={{ width: 180, height: 110 }} nodeClassName={(n) => `mm-${opsRef.current.get((n as StepNode).data.op)?.group ?? "x"}`} />}
            </ReactFlow>
            {nodes.length === 0 && (
              <div className="canvas-empty" role="note">
                <h2>Start a pipeline</h2>
                <p>Drag a source from the palette on the left (say <b>TestingSource</b>), then a transform and a sink. Connect an output port (right side of a step) to an input port (left side).</p>
                <p className="muted small">Press <kbd>?</kbd> for keyboard shortcuts.</p>
              </div>
            )}
            {connProblem && (
              <div className="conn-problem" role="alert" aria-label="connection refused">
                <span>Can't connect: {connProblem}</span>
                <button type="button" className="icon small" aria-label="dismiss connection message" onClick={() => setConnProblem(null)}>×</button>
              </div>
            )}
            {(globalIssues.length > 0 || validationProblem) && (
              <div className="global-issues" role="alert" aria-label="pipeline problems">
                {validationProblem && <p>{validationProblem}</p>}
                {globalIssues.map((i, k) => <p key={k}>{i.field ? `${i.field}: ` : ""}{i.message}</p>)}
              </div>
            )}
          </div>
          <section className={`bottom ${bottomOpen ? "open" : "closed"}`} aria-label="run panel">
            <div className="tabs" role="tablist">
              {(["run", "live", "metrics", "logs"] as BottomTab[]).map((t) => (
                <button key={t} type="button" role="tab" aria-selected={bottomOpen && bottomTab === t} aria-label={`${t} tab`}
                  onClick={() => { setBottomTab(t); setBottomOpen(true); }}>
                  {{ run: "Run", live: "Live records", metrics: "Metrics", logs: `Logs${liveState?.logs.length ? ` (${liveState.logs.length})` : ""}` }[t]}
                </button>
              ))}
              <div className="spacer" />
              {liveState?.problem && <span className="field-warning small" role="status">{liveState.problem}</span>}
              <button type="button" className="icon small" onClick={() => setBottomOpen(!bottomOpen)} aria-label={bottomOpen ? "collapse run panel" : "expand run panel"}>{bottomOpen ? "▾" : "▴"}</button>
            </div>
            {bottomOpen && (
              <div className="bottom-body">
                {bottomTab === "run" && (
                  <>
                    <RunControls run={run} error={liveState?.error ?? run?.error ?? null} busy={starting} canStart={!starting}
                      onStart={(w, ep) => void start(w, ep)} onStop={() => void stop()} onShowStep={showStep}
                      runPageLink={run ? `#/runs/${run.id}` : undefined} />
                    {!run && <p className="muted empty">No run yet. ▶ Run saves the pipeline and runs the saved version; you'll see its status, output and metrics here.</p>}
                    {run && <Logs lines={liveState?.logs.slice(-200) ?? []} />}
                  </>
                )}
                {bottomTab === "live" && <LiveRecords live={live} state={liveState} stepId={targetStep} title={target?.title ?? null} opts={liveOpts} setOpts={setLiveOpts} />}
                {bottomTab === "metrics" && <MetricsPanel samples={liveState?.metrics ?? []} stepLabel={(s) => s.slice(flowId.length + 1)} sinks={sinks} />}
                {bottomTab === "logs" && <Logs lines={liveState?.logs ?? []} />}
              </div>
            )}
          </section>
        </div>
        <aside className="right" aria-label="side panel">
          <div className="tabs" role="tablist">
            {(["inspect", "prelude", "versions"] as RightTab[]).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={rightTab === t} aria-label={`${t} tab`} onClick={() => setRightTab(t)}>
                {{ inspect: "Step", prelude: `Prelude${preludeMarkers.some((m) => m.severity === "error") ? " !" : ""}`, versions: "Versions" }[t]}
              </button>
            ))}
          </div>
          <div className="right-body">
            {rightTab === "inspect" && (selectedNode ? (
              <>
                <Inspector key={selectedNode.id} node={selectedNode} def={ops.get(selectedNode.data.op)} cat={cat} dark={dark}
                  issues={selIssues}
                  onParams={(params: Record<string, Param>) => updateNode(selectedNode.id, { params }, `params:${selectedNode.id}`)}
                  onStepId={(step_id) => updateNode(selectedNode.id, { step_id }, `step:${selectedNode.id}`)}
                  onImports={(lines) => setPrelude((p) => withImports(p, lines))} />
                <button type="button" className="danger small" onClick={deleteSelected} aria-label="delete step">Delete step</button>
              </>
            ) : (
              <div className="muted empty">
                {selected.length > 1 ? <p>{selected.length} steps selected. Delete, copy or drag them together.</p> : <p>Select a step to edit its parameters.</p>}
                <p className="small">Steps: {nodes.length} · edges: {edges.length}</p>
              </div>
            ))}
            {rightTab === "prelude" && (
              <div className="prelude">
                <div className="field">
                  <label className="field-label" htmlFor="flow-id">flow id</label>
                  <input id="flow-id" value={flowId} aria-label="flow id" onChange={(e) => { commit("flow_id"); setFlowId(e.target.value); }} />
                  <p className="muted small">The Dataflow's name; step ids in logs and metrics start with it.</p>
                  {markersFor(report?.errors.filter((i) => !i.node) ?? [], "flow_id").map((m, i) => <p key={i} className="field-error" role="alert">{m.message}</p>)}
                </div>
                <p className="muted small">Imports and helpers shared by every step. The editor adds the imports the forms need.</p>
                <CodeEditor value={prelude} onChange={(v) => { commit("prelude"); setPrelude(v); }} dark={dark} markers={preludeMarkers} label="prelude code" minLines={12} />
              </div>
            )}
            {rightTab === "versions" && <Versions pipelineId={detail.id} latest={version} onOpen={openVersion} />}
          </div>
        </aside>
      </div>
      {showHelp && <Help onClose={() => setShowHelp(false)} />}
      {exporting && <Export pipeline={exporting} dark={dark} onClose={() => setExporting(null)} />}
    </div>
  );
}

const nullStore = new Store<LiveState | null>(null);
const NONE: Issue[] = [];
