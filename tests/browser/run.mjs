// Browser end-to-end tests of the studio (issue 5), in Debian's Chromium
// through playwright-core, against the real `rillet studio` binary and
// PostgreSQL (a database of its own, dropped at the end).
//
//   node tests/browser/run.mjs [--only N]      (after scripts/setup and a build of the server)
//
// Prints one line per scenario and a summary line "browser: P passed, F failed";
// exits non-zero if any failed. Screenshots go to tests/artifacts/screenshots/.
import { launchBrowser, newPage, serverBinary, shot, startServer } from "./lib.mjs";
import { scenarios } from "./scenarios.mjs";
import { measure } from "./perf.mjs";

const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1].split(",") : null;
const started = Date.now();
let passed = 0;
let failed = 0;
const say = (s) => console.log(`browser: ${s}`);

let server;
let browser;
try {
  server = await startServer();
  say(`${serverBinary()} on ${server.base}, database ${server.db}`);
  browser = await launchBrowser();
  say(`chromium ${browser.version()}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  const page = await newPage(context);
  const ctx = { server, browser, context, page };
  for (const [name, fn] of scenarios) {
    if (only && !only.some((n) => name.startsWith(`${n}.`))) continue;
    const t = Date.now();
    page.consoleErrors.length = 0;
    try {
      await fn(ctx);
      if (page.consoleErrors.length) throw new Error(`console errors in the page:\n  ${page.consoleErrors.join("\n  ")}`);
      passed++;
      say(`PASS  ${name}  (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      say(`FAIL  ${name}  (${((Date.now() - t) / 1000).toFixed(1)} s)\n        ${String(e.message ?? e).split("\n").join("\n        ")}`);
      await shot(page, `fail-${name.split(".")[0]}`).catch(() => undefined);
    }
  }
  if (!only || only.includes("perf")) {
    const t = Date.now();
    try {
      await measure(ctx, (line) => say(`measure: ${line}`));
      passed++;
      say(`PASS  performance measurements  (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      say(`FAIL  performance measurements: ${e.message}`);
    }
  }
  // The two themes side by side: the list in the light theme.
  await page.goto(`${server.base}/#/`);
  await page.evaluate(() => localStorage.setItem("rillet-theme", "light"));
  await page.reload();
  await page.getByRole("heading", { name: "Pipelines" }).waitFor();
  await shot(page, "13-pipeline-list-light");
  if (ctx.pipelineId) {
    await page.goto(`${server.base}/#/pipelines/${ctx.pipelineId}`);
    await page.locator(".react-flow__node").first().waitFor();
    await shot(page, "14-editor-light");
    if (ctx.goodRunId) {
      await page.goto(`${server.base}/#/runs/${ctx.goodRunId}`);
      await page.locator('[aria-label="run logs"]').waitFor();
      await shot(page, "15-run-page-light");
    }
  }
  await page.evaluate(() => localStorage.setItem("rillet-theme", "dark"));
} catch (e) {
  failed++;
  say(`FAIL  setup: ${e.message}`);
} finally {
  await browser?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
}
say(`${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in tests/artifacts/screenshots/`);
process.exit(failed ? 1 : 0);
