// The seven scenarios of issue 5, in order; later ones use what earlier
// ones made (the pipeline, its run, the exported file), as a user would.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { apiCall, ARTIFACTS, check, dragBetween, ROOT, setCode, shot, TestFailure, waitFor } from "./lib.mjs";

const PIPELINE_NAME = "doubling running totals";

// A map slow enough (2 ms an item, 3,000 items) that the run lasts a few
// seconds: long enough to watch its records and metrics live.
const MAPPER = "def double(x):\n    time.sleep(0.002)\n    return x * 2";
const KEY = "lambda x: str(x % 3)";
const TOTALS = "lambda total, x: ((total or 0) + x, (total or 0) + x)";

const step = (page, id) => page.locator(`.react-flow__node [data-step-id="${id}"]`);

async function selectStep(page, id) {
  await step(page, id).locator(".step-id").click();
  await page.locator(`[aria-label="inspector of ${id}"]`).waitFor();
}

async function latestRunId(page, pipelineId) {
  const runs = await apiCall(page, "GET", `/api/runs?pipeline=${pipelineId}`);
  return runs.length ? runs[0].id : 0;
}

const pipelineIdOf = (page) => Number(/#\/pipelines\/(\d+)/.exec(page.url())[1]);

/** Clicks ▶ Run and returns the new run's id once the editor shows that run. */
async function startRun(page) {
  const pid = pipelineIdOf(page);
  const before = await latestRunId(page, pid);
  await page.getByRole("button", { name: "run", exact: true }).click();
  const id = await waitFor("a new run", async () => {
    const now = await latestRunId(page, pid);
    return now > before ? now : null;
  }, 30000);
  await page.locator(`.topbar .status[data-run-id="${id}"]`).waitFor({ timeout: 30000 });
  return id;
}

async function waitRunEnd(page, runId, ms = 90000) {
  return waitFor(`run ${runId} to end`, async () => {
    const s = await page.locator(`.topbar .status[data-run-id="${runId}"]`).getAttribute("data-status");
    return ["succeeded", "failed", "stopped", "lost"].includes(s) ? s : null;
  }, ms, 250);
}

async function stdoutOfRun(page, runId) {
  const lines = [];
  let after = 0;
  for (;;) {
    const res = await apiCall(page, "GET", `/api/runs/${runId}/logs?after=${after}&limit=1000`);
    lines.push(...res.lines.filter((l) => l.stream === "stdout").map((l) => l.text));
    if (res.lines.length < 1000) break;
    after = res.next;
  }
  return lines;
}

// input -> map (slow, adds an event time) -> count_window (event clock, 10 s tumbling) -> output.
const WINDOWED = {
  schema_version: 1, flow_id: "watermark_lag",
  prelude: [
    "import time",
    "from datetime import datetime, timedelta, timezone",
    "from rillet.connectors.stdio import StdOutSink",
    "from rillet.operators.windowing import EventClock, TumblingWindower",
    "from rillet.testing import TestingSource",
    "",
    "START = datetime(2024, 1, 1, tzinfo=timezone.utc)",
    "",
  ].join("\n"),
  nodes: [
    { id: "src", op: "input", step_id: "numbers", params: { source: { kind: "expr", code: "TestingSource(range(1500))" } }, position: { x: 0, y: 0 } },
    { id: "ev", op: "map", step_id: "events", params: { mapper: { kind: "function", name: "event", code: 'def event(x):\n    time.sleep(0.004)\n    return {"key": str(x % 2), "at": START + timedelta(seconds=x)}' } }, position: { x: 260, y: 0 } },
    { id: "win", op: "count_window", step_id: "per_10s", params: {
      clock: { kind: "expr", code: 'EventClock(lambda e: e["at"], wait_for_system_duration=timedelta(seconds=5))' },
      windower: { kind: "expr", code: "TumblingWindower(length=timedelta(seconds=10), align_to=START)" },
      key: { kind: "expr", code: 'lambda e: e["key"]' } }, position: { x: 520, y: 0 } },
    { id: "out", op: "output", step_id: "print", params: { sink: { kind: "expr", code: "StdOutSink()" } }, position: { x: 780, y: 0 } },
  ],
  edges: [
    { from: { node: "src", port: "down" }, to: { node: "ev", port: "up" } },
    { from: { node: "ev", port: "down" }, to: { node: "win", port: "up" } },
    { from: { node: "win", port: "down" }, to: { node: "out", port: "up" } },
  ],
};

export const scenarios = [
  ["1. log in with the printed token", async (ctx) => {
    const { page, server } = ctx;
    await page.goto(server.loginUrl);
    await page.getByRole("heading", { name: "Pipelines" }).waitFor({ timeout: 10000 });
    check(!page.url().includes("token="), `the token stayed in the address bar: ${page.url()}`);
    await page.locator('[aria-label="example gallery"] .card').first().waitFor({ timeout: 20000 });
    await shot(page, "01-pipeline-list-empty");
    // A wrong token is refused with a page that says what to do.
    const other = await ctx.context.newPage();
    const res = await other.goto(`${server.base}/login?token=wrong`);
    check(res.status() === 401, `a wrong token got HTTP ${res.status()}, expected 401`);
    check(/printed/.test(await other.textContent("body")), "the wrong-token page doesn't say to use the printed URL");
    await other.close();
  }],

  ["2. build source -> map -> key_on -> stateful_map -> output by dragging and wiring, save", async (ctx) => {
    const { page } = ctx;
    await page.getByRole("button", { name: "new pipeline" }).click();
    await page.getByLabel("new pipeline name").fill(PIPELINE_NAME);
    await page.getByRole("button", { name: "create pipeline" }).click();
    await page.locator('[aria-label="pipeline canvas"]').waitFor();
    await page.locator(".canvas-empty").waitFor();
    await shot(page, "02-editor-empty");
    ctx.pipelineId = pipelineIdOf(page);

    const pane = page.locator(".react-flow__pane");
    // Two rows inside the 700-px canvas of a 1280x720 window.
    const drops = [["TestingSource", 50, 40], ["map", 280, 40], ["key_on", 510, 40], ["stateful_map", 160, 200], ["StdOutSink", 390, 200]];
    for (const [label, x, y] of drops) {
      await page.locator(`[aria-label="add ${label}"]`).dragTo(pane, { targetPosition: { x, y } });
    }
    await waitFor("5 steps on the canvas", async () => (await page.locator(".react-flow__node").count()) === 5);
    for (const id of ["testing", "map", "key_on", "stateful_map", "std_out"]) await step(page, id).waitFor();

    // A refused connection says why: a source straight into stateful_map (needs keyed items) would be wrong,
    // and a second stream into a taken input too. First wire the chain.
    const wire = async (a, b) => dragBetween(page, step(page, a).locator('[data-handleid="out:down"]'), step(page, b).locator('[data-handleid="in:up"]'));
    await wire("testing", "map");
    await wire("map", "key_on");
    await wire("key_on", "stateful_map");
    await wire("stateful_map", "std_out");
    await waitFor("4 edges", async () => (await page.locator(".react-flow__edge").count()) === 4);
    await wire("testing", "stateful_map");
    const refusal = await page.locator('[aria-label="connection refused"]').textContent({ timeout: 5000 });
    check(/already takes the stream/.test(refusal), `the refused connection's reason is unclear: "${refusal}"`);
    check((await page.locator(".react-flow__edge").count()) === 4, "a refused connection was added anyway");
    await page.getByRole("button", { name: "dismiss connection message" }).click();

    // The snippets and the prelude.
    await selectStep(page, "testing");
    await setCode(page, "source ib", "range(3000)");
    await selectStep(page, "map");
    await setCode(page, "mapper", MAPPER);
    await selectStep(page, "key_on");
    await setCode(page, "key", KEY);
    await selectStep(page, "stateful_map");
    await setCode(page, "mapper", TOTALS);
    await page.getByRole("tab", { name: "prelude tab" }).click();
    const prelude = page.locator('.cm-content[aria-label="prelude code"]');
    await prelude.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.insertText("\nimport time\n");
    await waitFor("the pipeline to validate", async () => (await page.locator('[aria-label="validation summary"]').textContent()) === "valid", 20000)
      .catch(async (e) => {
        const errs = await page.locator(".field-error, .global-issues").allTextContents();
        throw new TestFailure(`${e.message}; shown: ${errs.join(" | ")}`);
      });
    await page.getByRole("tab", { name: "inspect tab" }).click();
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "auto-layout" }).click();
    await page.getByRole("button", { name: "save", exact: true }).click();
    await page.getByText(/Saved version \d+/).waitFor();
    const saved = await apiCall(page, "GET", `/api/pipelines/${ctx.pipelineId}`);
    const p = saved.version.pipeline;
    check(p.nodes.length === 5 && p.edges.length === 4, `saved ${p.nodes.length} nodes and ${p.edges.length} edges, expected 5 and 4`);
    check(p.nodes.find((n) => n.step_id === "map").params.mapper.kind === "function", "the map's def was not saved as a function param");
    ctx.flowId = p.flow_id;
    await selectStep(page, "map");
    await shot(page, "03-editor-built");
  }],

  ["3. run it; live records in the inspector and non-zero metrics on the nodes", async (ctx) => {
    const { page } = ctx;
    await selectStep(page, "map");
    const runId = await startRun(page);
    await page.getByRole("tab", { name: "live tab" }).click();
    await waitFor("live records of the map step", async () => (await page.locator('[aria-label="records"] li pre').count()) > 0, 30000);
    const first = await page.locator('[aria-label="records"] li pre').first().textContent();
    check(/^\d+$/.test(first.trim()) && Number(first) % 2 === 0, `a record of map should be an even number, got "${first}"`);
    await waitFor("non-zero items/s on the map node", async () => {
      const t = await step(page, "map").locator(".m-rate").textContent();
      return t && /\d/.test(t) && !/^0(\.0)?\/s$/.test(t);
    }, 30000);
    await shot(page, "04-editor-running-live-records");
    await page.getByRole("tab", { name: "metrics tab" }).click();
    await page.locator('[aria-label="Throughput (items/s per step) chart"] canvas').first().waitFor({ timeout: 15000 });
    await shot(page, "05-editor-metrics");
    const status = await waitRunEnd(page, runId);
    check(status === "succeeded", `the run ended "${status}", expected "succeeded"`);
    ctx.goodRunId = runId;
    const out = await stdoutOfRun(page, ctx.goodRunId);
    check(out.length === 3000, `the run printed ${out.length} lines, expected 3000`);
  }],

  ["4. a snippet error shows a marker; a runtime exception shows the traceback on the step", async (ctx) => {
    const { page } = ctx;
    await selectStep(page, "map");
    await setCode(page, "mapper", "def double(x):\n    return x *");
    await page.locator('[aria-label="inspector of map"] .cm-lint-marker-error').waitFor({ timeout: 15000 });
    await step(page, "map").locator(".step-badge.error").waitFor();
    const msg = await page.locator('[aria-label="inspector of map"] .field-error').first().textContent();
    check(/line 2/.test(msg), `the snippet error doesn't name its line: "${msg}"`);
    await shot(page, "06-validation-marker");

    await setCode(page, "mapper", "def double(x):\n    return 100 // (x - 7)");
    await waitFor("the pipeline to validate", async () => (await page.locator('[aria-label="validation summary"]').textContent()) === "valid", 20000);
    const runId = await startRun(page);
    await page.getByRole("tab", { name: "run tab" }).click();
    const status = await waitRunEnd(page, runId);
    check(status === "failed", `the run ended "${status}", expected "failed"`);
    const err = page.locator('[aria-label="run error"]');
    await err.waitFor({ timeout: 15000 });
    const text = await err.textContent();
    check(/ZeroDivisionError/.test(text), `the error doesn't name ZeroDivisionError: "${text.slice(0, 300)}"`);
    check(/map/.test(await err.locator("button.link").textContent()), "the error is not attributed to the map step");
    check(/double/.test(await err.locator('[aria-label="traceback"]').textContent()), "the traceback doesn't show the snippet's function");
    await waitFor("the failed step highlighted", async () => (await step(page, "map").getAttribute("class")).includes("failed"));
    await shot(page, "07-runtime-error");

    // Back to the working snippet, saved: what scenario 5 exports.
    await setCode(page, "mapper", MAPPER);
    await waitFor("the pipeline to validate", async () => (await page.locator('[aria-label="validation summary"]').textContent()) === "valid", 20000);
    await page.getByRole("button", { name: "save", exact: true }).click();
    await page.getByText(/Saved version \d+/).last().waitFor();
  }],

  ["5. export, run the file with python -m rillet.run, same output as the studio's run", async (ctx) => {
    const { page } = ctx;
    check(ctx.goodRunId, "scenario 3 made no successful run to compare with");
    await page.getByRole("button", { name: "export" }).click();
    await page.locator('.cm-content[aria-label="exported Python code"]').waitFor({ timeout: 20000 });
    await shot(page, "08-export-dialog");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "download .py file" }).click()]);
    const dir = join(ARTIFACTS, "export");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    check(file.endsWith(`${ctx.flowId}.py`), `the download is named ${download.suggestedFilename()}, expected ${ctx.flowId}.py`);
    await page.getByRole("button", { name: "close dialog" }).click();
    ctx.exported = file;
    const res = spawnSync(join(ROOT, ".venv/bin/python"), ["-m", "rillet.run", `${file}:flow`], { cwd: dir, encoding: "utf8", timeout: 120000 });
    check(res.status === 0, `python -m rillet.run exited ${res.status}: ${res.stderr?.slice(-800)}`);
    const fromFile = res.stdout.split("\n").filter(Boolean).sort();
    const fromStudio = (await stdoutOfRun(page, ctx.goodRunId)).sort();
    check(fromFile.length === fromStudio.length, `the file printed ${fromFile.length} lines, the studio's run ${fromStudio.length}`);
    const diff = fromFile.findIndex((l, i) => l !== fromStudio[i]);
    check(diff < 0, `outputs differ at sorted line ${diff}: file "${fromFile[diff]}" vs studio "${fromStudio[diff]}"`);
  }],

  ["6. import the exported file into a new pipeline; the graph matches", async (ctx) => {
    const { page } = ctx;
    check(ctx.exported, "scenario 5 exported no file");
    await page.goto(`${ctx.server.base}/#/`);
    await page.getByRole("heading", { name: "Pipelines" }).waitFor();
    await page.locator('input[aria-label="python file to import"]').setInputFiles(ctx.exported);
    await waitFor("the imported pipeline's editor", async () => /#\/pipelines\/\d+/.test(page.url()) && Number(/#\/pipelines\/(\d+)/.exec(page.url())[1]) !== ctx.pipelineId, 20000);
    await waitFor("5 steps on the canvas", async () => (await page.locator(".react-flow__node").count()) === 5, 20000);
    await shot(page, "09-imported");
    const importedId = Number(/#\/pipelines\/(\d+)/.exec(page.url())[1]);
    const a = (await apiCall(page, "GET", `/api/pipelines/${ctx.pipelineId}`)).version.pipeline;
    const b = (await apiCall(page, "GET", `/api/pipelines/${importedId}`)).version.pipeline;
    const shape = (p) => {
      const byId = new Map(p.nodes.map((n) => [n.id, n.step_id]));
      return {
        nodes: p.nodes.map((n) => JSON.stringify([n.step_id, n.op, Object.entries(n.params).sort()])).sort(),
        edges: p.edges.map((e) => `${byId.get(e.from.node)}.${e.from.port}->${byId.get(e.to.node)}.${e.to.port}`).sort(),
      };
    };
    const sa = shape(a);
    const sb = shape(b);
    check(JSON.stringify(sa.edges) === JSON.stringify(sb.edges), `edges differ: ${sa.edges} vs ${sb.edges}`);
    for (let i = 0; i < sa.nodes.length; i++) check(sa.nodes[i] === sb.nodes[i], `step differs after import:\n  studio:   ${sa.nodes[i]}\n  imported: ${sb.nodes[i]}`);
    for (const id of ["testing", "map", "key_on", "stateful_map", "std_out"]) await step(page, id).waitFor();

    // The list's other actions on the imported pipeline: duplicate, then delete the copy (after confirming).
    await page.goto(`${ctx.server.base}/#/`);
    const importedName = (await apiCall(page, "GET", `/api/pipelines/${importedId}`)).name;
    await page.getByRole("button", { name: `duplicate ${importedName}`, exact: true }).click();
    const copy = `${importedName} copy`;
    await page.getByRole("link", { name: `open ${copy}`, exact: true }).waitFor();
    await shot(page, "09b-pipeline-list");
    await page.getByRole("button", { name: `delete ${copy}`, exact: true }).click();
    await page.getByRole("dialog", { name: `Delete "${copy}"?` }).waitFor();
    await page.getByRole("button", { name: "confirm delete" }).click();
    await waitFor("the copy gone from the list", async () => (await page.getByRole("link", { name: `open ${copy}`, exact: true }).count()) === 0);
  }],

  ["7. open each gallery example, run it, see records", async (ctx) => {
    const { page } = ctx;
    await page.goto(`${ctx.server.base}/#/`);
    const cards = page.locator('[aria-label="example gallery"] .card');
    await cards.first().waitFor();
    const titles = await cards.locator("h3").allTextContents();
    check(titles.length >= 5, `the gallery shows ${titles.length} examples, expected at least 5`);
    const failures = [];
    for (const [i, title] of titles.entries()) {
      try {
        await page.goto(`${ctx.server.base}/#/`);
        await page.getByRole("button", { name: `use example ${title}`, exact: true }).click();
        await page.locator('[aria-label="pipeline canvas"]').waitFor();
        await waitFor(`${title}: the steps on the canvas`, async () => (await page.locator(".react-flow__node").count()) > 1);
        await waitFor(`${title}: validation`, async () => (await page.locator('[aria-label="validation summary"]').textContent()) === "valid", 20000);
        // Watch the step before the sink, so its records stream from the start.
        const nodes = await apiCall(page, "GET", `/api/pipelines/${/#\/pipelines\/(\d+)/.exec(page.url())[1]}`);
        const p = nodes.version.pipeline;
        const sink = p.edges.find((e) => !p.edges.some((f) => f.from.node === e.to.node));
        const watched = p.nodes.find((n) => n.id === sink.from.node).step_id;
        await selectStep(page, watched);
        // The studio samples every step from the run's start and keeps each step's newest
        // records, so even a ten-item run that ends before the subscription shows its records.
        const runId = await startRun(page);
        await page.getByRole("tab", { name: "live tab" }).click();
        const status = await waitRunEnd(page, runId);
        if (status !== "succeeded") throw new TestFailure(`${title}: the run ended "${status}"`);
        await waitFor(`${title}: live records of ${watched}`, async () => (await page.locator('[aria-label="records"] li pre').count()) > 0, 10000);
        if (i === 1) await shot(page, "10-gallery-example-running");
      } catch (e) {
        failures.push(`${title}: ${e.message}`);
        await shot(page, `fail-gallery-${i}`);
      }
    }
    check(failures.length === 0, failures.join("\n"));
  }],

  ["8. windowing forms: clock picker, windower durations, UTC alignment (issue 3's studio part)", async (ctx) => {
    const { page } = ctx;
    await page.goto(`${ctx.server.base}/#/`);
    await page.getByRole("button", { name: "use example Windowed sensor average", exact: true }).click();
    await page.locator('[aria-label="pipeline canvas"]').waitFor();
    const win = (await apiCall(page, "GET", `/api/pipelines/${/#\/pipelines\/(\d+)/.exec(page.url())[1]}`)).version.pipeline.nodes.find((n) => n.op.endsWith("_window"));
    check(win, "the sensor example has no window step");
    await selectStep(page, win.step_id);
    const insp = page.locator(`[aria-label="inspector of ${win.step_id}"]`);
    check(await insp.getByLabel("clock", { exact: true }).inputValue() === "EventClock", "the clock picker doesn't show the example's EventClock");
    check(await insp.getByLabel("clock wait_for_system_duration amount").inputValue() === "10", "the EventClock's wait is not shown as 10 (seconds)");
    await insp.getByLabel("windower", { exact: true }).selectOption("SlidingWindower");
    await insp.getByLabel("windower length amount").fill("2");
    await insp.getByLabel("windower length unit").selectOption("minutes");
    await insp.getByLabel("windower offset amount").fill("1");
    await insp.getByLabel("windower offset unit").selectOption("minutes");
    await insp.getByLabel("windower align_to (UTC)").fill("2024-06-01T00:00:00");
    await waitFor("the sliding windower in the model", async () => {
      const code = await page.evaluate(() => document.querySelector('[aria-label="validation summary"]')?.textContent);
      return code === "valid";
    }, 20000);
    await page.getByRole("button", { name: "save", exact: true }).click();
    await page.getByText(/Saved version \d+/).last().waitFor();
    const saved = (await apiCall(page, "GET", `/api/pipelines/${/#\/pipelines\/(\d+)/.exec(page.url())[1]}`)).version.pipeline;
    const code = saved.nodes.find((n) => n.id === win.id).params.windower.code;
    check(code === "SlidingWindower(length=timedelta(minutes=2), offset=timedelta(minutes=1), align_to=datetime(2024, 6, 1, 0, 0, 0, tzinfo=timezone.utc))",
      `the form wrote ${code}`);
    check(/from datetime import .*timezone/.test(saved.prelude) && /SlidingWindower/.test(saved.prelude), "the prelude lacks the imports the form needs");
    await shot(page, "16-windowing-form");
    const runId = await startRun(page);
    const status = await waitRunEnd(page, runId);
    check(status === "succeeded", `the windowed run ended "${status}"`);
    const out = await stdoutOfRun(page, runId);
    check(out.length > 0, "the windowed run printed nothing");

    // A windowed run that lasts a few seconds: its watermark lag shows on the step and in the chart.
    const created = await apiCall(page, "POST", "/api/pipelines", { name: "watermark lag", pipeline: WINDOWED });
    await page.goto(`${ctx.server.base}/#/pipelines/${created.id}`);
    await step(page, "per_10s").waitFor();
    const lagRun = await startRun(page);
    await waitFor("the watermark lag on the window step", async () => (await step(page, "per_10s").locator(".m-wm").count()) > 0, 30000);
    await page.getByRole("tab", { name: "metrics tab" }).click();
    await page.locator('[aria-label="Watermark lag (windowed steps) chart"] canvas').first().waitFor({ timeout: 15000 });
    await page.locator(".bottom-body").evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await shot(page, "17-watermark-lag");
    check(await waitRunEnd(page, lagRun) === "succeeded", "the windowed run did not succeed");
  }],
];
