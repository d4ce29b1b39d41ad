/**
 * What network sets cost. An IP set that holds a network set's prefix is an nft interval set,
 * whose members the calculation keeps disjoint; one that holds addresses only stays hashed.
 * This measures, for a selector set of N remote endpoint addresses, one endpoint coming or
 * going and one network-set edit, with no network set (hashed set: the baseline), with a
 * network set beside the addresses (interval set, nothing covered) and with one covering
 * every address (interval set, every address inside the prefix):
 * - part 1, pure: calculation + desired-table update + planned transaction, in-process;
 * - part 2, as root: the same change applied by `nft` (one process per transaction, as with
 *   HOSTFENCE_NFT) inside a network namespace this script creates and always removes.
 * Prints tables of medians with ratios to the baseline measured in the same run; asserts
 * nothing.
 *
 *   deno run -A scripts/bench_netsets.ts [--runs N] [--sizes 1000,10000]
 */
import { CalculationGraph } from "../src/calc/graph.ts";
import { commandRunner, DesiredTable, NftDataplane, planChanges } from "../src/dataplane/mod.ts";
import type { ModelUpdate } from "../src/datastore/updates.ts";
import { createLogger, memorySink } from "../src/log/logger.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../src/config/defaults.ts";
import {
  allowFromSelector,
  FIXTURE_IFACES,
  remoteDb,
  webHostEndpoint,
  webPolicy,
} from "../synth/scale_fixture.ts";
import { median, time, timeAsync, whyNoNft } from "./_bench.ts";

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}
const RUNS = Math.max(3, Number(flag("--runs") ?? 31) || 31);
const SIZES = (flag("--sizes") ?? "1000,10000").split(",").map(Number);

/** A network set labelled like the endpoints (role=db). */
function netset(nets: string[]): ModelUpdate {
  return {
    type: "networkSet",
    name: "db-nets",
    value: {
      kind: "networkSet",
      metadata: { name: "db-nets", labels: { role: "db" } },
      spec: { nets },
    },
  };
}

interface Variant {
  readonly name: string;
  /** The network set present from the start (none for the baseline). */
  readonly nets?: readonly string[];
  /** The nets an edit toggles to and back. */
  readonly edit?: readonly string[];
}

// Remote endpoints get 198.19.x.y (scale fixture); the prefixes below are from 198.18.0.0/15.
const VARIANTS: readonly Variant[] = [
  { name: "addresses only (hashed set)" },
  {
    name: "+ network set beside them (interval)",
    nets: ["198.18.200.0/24"],
    edit: ["198.18.201.0/24"],
  },
  {
    name: "+ network set covering them (interval)",
    nets: ["198.19.0.0/16"],
    edit: ["198.19.0.0/17", "198.19.128.0/17"],
  },
];

function graph(n: number, v: Variant): CalculationGraph {
  const g = new CalculationGraph({
    hostname: "h1",
    dataplaneConfig: { ...DEFAULT_DATAPLANE_CONFIG, compileMinRun: 0 },
    log: createLogger([memorySink("ERROR")], "calc"),
  });
  g.setInterfaces(FIXTURE_IFACES);
  g.applyUpdates([
    { type: "ready", value: true },
    webHostEndpoint(),
    webPolicy("db-clients", 500, allowFromSelector("role == 'db'", 5432)),
    ...Array.from({ length: n }, (_, i) => remoteDb(i)),
    ...(v.nets ? [netset([...v.nets])] : []),
  ]);
  return g;
}

/** The two alternating changes of a case: apply `a`, then `b`, then `a`, ... */
function changesOf(n: number, v: Variant, kind: "endpoint" | "edit"): [ModelUpdate, ModelUpdate] {
  if (kind === "endpoint") return [remoteDb(n, true), remoteDb(n, false)];
  return [netset([...(v.edit ?? [])]), netset([...(v.nets ?? [])])];
}

interface Row {
  readonly size: number;
  readonly variant: string;
  readonly change: string;
  readonly ms: number;
  readonly baseline: number;
  /** Part 2: the change needed no transaction (an address inside a prefix). */
  readonly idle?: boolean;
}

function print(title: string, rows: readonly Row[]): void {
  const head = ["members", "IP set", "change", "median ms", "vs hashed"];
  const cells = rows.map((r) => [
    String(r.size),
    r.variant,
    r.change,
    r.ms.toFixed(3),
    r.idle ? "no transaction" : r.baseline > 0 ? `${(r.ms / r.baseline).toFixed(2)}x` : "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => i >= 3 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)).join("  ");
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const c of cells) console.log(line(c));
}

/** What one case measured: its median, and (nft only) whether no change needed a transaction. */
interface Measured {
  readonly ms: number;
  readonly idle?: boolean;
}

/**
 * Every size x variant x kind of change (no edit for the variant without network sets), each
 * measured by `measure`, as rows whose baseline is the same size's variant without sets: one
 * walk over the cases so both parts report the same rows.
 */
async function caseRows(
  measure: (n: number, v: Variant, kind: "endpoint" | "edit") => Measured | Promise<Measured>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of SIZES) {
    let baseline = 0;
    for (const v of VARIANTS) {
      for (const kind of ["endpoint", "edit"] as const) {
        if (kind === "edit" && v.nets === undefined) continue;
        const { ms, idle } = await measure(n, v, kind);
        if (v.nets === undefined) baseline = ms;
        rows.push({
          size: n,
          variant: v.name,
          change: kind === "endpoint" ? "one endpoint comes or goes" : "network set edited",
          ms,
          baseline,
          ...(idle === undefined ? {} : { idle }),
        });
      }
    }
  }
  return rows;
}

function pureRows(): Promise<Row[]> {
  return caseRows((n, v, kind) => {
    const g = graph(n, v);
    g.takeChanges();
    const table = DesiredTable.build(g.hostState());
    const [a, b] = changesOf(n, v, kind);
    const samples: number[] = [];
    for (let r = 0; r < RUNS * 2; r++) {
      samples.push(time(() => {
        g.applyUpdates([r % 2 === 0 ? a : b]);
        planChanges(table.update(g.view(), g.takeChanges()), table.state);
      }));
    }
    return { ms: median(samples) };
  });
}

function nftRows(netns: string): Promise<Row[]> {
  return caseRows(async (n, v, kind) => {
    const g = graph(n, v);
    const dp = new NftDataplane(commandRunner({ netns }));
    await dp.apply(g); // the full program, untimed
    const [a, b] = changesOf(n, v, kind);
    const samples: number[] = [];
    let idle = true;
    for (let r = 0; r < Math.max(5, Math.ceil(RUNS / 3)) * 2; r++) {
      g.applyUpdates([r % 2 === 0 ? a : b]);
      samples.push(
        await timeAsync(async () => {
          const res = await dp.apply(g);
          if (res.changed) idle = false;
          if (res.recovered !== undefined || res.script.startsWith("add table")) {
            throw new Error(`not an incremental transaction: ${res.script.slice(0, 200)}`);
          }
        }),
      );
    }
    return { ms: median(samples), idle };
  });
}

/** Part 1b: one network set of many nets (8,192 /28s and /64s) beside 1,000 endpoints. */
function largeSetRows(): [string, string][] {
  const nets = Array.from(
    { length: 8192 },
    (_, i) =>
      i % 2 === 0
        ? `198.${18 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) << 4}/28`
        : `2001:db8:${(i >> 8).toString(16)}:${(i & 255).toString(16)}::/64`,
  );
  const edited = [...nets.slice(1), "198.19.255.0/24"];
  const cases: [string, (g: CalculationGraph) => ModelUpdate[]][] = [
    ["created", () => [netset(nets)]],
    ["one net replaced", () => [netset(edited)]],
    ["removed", () => [{ type: "networkSet", name: "db-nets", value: null }]],
  ];
  const samples = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  for (let r = 0; r < Math.max(3, Math.ceil(RUNS / 5)); r++) {
    const g = graph(1000, VARIANTS[0]!);
    g.takeChanges();
    const table = DesiredTable.build(g.hostState());
    for (const [name, updates] of cases) {
      const batch = updates(g);
      samples.get(name)!.push(time(() => {
        g.applyUpdates(batch);
        planChanges(table.update(g.view(), g.takeChanges()), table.state);
      }));
    }
  }
  return cases.map(([name]) => [name, median(samples.get(name)!).toFixed(1)] as [string, string]);
}

console.log(`Network sets: ${RUNS} runs per pure case, medians; sizes ${SIZES.join(", ")}`);
print("Part 1: calculation + table update + planned transaction (pure)", await pureRows());
console.log(
  "\nPart 1b: a network set of 8,192 nets (v4 /28s, v6 /64s) beside 1,000 endpoints (pure)",
);
console.log("change            median ms");
console.log("----------------  ---------");
for (const [name, ms] of largeSetRows()) console.log(`${name.padEnd(16)}  ${ms.padStart(9)}`);

const why = whyNoNft();
if (why !== undefined) {
  console.log(`\nPart 2: skipped (${why}); run as root with 'ip' and 'nft' installed`);
} else {
  const netns = `hf-bench-netsets-${Deno.pid}`;
  const ip = (args: string[]) =>
    new Deno.Command("ip", { args, stdout: "null", stderr: "null" }).output();
  await ip(["netns", "add", netns]);
  try {
    print("Part 2: the same change applied by nft in a network namespace", await nftRows(netns));
  } finally {
    await ip(["netns", "del", netns]);
  }
}
