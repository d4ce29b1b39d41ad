/**
 * What named ports cost next to the selector sets they resemble. For N remote host endpoints
 * (each with two addresses and a declared `http` port), one local endpoint and one policy, two
 * variants measured in the same run:
 * - selector: the policy's rule has `source.selector: has(host-endpoint)` (a set of N x 2
 *   addresses), changed by moving one endpoint's address;
 * - named: the rule has `destination.ports: [http]` (a named-port set of N x 2 triples over
 *   every endpoint), changed by moving one endpoint's declared port.
 * Times the full build (calculation, desired table, rendered text) and one change (calculation,
 * table update, planned transaction); prints medians and the named/selector ratio. No
 * assertions: for spotting regressions by eye.
 *
 *   deno run -A scripts/bench_named_ports.ts [--runs N]
 */
import { CalculationGraph, type InterfaceInfo } from "../src/calc/graph.ts";
import type { ModelUpdate } from "../src/datastore/updates.ts";
import { DesiredTable, planChanges, render } from "../src/dataplane/mod.ts";
import { silentLogger } from "../src/log/logger.ts";
import type { Rule } from "../src/model/resources.ts";
import { median, time } from "./_bench.ts";
import { DEFAULT_DATAPLANE_CONFIG as CONFIG } from "../src/config/defaults.ts";

const runsArg = Deno.args.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 7;
const SIZES = [1_000, 10_000];
const INTERFACES: InterfaceInfo[] = [{ name: "eth0", up: true, addrs: ["198.18.1.1"] }];

type Variant = "selector" | "named";

function remote(i: number, port = 8080, shift = 0): ModelUpdate {
  const node = `host${1 + (i % 100)}`;
  const name = `hep${i}`;
  const a = (i + shift) % 65536;
  return {
    type: "hostEndpoint",
    node,
    name,
    value: {
      kind: "hostEndpoint",
      metadata: { name, node, labels: { "host-endpoint": "" } },
      spec: {
        expectedIPs: [`10.${a >> 8}.${a & 255}.1`, `fd00::${i.toString(16)}:1`],
        ports: [{ name: "http", protocol: "tcp", port }],
      },
    },
  };
}

function snapshot(n: number, variant: Variant): ModelUpdate[] {
  const rule: Rule = variant === "named"
    ? { action: "allow", protocol: "tcp", destination: { ports: ["http"] } }
    : { action: "allow", protocol: "tcp", source: { selector: "has(host-endpoint)" } };
  const out: ModelUpdate[] = [
    {
      type: "hostEndpoint",
      node: "host0",
      name: "local",
      value: {
        kind: "hostEndpoint",
        metadata: { name: "local", node: "host0", labels: { role: "web" } },
        spec: { interfaceName: "eth0", expectedIPs: ["198.18.1.1"] },
      },
    },
    {
      type: "policy",
      name: "p",
      value: {
        kind: "policy",
        metadata: { name: "p" },
        spec: { selector: "role == 'web'", order: 1, ingress: [rule], types: ["ingress"] },
      },
    },
  ];
  for (let i = 0; i < n; i++) out.push(remote(i));
  return out;
}

function build(updates: ModelUpdate[]): { g: CalculationGraph; table: DesiredTable } {
  const g = new CalculationGraph({ hostname: "host0", dataplaneConfig: CONFIG, log: silentLogger });
  g.setInterfaces(INTERFACES);
  g.applyUpdates(updates);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  render(table.state);
  return { g, table };
}

const rows: string[][] = [];
for (const n of SIZES) {
  const result: Record<Variant, { build: number; change: number; members: number }> = {
    selector: { build: 0, change: 0, members: 0 },
    named: { build: 0, change: 0, members: 0 },
  };
  for (const variant of ["selector", "named"] as const) {
    const updates = snapshot(n, variant);
    build(updates); // warm-up (JIT)
    const builds: number[] = [];
    let site!: ReturnType<typeof build>;
    for (let r = 0; r < RUNS; r++) builds.push(time(() => site = build(updates)));
    const changes: number[] = [];
    for (let k = 0; k < Math.max(RUNS * 15, 51); k++) {
      const u = variant === "named"
        ? remote(k % n, k % 2 ? 8081 : 8080)
        : remote(k % n, 8080, k % 2 ? 40_000 : 0);
      changes.push(time(() => {
        site.g.applyUpdates([u]);
        planChanges(site.table.update(site.g.view(), site.g.takeChanges()), site.table.state);
      }));
    }
    let members = 0;
    for (const m of site.g.hostState().ipSets.values()) members += m.v4.length + m.v6.length;
    result[variant] = { build: median(builds), change: median(changes), members };
  }
  for (const variant of ["selector", "named"] as const) {
    const r = result[variant];
    const base = result.selector;
    rows.push([
      String(n),
      variant,
      String(r.members),
      r.build.toFixed(1),
      (r.build / base.build).toFixed(2),
      r.change.toFixed(3),
      (r.change / base.change).toFixed(2),
    ]);
  }
}

const head = ["endpoints", "variant", "members", "build ms", "vs sel", "change ms", "vs sel"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(
  `named ports vs selector sets: median of ${RUNS} builds / ${Math.max(RUNS * 15, 51)} changes`,
);
for (const r of [head, ...rows]) {
  console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}
