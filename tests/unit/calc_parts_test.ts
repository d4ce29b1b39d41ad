import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { canonicalIp, compareIps, sortIps } from "../../src/calc/_addr.ts";
import { comparePolicies, placePolicies } from "../../src/calc/policy_order.ts";
import {
  DENY_ALL,
  resolveRule,
  resolveRules,
  type SelectorSource,
} from "../../src/calc/resolve_rules.ts";
import { resolveInterfaces } from "../../src/calc/resolve_interfaces.ts";
import { effectiveLabelMap } from "../../src/calc/effective_labels.ts";
import { parseSelector, type Selector } from "../../src/selector/mod.ts";
import { tagSelector } from "../../src/selector/labels.ts";

const src: SelectorSource = { selector: parseSelector, tag: (t) => parseSelector(tagSelector(t)) };

Deno.test("Addresses are canonicalised before comparison", async (t) => {
  await t.step("IPv6 forms compress to RFC 5952", () => {
    assertEquals(canonicalIp("FD00:0000:0:0::0001")?.text, "fd00::1");
    assertEquals(canonicalIp("2001:db8:0:0:1:0:0:1")?.text, "2001:db8::1:0:0:1");
    assertEquals(canonicalIp("2001:db8::1/128")?.text, "2001:db8::1");
    assertEquals(canonicalIp("fe80::1%eth0")?.text, "fe80::1");
    assertEquals(canonicalIp("::")?.text, "::");
  });
  await t.step("IPv4 with prefix keeps the address part", () => {
    assertEquals(canonicalIp("10.65.0.2/32"), { family: 4, text: "10.65.0.2" });
  });
  await t.step("garbage is undefined, not an exception", () => {
    assertEquals(canonicalIp("10.0.0"), undefined);
    assertEquals(canonicalIp("1::2::3"), undefined);
    assertEquals(canonicalIp("host.example"), undefined);
  });
  await t.step("sorting is numeric", () => {
    assertEquals(["10.0.0.10", "10.0.0.9", "9.0.0.1"].sort(compareIps), [
      "9.0.0.1",
      "10.0.0.9",
      "10.0.0.10",
    ]);
    assertEquals(["fd00::10", "fd00::9"].sort(compareIps), ["fd00::9", "fd00::10"]);
    assertEquals(sortIps(["10.0.0.10", "10.0.0.9", "9.0.0.1"]), [
      "9.0.0.1",
      "10.0.0.9",
      "10.0.0.10",
    ]);
  });
});

Deno.test("Policy order: ascending, unordered last, ties by name", () => {
  const ps = [
    { name: "a" },
    { name: "z", order: 1 },
    { name: "b-deny", order: 10 },
    { name: "a-allow", order: 10 },
    { name: "neg", order: -2.5 },
    { name: "0" },
  ];
  assertEquals(ps.sort(comparePolicies).map((p) => p.name), [
    "neg",
    "z",
    "a-allow",
    "b-deny",
    "0",
    "a",
  ]);
});

Deno.test("Policies split by class and direction, pre-DNAT ingress only", () => {
  const lists = placePolicies([
    { name: "n-both" },
    { name: "n-in", types: ["ingress"] },
    { name: "n-out", types: ["egress"] },
    { name: "n-empty", types: [] },
    { name: "u", doNotTrack: true, types: ["ingress", "egress"] },
    { name: "pre", preDNAT: true, types: ["ingress", "egress"] },
  ], ["p1", "p0"]);
  assertEquals(lists, {
    untracked: { ingress: ["u"], egress: ["u"] },
    preDnat: { ingress: ["pre"] },
    normal: { ingress: ["n-both", "n-empty", "n-in"], egress: ["n-both", "n-empty", "n-out"] },
    profiles: ["p1", "p0"],
  });
});

Deno.test("Rule resolution", async (t) => {
  const used = new Map<string, Selector>();
  await t.step("net merges in front of nets; selector and tag are both required sets", () => {
    const r = resolveRule(
      {
        action: "allow",
        source: {
          net: "10.0.0.0/8",
          nets: ["10.0.0.0/8", "192.168.0.0/16"],
          notNet: "10.1.0.0/16",
          selector: "role == 'db'",
          tag: "db",
          notSelector: "has(quarantine)",
          notTag: "bad",
          ports: [22, { min: 8000, max: 8080 }],
        },
      },
      src,
      used,
    );
    assertEquals(r.source, {
      nets: ["10.0.0.0/8", "192.168.0.0/16"],
      notNets: ["10.1.0.0/16"],
      ipSets: [parseSelector("role == 'db'").uniqueId, parseSelector(tagSelector("db")).uniqueId],
      notIpSets: [
        parseSelector("has(quarantine)").uniqueId,
        parseSelector(tagSelector("bad")).uniqueId,
      ],
      ports: [22, { min: 8000, max: 8080 }],
      notPorts: [],
    });
    assertEquals(r.destination, {
      nets: [],
      notNets: [],
      ipSets: [],
      notIpSets: [],
      ports: [],
      notPorts: [],
    });
    assertEquals(used.size, 4);
  });
  await t.step("tag T and selector has(T) are the same set", () => {
    assertEquals(parseSelector(tagSelector("db")).uniqueId, parseSelector("has(db)").uniqueId);
    const r = resolveRule(
      { action: "deny", destination: { tag: "db", selector: "has(db)" } },
      src,
      used,
    );
    assertEquals(r.destination.ipSets, [parseSelector("has(db)").uniqueId]);
  });
  await t.step("icmp implies v4, icmpv6 implies v6, explicit ipVersion is kept", () => {
    assertEquals(resolveRule({ action: "allow", protocol: "icmp", icmp: { type: 8 } }, src, used), {
      action: "allow",
      ipVersion: 4,
      protocol: "icmp",
      icmp: { type: 8 },
      source: DENY_ALL.ingress[0]!.source,
      destination: DENY_ALL.ingress[0]!.destination,
    });
    assertEquals(resolveRule({ action: "allow", protocol: "icmpv6" }, src, used).ipVersion, 6);
    assertEquals(resolveRule({ action: "allow", protocol: "tcp" }, src, used).ipVersion, undefined);
    assertEquals(
      resolveRule({ action: "allow", notProtocol: "icmp" }, src, used).ipVersion,
      undefined,
    );
    assertEquals(
      resolveRule({ action: "allow", protocol: "icmp", ipVersion: 6 }, src, used).ipVersion,
      6,
    );
  });
  await t.step("a bad selector throws so the caller can drop the policy", () => {
    assertThrows(() => resolveRules([{ action: "allow", source: { selector: "a ==" } }], [], src));
  });
  await t.step("the deny-all stand-in denies both directions", () => {
    assertEquals(DENY_ALL.ingress.map((r) => r.action), ["deny"]);
    assertEquals(DENY_ALL.egress.map((r) => r.action), ["deny"]);
  });
});

Deno.test("Effective labels: own, then profiles in order, labels before tags", () => {
  const profiles: Record<string, { labels?: Record<string, string>; tags?: string[] }> = {
    p1: { labels: { zone: "a", x: "p1" }, tags: ["x", "db"] },
    p2: { labels: { zone: "b", db: "p2" }, tags: ["web"] },
  };
  const m = effectiveLabelMap({ x: "own" }, ["p1", "p2", "missing"], (n) => profiles[n]);
  assertEquals(Object.fromEntries(m), { x: "own", zone: "a", db: "", web: "" });
});

Deno.test("Interface resolution", async (t) => {
  const ifaces = [
    { name: "lo", up: true, addrs: ["127.0.0.1", "::1"] },
    { name: "eth0", up: true, addrs: ["10.0.0.1", "fd00::1"] },
    { name: "eth1", up: false, addrs: ["192.168.1.1"] },
    { name: "cali123", up: true, addrs: ["10.65.0.2"] },
  ];
  await t.step("lowest name wins regardless of match kind; losers are error", () => {
    const r = resolveInterfaces(
      [
        { name: "b-by-name", interfaceName: "eth0", expectedIPs: [] },
        { name: "a-by-ip", expectedIPs: ["10.0.0.1"] },
        { name: "c-eth1", interfaceName: "eth1", expectedIPs: [] },
      ],
      ifaces,
      ["cali"],
    );
    assertEquals([...r.byInterface], [["eth0", "a-by-ip"], ["eth1", "c-eth1"]]);
    assertEquals([...r.statuses], [["a-by-ip", "up"], ["b-by-name", "error"], ["c-eth1", "down"]]);
  });
  await t.step("a named HEP ignores its expected IPs; workload interfaces are skipped", () => {
    const r = resolveInterfaces(
      [
        { name: "h", interfaceName: "eth1", expectedIPs: ["10.0.0.1"] },
        { name: "w", interfaceName: "cali123", expectedIPs: [] },
        { name: "wip", expectedIPs: ["10.65.0.2"] },
      ],
      ifaces,
      ["cali"],
    );
    assertEquals([...r.byInterface], [["eth1", "h"]]);
    assertEquals(r.statuses.get("w"), "error");
    assertEquals(r.statuses.get("wip"), "error");
  });
  await t.step("one HEP can govern several interfaces; a down one makes it down", () => {
    const r = resolveInterfaces([{ name: "h", expectedIPs: ["fd00::1", "192.168.1.1"] }], ifaces, [
      "cali",
    ]);
    assertEquals([...r.byInterface], [["eth0", "h"], ["eth1", "h"]]);
    assertEquals(r.statuses.get("h"), "down");
  });
});
