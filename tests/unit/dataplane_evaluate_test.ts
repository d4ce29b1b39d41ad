/**
 * The NftState interpreter on the golden scenarios: each packet's verdict is what Felix's
 * host-endpoint semantics (and the oracle rows the system tests prove with real packets) says,
 * with compilation off, at its default, and with every run compiled (NftablesCompileMinRun 1), so
 * compiled set lookups are judged like the policy chains they replace.
 */
import assert from "node:assert/strict";
import type { HostState } from "../../src/calc/host_state.ts";
import { buildNftState } from "../../src/dataplane/mod.ts";
import { evaluate, type Packet } from "../../src/dataplane/evaluate.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import { SCENARIOS } from "../fixtures/dataplane_scenarios.ts";

const R = "198.18.0.20";
const H = "198.18.1.1";
const R6 = "2001:db8:5::20";
const H6 = "2001:db8:1::1";

function tcpIn(dport: number, o: Partial<Packet> = {}): Packet {
  return {
    path: "input",
    iif: "eth0",
    family: 4,
    src: R,
    dst: H,
    protocol: 6,
    sport: 40000,
    dport,
    ...o,
  };
}
const udpIn = (dport: number, o: Partial<Packet> = {}) => tcpIn(dport, { protocol: 17, ...o });
const v6 = (p: Packet): Packet => ({ ...p, family: 6, src: R6, dst: H6 });
function icmpIn(type: number, code = 0, o: Partial<Packet> = {}): Packet {
  return {
    path: "input",
    iif: "eth0",
    family: 4,
    src: R,
    dst: H,
    protocol: 1,
    icmpType: type,
    icmpCode: code,
    ...o,
  };
}
function tcpOut(dport: number, o: Partial<Packet> = {}): Packet {
  return {
    path: "output",
    oif: "eth0",
    family: 4,
    src: H,
    dst: R,
    protocol: 6,
    sport: 40000,
    dport,
    ...o,
  };
}

type Row = [label: string, scenario: string, packet: Packet, want: "accept" | "drop"];

const ROWS: Row[] = [
  ["no HEP: left alone", "no_interfaces", tcpIn(9091), "accept"],
  ["default drop", "default_drop", tcpIn(9091), "drop"],
  ["default drop v6", "default_drop", v6(tcpIn(9091)), "drop"],
  ["failsafe tcp/22", "default_drop", tcpIn(22), "accept"],
  ["failsafe udp/68", "default_drop", udpIn(68), "accept"],
  ["failsafe is tcp only for 22", "default_drop", udpIn(22), "drop"],
  ["outbound failsafe 2379", "default_drop", tcpOut(2379), "accept"],
  ["outbound 80 dropped", "default_drop", tcpOut(80), "drop"],
  ["established accepted", "default_drop", tcpIn(9091, { ct: "established" }), "accept"],
  ["invalid dropped", "default_drop", tcpIn(22, { ct: "invalid" }), "drop"],
  ["other interface not policed", "default_drop", tcpIn(9091, { iif: "eth9" }), "accept"],
  [
    "workload to host: DefaultEndpointToHostAction DROP",
    "default_drop",
    tcpIn(9091, { iif: "cali1" }),
    "drop",
  ],
  ["ICMPv6 NDP allowed", "default_drop", { ...v6(icmpIn(135)), protocol: 58 }, "accept"],
  ["NDP off: ND dropped", "ndp_off", { ...v6(icmpIn(135)), protocol: 58 }, "drop"],
  ["seed webserver tcp/80", "seed_failsafe_webserver", tcpIn(80), "accept"],
  ["seed webserver tcp/81 dropped", "seed_failsafe_webserver", tcpIn(81), "drop"],
  ["seed failsafe icmp", "seed_failsafe_webserver", icmpIn(8), "accept"],
  ["seed egress allow-all", "seed_failsafe_webserver", tcpOut(80), "accept"],
  ["untracked memcached", "untracked_memcached", tcpIn(11211), "accept"],
  ["untracked: other port default drop", "untracked_memcached", tcpIn(11212), "drop"],
  ["pre-DNAT deny of 198.19/16", "pre_dnat", tcpIn(9091, { src: "198.19.3.3" }), "drop"],
  ["pre-DNAT allow 9091", "pre_dnat", tcpIn(9091), "accept"],
  ["pre-DNAT: other port default drop", "pre_dnat", tcpIn(9092), "drop"],
  ["pass to profile allow-web", "profile_pass", tcpIn(443, { src: "198.19.0.1" }), "accept"],
  ["ssh-only from 198.18.0/24", "profile_pass", tcpIn(22), "accept"],
  ["profile allow-all", "profile_pass", udpIn(999), "accept"],
  ["selector set member", "selectors", tcpIn(5432, { src: "198.18.1.2" }), "accept"],
  ["selector v6 member", "selectors", v6(tcpIn(5432, {})), "drop"],
  [
    "selector v6 member 2001:db8::1",
    "selectors",
    tcpIn(5432, { family: 6, src: "2001:db8::1", dst: H6 }),
    "accept",
  ],
  ["not in trusted set: deny", "selectors", tcpIn(80, { src: "198.18.2.2" }), "drop"],
  ["trusted, no allow: default", "selectors", tcpIn(80, { src: "198.18.2.1" }), "drop"],
  ["cidr families v4", "cidr_families", tcpIn(80, { src: "198.18.7.7" }), "accept"],
  [
    "cidr families v6 /48",
    "cidr_families",
    tcpIn(80, { family: 6, src: "2001:db8:1::9", dst: H6 }),
    "accept",
  ],
  [
    "cidr families v6 udp",
    "cidr_families",
    udpIn(80, { family: 6, src: "2001:db8:9::9", dst: H6 }),
    "accept",
  ],
  ["cidr families notNets deny", "cidr_families", tcpIn(80, { src: "198.20.0.1" }), "drop"],
  ["icmp echo allowed", "icmp", icmpIn(8), "accept"],
  ["icmp 3/1 falls to allow icmp", "icmp", icmpIn(3, 1), "accept"],
  ["icmp 3/2 denied by notICMP", "icmp", icmpIn(3, 2), "drop"],
  ["ports range 8060", "ports", tcpIn(8060), "accept"],
  ["ports notPorts: 81 allowed", "ports", tcpIn(81), "accept"],
  ["udp sport 53 to 2000", "ports", udpIn(2000, { sport: 53 }), "accept"],
  ["udp sport 53 to 53: denied by notProtocol? no: udp", "ports", udpIn(53, { sport: 53 }), "drop"],
  ["icmp denied by notProtocol udp", "ports", icmpIn(8), "drop"],
  ["gre allowed? denied first by notProtocol", "ports", {
    path: "input",
    iif: "eth0",
    family: 4,
    src: R,
    dst: H,
    protocol: 47,
  }, "drop"],
  ["log rule then allow 80", "log_rule", tcpIn(80), "accept"],
  ["endpoint-to-host ACCEPT", "endpoint_to_host_accept", tcpIn(9, { iif: "tap3" }), "accept"],
  ["ipv6 off: v6 not policed", "ipv6_off", v6(tcpIn(9091)), "accept"],
  ["all classes: untracked udp/11211", "all_classes", udpIn(11211), "accept"],
  ["all classes: pre-DNAT 30080", "all_classes", tcpIn(30080), "accept"],
  ["all classes: policies without pass: profile not reached", "all_classes", udpIn(5), "drop"],
  [
    "forward eth0 -> eth1: egress policy n allows tcp/80",
    "all_classes",
    { ...tcpIn(80), path: "forward", oif: "eth1", dst: "198.18.2.2" },
    "accept",
  ],
  [
    "forward eth0 -> eth1: tcp/81 dropped on egress",
    "all_classes",
    { ...tcpIn(81), path: "forward", oif: "eth1", dst: "198.18.2.2" },
    "drop",
  ],
];

function withMinRun(s: HostState, n: number): HostState {
  return { ...s, config: { ...s.config, compileMinRun: n } };
}

Deno.test("the interpreter gives the expected verdict on every scenario packet", async (t) => {
  for (const [mode, n] of [["uncompiled", 0], ["default", 4], ["every run compiled", 1]] as const) {
    await t.step(mode, () => {
      const wrong: string[] = [];
      for (const [label, scenario, packet, want] of ROWS) {
        const state = buildNftState(withMinRun(SCENARIOS[scenario]!, n));
        const got = evaluate(state, packet).verdict;
        if (got !== want) wrong.push(`${scenario}: ${label}: ${got}, want ${want}`);
      }
      assert.deepEqual(wrong, []);
    });
  }
});

Deno.test("compiled lookups report the owner of the element that matched", () => {
  const s = hostState({
    config: { compileMinRun: 1 },
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["a", "b"] } })],
    policies: {
      a: ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [80] } }]),
      b: ruleSet([
        { action: "allow", protocol: "udp", destination: { ports: [53] } },
        {
          action: "allow",
          protocol: "tcp",
          source: { nets: ["198.18.0.0/24"] },
          destination: { ports: [2222] },
        },
      ]),
    },
  });
  const state = buildNftState(s);
  const e = evaluate(state, tcpIn(2222));
  assert.equal(e.verdict, "accept");
  const hit = e.hooks.flatMap((h) => h.steps).find((st) => st.element !== undefined);
  assert.deepEqual(hit?.element?.owner, {
    kind: "policy",
    name: "b",
    direction: "ingress",
    rule: 2,
  });
  assert.equal(evaluate(state, tcpIn(2222, { src: "198.18.9.2" })).verdict, "drop");
  assert.equal(evaluate(state, tcpIn(22, { src: "198.18.9.2" })).verdict, "accept", "failsafe");
  assert.equal(evaluate(state, tcpIn(23)).verdict, "drop");
});

Deno.test("notrack in raw makes later chains see an untracked packet", () => {
  const state = buildNftState(SCENARIOS.untracked_memcached!);
  const e = evaluate(state, tcpIn(11211));
  assert.equal(e.ct, "untracked");
  // No pre-DNAT policy on this host: the mangle stage is not hooked at all.
  assert.deepEqual(e.hooks.map((h) => h.chain), ["raw-prerouting", "filter-input"]);
});

Deno.test("a stage is hooked only while some endpoint uses it", () => {
  const hooked = (name: string) =>
    [...buildNftState(SCENARIOS[name]!).chains.values()].filter((c) => c.hook).map((c) => c.name);
  assert.deepEqual(hooked("default_drop"), ["filter-input", "filter-forward", "filter-output"]);
  assert.deepEqual(hooked("pre_dnat"), [
    "mangle-prerouting",
    "filter-input",
    "filter-forward",
    "filter-output",
  ]);
  assert(hooked("untracked_memcached").includes("raw-prerouting"));
});

Deno.test("a return in a chain entered by goto ends the calling base chain", () => {
  // DefaultEndpointToHostAction RETURN: wl-to-host's return must not come back to filter-input
  // (whose dispatch and mark test would then run), it ends filter-input: the policy accepts.
  const state = buildNftState(SCENARIOS.endpoint_to_host_return!);
  const e = evaluate(state, tcpIn(9091, { iif: "cali1" }));
  assert.equal(e.verdict, "accept");
  const input = e.hooks.find((h) => h.chain === "filter-input")!;
  assert.deepEqual(
    input.steps.map((s) => [s.chain, s.outcome]),
    [["filter-input", "jump"], ["wl-to-host", "return"]],
  );
});
