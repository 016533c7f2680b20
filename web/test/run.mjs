// Unit tests of the front end's logic (web/test/*.test.ts): esbuild bundles
// each file for Node, then `node --test` runs them.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), "rillet-web-test-"));
const files = readdirSync(here).filter((f) => f.endsWith(".test.ts"));
try {
  await esbuild.build({
    entryPoints: files.map((f) => join(here, f)), bundle: true, platform: "node", format: "esm",
    outdir: out, outExtension: { ".js": ".mjs" }, logLevel: "error", external: ["node:*"],
  });
  const res = spawnSync(process.execPath, ["--test", ...files.map((f) => join(out, f.replace(/\.ts$/, ".mjs")))], { stdio: "inherit" });
  process.exitCode = res.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
