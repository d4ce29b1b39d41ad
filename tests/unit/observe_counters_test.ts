/**
 * Counter attribution for metrics, against the NftState the real builder makes: policy and
 * profile chains are summed whole with their class taken from the HostState, an endpoint's
 * filter chain counts only its drop rules (not the NDP allowance beside them), chains that
 * counted nothing appear at zero, and the scrape cache shares one nft listing.
 */
import assert from "node:assert/strict";
import {
  buildNftState,
  chainNames,
  type NftState,
  parseCounters,
} from "../../src/dataplane/mod.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import {
  attributeCounters,
  cachedReader,
  nftCounterReader,
  NO_COUNTERS,
} from "../../src/observe/mod.ts";

/** Every policy class, a profile, and two interfaces (one with nothing: default drop). */
const HOST = hostState({
  interfaces: [
    iface("eth0", "hep-a", {
      untracked: { ingress: ["memcached"] },
      preDnat: { ingress: ["nodeport"] },
      normal: { ingress: ["web"], egress: ["web"] },
      profiles: ["base"],
    }),
    iface("eth1", "hep-b"),
  ],
  policies: {
    memcached: ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [11211] } }]),
    nodeport: ruleSet([{ action: "deny", source: { nets: ["198.19.0.0/16"] } }]),
    web: ruleSet(
      [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }, { action: "log" }],
      [{ action: "allow" }],
    ),
  },
  profiles: { base: ruleSet([{ action: "pass" }], []) },
});

/** An `nft -j list table` document with the given counted rules. */
function listing(
  rules: { chain: string; comment?: string; packets: number; bytes: number }[],
): string {
  return JSON.stringify({
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: "inet", name: "hostfence", handle: 1 } },
      ...rules.map((r, i) => ({
        rule: {
          family: "inet",
          table: "hostfence",
          chain: r.chain,
          handle: 10 + i,
          ...(r.comment !== undefined ? { comment: r.comment } : {}),
          expr: [{ counter: { packets: r.packets, bytes: r.bytes } }, { drop: null }],
        },
      })),
    ],
  });
}

Deno.test("policy and profile chains are summed whole and labelled with their class", () => {
  const nft = buildNftState(HOST);
  const web = nft.chains.get(chainNames.policyIn("web"))!;
  assert.ok(web.rules.length >= 1, "the web ingress chain has rules");
  const reading = attributeCounters(
    parseCounters(listing([
      { chain: chainNames.policyIn("web"), comment: "a", packets: 3, bytes: 180 },
      { chain: chainNames.policyIn("web"), comment: "b", packets: 2, bytes: 100 },
      { chain: chainNames.policyOut("web"), packets: 7, bytes: 700 },
      { chain: chainNames.policyIn("memcached"), packets: 1, bytes: 60 },
      { chain: chainNames.profileIn("base"), packets: 4, bytes: 240 },
      { chain: "stale-chain-from-an-old-state", packets: 99, bytes: 99 },
    ])),
    nft,
    HOST,
  );
  const byKey = new Map(
    reading.policies.map((p) => [`${p.class}/${p.policy}/${p.direction}`, [p.packets, p.bytes]]),
  );
  assert.deepEqual(
    Object.fromEntries(byKey),
    {
      "normal/web/ingress": [5, 280],
      "normal/web/egress": [7, 700],
      "untracked/memcached/ingress": [1, 60],
      "preDNAT/nodeport/ingress": [0, 0],
      "profile/base/ingress": [4, 240],
      "profile/base/egress": [0, 0],
    },
  );
});

Deno.test("without a HostState every policy is labelled normal", () => {
  const nft = buildNftState(HOST);
  const reading = attributeCounters([], nft);
  assert.deepEqual(
    [...new Set(reading.policies.filter((p) => p.class !== "profile").map((p) => p.class))],
    ["normal"],
  );
});

Deno.test("an endpoint counts only its drop rules, per interface and direction", () => {
  const nft = buildNftState(HOST);
  const fh0 = nft.chains.get(chainNames.fromHost("eth0"))!;
  const dropComments = fh0.rules.flatMap((r) =>
    r.owner?.kind === "endpointDrop" ? [r.comment!] : []
  );
  // eth0 has a normal ingress policy and a profile: "no policy allowed" and "no profile allowed".
  assert.deepEqual(dropComments, [
    "eth0 ingress: no policy allowed",
    "eth0 ingress: no profile allowed",
  ]);
  const reading = attributeCounters(
    parseCounters(listing([
      {
        chain: chainNames.fromHost("eth0"),
        comment: "HostEndpointAllowNDP",
        packets: 50,
        bytes: 5000,
      },
      { chain: chainNames.fromHost("eth0"), comment: dropComments[0]!, packets: 2, bytes: 120 },
      { chain: chainNames.fromHost("eth0"), comment: dropComments[1]!, packets: 1, bytes: 60 },
      {
        chain: chainNames.fromHost("eth1"),
        comment: "eth1 ingress: default drop",
        packets: 9,
        bytes: 540,
      },
      {
        chain: chainNames.toHost("eth1"),
        comment: "eth1 egress: default drop",
        packets: 1,
        bytes: 40,
      },
      {
        chain: chainNames.rawFromHost("eth0"),
        comment: "HostEndpointAllowNDP",
        packets: 8,
        bytes: 800,
      },
    ])),
    nft,
    HOST,
  );
  assert.deepEqual(
    reading.endpointDrops,
    [
      { iface: "eth0", hostEndpoint: "hep-a", direction: "ingress", packets: 3, bytes: 180 },
      { iface: "eth0", hostEndpoint: "hep-a", direction: "egress", packets: 0, bytes: 0 },
      { iface: "eth1", hostEndpoint: "hep-b", direction: "ingress", packets: 9, bytes: 540 },
      { iface: "eth1", hostEndpoint: "hep-b", direction: "egress", packets: 1, bytes: 40 },
    ].sort(_byChainOrder(nft)),
  );
});

/** Sorts expected endpoint entries in the state's chain order (what attributeCounters keeps). */
function _byChainOrder(nft: NftState) {
  const order = [...nft.chains.keys()];
  const chainOf = (e: { iface: string; direction: string }) =>
    order.indexOf(
      e.direction === "ingress" ? chainNames.fromHost(e.iface) : chainNames.toHost(e.iface),
    );
  return (a: { iface: string; direction: string }, b: { iface: string; direction: string }) =>
    chainOf(a) - chainOf(b);
}

Deno.test("the nft reader returns nothing before the first apply or without the table", async () => {
  const nft = buildNftState(HOST);
  let lists = 0;
  const runner = (out: string | null) => ({
    listTable: () => {
      lists++;
      return Promise.resolve(out);
    },
  });
  assert.equal(await nftCounterReader(runner("{}"), () => undefined)(), NO_COUNTERS);
  assert.equal(lists, 0, "no nft run before anything is programmed");
  assert.equal(await nftCounterReader(runner(null), () => nft)(), NO_COUNTERS);
  const r = await nftCounterReader(
    runner(listing([{ chain: chainNames.policyOut("web"), packets: 4, bytes: 400 }])),
    () => nft,
    () => HOST,
  )();
  assert.deepEqual(
    r.policies.find((p) => p.policy === "web" && p.direction === "egress"),
    { policy: "web", class: "normal", direction: "egress", packets: 4, bytes: 400 },
  );
  await assert.rejects(
    nftCounterReader(runner("not json"), () => nft)(),
    SyntaxError,
  );
});

Deno.test("the cached reader shares one read while it runs and for the TTL after it ends", async () => {
  let clock = 0;
  let reads = 0;
  let release: (() => void) | undefined;
  const read = cachedReader(
    () => {
      reads++;
      const n = reads;
      return new Promise<number>((resolve) => {
        release = () => resolve(n);
      });
    },
    1000,
    () => clock,
  );
  const a = read();
  clock = 5000; // still running: shared however long it takes
  const b = read();
  assert.equal(reads, 1);
  release!();
  assert.equal(await a, 1);
  assert.equal(await b, 1);
  clock = 5999;
  assert.equal(await read(), 1, "within the TTL after it finished");
  clock = 6000;
  const c = read();
  release!();
  assert.equal(await c, 2);
  assert.equal(reads, 2);
});

Deno.test("the cached reader keeps a failure for the TTL too, then reads again", async () => {
  let clock = 0;
  let reads = 0;
  const read = cachedReader(
    () => {
      reads++;
      return reads === 1 ? Promise.reject(new Error("nft gone")) : Promise.resolve("ok");
    },
    1000,
    () => clock,
  );
  await assert.rejects(read(), /nft gone/);
  await assert.rejects(read(), /nft gone/);
  assert.equal(reads, 1);
  clock = 1000;
  assert.equal(await read(), "ok");
  const sync = cachedReader<string>(() => {
    throw new Error("synchronous");
  });
  await assert.rejects(sync(), /synchronous/);
});
