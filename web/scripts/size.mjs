// Sums the gzipped size of what the binary embeds (web/dist) and fails
// above the budget: 1 MB.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const budget = 1_000_000;
const root = new URL("../dist/", import.meta.url).pathname;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

let raw = 0;
let gz = 0;
const all = files(root).filter((p) => !p.endsWith(".gitkeep"));
if (!all.some((p) => p.endsWith("index.html"))) {
  console.error("web/dist has no index.html: run npm run build first");
  process.exit(1);
}
for (const p of all) {
  const b = readFileSync(p);
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
console.log(`web/dist: ${all.length} files, ${(raw / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzipped (budget ${budget / 1000} kB)`);
if (gz > budget) {
  console.error(`the embedded UI is ${gz} bytes gzipped, over the ${budget}-byte budget`);
  process.exit(1);
}
