/** Counters and drift fingerprints read from `nft -j` listings (shape as printed by nft 1.0.6). */
import assert from "node:assert/strict";
import {
  buildNftState,
  chainCounters,
  fingerprintListing,
  fingerprintState,
  parseCounters,
} from "../../src/dataplane/mod.ts";
import { SCENARIOS } from "../fixtures/dataplane_scenarios.ts";

const LISTING = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", json_schema_version: 1 } },
    { table: { family: "inet", name: "hostfence", handle: 2 } },
    { chain: { family: "inet", table: "hostfence", name: "pi-webserver", handle: 1 } },
    {
      rule: {
        family: "inet",
        table: "hostfence",
        chain: "pi-webserver",
        handle: 8,
        comment: "policy webserver ingress rule 1",
        expr: [
          {
            match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 80 },
          },
          { counter: { packets: 3, bytes: 180 } },
          { return: null },
        ],
      },
    },
    {
      rule: {
        chain: "fh-eth0",
        handle: 9,
        expr: [{ counter: { packets: 5, bytes: 300 } }, { drop: null }],
      },
    },
    { rule: { chain: "fh-eth0", handle: 10, expr: [{ accept: null }] } },
    { rule: { chain: "gone", handle: 11, expr: [{ counter: { packets: 1, bytes: 1 } }] } },
  ],
});

Deno.test("rule counters are read with their chain, handle and comment", () => {
  assert.deepEqual(parseCounters(LISTING), [
    {
      chain: "pi-webserver",
      handle: 8,
      comment: "policy webserver ingress rule 1",
      packets: 3,
      bytes: 180,
    },
    { chain: "fh-eth0", handle: 9, packets: 5, bytes: 300 },
    { chain: "gone", handle: 11, packets: 1, bytes: 1 },
  ]);
});

Deno.test("counters are summed per chain and attributed to the policy or endpoint owning it", () => {
  const state = buildNftState(SCENARIOS.seed_failsafe_webserver!);
  assert.deepEqual(chainCounters(parseCounters(LISTING), state), [
    {
      chain: "pi-webserver",
      owner: { kind: "policy", name: "webserver", direction: "ingress" },
      packets: 3,
      bytes: 180,
    },
    {
      chain: "fh-eth0",
      owner: {
        kind: "endpoint",
        stage: "filter",
        direction: "ingress",
        iface: "eth0",
        hostEndpoint: "hep0",
      },
      packets: 5,
      bytes: 300,
    },
  ]);
});

Deno.test("a listing that is not nft JSON is a SyntaxError", () => {
  assert.throws(() => parseCounters("{}"), SyntaxError);
  assert.throws(() => parseCounters("not json"), SyntaxError);
});

Deno.test("the drift fingerprint sees rule counts, set sizes and map entries", () => {
  const state = buildNftState(SCENARIOS.selectors!);
  const items: unknown[] = [];
  for (const s of state.sets.values()) {
    items.push({ set: { name: s.name, type: s.type, elem: [...s.elements] } });
  }
  for (const m of state.maps.values()) {
    items.push({
      map: { name: m.name, elem: [...m.elements].map(([k, v]) => [k, { jump: { target: v } }]) },
    });
  }
  for (const c of state.chains.values()) {
    items.push({ chain: { name: c.name, ...(c.hook ? { hook: c.hook.hook } : {}) } });
    for (const _ of c.rules) items.push({ rule: { chain: c.name, expr: [] } });
  }
  const good = JSON.stringify({ nftables: items });
  assert.equal(fingerprintListing(good), fingerprintState(state));
  const lessRules = JSON.stringify({ nftables: items.slice(0, -1) });
  assert.notEqual(fingerprintListing(lessRules), fingerprintState(state));
  const set0 = items[0] as { set: { elem: string[] } };
  const fewer = JSON.stringify({
    nftables: [{ set: { ...set0.set, elem: set0.set.elem.slice(1) } }, ...items.slice(1)],
  });
  assert.notEqual(fingerprintListing(fewer), fingerprintState(state));
});
