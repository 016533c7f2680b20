// Helpers of the browser tests: the real studio server against its own
// PostgreSQL database, Debian's Chromium through playwright-core, and waits
// on conditions with deadlines (never fixed sleeps).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "../../web/node_modules/playwright-core/index.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = join(ROOT, "tests/artifacts");
export const SHOTS = join(ARTIFACTS, "screenshots");
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];

export class TestFailure extends Error {}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
export async function waitFor(what, fn, ms = 15000, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new TestFailure(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function check(cond, message) {
  if (!cond) throw new TestFailure(message);
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** The server binary: $RILLET_BIN, else the release build scripts/setup
 * makes, else a debug build. */
export function serverBinary() {
  if (process.env.RILLET_BIN) return process.env.RILLET_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
  const release = join(target, "release", "rillet");
  return existsSync(release) ? release : join(target, "debug", "rillet");
}

/** Starts `rillet studio` on a free port with a database of its own; resolves
 * when it has printed the login URL. */
export async function startServer() {
  const port = await freePort();
  const db = `rillet_browser_${process.pid}_${Date.now().toString(36)}`;
  const base = process.env.RILLET_TEST_PG ?? "postgres://postgres@127.0.0.1:5432";
  const databaseUrl = `${base}/${db}`;
  const log = [];
  const proc = spawn(serverBinary(), ["studio", "--addr", `127.0.0.1:${port}`, "--database-url", databaseUrl], {
    cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" }, detached: true,
  });
  const onData = (d) => log.push(...d.toString().split("\n").filter(Boolean));
  proc.stdout.on("data", onData);
  proc.stderr.on("data", onData);
  let exited = null;
  proc.on("exit", (code, sig) => (exited = `exited with ${code ?? sig}`));
  proc.on("error", (e) => (exited = `failed to start: ${e.message}`));
  const url = await waitFor("the login URL in the server's output", () => {
    if (exited) throw new TestFailure(`rillet studio ${exited}:\n${log.slice(-30).join("\n")}`);
    for (const l of log) {
      const m = /(http:\/\/\S+\/login\?token=\S+)/.exec(l);
      if (m) return m[1];
    }
    return null;
  }, 60000).catch((e) => {
    throw new TestFailure(`${e.message}\nserver output:\n${log.slice(-30).join("\n")}`);
  });
  return {
    port, db, databaseUrl, loginUrl: url.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`), base: `http://127.0.0.1:${port}`, log, proc,
    async stop() {
      if (!exited) {
        try { process.kill(-proc.pid, "SIGTERM"); } catch { /* already gone */ }
        await waitFor("the server to exit", () => exited, 15000).catch(() => {
          try { process.kill(-proc.pid, "SIGKILL"); } catch { /* gone */ }
        });
      }
      spawnSync("psql", [`${base}/postgres`, "-qc", `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`], { stdio: "ignore" });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.RILLET_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** A page that records console errors and uncaught exceptions. */
export async function newPage(context) {
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => page.consoleErrors.push(`uncaught: ${e.message}`));
  // "Leave with unsaved changes?" is answered yes: the scenarios save what they need.
  page.on("dialog", (d) => void d.accept());
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Calls the studio API from inside the page (its cookies and CSRF token). */
export async function apiCall(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const csrf = document.cookie.split(";").map((c) => c.trim().split("=")).find(([k]) => k === "rillet_csrf")?.[1] ?? "";
    const res = await fetch(path, {
      method, headers: method === "GET" ? {} : { "Content-Type": "application/json", "X-Rillet-CSRF": decodeURIComponent(csrf) },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    try { return JSON.parse(text); } catch { return text; }
  }, [method, path, body]);
}

/** Drags from one element's centre to another's in small mouse steps (xyflow
 * connects ports on real pointer events). */
export async function dragBetween(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  check(a && b, "a port to connect is not visible on the canvas");
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 8 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

/** Replaces the text of the CodeMirror editor labelled `label`. */
export async function setCode(page, label, code) {
  const cm = page.locator(`.cm-content[aria-label="${label}"]`).first();
  await cm.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
}
