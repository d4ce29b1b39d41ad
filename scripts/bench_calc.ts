/**
 * Benchmark of the calculation graph: 1000 host endpoints on 100 hosts, 500 policies, 50 WEPs.
 * Times a full build and single updates, prints medians. No assertions: this is for
 * spotting regressions by eye.
 *
 *   deno run -A scripts/bench_calc.ts [--runs N]
 */
import { CalculationGraph, type InterfaceInfo } from "../src/calc/graph.ts";
import type { ModelUpdate } from "../src/datastore/updates.ts";
import { silentLogger } from "../src/log/logger.ts";
import type { Labels } from "../src/model/resources.ts";
import { median, time } from "./_bench.ts";
import { policyUpdate } from "../synth/updates.ts";
import { DEFAULT_DATAPLANE_CONFIG as CONFIG } from "../src/config/defaults.ts";

const HOSTS = 100;
const HEPS_PER_HOST = 10;
const POLICIES = 500;
const WEPS = 50;
const LOCAL = "host0";

const runsArg = Deno.args.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 7;

const INTERFACES: InterfaceInfo[] = Array.from({ length: HEPS_PER_HOST }, (_, i) => ({
  name: `eth${i}`,
  up: true,
  addrs: [`10.${0}.${i}.1`],
}));

function hepLabels(h: number, i: number, role = `r${(h * HEPS_PER_HOST + i) % 50}`): Labels {
  return { "host-endpoint": "", role, zone: `z${h % 10}`, idx: `${i}` };
}

function hep(h: number, i: number, labels = hepLabels(h, i)): ModelUpdate {
  const node = `host${h}`;
  const name = `hep${i}`;
  return {
    type: "hostEndpoint",
    node,
    name,
    value: {
      kind: "hostEndpoint",
      metadata: { name, node, labels },
      spec: {
        interfaceName: `eth${i}`,
        expectedIPs: [`10.${h}.${i}.1`, `fd00:${h.toString(16)}::${i + 1}`],
        profiles: [`prof${h % 5}`],
      },
    },
  };
}

function policy(p: number, order = p, selectorOverride?: string): ModelUpdate {
  const name = `pol${String(p).padStart(3, "0")}`;
  const selector = selectorOverride ??
    (p % 3 === 0
      ? `role == 'r${p % 50}'`
      : p % 3 === 1
      ? `zone == 'z${p % 10}' && idx == '${p % HEPS_PER_HOST}'`
      : `has(host-endpoint) && idx == '${p % HEPS_PER_HOST}'`);
  return policyUpdate(name, {
    order,
    selector,
    types: ["ingress", "egress"],
    ingress: [
      { action: "allow", protocol: "tcp", source: { selector: `role == 'r${(p + 1) % 50}'` } },
      { action: "deny", source: { tag: `t${p % 7}` } },
    ],
    egress: [{ action: "allow", destination: { selector: `zone == 'z${p % 10}'` } }],
  });
}

function snapshot(): ModelUpdate[] {
  const out: ModelUpdate[] = [];
  for (let r = 0; r < 5; r++) {
    out.push({ type: "profileRules", name: `prof${r}`, value: { ingress: [], egress: [] } });
    out.push({ type: "profileTags", name: `prof${r}`, value: [`t${r}`] });
  }
  for (let h = 0; h < HOSTS; h++) for (let i = 0; i < HEPS_PER_HOST; i++) out.push(hep(h, i));
  for (let w = 0; w < WEPS; w++) {
    const id = `host${w % HOSTS}/k8s/w${w}/eth0`;
    out.push({
      type: "workloadEndpoint",
      id,
      value: {
        kind: "workloadEndpoint",
        metadata: {
          name: "eth0",
          workload: `w${w}`,
          orchestrator: "k8s",
          node: `host${w % HOSTS}`,
          labels: { role: `r${w % 50}` },
        },
        spec: { interfaceName: `cali${w}`, ipNetworks: [`10.200.${w}.1/32`] },
      },
    });
  }
  for (let p = 0; p < POLICIES; p++) out.push(policy(p));
  return out;
}

function build(updates: ModelUpdate[]): CalculationGraph {
  const g = new CalculationGraph({ hostname: LOCAL, dataplaneConfig: CONFIG, log: silentLogger });
  g.setInterfaces(INTERFACES);
  g.applyUpdates(updates);
  g.hostState();
  return g;
}

const updates = snapshot();
build(updates); // warm-up (JIT)

const rows: [string, number, string][] = [];
const builds: number[] = [];
let g!: CalculationGraph;
for (let r = 0; r < RUNS; r++) builds.push(time(() => g = build(updates)));
const s = g.hostState();
rows.push([
  "full build (apply snapshot + hostState)",
  median(builds),
  `${updates.length} updates; ${s.interfaces.length} ifaces, ${s.policies.size} policies, ` +
  `${s.ipSets.size} sets`,
]);

function series(label: string, n: number, step: (k: number) => void, note: string) {
  const times: number[] = [];
  const before = g.stats();
  for (let k = 0; k < n; k++) {
    times.push(time(() => {
      step(k);
      g.hostState();
    }));
  }
  const after = g.stats();
  const evals = (after.policyIndex.evaluations - before.policyIndex.evaluations) +
    (after.ipSetIndex.evaluations - before.ipSetIndex.evaluations);
  rows.push([label, median(times), `${note}; ${(evals / n).toFixed(1)} selector evals/update`]);
}

const N = Math.max(RUNS * 15, 51);
series("remote HEP: one label changed", N, (k) => {
  const h = 1 + (k % (HOSTS - 1));
  g.applyUpdates([hep(h, 3, hepLabels(h, 3, k % 2 ? "r7" : "r8"))]);
}, "role flips r7/r8");
series("local HEP: one label changed", N, (k) => {
  g.applyUpdates([hep(0, 3, hepLabels(0, 3, k % 2 ? "r7" : "r8"))]);
}, "role flips r7/r8; policy lists re-sorted");
series("policy: order changed", N, (k) => {
  g.applyUpdates([policy(2, k % 2 ? 1000 : 2)]);
}, "one policy moves in a local HEP's lists");
series("policy: selector changed", N, (k) => {
  g.applyUpdates([policy(5, 5, k % 2 ? "zone == 'z0' && idx == '4'" : undefined)]);
}, "policy moves between local HEPs");
series("WEP added then removed", N, (k) => {
  const id = "host7/k8s/bench/eth0";
  g.applyUpdates([{
    type: "workloadEndpoint",
    id,
    value: k % 2 ? null : {
      kind: "workloadEndpoint",
      metadata: {
        name: "eth0",
        workload: "bench",
        orchestrator: "k8s",
        node: "host7",
        labels: { role: "r1" },
      },
      spec: { interfaceName: "cali-bench", ipNetworks: ["10.201.0.1/32"] },
    },
  }]);
}, "joins/leaves one IP set");
series("interfaces re-listed (unchanged)", N, () => {
  g.setInterfaces(INTERFACES);
}, "re-resolution only");
series("no-op batch (ready/inSync)", N, () => {
  g.applyUpdates([{ type: "ready", value: true }, { type: "inSync" }]);
}, "cached HostState");

const w1 = Math.max(...rows.map((r) => r[0].length));
console.log(
  `calc benchmark: ${HOSTS} hosts x ${HEPS_PER_HOST} HEPs, ${POLICIES} policies, ${WEPS} WEPs; ` +
    `median of ${RUNS} builds / ${N} updates`,
);
// The baseline is the full build measured in this run: what every update would cost if the
// calculation were not incremental.
const baseline = rows[0]![1];
console.log(`${"case".padEnd(w1)}  ${"median ms".padStart(10)}  ${"vs full".padStart(8)}  notes`);
for (const [label, ms, note] of rows) {
  const ratio = ms > 0 ? `${(baseline / ms).toFixed(0)}x` : "-";
  console.log(`${label.padEnd(w1)}  ${ms.toFixed(3).padStart(10)}  ${ratio.padStart(8)}  ${note}`);
}
