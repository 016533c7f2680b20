// Bundles the studio's front end into web/dist/ with esbuild, prints the
// bundle size (raw and gzipped) and fails when the gzipped total passes the
// budget of issue 5 (1 MB), so a heavy dependency can't slip in unnoticed.
//
//   node build.mjs            production build (minified, with a sourcemap)
//   node build.mjs --dev      unminified, for reading the output
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BUDGET_GZIP_BYTES = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "dist");
const dev = process.argv.includes("--dev");

rmSync(outdir, { recursive: true, force: true });
try {
  await esbuild.build({
    entryPoints: { app: join(here, "src/main.tsx") },
    bundle: true,
    outdir,
    format: "esm",
    target: ["chrome110", "firefox115", "safari16"],
    minify: !dev,
    sourcemap: "linked",
    legalComments: "linked",
    loader: { ".woff2": "file" },
    define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
    logLevel: "warning",
  });
} catch {
  // esbuild has already printed the errors with file and line.
  console.error("build: failed (see the errors above)");
  process.exit(1);
}

let raw = 0;
let gz = 0;
for (const name of readdirSync(outdir).sort()) {
  if (name.endsWith(".map") || name.endsWith(".LEGAL.txt")) continue;
  const bytes = readFileSync(join(outdir, name));
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += statSync(join(outdir, name)).size;
  gz += zipped;
  console.log(`build: ${name.padEnd(12)} ${kb(bytes.length).padStart(10)}  ${kb(zipped).padStart(9)} gzipped`);
}
console.log(`build: bundle total ${kb(raw)}, ${kb(gz)} gzipped (budget ${kb(BUDGET_GZIP_BYTES)} gzipped)`);
if (gz > BUDGET_GZIP_BYTES) {
  console.error(`build: FAILED: the bundle is ${kb(gz)} gzipped, over the ${kb(BUDGET_GZIP_BYTES)} budget; drop or lazy-load a dependency`);
  process.exit(1);
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}
