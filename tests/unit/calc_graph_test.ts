/**
 * Calculation graph scenarios. Setup S0 (below) unless a test says otherwise:
 * host h1 with lo, eth0 (10.0.0.1, fd00::1), eth1 (192.168.1.1), workload cali123; HEP0 =
 * hep0 {node h1, interfaceName eth0, labels {host-endpoint: "true", role: web}}; policies
 * select `has(host-endpoint)`. Each test lists the expected HostState pieces.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CalculationGraph, type InterfaceInfo } from "../../src/calc/graph.ts";
import type { HostState, PolicedInterface } from "../../src/calc/host_state.ts";
import { DENY_ALL } from "../../src/calc/resolve_rules.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import type { Labels, PolicyResource, Rule } from "../../src/model/resources.ts";
import { parseSelector } from "../../src/selector/mod.ts";
import { tagSelector } from "../../src/selector/labels.ts";
import { DEFAULT_DATAPLANE_CONFIG as CONFIG } from "../../src/config/defaults.ts";
import {
  hostEndpointDeleted,
  hostEndpointUpdate,
  policyUpdate,
  workloadEndpointResource,
  workloadEndpointUpdate,
} from "../fixtures/resources.ts";

const S0_IFACES: InterfaceInfo[] = [
  { name: "lo", up: true, addrs: ["127.0.0.1", "::1"] },
  { name: "eth0", up: true, addrs: ["10.0.0.1", "fd00::1"] },
  { name: "eth1", up: true, addrs: ["192.168.1.1"] },
  { name: "cali123", up: true, addrs: ["10.65.0.2"] },
];

const hep = hostEndpointUpdate;
const delHep = hostEndpointDeleted;

/** A workload endpoint update with these networks, labels and profiles. */
const wep = (id: string, nets: string[], labels: Labels = {}, profiles?: string[]): ModelUpdate =>
  workloadEndpointUpdate(
    workloadEndpointResource(id, { ipNetworks: nets, ...(profiles ? { profiles } : {}) }, labels),
  );

/** A policy update; the policies here select the host endpoints unless they say otherwise. */
const pol = (name: string, spec: Partial<PolicyResource["spec"]>): ModelUpdate =>
  policyUpdate(name, { selector: "has(host-endpoint)", ...spec });

const delPol = (name: string): ModelUpdate => ({ type: "policy", name, value: null });

const profRules = (name: string, ingress: Rule[], egress: Rule[]): ModelUpdate => ({
  type: "profileRules",
  name,
  value: { ingress, egress },
});

const HEP0 = hep("hep0", { iface: "eth0", labels: { "host-endpoint": "true", role: "web" } });
const ALLOW: Rule = { action: "allow" };
const ALLOW_ALL = profRules("allow-all", [ALLOW], [ALLOW]);
const TCP80: Rule = { action: "allow", protocol: "tcp", destination: { ports: [80] } };

function s0(updates: ModelUpdate[] = [], log = createLogger([])): CalculationGraph {
  const g = new CalculationGraph({ hostname: "h1", dataplaneConfig: CONFIG, log });
  g.setInterfaces(S0_IFACES);
  g.applyUpdates(updates);
  return g;
}

/** The parts of a policed interface a scenario cares about. */
function lists(s: HostState, iface = "eth0") {
  const p = s.interfaces.find((i) => i.iface === iface);
  if (!p) return undefined;
  return {
    hep: p.hostEndpoint,
    untracked: p.untracked,
    preDnat: p.preDnat,
    normal: p.normal,
    profiles: p.profiles,
  };
}

const EMPTY_LISTS = {
  untracked: { ingress: [], egress: [] },
  preDnat: { ingress: [] },
  normal: { ingress: [], egress: [] },
  profiles: [],
};

/** A JSON-able image of the whole state, to compare two graphs. */
function image(s: HostState): string {
  return JSON.stringify({
    interfaces: s.interfaces,
    policies: [...s.policies],
    profiles: [...s.profiles],
    ipSets: [...s.ipSets],
  });
}

Deno.test("Policy ordering (O14-O16)", async (t) => {
  await t.step(
    "O14: p-deny order 10 before p-allow order 20 -> normal ingress [p-deny, p-allow]",
    () => {
      const g = s0([
        HEP0,
        pol("p-allow", { order: 20, types: ["ingress"], ingress: [ALLOW] }),
        pol("p-deny", {
          order: 10,
          types: ["ingress"],
          ingress: [{ action: "deny", protocol: "tcp", destination: { ports: [80] } }],
        }),
      ]);
      const s = g.hostState();
      assertEquals(lists(s)?.normal, { ingress: ["p-deny", "p-allow"], egress: [] });
      assertEquals([...s.policies.keys()], ["p-allow", "p-deny"]);
      assertEquals(s.policies.get("p-deny")?.ingress[0]?.action, "deny");
      assertEquals(s.policies.get("p-deny")?.ingress[0]?.destination.ports, [80]);
    },
  );
  await t.step("O15: equal order ties by name; renaming a-allow to c-allow reorders", () => {
    const g = s0([
      HEP0,
      pol("b-deny", { order: 10, types: ["ingress"], ingress: [{ ...TCP80, action: "deny" }] }),
      pol("a-allow", { order: 10, types: ["ingress"], ingress: [TCP80] }),
    ]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["a-allow", "b-deny"]);
    g.applyUpdates([
      delPol("a-allow"),
      pol("c-allow", { order: 10, types: ["ingress"], ingress: [TCP80] }),
    ]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["b-deny", "c-allow"]);
    assertEquals([...g.hostState().policies.keys()], ["b-deny", "c-allow"]);
  });
  await t.step("O16: z order 1 before a without order -> [z, a]", () => {
    const g = s0([
      HEP0,
      pol("a", { types: ["ingress"], ingress: [{ action: "deny" }] }),
      pol("z", { order: 1, types: ["ingress"], ingress: [TCP80] }),
    ]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["z", "a"]);
  });
  await t.step("changing only an order re-sorts the lists", () => {
    const g = s0([
      HEP0,
      pol("a", { order: 1, types: ["ingress"] }),
      pol("b", { order: 2, types: ["ingress"] }),
    ]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["a", "b"]);
    g.applyUpdates([pol("a", { order: 3, types: ["ingress"] })]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["b", "a"]);
  });
});

Deno.test("Profiles and types (O17-O22)", async (t) => {
  await t.step("O17: policy present, profile allow-all listed after it", () => {
    const g = s0([
      hep("hep0", {
        iface: "eth0",
        labels: { "host-endpoint": "true" },
        profiles: ["allow-all"],
      }),
      ALLOW_ALL,
      pol("P", {
        types: ["ingress"],
        ingress: [{ action: "allow", protocol: "tcp", source: { nets: ["10.0.0.0/24"] } }],
      }),
    ]);
    const s = g.hostState();
    assertEquals(lists(s), {
      hep: "hep0",
      ...EMPTY_LISTS,
      normal: { ingress: ["P"], egress: [] },
      profiles: ["allow-all"],
    });
    assertEquals(s.profiles.get("allow-all")?.ingress.map((r) => r.action), ["allow"]);
    assertEquals(s.profiles.get("allow-all")?.egress.map((r) => r.action), ["allow"]);
  });
  await t.step("O18: a final pass rule stays in P's rules", () => {
    const g = s0([
      hep("hep0", { iface: "eth0", labels: { "host-endpoint": "" }, profiles: ["allow-all"] }),
      ALLOW_ALL,
      pol("P", {
        types: ["ingress"],
        ingress: [{ action: "allow", source: { nets: ["10.0.0.0/24"] } }, { action: "pass" }],
      }),
    ]);
    assertEquals(g.hostState().policies.get("P")?.ingress.map((r) => r.action), ["allow", "pass"]);
  });
  await t.step("O19: no profiles -> empty profile list and no profile rule sets", () => {
    const g = s0([HEP0, pol("P", { types: ["ingress"], ingress: [{ action: "pass" }] })]);
    const s = g.hostState();
    assertEquals(lists(s)?.profiles, []);
    assertEquals(s.profiles.size, 0);
  });
  await t.step("O20: ingress-only policy -> egress list empty", () => {
    const g = s0([HEP0, pol("P", { types: ["ingress"], ingress: [ALLOW] })]);
    assertEquals(lists(g.hostState())?.normal, { ingress: ["P"], egress: [] });
  });
  await t.step(
    "O21: types [ingress, egress] with only ingress rules -> P in egress, no rules",
    () => {
      const g = s0([
        hep("hep0", { iface: "eth0", labels: { "host-endpoint": "" }, profiles: ["allow-all"] }),
        ALLOW_ALL,
        pol("P", { types: ["ingress", "egress"], ingress: [ALLOW] }),
      ]);
      const s = g.hostState();
      assertEquals(lists(s)?.normal, { ingress: ["P"], egress: ["P"] });
      assertEquals(s.policies.get("P")?.egress, []);
    },
  );
  await t.step(
    "O22: egress rules disabled by types [ingress] -> not in egress, rules dropped",
    () => {
      const g = s0([
        hep("hep0", { iface: "eth0", labels: { "host-endpoint": "" }, profiles: ["allow-all"] }),
        ALLOW_ALL,
        pol("P", {
          types: ["ingress"],
          ingress: [{ action: "allow", source: { nets: ["10.0.0.2/32"] } }],
          egress: [{ action: "deny", destination: { selector: "role == 'x'" } }],
        }),
      ]);
      const s = g.hostState();
      assertEquals(lists(s)?.normal, { ingress: ["P"], egress: [] });
      assertEquals(s.policies.get("P")?.egress, []);
      assertEquals(s.ipSets.size, 0, "selectors of disabled rules make no set");
    },
  );
  await t.step("absent or empty types govern both directions", () => {
    const g = s0([HEP0, pol("P", { ingress: [ALLOW] }), pol("Q", { types: [], egress: [ALLOW] })]);
    assertEquals(lists(g.hostState())?.normal, { ingress: ["P", "Q"], egress: ["P", "Q"] });
  });
  await t.step("untracked and pre-DNAT classes; pre-DNAT never egress", () => {
    const g = s0([
      HEP0,
      pol("u", { doNotTrack: true, order: 1, types: ["ingress", "egress"] }),
      pol("pre", { preDNAT: true, types: ["ingress", "egress"], egress: [ALLOW] }),
      pol("n", { types: ["egress"] }),
    ]);
    const s = g.hostState();
    assertEquals(lists(s), {
      hep: "hep0",
      untracked: { ingress: ["u"], egress: ["u"] },
      preDnat: { ingress: ["pre"] },
      normal: { ingress: [], egress: ["n"] },
      profiles: [],
    });
    assertEquals(s.policies.get("pre")?.egress, []);
  });
});

Deno.test("Selectors and inherited labels (O23, O24)", async (t) => {
  await t.step("O23: non-matching selector -> interface policed with empty lists", () => {
    const g = s0([
      HEP0,
      pol("db", { selector: "role == 'db'", types: ["ingress"], ingress: [ALLOW] }),
    ]);
    const s = g.hostState();
    assertEquals(lists(s), { hep: "hep0", ...EMPTY_LISTS });
    assertEquals(s.policies.size, 0);
    assertEquals(g.policyEndpoints("db"), []);
  });
  await t.step("O24: label inherited from profile pdb makes role=='db' apply", () => {
    const g = s0([
      hep("hep0", { iface: "eth0", labels: {}, profiles: ["pdb"] }),
      profRules("pdb", [], []),
      { type: "profileLabels", name: "pdb", value: { role: "db" } },
      pol("db", { selector: "role == 'db'", types: ["ingress"], ingress: [TCP80] }),
    ]);
    const s = g.hostState();
    assertEquals(lists(s)?.normal.ingress, ["db"]);
    assertEquals(lists(s)?.profiles, ["pdb"]);
    assertEquals(s.profiles.get("pdb"), { ingress: [], egress: [] });
    // Own labels beat profile labels.
    g.applyUpdates([hep("hep0", { iface: "eth0", labels: { role: "web" }, profiles: ["pdb"] })]);
    assertEquals(lists(g.hostState())?.normal.ingress, []);
  });
  await t.step("profile label and tag changes re-evaluate their endpoints", () => {
    const g = s0([
      hep("hep0", { iface: "eth0", profiles: ["p"] }),
      profRules("p", [], []),
      pol("db", { selector: "has(db)", types: ["ingress"] }),
    ]);
    assertEquals(lists(g.hostState())?.normal.ingress, []);
    g.applyUpdates([{ type: "profileTags", name: "p", value: ["db"] }]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["db"]);
    g.applyUpdates([{ type: "profileTags", name: "p", value: null }]);
    assertEquals(lists(g.hostState())?.normal.ingress, []);
    g.applyUpdates([{ type: "profileLabels", name: "p", value: { db: "yes" } }]);
    assertEquals(lists(g.hostState())?.normal.ingress, ["db"]);
  });
  await t.step(
    "a policy whose selector does not parse is missing, with a warning naming it",
    () => {
      const sink = memorySink("WARNING");
      const g = s0(
        [HEP0, pol("good", { types: ["ingress"] }), pol("bad", { selector: "role ==" })],
        createLogger([sink]),
      );
      assertEquals(lists(g.hostState())?.normal.ingress, ["good"]);
      assert(
        sink.lines.some((l) => l.includes("[WARNING]") && l.includes('"bad"')),
        sink.lines[0] ?? "",
      );
      // A good policy turning bad disappears.
      g.applyUpdates([pol("good", { selector: "has(" })]);
      assertEquals(lists(g.hostState())?.normal.ingress, []);
    },
  );
});

Deno.test("Unknown profile gets a deny-all stand-in, warned once", () => {
  const sink = memorySink("WARNING");
  const g = s0([
    hep("hep0", { iface: "eth0", profiles: ["ghost", "known"] }),
    profRules("known", [ALLOW], []),
  ], createLogger([sink]));
  const s = g.hostState();
  assertEquals(lists(s)?.profiles, ["ghost", "known"]);
  assertEquals(s.profiles.get("ghost"), DENY_ALL);
  assertEquals(s.profiles.get("known")?.ingress.map((r) => r.action), ["allow"]);
  g.applyUpdates([pol("x", {}), HEP0, hep("hep0", { iface: "eth0", profiles: ["ghost"] })]);
  const warnings = sink.lines.filter((l) =>
    l.includes("Profile not known or invalid, generating dummy profile that drops all traffic.")
  );
  assertEquals(warnings.length, 1);
  assert(warnings[0]!.includes("ghost"));
  g.applyUpdates([profRules("ghost", [], [ALLOW])]);
  assertEquals(g.hostState().profiles.get("ghost")?.egress.map((r) => r.action), ["allow"]);
  g.applyUpdates([{ type: "profileRules", name: "ghost", value: null }]);
  assertEquals(g.hostState().profiles.get("ghost"), DENY_ALL);
});

Deno.test("Host endpoint to interface resolution (5.1)", async (t) => {
  await t.step("by name: hep0 -> eth0 only", () => {
    const g = s0([HEP0]);
    assertEquals(g.hostState().interfaces.map((i) => [i.iface, i.hostEndpoint]), [[
      "eth0",
      "hep0",
    ]]);
    assertEquals([...g.endpointStatuses()], [["hep0", "up"]]);
  });
  await t.step("by IP, IPv6 written differently -> eth0", () => {
    const g = s0([hep("h", { ips: ["FD00:0::0:1"] })]);
    assertEquals(g.hostState().interfaces.map((i) => i.iface), ["eth0"]);
  });
  await t.step("by IP on two interfaces -> both, sorted by interface name", () => {
    const g = s0([hep("h", { ips: ["192.168.1.1", "10.0.0.1"] })]);
    assertEquals(g.hostState().interfaces.map((i) => i.iface), ["eth0", "eth1"]);
  });
  await t.step("tie-break: lowest name wins, by name or by IP; loser is error", () => {
    const g = s0([hep("b-name", { iface: "eth0" }), hep("a-ip", { ips: ["10.0.0.1"] })]);
    assertEquals(g.hostState().interfaces.map((i) => [i.iface, i.hostEndpoint]), [[
      "eth0",
      "a-ip",
    ]]);
    assertEquals([...g.endpointStatuses()], [["a-ip", "up"], ["b-name", "error"]]);
    g.applyUpdates([delHep("a-ip")]);
    assertEquals(g.hostState().interfaces.map((i) => i.hostEndpoint), ["b-name"]);
  });
  await t.step("workload-prefix interfaces are never policed", () => {
    const g = s0([hep("w", { iface: "cali123" }), hep("wip", { ips: ["10.65.0.2"] })]);
    assertEquals(g.hostState().interfaces, []);
    assertEquals([...g.endpointStatuses()], [["w", "error"], ["wip", "error"]]);
  });
  await t.step("other hosts' HEPs are not policed here", () => {
    const g = s0([hep("remote", { node: "h2", iface: "eth0" })]);
    assertEquals(g.hostState().interfaces, []);
    assertEquals(g.endpointStatuses().size, 0);
  });
  await t.step("interface and address changes re-resolve", () => {
    const g = s0([hep("h", { ips: ["10.0.0.1"] })]);
    const gen = g.generation;
    g.setInterfaces([
      { name: "eth0", up: true, addrs: [] },
      { name: "eth1", up: false, addrs: ["192.168.1.1", "10.0.0.1"] },
    ]);
    assertEquals(g.hostState().interfaces.map((i) => i.iface), ["eth1"]);
    assertEquals(g.endpointStatuses().get("h"), "down");
    assert(g.generation > gen);
    const statusGen = g.statusGeneration;
    g.setInterfaces([{ name: "eth1", up: true, addrs: ["10.0.0.1"] }]);
    assertEquals(g.endpointStatuses().get("h"), "up");
    assert(g.statusGeneration > statusGen);
    g.setInterfaces([]);
    assertEquals(g.hostState().interfaces, []);
    assertEquals(g.endpointStatuses().get("h"), "error");
  });
  await t.step("an InterfacePrefix change re-resolves", () => {
    const g = s0([HEP0]);
    g.setConfig({ ...CONFIG, interfacePrefixes: ["cali", "eth"] });
    assertEquals(g.hostState().interfaces, []);
    assertEquals(g.hostState().config.interfacePrefixes, ["cali", "eth"]);
  });
  await t.step("a named interface is policed before it exists and while it is gone", () => {
    const g = s0([hep("late", { iface: "eth9" }), hep("z-late", { iface: "eth9" })]);
    assertEquals(g.hostState().interfaces.map((i) => [i.iface, i.hostEndpoint]), [[
      "eth9",
      "late",
    ]]);
    assertEquals(g.endpointStatuses().get("late"), "error", "the link is missing");
    g.setInterfaces([...S0_IFACES, { name: "eth9", up: true, addrs: [] }]);
    assertEquals(g.endpointStatuses().get("late"), "up");
    g.setInterfaces(S0_IFACES); // deleted again: still policed, status says so
    assertEquals(g.hostState().interfaces.map((i) => i.iface), ["eth9"]);
    assertEquals(g.endpointStatuses().get("late"), "error");
  });
  await t.step("a HEP change of interfaceName moves it", () => {
    const g = s0([HEP0]);
    g.applyUpdates([hep("hep0", { iface: "eth1", labels: { "host-endpoint": "" } })]);
    assertEquals(g.hostState().interfaces.map((i) => i.iface), ["eth1"]);
    g.applyUpdates([delHep("hep0")]);
    assertEquals(g.hostState().interfaces, []);
    assertEquals(g.endpointStatuses().size, 0);
  });
});

Deno.test("IP sets (5.12)", async (t) => {
  const dbSel = parseSelector("role == 'db'").uniqueId;
  const usesDb = pol("use-db", {
    types: ["ingress"],
    ingress: [{ action: "allow", source: { selector: "role == 'db'" } }],
  });
  await t.step("members come from every host's HEP expectedIPs and WEP nets", () => {
    const g = s0([
      HEP0,
      usesDb,
      hep("db1", { node: "h2", ips: ["10.1.0.1", "FD00::0009"], labels: { role: "db" } }),
      hep("db-name-only", { node: "h3", iface: "eth0", labels: { role: "db" } }),
      wep("h3/k8s/w1/eth0", ["10.65.1.2/32", "2001:db8::2/128"], { role: "db" }),
      wep("h3/k8s/w2/eth0", ["10.65.1.3/32"], { role: "web" }),
    ]);
    const s = g.hostState();
    assertEquals(s.policies.get("use-db")?.ingress[0]?.source.ipSets, [dbSel]);
    assertEquals([...s.ipSets], [[dbSel, {
      v4: ["10.1.0.1", "10.65.1.2"],
      v6: ["2001:db8::2", "fd00::9"],
    }]]);
  });
  await t.step("tags and notSelector become sets too; tag sees profile tags", () => {
    const g = s0([
      HEP0,
      pol("t", {
        types: ["ingress"],
        ingress: [{ action: "allow", source: { tag: "db", notSelector: "has(quarantine)" } }],
      }),
      profRules("dbp", [], []),
      { type: "profileTags", name: "dbp", value: ["db"] },
      wep("h3/k8s/w1/eth0", ["10.65.1.2/32"], {}, ["dbp"]),
      wep("h3/k8s/w3/eth0", ["10.65.1.9/32"], { quarantine: "" }),
    ]);
    const s = g.hostState();
    const tagId = parseSelector(tagSelector("db")).uniqueId;
    const qId = parseSelector("has(quarantine)").uniqueId;
    assertEquals(s.policies.get("t")?.ingress[0]?.source.ipSets, [tagId]);
    assertEquals(s.policies.get("t")?.ingress[0]?.source.notIpSets, [qId]);
    assertEquals(s.ipSets.get(tagId), { v4: ["10.65.1.2"], v6: [] });
    assertEquals(s.ipSets.get(qId), { v4: ["10.65.1.9"], v6: [] });
    assertEquals([...s.ipSets.keys()], [tagId, qId].sort());
  });
  await t.step("an address contributed twice stays until its last contributor goes", () => {
    const g = s0([
      HEP0,
      usesDb,
      hep("db1", { node: "h2", ips: ["10.1.0.1"], labels: { role: "db" } }),
      wep("h2/k8s/w1/eth0", ["10.1.0.1/32"], { role: "db" }),
    ]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([delHep("db1", "h2")]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([wep("h2/k8s/w1/eth0", ["10.1.0.1/32"], { role: "web" })]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, []);
  });
  await t.step("address changes of a matching endpoint update the set", () => {
    const g = s0([
      HEP0,
      usesDb,
      hep("db1", { node: "h2", ips: ["10.1.0.1"], labels: { role: "db" } }),
    ]);
    g.applyUpdates([
      hep("db1", { node: "h2", ips: ["10.1.0.2", "10.1.0.1"], labels: { role: "db" } }),
    ]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1", "10.1.0.2"]);
    g.applyUpdates([hep("db1", { node: "h2", ips: ["10.1.0.3"], labels: { role: "db" } })]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.3"]);
  });
  await t.step("sets of inactive selectors are dropped and come back when active", () => {
    const g = s0([
      usesDb,
      hep("db1", { node: "h2", ips: ["10.1.0.1"], labels: { role: "db" } }),
      hep("hep0", { iface: "eth0" }),
    ]);
    assertEquals(g.hostState().ipSets.size, 0, "policy applies to no local HEP");
    g.applyUpdates([HEP0]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([hep("hep0", { iface: "eth0" })]);
    assertEquals(g.hostState().ipSets.size, 0, "the policy no longer selects the HEP");
    assertEquals(g.hostState().policies.size, 0);
    g.applyUpdates([HEP0]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([delPol("use-db")]);
    assertEquals(g.hostState().ipSets.size, 0);
  });
  await t.step("two policies sharing a selector keep the set until both are gone", () => {
    const g = s0([
      HEP0,
      usesDb,
      pol("also-db", {
        types: ["egress"],
        egress: [{ action: "allow", destination: { selector: "role=='db'" } }],
      }),
      hep("db1", { node: "h2", ips: ["10.1.0.1"], labels: { role: "db" } }),
    ]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([delPol("use-db")]);
    assertEquals(g.hostState().ipSets.get(dbSel)?.v4, ["10.1.0.1"]);
    g.applyUpdates([delPol("also-db")]);
    assertEquals(g.hostState().ipSets.has(dbSel), false);
  });
});

Deno.test("Incremental behaviour", async (t) => {
  /** 200 remote HEPs, 100 policies with selectors on distinct keys, each using a set. */
  function big() {
    const updates: ModelUpdate[] = [
      hep("local", { iface: "eth0", labels: { "host-endpoint": "", k0: "v" } }),
    ];
    for (let i = 0; i < 200; i++) {
      updates.push(hep(`r${i}`, {
        node: `h${2 + (i % 10)}`,
        ips: [`10.9.${i >> 8}.${i & 255}`],
        labels: { [`k${i % 100}`]: "v" },
      }));
    }
    for (let i = 0; i < 100; i++) {
      updates.push(pol(`p${i}`, {
        selector: `k${i} == 'v' || has(host-endpoint)`,
        order: i,
        types: ["ingress"],
        ingress: [{ action: "allow", source: { selector: `k${i} == 'v'` } }],
      }));
    }
    return s0(updates);
  }
  await t.step("a remote HEP label change touches only the sets reading that key", () => {
    const g = big();
    const s = g.hostState();
    assertEquals(s.ipSets.size, 100);
    assertEquals(s.ipSets.get(parseSelector("k7 == 'v'").uniqueId)?.v4, ["10.9.0.7", "10.9.0.107"]);
    const before = g.stats();
    const gen = g.generation;
    g.applyUpdates([hep("r7", { node: "h9", ips: ["10.9.0.7"], labels: { k8: "v" } })]);
    const after = g.stats();
    // k7 went away and k8 appeared: the sets for k7 and k8 only.
    assertEquals(after.ipSetIndex.evaluations - before.ipSetIndex.evaluations, 2);
    assertEquals(after.policyIndex.evaluations - before.policyIndex.evaluations, 0);
    assertEquals(after.endpointListRecomputes - before.endpointListRecomputes, 0);
    assertEquals(after.ipSetMemberUpdates - before.ipSetMemberUpdates, 2);
    assert(g.generation > gen);
    const s2 = g.hostState();
    assertEquals(s2.ipSets.get(parseSelector("k7 == 'v'").uniqueId)?.v4, ["10.9.0.107"]);
    assertEquals(s2.ipSets.get(parseSelector("k8 == 'v'").uniqueId)?.v4, [
      "10.9.0.7",
      "10.9.0.8",
      "10.9.0.108",
    ]);
    assert(s2.interfaces === s.interfaces, "the policed interfaces are untouched");
    const k9 = parseSelector("k9 == 'v'").uniqueId;
    assert(s2.ipSets.get(k9) === s.ipSets.get(k9), "untouched sets keep their members object");
  });
  await t.step("a local HEP label change touches only the policies reading that key", () => {
    const g = big();
    const before = g.stats();
    g.applyUpdates([hep("local", { iface: "eth0", labels: { "host-endpoint": "", k1: "v" } })]);
    const after = g.stats();
    // Only p0 and p1 ever read k0/k1; every policy still matches through has(host-endpoint).
    assertEquals(after.policyIndex.evaluations - before.policyIndex.evaluations, 2);
    assertEquals(after.endpointListRecomputes - before.endpointListRecomputes, 0);
    assertEquals(g.policyEndpoints("p1"), ["local"]);
  });
  await t.step(
    "a policy update evaluates its selector only against endpoints with its keys",
    () => {
      const g = big();
      const before = g.stats();
      g.applyUpdates([pol("new", { selector: "k3 == 'v'", types: ["ingress"] })]);
      const after = g.stats();
      // One evaluation against "no labels"; the local HEP lacks k3, so nothing else.
      assertEquals(after.policyIndex.evaluations - before.policyIndex.evaluations, 1);
      assertEquals(after.ipSetIndex.evaluations - before.ipSetIndex.evaluations, 0);
    },
  );
  await t.step("updates that change nothing keep the generation and the cached state", () => {
    const g = big();
    const s = g.hostState();
    const gen = g.generation;
    assertEquals(g.dirty, false);
    g.applyUpdates([
      { type: "ready", value: true },
      { type: "config", name: "LogSeverityScreen", value: "debug" },
      { type: "inSync" },
      hep("r150", { node: "h2", ips: ["10.9.0.150"], labels: { k50: "v" } }),
      hep("r9", { node: "h1x", ips: ["10.200.0.1"], labels: { unrelated: "x" } }),
      delHep("nonexistent", "h5"),
      delPol("nonexistent"),
    ]);
    assertEquals(g.generation, gen);
    assertEquals(g.dirty, false);
    assert(g.hostState() === s);
    g.applyUpdates([pol("p5", { selector: "k5 == 'v' || has(host-endpoint)", order: 5 })]);
    assertEquals(g.dirty, true);
    assert(g.hostState() !== s);
    assertEquals(g.dirty, false);
  });
});

Deno.test("Output is deterministic regardless of update order", () => {
  const updates: ModelUpdate[] = [
    hep("b", { ips: ["10.0.0.1"], labels: { "host-endpoint": "" }, profiles: ["p2", "p1"] }),
    hep("a", { iface: "eth1", labels: { "host-endpoint": "", role: "x" } }),
    hep("r", {
      node: "h2",
      ips: ["10.3.0.2", "10.3.0.1", "fd00::20", "fd00::3"],
      labels: { role: "db" },
    }),
    wep("h2/k8s/w/eth0", ["10.4.0.1/32"], { role: "db" }),
    profRules("p1", [ALLOW], []),
    profRules("p2", [{ action: "allow", source: { tag: "web" } }], []),
    pol("y", { order: 5, ingress: [{ action: "allow", source: { selector: "role == 'db'" } }] }),
    pol("x", { order: 5, egress: [{ action: "deny", destination: { selector: "has(role)" } }] }),
    pol("u", { doNotTrack: true, ingress: [ALLOW] }),
  ];
  const a = s0(updates);
  const b = s0([...updates].reverse());
  const c = s0();
  for (const u of updates) c.applyUpdates([u]);
  assertEquals(image(b.hostState()), image(a.hostState()));
  assertEquals(image(c.hostState()), image(a.hostState()));
  const s = a.hostState();
  assertEquals(s.interfaces.map((i: PolicedInterface) => i.iface), ["eth0", "eth1"]);
  assertEquals([...s.policies.keys()], ["u", "x", "y"]);
  assertEquals([...s.profiles.keys()], ["p1", "p2"]);
  assertEquals(s.ipSets.get(parseSelector("role == 'db'").uniqueId), {
    v4: ["10.3.0.1", "10.3.0.2", "10.4.0.1"],
    v6: ["fd00::3", "fd00::20"],
  });
  assertEquals([...s.ipSets.keys()], [...s.ipSets.keys()].sort());
});

/** A small deterministic PRNG so a failing sequence can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s % n;
  };
}

Deno.test("Incremental results equal a fresh build from the same data (random updates)", () => {
  const sels = ["has(a)", "a == '1'", "!has(b)", "a == '1' || b == '2'", "all()", "has(t)"];
  const ifaceVariants: InterfaceInfo[][] = [
    S0_IFACES,
    [{ name: "eth0", up: false, addrs: ["10.0.0.9"] }, { name: "eth1", up: true, addrs: [] }],
    [{ name: "eth1", up: true, addrs: ["10.0.0.1", "fd00::1"] }],
  ];
  for (let seed = 1; seed <= 12; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)]!;
    const labels = (): Labels => {
      const l: Record<string, string> = {};
      if (r(2)) l.a = pick(["1", "2"]);
      if (r(2)) l.b = pick(["1", "2"]);
      return l;
    };
    const current = new Map<string, ModelUpdate>();
    let ifaces = S0_IFACES;
    const g = s0();
    for (let step = 0; step < 150; step++) {
      let u: ModelUpdate;
      const kind = r(7);
      if (kind === 0 || kind === 1) {
        const name = `e${r(4)}`;
        const node = pick(["h1", "h2"]);
        u = r(5) === 0 ? delHep(name, node) : hep(name, {
          node,
          ...(r(2) ? { iface: pick(["eth0", "eth1", "cali9"]) } : {}),
          ips: r(2) ? [pick(["10.0.0.1", "10.0.0.9", "fd00::1", "10.7.0.1"])] : [],
          labels: labels(),
          profiles: r(2) ? [pick(["p0", "p1", "p2"])] : [],
        });
      } else if (kind === 2) {
        const id = `h3/k8s/w${r(3)}/eth0`;
        u = r(5) === 0
          ? { type: "workloadEndpoint", id, value: null }
          : wep(id, [pick(["10.65.0.1/32", "10.7.0.1/32", "2001:db8::1/128"])], labels());
      } else if (kind === 3) {
        const name = `q${r(4)}`;
        const rule = (): Rule => ({
          action: pick(["allow", "deny", "pass"] as const),
          source: r(2) ? { selector: pick(sels) } : { notTag: "t" },
        });
        u = r(6) === 0 ? delPol(name) : pol(name, {
          selector: pick(sels),
          ...(r(2) ? { order: r(3) } : {}),
          ...(r(2)
            ? { types: pick([["ingress"], ["egress"], ["ingress", "egress"]] as const) }
            : {}),
          ...(r(4) === 0 ? { doNotTrack: true } : r(4) === 0 ? { preDNAT: true } : {}),
          ingress: [rule()],
          egress: [rule()],
        });
      } else if (kind === 4) {
        const name = pick(["p0", "p1", "p2"]);
        u = r(4) === 0
          ? { type: "profileRules", name, value: null }
          : profRules(name, [{ action: "allow", destination: { selector: pick(sels) } }], []);
      } else if (kind === 5) {
        const name = pick(["p0", "p1", "p2"]);
        u = r(2)
          ? { type: "profileLabels", name, value: r(3) ? labels() : null }
          : { type: "profileTags", name, value: r(3) ? [pick(["t", "a"])] : null };
      } else {
        ifaces = pick(ifaceVariants);
        g.setInterfaces(ifaces);
        continue;
      }
      const key = u.type === "hostEndpoint"
        ? `${u.type}/${u.node}/${u.name}`
        : u.type === "workloadEndpoint"
        ? `${u.type}/${u.id}`
        : `${u.type}/${"name" in u ? u.name : ""}`;
      current.set(key, u);
      g.applyUpdates([u]);
      if (step % 10 === 9) {
        const fresh = new CalculationGraph({
          hostname: "h1",
          dataplaneConfig: CONFIG,
          log: createLogger([]),
        });
        fresh.setInterfaces(ifaces);
        fresh.applyUpdates([...current.values()]);
        assertEquals(image(g.hostState()), image(fresh.hostState()), `seed ${seed} step ${step}`);
        assertEquals([...g.endpointStatuses()], [...fresh.endpointStatuses()]);
      }
    }
  }
});
