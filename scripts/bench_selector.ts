/**
 * Selector benchmark: parse and evaluate costs, with a plain-object label lookup as the
 * baseline measured in the same run. Prints a table of medians; asserts nothing.
 *   deno run -A scripts/bench_selector.ts [--runs N]
 */
import { parseSelector } from "../src/selector/mod.ts";
import { labelLookup } from "../src/selector/labels.ts";
import { median, time } from "./_bench.ts";

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1]) || 7;
const keys = ["role", "env", "tier", "zone", "app"];
const values = ["db", "web", "prod", "dev", "a", "b"];
let seed = 42;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
const term = () => {
  switch (rnd(4)) {
    case 0:
      return `has(${pick(keys)})`;
    case 1:
      return `${pick(keys)} == "${pick(values)}"`;
    case 2:
      return `${pick(keys)} != "${pick(values)}"`;
    default:
      return `${pick(keys)} in {"${pick(values)}", "${pick(values)}"}`;
  }
};
const texts = Array.from({ length: 1000 }, () => `${term()} && (${term()} || !${term()})`);
const labelSets = Array.from({ length: 1000 }, () => {
  const l: Record<string, string> = {};
  for (const k of keys) if (rnd(2)) l[k] = pick(values);
  return l;
});

const parsed = texts.map(parseSelector);
const lookups = labelSets.map(labelLookup);
const rows: [string, number, string][] = [];
const baseline = median(Array.from({ length: runs }, () =>
  time(() => {
    let n = 0;
    for (const l of labelSets) for (let i = 0; i < 1000; i++) if (l["role"] === "db") n++;
    if (n < 0) console.log(n);
  })));
rows.push(["baseline: 1e6 plain label reads", baseline, "1.00x"]);
const parse = median(
  Array.from({ length: runs }, () => time(() => texts.forEach((t) => parseSelector(t)))),
);
rows.push(["parse 1000 selectors", parse, `${(parse / baseline).toFixed(2)}x`]);
const evalMs = median(Array.from({ length: runs }, () =>
  time(() => {
    let n = 0;
    for (const l of lookups) for (const s of parsed) if (s.evaluate(l)) n++;
    if (n < 0) console.log(n);
  })));
rows.push(["1e6 evaluations (1000 sel x 1000 eps)", evalMs, `${(evalMs / baseline).toFixed(2)}x`]);

console.log(`selector benchmark, median of ${runs} runs`);
console.log("case".padEnd(42) + "median ms".padStart(10) + "  vs baseline");
for (const [name, ms, ratio] of rows) {
  console.log(name.padEnd(42) + ms.toFixed(2).padStart(10) + "  " + ratio);
}
