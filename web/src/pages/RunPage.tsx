// A run on its own page: the graph of the version it runs (read-only, with
// live metrics), its status, error, records, metrics and logs.
import { useEffect, useMemo, useState } from "react";
import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { api, errorText } from "../lib/api";
import type { Catalog, PipelineDetail, Run, Version } from "../lib/types";
import { ENDED, LiveRun, type LiveState, stopRun } from "../lib/live";
import { Store, useStore } from "../lib/store";
import { Link, navigate, toast, TopBar, useTheme } from "../components/ui";
import { opIndex, portOf, toFlow, type StepEdge, type StepNode } from "../editor/graph";
import { nodeTypes, opsRef } from "../editor/StepNodeView";
import { emptyOverlay, overlay } from "../editor/overlay";
import { RunControls } from "../run/RunControls";
import { Logs } from "../run/Logs";
import { defaultLiveOptions, LiveRecords, useLiveSubscription } from "../run/LiveRecords";
import { MetricsPanel } from "../run/Metrics";
import { useRunOverlay } from "../run/useRunOverlay";

export function RunPage({ id, cat }: { id: number; cat: Catalog }) {
  const [data, setData] = useState<{ run: Run; version: Version; name: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      const run = await api<Run>("GET", `/api/runs/${id}`);
      const [version, p] = await Promise.all([
        api<Version>("GET", `/api/pipelines/${run.pipeline_id}/versions/${run.version}`),
        api<PipelineDetail>("GET", `/api/pipelines/${run.pipeline_id}`),
      ]);
      setData({ run, version, name: p.name });
    })().catch((e) => setProblem(`Couldn't open run #${id}: ${errorText(e)}`));
  }, [id]);
  if (problem) return <><TopBar /><main className="list-main"><p className="field-error" role="alert">{problem}</p><Link to="/">Back to the pipelines</Link></main></>;
  if (!data) return <><TopBar /><main className="list-main"><p className="muted">Loading run #{id}…</p></main></>;
  return <ReactFlowProvider><RunView key={id} {...data} cat={cat} /></ReactFlowProvider>;
}

function RunView({ run: first, version, name, cat }: { run: Run; version: Version; name: string; cat: Catalog }) {
  const dark = useTheme() === "dark";
  const rf = useReactFlow<StepNode, StepEdge>();
  const ops = useMemo(() => opIndex(cat), [cat]);
  opsRef.current = ops;
  const flow = useMemo(() => toFlow(version.pipeline), [version]);
  const [nodes, setNodes] = useState(flow.nodes);
  const [live, setLive] = useState<LiveRun | null>(null);
  useEffect(() => {
    const l = new LiveRun(first.id);
    setLive(l);
    return () => l.close();
  }, [first.id]);
  useEffect(() => () => overlay.set(emptyOverlay()), []);
  const state = useStore((live?.store ?? idle) as Store<LiveState>, (s) => s);
  const run = state.run ?? first;
  const [tab, setTab] = useState<"live" | "metrics" | "logs">("logs");
  const [target, setTarget] = useState<{ nodeId: string; title: string } | null>(null);
  const flowId = version.pipeline.flow_id;
  const [liveOpts, setLiveOpts] = useState(defaultLiveOptions);
  const { stepOfNode, sinks, showStep } = useRunOverlay(flowId, nodes, state, ops, (nid) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === nid })));
    rf.fitView({ nodes: [{ id: nid }], duration: 300, maxZoom: 1.2 });
  });
  useEffect(() => overlay.set((s) => ({ ...s, live: target?.nodeId ?? null })), [target]);
  useLiveSubscription(live, target ? stepOfNode(target.nodeId) : null, liveOpts);
  const start = async (workers: number, epochMs: number) => {
    try {
      const res = await api<Run | { run: Run }>("POST", `/api/pipelines/${run.pipeline_id}/runs`, { version: run.version, workers, epoch_interval_ms: epochMs });
      navigate(`/runs/${("run" in res ? res.run : res).id}`);
    } catch (e) {
      toast(`The run didn't start: ${errorText(e)}`, "error");
    }
  };
  return (
    <div className="run-page">
      <TopBar>
        <span className="crumb"><Link to={`/pipelines/${run.pipeline_id}`} label={`open ${name} in the editor`}>{name}</Link> › run #{run.id}</span>
      </TopBar>
      <div className="run-body">
        <div className="canvas run-canvas" aria-label="run graph">
          <ReactFlow<StepNode, StepEdge> nodes={nodes} edges={flow.edges} nodeTypes={nodeTypes} colorMode={dark ? "dark" : "light"}
            nodesDraggable={false} nodesConnectable={false} elementsSelectable fitView fitViewOptions={{ maxZoom: 1.1, padding: 0.2 }}
            proOptions={{ hideAttribution: true }} onlyRenderVisibleElements={nodes.length > 300}
            onNodesChange={(ch) => setNodes((ns) => ns.map((n) => { const c = ch.find((x) => x.type === "select" && x.id === n.id); return c && c.type === "select" ? { ...n, selected: c.selected } : n; }))}
            onNodeClick={(_, n) => { setTarget({ nodeId: n.id, title: `records of ${n.data.step_id}` }); setTab("live"); }}
            onEdgeClick={(_, e) => { setTarget({ nodeId: e.source, title: `records on ${e.source}.${portOf(e.sourceHandle)}` }); setTab("live"); }}>
            <Background gap={20} />
            <Controls />
          </ReactFlow>
        </div>
        <section className="run-side" aria-label="run details">
          <RunControls run={run} error={state.error ?? run.error} busy={false} canStart={ENDED.has(run.status)}
            onStart={(w, ep) => void start(w, ep)} onStop={() => void stopRun(run.id).catch((e) => toast(`Couldn't stop: ${errorText(e)}`, "error"))}
            onShowStep={showStep} />
          {state.problem && <p className="field-warning small" role="status">{state.problem}</p>}
          <div className="tabs" role="tablist">
            {(["logs", "live", "metrics"] as const).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={tab === t} aria-label={`${t} tab`} onClick={() => setTab(t)}>
                {{ logs: `Logs (${state.logs.length})`, live: "Live records", metrics: "Metrics" }[t]}
              </button>
            ))}
          </div>
          <div className="run-tab">
            {tab === "logs" && <Logs lines={state.logs} />}
            {tab === "live" && <LiveRecords live={live} state={state} stepId={target ? stepOfNode(target.nodeId) : null} title={target?.title ?? null} opts={liveOpts} setOpts={setLiveOpts} />}
            {tab === "metrics" && <MetricsPanel samples={state.metrics} stepLabel={(s) => s.slice(flowId.length + 1)} sinks={sinks} />}
          </div>
        </section>
      </div>
    </div>
  );
}

const idle = new Store<LiveState>({ run: null, connected: false, problem: null, logs: [], metrics: [], records: null, error: null });
