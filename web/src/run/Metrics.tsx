// The metrics panel: uPlot charts of throughput, end-to-end latency
// (p50/p95/p99) and watermark lag over the last minutes of a run.
import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricsSample } from "../lib/live";
import { nanos, rate, seconds } from "../lib/format";
import { useTheme } from "../components/ui";

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

const PALETTE = ["#4e9af1", "#f5a524", "#3ecf8e", "#e5484d", "#a78bfa", "#22d3ee", "#f472b6", "#94a3b8"];

interface Series { label: string; values: (number | null)[] }

function Chart({ title, ts, series, fmt, empty }: { title: string; ts: number[]; series: Series[]; fmt: (v: number) => string; empty: string }) {
  const theme = useTheme();
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("|") + theme;
  useEffect(() => {
    const el = host.current!;
    const muted = css("--muted");
    const grid = css("--grid");
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // One sample has no span: show it at the end of the last minute.
      scales: { x: { time: true, range: (_u, min, max) => (max - min < 1 ? [max - 60, max + 1] : [min, max]) }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid }, size: 64, values: (_u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt(v)) }))],
    };
    plot.current = new uPlot(opts, [ts, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: 150 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);
  useEffect(() => {
    plot.current?.setData([ts, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [ts, series]);
  return (
    <figure className="chart" aria-label={`${title} chart`}>
      <figcaption>{title}</figcaption>
      {series.length === 0 || ts.length === 0 ? <p className="muted small empty">{empty}</p> : null}
      <div ref={host} style={{ display: series.length && ts.length ? undefined : "none" }} />
    </figure>
  );
}

interface Props {
  samples: MetricsSample[];
  stepLabel: (fullStepId: string) => string;
  sinks: Set<string>; // full step ids of the steps without outputs
}

export function MetricsPanel({ samples, stepLabel, sinks }: Props) {
  const data = useMemo(() => {
    const ts = samples.map((s) => s.ts);
    const steps = new Set<string>();
    for (const s of samples) for (const k of Object.keys(s.steps)) steps.add(k);
    const ordered = [...steps].sort();
    const thr: Series[] = ordered.map((k) => ({
      label: stepLabel(k),
      values: samples.map((s) => {
        const m = s.steps[k];
        return m ? (sinks.has(k) ? m.items_in_per_s : m.items_out_per_s) : null;
      }),
    }));
    // End-to-end latency is what reaches the sinks; the slowest sink counts.
    const lat = (q: "latency_p50_ns" | "latency_p95_ns" | "latency_p99_ns") =>
      samples.map((s) => {
        let worst: number | null = null;
        for (const [k, m] of Object.entries(s.steps)) {
          const v = m[q];
          if ((sinks.size === 0 || sinks.has(k)) && v !== null && v !== undefined) worst = Math.max(worst ?? 0, v);
        }
        return worst;
      });
    const latency: Series[] = samples.some((s) => Object.values(s.steps).some((m) => m.latency_p99_ns !== null))
      ? [{ label: "p50", values: lat("latency_p50_ns") }, { label: "p95", values: lat("latency_p95_ns") }, { label: "p99", values: lat("latency_p99_ns") }]
      : [];
    const windowed = ordered.filter((k) => samples.some((s) => s.steps[k]?.watermark_lag_s !== null && s.steps[k]?.watermark_lag_s !== undefined));
    const wm: Series[] = windowed.map((k) => ({ label: stepLabel(k), values: samples.map((s) => s.steps[k]?.watermark_lag_s ?? null) }));
    return { ts, thr, latency, wm };
  }, [samples, stepLabel, sinks]);
  return (
    <div className="metrics-panel" aria-label="metrics charts">
      <Chart title="Throughput (items/s per step)" ts={data.ts} series={data.thr} fmt={(v) => rate(v)} empty="No metrics yet: start a run; each step's items per second appear here every second." />
      <Chart title="End-to-end latency at the sinks" ts={data.ts} series={data.latency} fmt={(v) => nanos(v)} empty="No latency yet: it is measured when items reach a sink." />
      <Chart title="Watermark lag (windowed steps)" ts={data.ts} series={data.wm} fmt={(v) => seconds(v)} empty="No windowed step in this run: watermark lag is reported by window operators with an event clock." />
    </div>
  );
}
