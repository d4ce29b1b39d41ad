/**
 * Lockout check benchmark: what the check adds to a write command, by datastore size. For N
 * nodes with two host endpoints each and P policies, it times (medians of several runs):
 * the agents' conversion of every key (the baseline: work every write's dry run must do),
 * computing both states for every node, and the whole check (states plus interpreter runs
 * for every interface, port and source). Pure (no etcd): the snapshot read itself is one
 * paged range, measured by bench_datastore.ts. Prints a table; asserts nothing.
 *
 *   deno run -A scripts/bench_lockout.ts [--runs N]
 */
import { median, timeAsync } from "./_bench.ts";
import { computeNodeState, nodesWithHostEndpoints } from "../src/agent/node_state.ts";
import { lockoutCheck } from "../src/lockout/lockout.ts";
import { applyChanges, toUpdates } from "../src/cmd/lockout_check.ts";
import type { Change } from "../src/cmd/lockout_guard.ts";
import { parseResources } from "../src/model/input.ts";

const i = Deno.args.indexOf("--runs");
const RUNS = Math.max(3, Number(i >= 0 ? Deno.args[i + 1] : 0) || 5);

function resourcesYaml(nodes: number, policies: number): string {
  const out: string[] = [];
  for (let n = 0; n < nodes; n++) {
    for (const [k, iface] of [[0, "eth0"], [1, "eth1"]] as const) {
      out.push(`- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: n${n}-${iface}, node: n${n}, labels: {hep: "true", role: r${k}}}
  spec: {interfaceName: ${iface}, expectedIPs: [198.18.${n % 250}.${k + 1}]}`);
    }
  }
  for (let p = 0; p < policies; p++) {
    out.push(`- apiVersion: v1
  kind: policy
  metadata: {name: p${p}}
  spec:
    order: ${p}
    selector: role == 'r${p % 2}'
    ingress: [{action: allow, protocol: tcp, source: {net: 198.19.${
      p % 250
    }.0/24}, destination: {ports: [${1000 + p}]}}]`);
  }
  return out.join("\n") + "\n";
}

const rows: string[][] = [];
for (const [nodes, policies] of [[10, 20], [50, 20], [50, 200], [200, 50]] as const) {
  const changes: Change[] = parseResources(resourcesYaml(nodes, policies), "<bench>").map((
    l,
  ) => ({ kind: "write", verb: "apply", resource: l.resource }));
  const before = applyChanges(new Map(), changes);
  const after = applyChanges(before, [{ kind: "delete", id: { kind: "policy", name: "p0" } }]);
  const convert: number[] = [];
  const states: number[] = [];
  const check: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    convert.push(
      await timeAsync(async () => {
        toUpdates(before);
        await Promise.resolve(toUpdates(after));
      }),
    );
    const b = toUpdates(before);
    const a = toUpdates(after);
    states.push(
      await timeAsync(async () => {
        for (const node of nodesWithHostEndpoints(b)) {
          await computeNodeState(b, node, { local: false });
          await computeNodeState(a, node, { local: false });
        }
      }),
    );
    check.push(await timeAsync(() => lockoutCheck(b, a, { sources: ["198.18.0.1"] })));
  }
  const c = median(convert);
  rows.push([
    `${nodes}`,
    `${policies}`,
    `${before.size}`,
    c.toFixed(1),
    median(states).toFixed(1),
    median(check).toFixed(1),
    (median(check) / c).toFixed(1),
  ]);
}
const head = ["nodes", "policies", "keys", "convert ms", "states ms", "check ms", "check/convert"];
const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
const line = (r: string[]) => r.map((x, k) => x.padStart(widths[k]!)).join("  ");
console.log(`Lockout check cost (medians of ${RUNS} runs; each node has 2 host endpoints)`);
console.log(line(head));
for (const r of rows) console.log(line(r));
