/**
 * The end-to-end benchmark's pure parts (scripts/bench_agent/): the fixture is what issue 7
 * describes and reads back through the agent's own decoders, percentiles are nearest-rank, and
 * the table shows a failed measurement as FAILED, never as a number.
 */
import assert from "node:assert/strict";
import { decodeHostEndpoint, decodePolicy } from "../../src/datastore/backend_decode.ts";
import { parseKey, READY_KEY } from "../../src/datastore/keys.ts";
import {
  BURST_BASE,
  checkSizes,
  DENIED_PORT,
  fillerKV,
  fixtureKVs,
  FLOOD_PORT,
  PROBE_PORT,
  probeKV,
  remoteIp,
} from "../../scripts/bench_agent/fixture.ts";
import { median, percentile } from "../../scripts/bench_agent/stats.ts";
import { Table } from "../../scripts/bench_agent/table.ts";

const sizes = { policies: 12, remotes: 30, hosts: 4 };

Deno.test("bench fixture: the issue's resources, in the project's key layout, Ready last", () => {
  const kvs = fixtureKVs(sizes);
  assert.equal(kvs.at(-1)![0], READY_KEY);
  const parsed = kvs.map(([k, v]) => ({ key: parseKey(k), value: v }));
  assert.ok(parsed.every((p) => p.key !== null), "every key parses");
  const heps = parsed.filter((p) => p.key!.type === "hostEndpoint");
  assert.equal(heps.length, 1 + sizes.remotes);
  const local = heps.find((p) => p.key!.type === "hostEndpoint" && p.key!.node === "h1")!;
  const eth0 = decodeHostEndpoint("h1", "eth0", local.value);
  assert.equal(eth0.spec.interfaceName, "eth0");
  assert.deepEqual(eth0.metadata.labels, { role: "web" });
  const remoteNodes = new Set<string>();
  for (const p of heps) {
    if (p.key!.type !== "hostEndpoint" || p.key!.node === "h1") continue;
    remoteNodes.add(p.key!.node);
    const h = decodeHostEndpoint(p.key!.node, p.key!.name, p.value);
    assert.equal(h.spec.expectedIPs?.length, 1);
    assert.deepEqual(h.metadata.labels, { role: "db" });
  }
  assert.equal(remoteNodes.size, sizes.hosts);
  const policies = parsed.filter((p) => p.key!.type === "policy").map((p) =>
    decodePolicy((p.key as { name: string }).name, p.value, { forAgent: true })
  );
  assert.equal(policies.length, sizes.policies + 2);
  const f3 = policies.find((p) => p.metadata.name === "filler-0003")!;
  assert.equal(f3.spec.order, 1003);
  assert.equal(f3.spec.selector, "role == 'web'");
  assert.deepEqual(f3.spec.ingress, [{
    action: "allow",
    protocol: "tcp",
    destination: { ports: [20003] },
  }]);
  const db = policies.find((p) => p.metadata.name === "db-5432")!;
  assert.equal(db.spec.ingress![0]!.source?.selector, "role == 'db'");
  // The flood's policy is the last in order, so a flood packet walks every other one first.
  const flood = policies.find((p) => p.metadata.name === "flood-target")!;
  assert.ok(policies.every((p) => p === flood || p.spec.order! < flood.spec.order!));
  assert.deepEqual(flood.spec.ingress![0]!.destination?.ports, [FLOOD_PORT]);
});

Deno.test("bench fixture: probe and burst policies, addresses in 198.19.0.0/16, no failsafe port", () => {
  const probe = decodePolicy("bench-probe", probeKV()[1]);
  assert.equal(probe.spec.order, 10);
  assert.deepEqual(probe.spec.ingress![0]!.destination?.ports, [PROBE_PORT]);
  const burst = decodePolicy("filler-0007", fillerKV(7, BURST_BASE)[1]);
  assert.deepEqual(burst.spec.ingress![0]!.destination?.ports, [BURST_BASE + 7]);
  assert.equal(remoteIp(0), "198.19.0.0");
  assert.equal(remoteIp(9999), "198.19.39.15");
  for (const p of [PROBE_PORT, DENIED_PORT, FLOOD_PORT]) assert.ok(![22, 68].includes(p));
  assert.throws(() => checkSizes({ policies: 5, remotes: 1, hosts: 1 }), /--policies/);
  assert.throws(() => checkSizes({ policies: 10, remotes: 70000, hosts: 1 }), /--remotes/);
});

Deno.test("bench percentile: nearest rank; median: the middle", () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(xs, 50), 5);
  assert.equal(percentile(xs, 90), 9);
  assert.equal(percentile(xs, 99), 10);
  assert.equal(percentile([7], 99), 7);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(percentile([], 50)));
});

/** The run the table tests render for: 1000 fillers, 3 repetitions, 1 s floods. */
const RUN = {
  policies: 1000,
  remotes: 1,
  hosts: 1,
  reps: 3,
  floodSeconds: 1,
  floodRounds: 3,
  small: 10,
  seconds: 1,
};

Deno.test("bench table: failed measurements show as FAILED with the reason, not numbers", () => {
  const t = new Table();
  t.floor("open", [1, 2, 3]);
  t.fail("agent-conv", "the agent exited | badly");
  t.pps("big", { none: 200_000, floor: 150_000, agent: 15_000 });
  t.pps("big", { none: 100_000, floor: 90_000, agent: 12_000 });
  t.pps("big", { none: 210_000, floor: 160_000, agent: 16_000 });
  const out = t.render(RUN);
  const open = out.split("\n").find((l) => l.includes("peer sees the port open"))!;
  assert.match(open, /\| 2\.0 \/ 3\.0 \/ 3\.0 ms \| FAILED: the agent exited \/ badly \| - \|/);
  const cold = out.split("\n").find((l) => l.includes("unallowed port is dropped"))!;
  assert.match(cold, /not measured \| not measured/);
  assert.match(
    out,
    /\| new UDP flows\/s, no firewall \(median and range of 3 1 s floods\) \| 200k\/s \(100k\/s-210k\/s\) \|/,
  );
  const big = out.split("\n").find((l) => l.includes("after 1000 fillers"))!;
  assert.match(big, /\| 150k\/s \| 15\.0k\/s \| 0\.10x floor, 0\.07x no firewall \|/);
  const small = out.split("\n").find((l) => l.includes("after 10 fillers"))!;
  assert.match(small, /not measured \| not measured/);
  assert.match(out, /failed \(agent-conv\): the agent exited \| badly/);
});

Deno.test("bench table: cold start is the median of its starts, with their range", () => {
  const t = new Table();
  t.cold([{ syncMs: 900, dropMs: 950 }, { syncMs: 700, dropMs: 760 }, {
    syncMs: 2000,
    dropMs: 2100,
  }]);
  t.coldFloor({ total: 300, parts: "Deno 20 + fetch 1 keys 200 + nft -f 80 ms" });
  const out = t.render(RUN);
  const sync = out.split("\n").find((l) => l.includes("first `Dataplane in sync`"))!;
  assert.match(sync, /\| 900 ms \(median of 3; 700-2000\) \| 3\.00x floor \|/);
  const drop = out.split("\n").find((l) => l.includes("unallowed port is dropped"))!;
  assert.match(drop, /\| 950 ms \(median of 3; 760-2100\) \| 3\.17x floor \|/);
});
