/**
 * applyOnForward: false (RuleSet.notOnForward) in the dataplane: such a policy polices traffic
 * to and from the host and is skipped on the forward path (its jump guarded by `oif 0` /
 * `iif 0`, never compiled into a set lookup); v1 policies render exactly as before.
 * The interpreter (explain's) judges both paths; tests/system/v3_apply_on_forward_test.ts proves
 * the same with real packets.
 */
import assert from "node:assert/strict";
import type { HostState, RuleSet } from "../../src/calc/host_state.ts";
import { buildNftState, render } from "../../src/dataplane/mod.ts";
import { evaluate, type Packet } from "../../src/dataplane/evaluate.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";

const allow = (port: number) =>
  ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [port] } }]);
const local = (rs: RuleSet): RuleSet => ({ ...rs, notOnForward: true });

function tcp(path: "input" | "forward", dport: number): Packet {
  return {
    path,
    iif: "eth0",
    ...(path === "forward" ? { oif: "eth1" } : {}),
    family: 4,
    src: "198.18.0.20",
    dst: path === "forward" ? "198.18.2.2" : "198.18.1.1",
    protocol: 6,
    sport: 40000,
    dport,
  };
}

function scenario(policies: Record<string, RuleSet>, profiles: string[] = []): HostState {
  return hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: Object.keys(policies) }, profiles })],
    policies,
    profiles: { open: ruleSet([{ action: "allow" }], [{ action: "allow" }]) },
  });
}

function withMinRun(s: HostState, n: number): HostState {
  return { ...s, config: { ...s.config, compileMinRun: n } };
}

Deno.test("a policy off the forward path polices the host only, in every compile mode", () => {
  const s = scenario({ a: local(allow(80)), b: allow(81), c: local(allow(82)) });
  for (const n of [0, 1, 4]) {
    const state = buildNftState(withMinRun(s, n));
    const v = (p: Packet) => evaluate(state, p).verdict;
    assert.equal(v(tcp("input", 80)), "accept", `minRun ${n}`);
    assert.equal(v(tcp("input", 82)), "accept", `minRun ${n}`);
    assert.equal(v(tcp("input", 81)), "accept", `minRun ${n}`);
    assert.equal(v(tcp("forward", 81)), "accept", `minRun ${n}`);
    assert.equal(v(tcp("forward", 80)), "drop", `minRun ${n}`);
    assert.equal(v(tcp("forward", 82)), "drop", `minRun ${n}`);
    assert.equal(v(tcp("input", 83)), "drop", `minRun ${n}`);
  }
  const text = render(buildNftState(s));
  assert.match(text, /oif 0 meta mark & 0x[0-9a-f]+ == 0 jump pi-a\n/);
  assert.match(text, /oif 0 meta mark & 0x[0-9a-f]+ == 0 jump pi-c\n/);
});

Deno.test("no policy on the forward path: forwarded packets are allowed in that direction", () => {
  // Calico 3: policies select the endpoint, none with applyOnForward: forwarded traffic is not
  // policed in this direction, with or without profiles; the host's own traffic still is.
  for (const profiles of [[], ["open"]]) {
    const state = buildNftState(scenario({ a: local(allow(80)) }, profiles));
    assert.equal(evaluate(state, tcp("input", 80)).verdict, "accept");
    assert.equal(evaluate(state, tcp("input", 81)).verdict, "drop", "a policy applies: no profile");
    assert.equal(evaluate(state, tcp("forward", 81)).verdict, "accept", `profiles ${profiles}`);
  }
  // An endpoint without any policy keeps v1's forward behaviour: profiles, then drop.
  const none = buildNftState(scenario({}, []));
  assert.equal(evaluate(none, tcp("forward", 81)).verdict, "drop", "v1: default drop");
});

Deno.test("v1 policies (no notOnForward) render exactly as before", () => {
  const text = render(buildNftState(scenario({ a: allow(80), b: allow(81) })));
  assert.doesNotMatch(text, /\b[io]if 0\b/);
  const state = buildNftState(scenario({ a: allow(80) }));
  assert.equal(evaluate(state, tcp("forward", 80)).verdict, "accept");
});
