// Measurements, printed (never asserted against a time: the machine is
// shared): how soon the editor is interactive, and how a 2,000-node graph
// pans.
import { apiCall, check, shot, waitFor } from "./lib.mjs";

/** A synthetic pipeline of `count` steps: 40 chains of input -> maps -> output, on a grid. */
export function syntheticPipeline(count) {
  const nodes = [];
  const edges = [];
  const lanes = 40;
  const perLane = Math.ceil(count / lanes);
  let k = 0;
  for (let lane = 0; lane < lanes && k < count; lane++) {
    let prev = null;
    for (let i = 0; i < perLane && k < count; i++, k++) {
      const id = `n${k}`;
      const first = i === 0;
      const last = i === perLane - 1 || k === count - 1;
      const op = first ? "input" : last ? "output" : "map";
      const params = first ? { source: { kind: "expr", code: "TestingSource([1, 2, 3])" } }
        : last ? { sink: { kind: "expr", code: "StdOutSink()" } } : { mapper: { kind: "expr", code: "lambda x: x + 1" } };
      nodes.push({ id, op, step_id: `s${k}`, params, position: { x: i * 240, y: lane * 130 } });
      if (prev) edges.push({ from: { node: prev, port: "down" }, to: { node: id, port: "up" } });
      prev = id;
    }
  }
  return {
    schema_version: 1, flow_id: "synthetic", nodes, edges,
    prelude: "from rillet.testing import TestingSource\nfrom rillet.connectors.stdio import StdOutSink\n",
  };
}

async function frameStats(page, action) {
  await page.evaluate(() => {
    window.__frames = [];
    window.__measuring = true;
    const tick = (t) => {
      window.__frames.push(t);
      if (window.__measuring) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  await action();
  const wall = Date.now() - started;
  const frames = await page.evaluate(() => {
    window.__measuring = false;
    return window.__frames;
  });
  const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
  const avg = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
  const p95 = gaps[Math.floor(gaps.length * 0.95)] ?? 0;
  return { frames: gaps.length, avg, p95, fps: 1000 / avg, wall };
}

async function pan(page, steps = 60) {
  // Start on empty canvas (a drag that starts on a step moves the step instead).
  const start = await page.evaluate(() => {
    const r = document.querySelector(".react-flow__pane").getBoundingClientRect();
    for (let fy = 0.5; fy < 0.95; fy += 0.05) {
      for (let fx = 0.5; fx < 0.95; fx += 0.05) {
        const x = r.left + r.width * fx;
        const y = r.top + r.height * fy;
        if (document.elementFromPoint(x, y)?.classList.contains("react-flow__pane")) return { x, y };
      }
    }
    return null;
  });
  check(start, "no empty spot on the canvas to start a pan from");
  const { x, y } = start;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) await page.mouse.move(x - i * 6, y - i * 3);
  await page.mouse.up();
  const moved = await page.evaluate(() => document.querySelectorAll(".react-flow__node.dragging, .react-flow__node.selected").length);
  check(moved === 0, "the pan moved or selected steps instead of the canvas");
}

export async function measure(ctx, report) {
  const { page, server } = ctx;
  // Interactive time of a normal editor (the 5-step pipeline of scenario 2).
  if (ctx.pipelineId) {
    // A cold load: a new document, not a route change inside the app.
    await page.goto("about:blank");
    const t0 = Date.now();
    await page.goto(`${server.base}/#/pipelines/${ctx.pipelineId}`);
    await page.locator('[aria-label="add map"]').waitFor();
    await waitFor("the steps drawn", async () => (await page.locator(".react-flow__node").count()) === 5);
    const loadMs = Date.now() - t0;
    const nav = await page.evaluate(() => {
      const e = performance.getEntriesByType("navigation")[0];
      return e ? Math.round(e.domContentLoadedEventEnd) : null;
    });
    report(`editor interactive ${loadMs} ms after navigation (DOMContentLoaded at ${nav} ms; target 1,500 ms)`);
  }

  const count = 2000;
  const created = await apiCall(page, "POST", "/api/pipelines", { name: "synthetic 2000", pipeline: syntheticPipeline(count) });
  const t0 = Date.now();
  await page.goto(`${server.base}/#/pipelines/${created.id}`);
  await waitFor("the synthetic graph drawn", async () => (await page.locator(".react-flow__node").count()) > 100, 60000);
  const openMs = Date.now() - t0;
  const drawn = await page.locator(".react-flow__node").count();
  await shot(page, "11-2000-nodes-fit");
  const fit = await frameStats(page, () => pan(page));
  // Zoomed in to a working scale around a step in the middle of the graph.
  for (let i = 0; i < 10; i++) {
    const box = await page.locator('.react-flow__node[data-id="n1025"]').boundingBox();
    check(box, "step s1025 of the synthetic graph is not drawn");
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -200);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const zoomed = await frameStats(page, () => pan(page));
  const drawnZoomed = await page.locator(".react-flow__node").count();
  await shot(page, "12-2000-nodes-zoomed");
  check(fit.frames > 10 && zoomed.frames > 10, "no animation frames while panning: the page is stuck");
  const zoom = await page.evaluate(() => document.querySelector(".react-flow__viewport")?.style.transform);
  report(`${count}-node graph: opened in ${openMs} ms (${drawn} steps drawn at fit zoom)`);
  report(`${count}-node graph: pan at fit zoom: ${fit.frames} frames, ${fit.avg.toFixed(1)} ms/frame avg (${fit.fps.toFixed(0)} fps), p95 ${fit.p95.toFixed(1)} ms`);
  report(`${count}-node graph: pan zoomed in (${drawnZoomed} steps drawn, ${zoom}): ${zoomed.frames} frames, ${zoomed.avg.toFixed(1)} ms/frame avg (${zoomed.fps.toFixed(0)} fps), p95 ${zoomed.p95.toFixed(1)} ms`);
  await apiCall(page, "DELETE", `/api/pipelines/${created.id}`);
}
