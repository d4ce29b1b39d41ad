/**
 * Rendering of the seed scenarios against golden files (tests/golden/<scenario>.nft; run with
 * UPDATE_GOLDEN=1 to rewrite them, then review the diff like code), plus the rendering rules
 * that golden files alone would not make obvious.
 */
import assert from "node:assert/strict";
import { buildNftState, objectName, render } from "../../src/dataplane/mod.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import { SCENARIOS } from "../fixtures/dataplane_scenarios.ts";
import { cidrsOfFamily } from "../../src/dataplane/_cidr.ts";

const GOLDEN = new URL("../golden/", import.meta.url);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

Deno.test({
  name: "each scenario renders exactly its golden ruleset",
  async fn(t) {
    for (const [name, state] of Object.entries(SCENARIOS)) {
      await t.step(name, async () => {
        const text = render(buildNftState(state));
        const file = new URL(`${name}.nft`, GOLDEN);
        if (update) await Deno.writeTextFile(file, text);
        assert.deepEqual(text, await Deno.readTextFile(file), `golden ${name}.nft differs`);
      });
    }
  },
});

Deno.test("every golden file belongs to a scenario", async () => {
  for await (const e of Deno.readDir(GOLDEN)) {
    if (!e.name.endsWith(".nft")) continue;
    assert(e.name.slice(0, -4) in SCENARIOS, `stale golden file ${e.name}`);
  }
});

function chainRules(text: string, chain: string): string[] {
  const start = text.indexOf(`\tchain ${chain} {\n`);
  assert(start >= 0, `chain ${chain} not rendered`);
  const end = text.indexOf("\n\t}", start);
  return text.slice(start, end).split("\n").slice(1).map((l) => l.trim())
    .filter((l) => !l.startsWith("comment ") && !l.startsWith("type filter"));
}

Deno.test("a full program replaces the table in one transaction", () => {
  const text = render(buildNftState(SCENARIOS.no_interfaces!));
  assert(
    text.startsWith(
      "add table inet hostfence\ndelete table inet hostfence\ntable inet hostfence {\n",
    ),
  );
  assert.deepEqual(text.match(/^table /gm)?.length, 1);
});

Deno.test("a host endpoint with no policy and no profile drops after conntrack and failsafe", () => {
  const text = render(buildNftState(SCENARIOS.default_drop!));
  assert.deepEqual(chainRules(text, "fh-eth0"), [
    "ct state established,related accept",
    'icmpv6 type { 133, 134, 135, 136 } counter accept comment "HostEndpointAllowNDP"',
    "ct state invalid drop",
    "jump failsafe-in",
    "meta mark set meta mark & 0xfeffffff",
    'counter drop comment "eth0 ingress: default drop"',
  ]);
  assert.ok(text.includes('elements = { "eth0" : jump fh-eth0 }'));
});

Deno.test("policies are tried in order and profiles only after a pass", () => {
  const text = render(buildNftState(SCENARIOS.profile_pass!));
  assert.deepEqual(chainRules(text, "fh-eth0").slice(4), [
    "meta mark set meta mark & 0xfcffffff",
    "meta mark & 0x02000000 == 0 jump pi-ssh-only",
    "meta mark & 0x01000000 == 0x01000000 return",
    'meta mark & 0x02000000 == 0 counter drop comment "eth0 ingress: no policy allowed"',
    "jump pri-allow-web",
    "meta mark & 0x01000000 == 0x01000000 return",
    "jump pri-allow-all",
    "meta mark & 0x01000000 == 0x01000000 return",
    'counter drop comment "eth0 ingress: no profile allowed"',
  ]);
  assert.match(
    chainRules(text, "pi-ssh-only")[1]!,
    /^counter meta mark set meta mark \| 0x02000000 return/,
  );
});

Deno.test("untracked allow sets the accept mark and notracks in raw only", () => {
  const text = render(buildNftState(SCENARIOS.untracked_memcached!));
  assert(
    chainRules(text, "raw-fh-eth0").includes("meta mark & 0x01000000 == 0x01000000 notrack return"),
  );
  assert.deepEqual(text.match(/notrack/g)?.length, 2); // raw-fh and raw-th, nowhere else
  assert.ok(text.includes('elements = { "eth0" : jump raw-th-eth0 }'));
});

Deno.test("a rule is skipped for a family its CIDRs do not cover", () => {
  const state = hostState({
    interfaces: [iface("eth0", "h", { normal: { ingress: ["p"] } })],
    policies: {
      p: ruleSet([
        { action: "allow", source: { nets: ["198.18.0.0/24"] } },
        { action: "deny", destination: { notNets: ["2001:db8::/64"] } },
        { action: "allow", protocol: "tcp" },
      ]),
    },
  });
  const rules = chainRules(render(buildNftState(state)), "pi-p");
  assert.deepEqual(rules.length, 3);
  assert.match(rules[0]!, /^meta nfproto ipv4 ip saddr 198\.18\.0\.0\/24 /);
  assert.match(rules[1]!, /^meta nfproto ipv6 ip6 daddr != 2001:db8::\/64 counter drop/);
  assert.match(rules[2]!, /^meta l4proto tcp counter /); // family-neutral: one rule for both
});

Deno.test("IPv6 is not policed when Ipv6Support is off", () => {
  const state = buildNftState(SCENARIOS.ipv6_off!);
  const text = render(state);
  const hooked = [...state.chains.values()].filter((c) => c.hook !== undefined).map((c) => c.name);
  assert.deepEqual(hooked.length, 3, "the filter hooks (no untracked or pre-DNAT stage used)");
  for (const c of hooked) {
    assert.deepEqual(
      chainRules(text, c)[0],
      'meta nfproto ipv6 return comment "Ipv6Support is off"',
    );
  }
  assert(!text.includes("ip6 "), "no IPv6 matches rendered");
  assert(!text.includes("icmpv6"), "no NDP allowance needed");
});

Deno.test("the mark bits come from the lowest bits of the mark mask", () => {
  const text = render(buildNftState(SCENARIOS.ipv6_off!)); // mask 0x000f0000
  assert.ok(text.includes("meta mark set meta mark | 0x00010000 return"));
  assert.ok(text.includes("meta mark set meta mark & 0xfff0ffff"));
});

Deno.test("object names escape odd characters and bound their length", () => {
  assert.deepEqual(objectName("pi", "team/web.v1"), "pi-team_2fweb.v1");
  assert.deepEqual(objectName("pi", "a_b"), "pi-a_5fb");
  assert(objectName("pi", "a/b") !== objectName("pi", "a_2fb"), "escape is injective");
  const long = objectName("pi", "x".repeat(200));
  assert.match(long, /^pi-x{40}_[0-9a-f]{16}$/);
  assert(objectName("pi", "x".repeat(200)) !== objectName("pi", "x".repeat(201)));
  assert.deepEqual(objectName("s4", "s:abc"), "s4-s_3aabc");
});

Deno.test("CIDR lists are normalised: host bits cleared, nested ones dropped, family kept", () => {
  assert.deepEqual(
    cidrsOfFamily(["198.18.5.7/24", "198.18.0.0/16", "198.19.1.1", "2001:db8::1/64"], 4),
    ["198.18.0.0/16", "198.19.1.1"],
  );
  assert.deepEqual(cidrsOfFamily(["2001:DB8:0:0:1::/80", "::ffff:198.18.0.1", "x"], 6), [
    "::ffff:c612:1",
    "2001:db8:0:0:1::/80",
  ]);
});

Deno.test("DefaultEndpointToHostAction decides workload-to-host traffic", () => {
  const text = (s: string) => render(buildNftState(SCENARIOS[s]!));
  const input = (s: string) => chainRules(text(s), "filter-input");
  const wl = (s: string) => chainRules(text(s), "wl-to-host");
  // One prefix test per packet in filter-input; the goto makes wl-to-host's end the base chain's.
  assert(
    input("default_drop").includes('iifname "cali*" goto wl-to-host comment "workload interface"'),
  );
  assert(wl("default_drop").includes('counter drop comment "DefaultEndpointToHostAction DROP"'));
  assert(
    input("endpoint_to_host_accept").some((r) => r.startsWith('iifname "tap*" goto wl-to-host')),
  );
  assert(
    wl("endpoint_to_host_accept").includes(
      'counter accept comment "DefaultEndpointToHostAction ACCEPT"',
    ),
  );
  assert(
    wl("endpoint_to_host_return").includes('return comment "DefaultEndpointToHostAction RETURN"'),
  );
});

Deno.test("a failsafe net of a family that is not policed gives no rule", () => {
  const s = SCENARIOS.failsafe_nets!;
  const text = render(buildNftState({ ...s, config: { ...s.config, ipv6Support: false } }));
  assert(!text.includes("ip6 saddr 2001:db8:0:1::/64"), "no IPv6 failsafe rule");
  assert.deepEqual(chainRules(text, "failsafe-in"), [
    'udp dport 68 counter accept comment "failsafe in"',
    'ip saddr 198.18.0.0/24 tcp dport { 22, 2222 } counter accept comment "failsafe in"',
  ]);
});
