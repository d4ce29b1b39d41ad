/**
 * Input benchmark (issue 10): how fast, and in how much memory, `-f FILE` input is read,
 * checked as UTF-8, parsed, decoded and validated, for resource lists of many policies of
 * about 1, 5 and 20 MB, as YAML (`get -o yaml` style) and as JSON. Each case runs in its own
 * process so its peak RSS (VmHWM) is its own; times are medians of several runs in that
 * process. Baseline, measured in the same run on the same data: `JSON.parse` of the JSON
 * text. `before` is the `yaml` document-tree path every input took before the fast path
 * (still used to report errors); `hostfence-error` is the same YAML with one bad value in
 * its last policy, which must be found and reported with its line and column. Prints a
 * table (wall-clock and CPU-time MB/s, as the host may be busy); asserts nothing.
 *   deno run -A scripts/bench_input.ts [--runs N] [--sizes 1,5,20] [--no-before]
 */
import { formatResources } from "../src/model/output.ts";
import { benchPolicies as policies, median } from "./_bench.ts";

type Mode = "hostfence" | "hostfence-error" | "before" | "baseline";

/** `n` policies shaped like real ones: a selector, two ingress rules, one egress rule. */
/** A resource list of about `mb` megabytes in `format`. */
function inputOfSize(mb: number, format: "yaml" | "json"): string {
  const per = formatResources(policies(20), format).length / 20;
  return formatResources(policies(Math.round(mb * 1e6 / per)), format);
}

/** Peak resident memory of this process so far, in MB (Linux VmHWM). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Child: parse `file` `runs` times the way `mode` says; print `{ms, rss}` as JSON. */
async function child(file: string, mode: Mode, runs: number): Promise<void> {
  const { decodeInputBytes } = await import("../src/model/input_text.ts");
  const { parseResources, parseResourcesWithPositions, ResourceInputError } = await import(
    "../src/model/input.ts"
  );
  const { default: process } = await import("node:process");
  const bytes = await Deno.readFile(file);
  const times: number[] = [], cpu: number[] = [];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const text = decodeInputBytes(bytes, file);
    if (mode === "baseline") count = (JSON.parse(text) as unknown[]).length;
    else if (mode === "before") count = parseResourcesWithPositions(text, file).length;
    else if (mode === "hostfence-error") {
      try {
        parseResources(text, file);
        throw new Error("the broken input was accepted");
      } catch (e) {
        if (!(e instanceof ResourceInputError)) throw e;
        count = -1;
      }
    } else count = parseResources(text, file).length;
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  console.log(JSON.stringify({ ms: median(times), cpuMs: median(cpu), rss: peakRssMb(), count }));
}

async function runChild(file: string, mode: Mode, runs: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--child", file, mode, String(runs)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`benchmark child failed: ${mode} ${file}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as {
    ms: number;
    cpuMs: number;
    rss: number;
    count: number;
  };
}

async function main() {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const runs = Number(arg("--runs")) || 5;
  const sizes = (arg("--sizes") ?? "1,5,20").split(",").map(Number);
  const withBefore = !Deno.args.includes("--no-before");
  const dir = await Deno.makeTempDir({ prefix: "hostfence-bench-input-" });
  const rows: string[][] = [];
  try {
    for (const mb of sizes) {
      const yamlFile = `${dir}/${mb}.yaml`, jsonFile = `${dir}/${mb}.json`;
      const yaml = inputOfSize(mb, "yaml");
      await Deno.writeTextFile(yamlFile, yaml);
      // The same list with one bad action in its last policy: the error has to be found.
      const brokenFile = `${dir}/${mb}-error.yaml`;
      const last = yaml.lastIndexOf("action: allow");
      await Deno.writeTextFile(
        brokenFile,
        yaml.slice(0, last) + "action: allw" + yaml.slice(last + 13),
      );
      await Deno.writeTextFile(jsonFile, inputOfSize(mb, "json"));
      const base = await runChild(jsonFile, "baseline", runs);
      const cases: [string, string, Mode][] = [
        ["yaml", yamlFile, "hostfence"],
        ["yaml", brokenFile, "hostfence-error"],
        ["json", jsonFile, "hostfence"],
      ];
      // The old path is slow: at 20 MB one run takes most of a minute and GBs of memory.
      if (withBefore) cases.push(["yaml", yamlFile, "before"], ["json", jsonFile, "before"]);
      for (const [format, file, mode] of [["json", jsonFile, "baseline"], ...cases] as const) {
        const size = (await Deno.stat(file)).size;
        const r = mode === "baseline"
          ? base
          : await runChild(file, mode, mode === "before" ? Math.min(runs, 3) : runs);
        const mbs = size / 1e6 / (r.ms / 1000);
        const baseMbs = size / 1e6 / (base.ms / 1000);
        rows.push([
          `${(size / 1e6).toFixed(1)} MB`,
          format,
          mode === "baseline" ? "baseline: JSON.parse" : mode,
          r.count < 0 ? "error" : String(r.count),
          r.ms.toFixed(0),
          mbs.toFixed(1),
          (size / 1e6 / (r.cpuMs / 1000)).toFixed(1),
          mode === "baseline" ? "1.00x" : `${(baseMbs / mbs).toFixed(1)}x`,
          r.rss.toFixed(0),
          (r.rss / (size / 1e6)).toFixed(0) + "x",
        ]);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const head = [
    "input",
    "format",
    "path",
    "resources",
    "median ms",
    "MB/s",
    "MB/s of CPU",
    "slower",
    "peak RSS MB",
    "RSS/input",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(
    `input benchmark: read + UTF-8 + parse + decode + validate; median of ${runs} runs per ` +
      "case, each case in its own process (peak RSS includes the runtime, about 40-60 MB);\n" +
      "MB/s is wall clock; MB/s of CPU divides by the process's CPU time on all its threads " +
      "(the garbage collector works in parallel, so it can be the lower one)",
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1]!, Deno.args[2] as Mode, Number(Deno.args[3]));
} else {
  await main();
}
