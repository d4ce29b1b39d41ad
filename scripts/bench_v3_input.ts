/**
 * v3 input benchmark (issue 9): what reading the same policies costs as projectcalico.org/v3
 * GlobalNetworkPolicy YAML compared with the v1 YAML of the same resources (the baseline,
 * measured in the same run on the same resources), through parseManifests (the CLI's path:
 * fast parser, decode, validate), and what printing them costs (`get -o yaml` vs `--api v3`).
 * Medians of several runs; prints a table; asserts nothing.
 *   deno run -A scripts/bench_v3_input.ts [--runs N] [--counts 1000,10000]
 */
import { parseArgs } from "node:util";
import { formatResources } from "../src/model/output.ts";
import { parseManifests } from "../src/model/input.ts";
import { formatV3Resources } from "../src/model/v3/output.ts";
import { benchPolicies, median, time } from "./_bench.ts";

/** `n` policies shaped like real ones: a selector, two ingress rules, one egress rule. */
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    counts: { type: "string", default: "1000,10000" },
  },
});
const runs = Number(values.runs);
const rows: string[][] = [["policies", "case", "KB", "median ms", "ratio to v1"]];
for (const n of values.counts!.split(",").map(Number)) {
  const rs = benchPolicies(n, { types: true });
  const v1 = formatResources(rs, "yaml");
  const v3 = formatV3Resources(rs, "yaml");
  const cases: [string, string, () => void][] = [
    ["parse v1 (baseline)", v1, () => parseManifests(v1, "v1.yaml")],
    ["parse v3", v3, () => parseManifests(v3, "v3.yaml")],
    ["print v1 (baseline)", v1, () => formatResources(rs, "yaml")],
    ["print v3", v3, () => formatV3Resources(rs, "yaml")],
  ];
  let base = NaN;
  for (const [name, text, fn] of cases) {
    fn(); // warm-up
    const ms = median(Array.from({ length: runs }, () => time(fn)));
    if (name.includes("baseline")) base = ms;
    rows.push([
      String(n),
      name,
      (text.length / 1024).toFixed(0),
      ms.toFixed(1),
      (ms / base).toFixed(2),
    ]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
