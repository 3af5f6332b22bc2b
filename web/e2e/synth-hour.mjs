// Makes a one-hour result from a short real one: the short run's intervals
// (with their encoded histograms) repeated to 3,600 seconds, its run-level
// histograms kept whole. For the result page's performance check.
//   node e2e/synth-hour.mjs short.json > hour.json
import { readFileSync } from "node:fs";

const short = JSON.parse(readFileSync(process.argv[2], "utf8"));
const src = short.timeline.filter((i) => !i.warmup);
if (src.length === 0) throw new Error("the short result has no measured intervals");
const seconds = 3600;
const timeline = [];
for (let s = 0; s < seconds; s++) {
  const i = src[s % src.length];
  // a slow wave, so the charts have something to show
  const f = 1 + 0.2 * Math.sin((2 * Math.PI * s) / 600);
  timeline.push({ ...i, second: s, seconds: 1, p50_ms: i.p50_ms * f, p90_ms: i.p90_ms * f, p99_ms: i.p99_ms * f });
}
const reqs = timeline.reduce((a, i) => a + i.requests, 0);
const start = new Date(Date.parse(short.start_time));
const out = {
  ...short,
  id: undefined,
  name: "one hour (synthetic, e2e)",
  labels: { e2e: "hour" },
  timeline,
  end_time: new Date(start.getTime() + seconds * 1000).toISOString(),
  requested: { ...short.requested, duration: "1h0m0s", warmup: undefined },
  achieved: { ...short.achieved, duration: "1h0m0s", requests: reqs, responses: reqs },
};
process.stdout.write(JSON.stringify(out));
