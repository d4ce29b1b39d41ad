/**
 * Network sets in the calculation and the dataplane: rule selectors match them by label like
 * endpoints (a policy's own selector never does), their nets join the same IP sets as
 * endpoint addresses, in disjoint form (a member inside another left out, as an nft interval
 * set needs), and an edit is element lines only. Random streams with network sets must give
 * what a fresh calculation and a fresh table give. Beside named ports: a network set has no
 * ports, so (as in Calico) it never joins a named-port set, even one on the same selector.
 */
import assert from "node:assert/strict";
import { CalculationGraph } from "../../src/calc/graph.ts";
import type { HostState } from "../../src/calc/host_state.ts";
import { DesiredTable, type NftState, planChanges, render } from "../../src/dataplane/mod.ts";
import { evaluate } from "../../src/dataplane/evaluate.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { RandomUpdates } from "../fixtures/random_updates.ts";
import { allowFromSelector, webHostEndpoint, webPolicy } from "../../synth/scale_fixture.ts";
import { policyUpdate } from "../../synth/updates.ts";
import { prng } from "../fixtures/prng.ts";
import { incrementalWalk } from "../fixtures/fresh_check.ts";
import { readyGraph } from "../fixtures/calc_graph.ts";
import { hostEndpointDeleted, hostEndpointUpdate } from "../fixtures/resources.ts";
import { cidrContains, parseCidr, parseIp } from "../../src/net/ip.ts";
import type { EndpointPort, Rule } from "../../src/model/resources.ts";
import { namedPortSetId } from "../../src/calc/resolve_rules.ts";
import { parseSelector } from "../../src/selector/mod.ts";

/** The graph every case here drives; 0 compiles nothing into set lookups. */
const graph = (compileMinRun = 0) => readyGraph(compileMinRun);

function netset(name: string, nets: string[] | null, role = "partner"): ModelUpdate {
  return {
    type: "networkSet",
    name,
    value: nets === null
      ? null
      : { kind: "networkSet", metadata: { name, labels: { role } }, spec: { nets } },
  };
}

function remote(name: string, ip: string | null, role = "partner"): ModelUpdate {
  return ip === null
    ? hostEndpointDeleted(name, "h2")
    : hostEndpointUpdate(name, { node: "h2", labels: { role }, ips: [ip] });
}

/** The members of the only IP set. */
function members(h: HostState): { v4: readonly string[]; v6: readonly string[] } {
  assert.equal(h.ipSets.size, 1);
  const m = [...h.ipSets.values()][0]!;
  return { v4: [...m.v4], v6: [...m.v6] };
}

/** The member changes of the only IP set in a change report, sorted. */
function memberDelta(g: CalculationGraph): [string, boolean][] {
  const c = g.takeChanges();
  assert.ok(c.members.size <= 1);
  return [...([...c.members.values()][0] ?? new Map())].sort(([a], [b]) => a < b ? -1 : 1);
}

const PARTNERS = "role == 'partner'";

/** The local address web (h1) answers on, in the family of `peer`. */
const webAddr = (peer: string) => peer.includes(":") ? "2001:db8::1" : "198.18.0.1";

/** The verdict on a packet from `src` into web's eth0 (`dst` defaults to web's address). */
function verdictIn(
  state: NftState,
  src: string,
  protocol: number,
  dport: number,
  dst = webAddr(src),
): string {
  const family = src.includes(":") ? 6 : 4;
  return evaluate(state, {
    path: "input",
    iif: "eth0",
    family,
    src,
    dst,
    protocol,
    sport: 40000,
    dport,
  })
    .verdict;
}

/** The verdict on a TCP packet from web out of eth0 to `dst`. */
function verdictOut(state: NftState, dst: string, dport: number): string {
  const family = dst.includes(":") ? 6 : 4;
  const src = webAddr(dst);
  return evaluate(state, {
    path: "output",
    oif: "eth0",
    family,
    src,
    dst,
    protocol: 6,
    sport: 40000,
    dport,
  })
    .verdict;
}

Deno.test("a rule selector matches a network set by its labels; its nets become members", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS)),
    netset("partners", ["198.18.5.0/24", "198.18.6.7", "2001:db8:5::/48"]),
    netset("others", ["198.18.9.0/24"], "other"),
  ]);
  assert.deepEqual(members(g.hostState()), {
    v4: ["198.18.5.0/24", "198.18.6.7"],
    v6: ["2001:db8:5::/48"],
  });
});

Deno.test("a policy's own selector never selects a network set", () => {
  const g = graph();
  g.applyUpdates([
    netset("webby", ["198.18.5.0/24"], "web"),
    policyUpdate("p", { selector: "all()", ingress: [{ action: "allow" }] }),
  ]);
  assert.deepEqual(g.policyEndpoints("p"), []);
  assert.deepEqual(g.hostState().interfaces, []);
  g.applyUpdates([webHostEndpoint()]);
  assert.deepEqual(g.policyEndpoints("p"), ["web"]);
});

Deno.test("members are disjoint: covered addresses and prefixes leave and come back", async (t) => {
  const g = graph();
  g.applyUpdates([webHostEndpoint(), webPolicy("from-partners", 10, allowFromSelector(PARTNERS))]);
  g.takeChanges();
  await t.step("an endpoint address alone", () => {
    g.applyUpdates([remote("r1", "198.18.5.9")]);
    assert.deepEqual(memberDelta(g), [["198.18.5.9", true]]);
  });
  await t.step("a /24 over it swallows it", () => {
    g.applyUpdates([netset("a", ["198.18.5.0/24"])]);
    assert.deepEqual(memberDelta(g), [["198.18.5.0/24", true], ["198.18.5.9", false]]);
    assert.deepEqual(members(g.hostState()).v4, ["198.18.5.0/24"]);
  });
  await t.step("a /16 around both swallows the /24", () => {
    g.applyUpdates([netset("b", ["198.18.0.0/16"])]);
    assert.deepEqual(memberDelta(g), [["198.18.0.0/16", true], ["198.18.5.0/24", false]]);
  });
  await t.step("an address inside is counted but changes nothing", () => {
    g.applyUpdates([remote("r2", "198.18.7.7")]);
    assert.deepEqual(memberDelta(g), []);
    assert.deepEqual(members(g.hostState()).v4, ["198.18.0.0/16"]);
  });
  await t.step("the /16 going brings back what it covered", () => {
    g.applyUpdates([netset("b", null)]);
    assert.deepEqual(memberDelta(g), [
      ["198.18.0.0/16", false],
      ["198.18.5.0/24", true],
      ["198.18.7.7", true],
    ]);
  });
  await t.step("editing the /24 to two /25s (adjacent, not overlapping)", () => {
    g.applyUpdates([netset("a", ["198.18.5.0/25", "198.18.5.128/25"])]);
    // The new nets are counted before the old ones go, so 198.18.5.9 stays covered throughout.
    assert.deepEqual(memberDelta(g), [
      ["198.18.5.0/24", false],
      ["198.18.5.0/25", true],
      ["198.18.5.128/25", true],
    ]);
    assert.deepEqual(members(g.hostState()).v4, [
      "198.18.5.0/25",
      "198.18.5.128/25",
      "198.18.7.7",
    ]);
  });
  await t.step("the last prefix going leaves plain addresses", () => {
    g.applyUpdates([netset("a", null)]);
    assert.deepEqual(memberDelta(g), [
      ["198.18.5.0/25", false],
      ["198.18.5.128/25", false],
      ["198.18.5.9", true],
    ]);
    assert.deepEqual(members(g.hostState()).v4, ["198.18.5.9", "198.18.7.7"]);
  });
});

Deno.test("nets are normalised: host bits cleared, /32 and /128 shared with endpoints", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS)),
    netset("a", ["198.18.5.77/24", "198.18.6.7/32", "2001:db8:5::1/128", "2001:db8:6::9/64"]),
    remote("r1", "198.18.6.7"),
  ]);
  assert.deepEqual(members(g.hostState()), {
    v4: ["198.18.5.0/24", "198.18.6.7"],
    v6: ["2001:db8:5::1", "2001:db8:6::/64"],
  });
  g.takeChanges();
  // The endpoint still contributes 198.18.6.7 when the set goes.
  g.applyUpdates([netset("a", null)]);
  assert.deepEqual(memberDelta(g), [
    ["198.18.5.0/24", false],
    ["2001:db8:5::1", false],
    ["2001:db8:6::/64", false],
  ]);
});

/** Element lines only: no chain, set or dispatch line. */
function elementLinesOnly(script: string): void {
  for (const line of script.trim().split("\n")) {
    assert.match(line, /^(add|delete) element inet hostfence s[46]-/, script);
  }
}

Deno.test("editing a network set is element lines only; the set is an interval set", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS)),
    netset("a", ["198.18.5.0/24", "2001:db8:5::/48"]),
    remote("r1", "198.18.6.1"),
  ]);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  const text = render(table.state);
  assert.match(
    text,
    /type ipv4_addr\n\t\tflags interval\n\t\telements = \{ 198\.18\.5\.0\/24, 198\.18\.6\.1 \}/,
  );
  assert.match(text, /type ipv6_addr\n\t\tflags interval\n\t\telements = \{ 2001:db8:5::\/48 \}/);
  const step = (u: ModelUpdate) => {
    g.applyUpdates([u]);
    return planChanges(table.update(g.view(), g.takeChanges()), table.state);
  };
  const set4 = [...table.state.sets.values()].find((s) => s.type === "ipv4_addr")!.name;
  const set6 = [...table.state.sets.values()].find((s) => s.type === "ipv6_addr")!.name;
  const edit = step(netset("a", ["198.18.6.0/24", "2001:db8:5::/48", "2001:db8:7::/48"]));
  elementLinesOnly(edit);
  assert.equal(
    edit,
    `delete element inet hostfence ${set4} { 198.18.6.1, 198.18.5.0/24 }\n` +
      `add element inet hostfence ${set4} { 198.18.6.0/24 }\n` +
      `add element inet hostfence ${set6} { 2001:db8:7::/48 }\n`,
  );
  assert.equal(render(table.state), render(DesiredTable.build(g.hostState()).state));
});

Deno.test("a set's first prefix arriving, or its last leaving, reprograms the table once", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS)),
    remote("r1", "198.18.6.1"),
  ]);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  assert.doesNotMatch(render(table.state), /flags interval/);
  const step = (u: ModelUpdate) => {
    g.applyUpdates([u]);
    return planChanges(table.update(g.view(), g.takeChanges()), table.state);
  };
  const flip = step(netset("a", ["198.18.5.0/24"]));
  assert.match(flip, /^add table inet hostfence\ndelete table inet hostfence\n/);
  assert.match(flip, /flags interval/);
  elementLinesOnly(step(netset("a", ["198.18.5.0/24", "198.18.8.0/24"])));
  const back = step(netset("a", null));
  assert.match(back, /^add table inet hostfence\n/);
  assert.doesNotMatch(back, /flags interval/);
});

Deno.test("the interpreter looks packets up in interval sets by prefix", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS, 80)),
    netset("a", ["198.18.5.0/24", "2001:db8:5::/48"]),
  ]);
  const state: NftState = DesiredTable.build(g.hostState()).state;
  const verdict = (src: string, dst: string) => verdictIn(state, src, 6, 80, dst);
  assert.equal(verdict("198.18.5.0", "198.18.0.1"), "accept");
  assert.equal(verdict("198.18.5.255", "198.18.0.1"), "accept");
  assert.equal(verdict("198.18.6.0", "198.18.0.1"), "drop");
  assert.equal(verdict("198.18.4.255", "198.18.0.1"), "drop");
  assert.equal(verdict("2001:db8:5:ffff::1", "2001:db8::1"), "accept");
  assert.equal(verdict("2001:db8:6::1", "2001:db8::1"), "drop");
});

for (const compileMinRun of [0, 2]) {
  Deno.test(`with network sets, incremental updates equal a fresh calculation and a fresh table (NftablesCompileMinRun ${compileMinRun})`, () => {
    let prefixed = 0;
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const g = graph(compileMinRun);
      const gen = new RandomUpdates(seed * 104729 + compileMinRun, { networkSets: true });
      const current = new Map<string, ModelUpdate>();
      g.takeChanges();
      const table = DesiredTable.build(g.hostState());
      for (let step = 0; step < 150; step++) {
        const batch = gen.batch(step % 10 === 0 ? 12 : 3);
        for (const u of batch) {
          const key = u.type === "hostEndpoint"
            ? `h/${u.node}/${u.name}`
            : `${u.type}/${"name" in u ? u.name : ""}`;
          current.set(key, u);
        }
        g.applyUpdates(batch);
        planChanges(table.update(g.view(), g.takeChanges()), table.state);
        const want = render(DesiredTable.build(g.hostState()).state);
        assert.equal(render(table.state), want, `seed ${seed} step ${step}`);
        if (step % 15 === 14) {
          const fresh = graph(compileMinRun);
          fresh.applyUpdates([...current.values()]);
          assert.equal(
            render(DesiredTable.build(fresh.hostState()).state),
            want,
            `seed ${seed} step ${step}: fresh calculation`,
          );
        }
        if (/flags interval/.test(want)) prefixed++;
      }
    }
    assert.ok(prefixed > 50, `interval sets were exercised (${prefixed} steps)`);
  });
}

Deno.test("splitting a covering prefix is three element changes, however many addresses it covers", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS)),
    ...Array.from({ length: 300 }, (_, i) => remote(`r${i}`, `198.19.${i % 200}.${1 + (i % 7)}`)),
    netset("a", ["198.19.0.0/16"]),
  ]);
  assert.deepEqual(members(g.hostState()).v4, ["198.19.0.0/16"]);
  g.takeChanges();
  g.applyUpdates([netset("a", ["198.19.0.0/17", "198.19.128.0/17"])]);
  assert.deepEqual(memberDelta(g), [
    ["198.19.0.0/16", false],
    ["198.19.0.0/17", true],
    ["198.19.128.0/17", true],
  ]);
});

Deno.test("a notSelector over a network set denies everything outside its nets", () => {
  const g = graph();
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("only-partners", 10, { action: "deny", source: { notSelector: PARTNERS } }),
    webPolicy("then-allow", 20, { action: "allow" }),
    netset("a", ["198.18.5.0/24", "2001:db8:5::/48"]),
  ]);
  const state = DesiredTable.build(g.hostState()).state;
  const verdict = (src: string) => verdictIn(state, src, 17, 53);
  assert.equal(verdict("198.18.5.77"), "accept");
  assert.equal(verdict("198.18.6.77"), "drop");
  assert.equal(verdict("2001:db8:5::77"), "accept");
  assert.equal(verdict("2001:db8:6::77"), "drop");
});

Deno.test("the interpreter's prefix lookup agrees with plain containment on a large set", () => {
  const g = graph();
  const nets = Array.from({ length: 300 }, (_, i) => `198.18.${i % 200}.${(i % 16) * 16}/28`);
  g.applyUpdates([
    webHostEndpoint(),
    webPolicy("from-partners", 10, allowFromSelector(PARTNERS, 80)),
    netset("a", [...nets, "198.19.0.0/20"]),
    ...Array.from({ length: 50 }, (_, i) => remote(`r${i}`, `198.19.${i}.${i + 1}`)),
  ]);
  const state = DesiredTable.build(g.hostState());
  const elements = members(g.hostState()).v4.map((t) =>
    parseCidr(t.includes("/") ? t : `${t}/32`)!
  );
  const r = prng(99);
  let inside = 0;
  for (let n = 0; n < 2000; n++) {
    const src = `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 64)}.${Math.floor(r() * 256)}`;
    const want = elements.some((c) => cidrContains(c, parseIp(src)!));
    if (want) inside++;
    const got = verdictIn(state.state, src, 6, 80);
    assert.equal(got, want ? "accept" : "drop", src);
  }
  assert.ok(inside > 100 && inside < 1900, `${inside} of 2000 inside`);
});

// ---- beside named ports -------------------------------------------------------------------

/** A partner endpoint on h2 declaring named ports. */
function partner(
  name: string,
  ips: string[],
  ports: EndpointPort[],
  role = "partner",
): ModelUpdate {
  return hostEndpointUpdate(name, {
    node: "h2",
    labels: { role },
    ips,
    ...(ports.length ? { spec: { ports } } : {}),
  });
}

/** A policy on web with the given rules. */
function webRules(name: string, order: number, ingress: Rule[], egress: Rule[]): ModelUpdate {
  return policyUpdate(name, {
    order,
    selector: "role == 'web'",
    ingress,
    egress,
    types: ["ingress", "egress"],
  });
}

const TO_PARTNER_HTTP: Rule = {
  action: "allow",
  protocol: "tcp",
  destination: { selector: PARTNERS, ports: ["http"] },
};
const PARTNER_HTTP = namedPortSetId(parseSelector(PARTNERS), "tcp", "http");
const PARTNER_ADDRS = parseSelector(PARTNERS).uniqueId;

Deno.test("named ports come from endpoints only: a network set never joins a named-port set", async (t) => {
  const P1 = partner("p1", ["198.18.5.9", "2001:db8:5::9"], [
    { name: "http", protocol: "tcp", port: 8443 },
  ]);
  const NETS = netset("partners", ["198.18.5.0/24", "2001:db8:5::/48"]);
  // The same selector as a plain set (ingress, sources) and a named-port set (egress).
  const BOTH = webRules("both", 10, [allowFromSelector(PARTNERS, 443)], [TO_PARTNER_HTTP]);
  const NAMED_ONLY = webRules("named", 10, [], [TO_PARTNER_HTTP]);
  const PLAIN_ONLY = webRules("plain", 20, [allowFromSelector(PARTNERS, 443)], []);
  const orders: [string, ModelUpdate[]][] = [
    ["policy first", [webHostEndpoint(), BOTH, P1, NETS]],
    ["policy last", [webHostEndpoint(), NETS, P1, BOTH]],
    // The plain set joins a selector the named-port set already watches, so the network
    // set's prefix is counted into it from the index's known matches.
    ["named-port set before the plain set", [webHostEndpoint(), P1, NETS, NAMED_ONLY, PLAIN_ONLY]],
  ];
  for (const [what, updates] of orders) {
    await t.step(what, () => {
      const g = graph();
      g.applyUpdates(updates);
      const h = g.hostState();
      const sets = new Map([...h.ipSets].map(([id, m]) => [id, { v4: [...m.v4], v6: [...m.v6] }]));
      assert.deepEqual(sets.get(PARTNER_HTTP), {
        v4: ["198.18.5.9 . tcp . 8443"],
        v6: ["2001:db8:5::9 . tcp . 8443"],
      });
      // The endpoint's addresses lie inside the nets: the plain set is the nets alone.
      assert.deepEqual(sets.get(PARTNER_ADDRS), { v4: ["198.18.5.0/24"], v6: ["2001:db8:5::/48"] });
      const state = DesiredTable.build(h).state;
      const text = render(state);
      assert.match(text, /type ipv4_addr \. inet_proto \. inet_service\n\t\telements = \{/);
      assert.match(text, /type ipv4_addr\n\t\tflags interval\n/);
      const out = (dst: string, dport: number) => verdictOut(state, dst, dport);
      const inp = (src: string) => verdictIn(state, src, 6, 443);
      assert.equal(out("198.18.5.9", 8443), "accept");
      assert.equal(out("2001:db8:5::9", 8443), "accept");
      // Inside the network set but no endpoint declares the port there.
      assert.equal(out("198.18.5.10", 8443), "drop");
      assert.equal(out("2001:db8:5::a", 8443), "drop");
      assert.equal(out("198.18.5.9", 8444), "drop");
      // The plain set on the same selector does hold the nets.
      assert.equal(inp("198.18.5.10"), "accept");
      assert.equal(inp("2001:db8:5::a"), "accept");
      assert.equal(inp("198.18.6.1"), "drop");
    });
  }

  await t.step("editing the network set leaves the named-port set untouched", () => {
    const g = graph();
    g.applyUpdates([webHostEndpoint(), BOTH, P1, NETS]);
    g.takeChanges();
    const table = DesiredTable.build(g.hostState());
    // Both families keep a prefix, so both sets stay interval sets (element lines only).
    g.applyUpdates([netset("partners", ["198.18.6.0/24", "2001:db8:6::/48"])]);
    const c = g.takeChanges();
    assert.equal(c.members.has(PARTNER_HTTP), false);
    assert.deepEqual([...c.members.get(PARTNER_ADDRS)!].sort(([a], [b]) => a < b ? -1 : 1), [
      ["198.18.5.0/24", false],
      ["198.18.5.9", true],
      ["198.18.6.0/24", true],
      ["2001:db8:5::/48", false],
      ["2001:db8:5::9", true],
      ["2001:db8:6::/48", true],
    ]);
    const plan = planChanges(table.update(g.view(), c), table.state);
    elementLinesOnly(plan);
    assert.doesNotMatch(plan, / \. tcp \. /);
    assert.equal(render(table.state), render(DesiredTable.build(g.hostState()).state));
  });
});

Deno.test("random network sets, endpoints with named ports and rules over both: incremental equals fresh, named-port sets hold endpoints only", () => {
  const sels = ["role == 'a'", "role == 'b'", "has(role)"];
  const roles = ["a", "b"];
  const pools = ["198.18.7.0/24", "198.18.7.0/26", "198.18.7.64/26", "2001:db8:7::/64"];
  let namedChecked = 0, withNets = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const heps = new Map<string, { role: string; ips: string[]; ports: EndpointPort[] }>();
    incrementalWalk({
      seed: seed * 7919,
      label: `seed ${seed}`,
      steps: 120,
      checkEvery: 6,
      graph: () => graph(seed % 3),
      initial: [["h/h1/web", webHostEndpoint()]],
      next: ({ r, pick }) => {
        const kind = r(4);
        if (kind === 0) {
          const name = `n${r(3)}`;
          return [
            `n/${name}`,
            r(5) === 0
              ? netset(name, null)
              : netset(name, Array.from({ length: r(3) + 1 }, () => pick(pools)), pick(roles)),
          ];
        }
        if (kind === 1) {
          const name = `e${r(4)}`;
          const ips = [`198.18.7.${pick([1, 65, 200])}`, ...(r(2) ? ["2001:db8:7::5"] : [])];
          const ports: EndpointPort[] = r(3) === 0 ? [] : [{
            name: "http",
            protocol: "tcp",
            port: pick([80, 8080]),
          }];
          const role = pick(roles);
          if (r(6) === 0) {
            heps.delete(name);
            return [`h/${name}`, hostEndpointDeleted(name, "h2")];
          }
          heps.set(name, { role, ips, ports });
          return [`h/${name}`, partner(name, ips, ports, role)];
        }
        const named = (): Rule => ({
          action: "allow",
          protocol: "tcp",
          destination: { selector: pick(sels), ports: ["http"] },
        });
        const name = `q${r(3)}`;
        return [
          `p/${name}`,
          webRules(
            name,
            r(3),
            r(2) ? [allowFromSelector(pick(sels), 443)] : [],
            r(2) ? [named(), ...(r(2) ? [named()] : [])] : [],
          ),
        ];
      },
      check: (want, table) => {
        if (/flags interval/.test(render(table.state))) withNets++;
        for (const sel of sels) {
          const m = want.ipSets.get(namedPortSetId(parseSelector(sel), "tcp", "http"));
          if (m === undefined) continue;
          const role = sel.match(/'(.)'/)?.[1];
          const expected = new Set<string>();
          for (const h of heps.values()) {
            if (role !== undefined && h.role !== role) continue;
            for (const p of h.ports) {
              for (const ip of h.ips) expected.add(`${ip} . tcp . ${p.port}`);
            }
          }
          assert.deepEqual([...m.v4, ...m.v6].sort(), [...expected].sort(), `seed ${seed} ${sel}`);
          namedChecked++;
        }
      },
    });
  }
  assert.ok(namedChecked > 50 && withNets > 20, `named ${namedChecked}, with nets ${withNets}`);
});
