/**
 * `hostfence explain` without etcd: the explanation of packets on the golden scenarios
 * (tests/golden/explain.txt; UPDATE_GOLDEN=1 rewrites it, review the diff like code), its JSON
 * form, and every packet description that makes no sense.
 */
import assert from "node:assert/strict";
import { buildNftState } from "../../src/dataplane/mod.ts";
import type { Packet } from "../../src/dataplane/evaluate.ts";
import { explain, formatExplanation } from "../../src/explain/explain.ts";
import { PacketArgsError, parseExplainArgs } from "../../src/cmd/explain_args.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import { SCENARIOS } from "../fixtures/dataplane_scenarios.ts";

const update = Deno.env.get("UPDATE_GOLDEN") === "1";
const GOLDEN = new URL("../golden/explain.txt", import.meta.url);

/** Each case: scenario, compile min run, command-line packet description. */
const CASES: [string, number, string][] = [
  ["seed_failsafe_webserver", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 22"],
  ["seed_failsafe_webserver", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 80"],
  ["seed_failsafe_webserver", 1, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 80"],
  ["seed_failsafe_webserver", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 udp 81"],
  ["seed_failsafe_webserver", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 icmp"],
  ["seed_failsafe_webserver", 0, "--out eth0 --src 198.18.1.1 --dst 198.18.0.10 tcp 2379"],
  ["default_drop", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 9091"],
  ["default_drop", 0, "--in eth0 --src 2001:db8::20 --dst 2001:db8:1::1 icmp 135"],
  ["default_drop", 0, "--in eth9 --src 198.18.0.20 --dst 198.18.1.1 tcp 9091"],
  ["default_drop", 0, "--in cali1 --src 198.18.3.2 --dst 198.18.3.1 tcp 9091"],
  ["untracked_memcached", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 11211"],
  ["pre_dnat", 0, "--in eth0 --src 198.19.0.20 --dst 198.18.1.1 tcp 9091"],
  ["all_classes", 0, "--in eth0 --src 198.19.0.20 --dst 198.18.1.1 tcp 22"],
  ["profile_pass", 0, "--in eth0 --src 198.19.0.20 --dst 198.18.1.1 tcp 443"],
  ["profile_pass", 0, "--in eth0 --src 198.19.0.20 --dst 198.18.1.1 tcp 444"],
  ["icmp", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 icmp 3 2"],
  ["all_classes", 0, "--forward eth0 eth1 --src 198.18.0.20 --dst 198.18.2.2 --sport 999 tcp 80"],
  ["all_classes", 0, "--forward eth0 eth1 --src 198.18.0.20 --dst 198.18.2.2 tcp 81"],
  ["ipv6_off", 0, "--in eth0 --src 2001:db8::20 --dst 2001:db8:1::1 tcp 80"],
  ["audit_mode", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 udp 53"],
  ["audit_mode", 2, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 udp 53"],
  ["audit_mode", 0, "--in eth1 --src 198.18.0.20 --dst 198.18.2.1 tcp 9091"],
];

function run(scenario: string, minRun: number, line: string) {
  const s = SCENARIOS[scenario]!;
  const host = { ...s, config: { ...s.config, compileMinRun: minRun } };
  const a = parseExplainArgs(["--node", "h1", ...line.split(" ")]);
  return explain("h1", host, buildNftState(host), a.packet!);
}

Deno.test("explanations of the scenario packets match tests/golden/explain.txt", async () => {
  const text = CASES.map(([s, n, line]) =>
    `$ explain ${line}   # ${s}${n > 0 ? `, compile min run ${n}` : ""}\n` +
    formatExplanation(run(s, n, line))
  ).join("\n");
  if (update) await Deno.writeTextFile(GOLDEN, text);
  assert.equal(text, await Deno.readTextFile(GOLDEN));
});

Deno.test("the explanation names the compiled rule that matched, like the uncompiled one", () => {
  const line = "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 80";
  const a = run("seed_failsafe_webserver", 0, line);
  const b = run("seed_failsafe_webserver", 1, line);
  assert.equal(a.decision, "ALLOW by policy webserver rule 1 (ingress: allow tcp to port 80)");
  assert.equal(b.decision, a.decision);
  assert.ok(b.chains.some((c) => c.rules.some((r) => r.text.includes("element"))));
});

Deno.test("under PolicyAuditMode a would-be drop is allowed and says what would have dropped it", () => {
  const deny = run("audit_mode", 0, "--in eth0 --src 198.18.0.20 --dst 198.18.1.1 udp 53");
  assert.equal(deny.verdict, "ALLOW");
  assert.match(deny.decision, /PolicyAuditMode.*would DROP by policy deny-b rule 1/);
  const dflt = run("audit_mode", 0, "--in eth1 --src 198.18.0.20 --dst 198.18.2.1 tcp 9091");
  assert.equal(dflt.verdict, "ALLOW");
  assert.match(dflt.decision, /would DROP by default drop \(host endpoint hep1\)/);
});

Deno.test("the issue's example line, and the JSON form holds the same data", () => {
  const host = hostState({
    interfaces: [iface("eth0", "my-host-eth0", { normal: { ingress: ["failsafe"] } })],
    policies: {
      failsafe: ruleSet([{
        action: "allow",
        protocol: "tcp",
        source: { nets: ["198.18.0.0/24"] },
        destination: { ports: [22] },
      }]),
    },
    config: { failsafeInbound: [] },
  });
  const p = (src: string, dport: number): Packet => ({
    path: "input",
    iif: "eth0",
    family: 4,
    src,
    dst: "198.18.1.1",
    protocol: 6,
    sport: 40000,
    dport,
  });
  const x = explain("h1", host, buildNftState(host), p("198.18.0.20", 22));
  assert.equal(
    x.decision,
    "ALLOW by policy failsafe rule 1 (ingress: allow tcp from 198.18.0.0/24 to port 22)",
  );
  assert.deepEqual(x.owner, { kind: "policy", name: "failsafe", direction: "ingress", rule: 1 });
  assert.equal(x.reply?.byConntrack, true);
  const json = JSON.parse(JSON.stringify(x));
  assert.equal(json.verdict, "ALLOW");
  assert.equal(
    json.endpoints[0].stages.find((s: { stage: string }) => s.stage === "normal policies").result,
    "ALLOW",
  );
  const d = explain("h1", host, buildNftState(host), p("198.18.9.9", 22));
  assert.equal(d.verdict, "DROP");
  assert.equal(
    d.decision,
    "DROP: no policy allowed it (end of the policies of host endpoint my-host-eth0)",
  );
  assert.equal(d.reply, undefined);
});

Deno.test("packet descriptions that make no sense are refused with a clear message", () => {
  const bad: [string, RegExp][] = [
    ["--in eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp 22", /--node NAME is required/],
    [
      "--node h1 --src 198.18.0.1 --dst 198.18.1.1 tcp 22",
      /--in IFACE .* --out IFACE .* --forward/,
    ],
    ["--node h1 --in eth0 --out eth1 --src 198.18.0.1 --dst 198.18.1.1 tcp 22", /only one of/],
    ["--node h1 --forward eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp 22", /two interfaces/],
    ["--node h1 --forward eth0 eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp 22", /the same/],
    ["--node h1 --in eth0 --src 198.18.0.1 tcp 22", /--src ADDR and --dst ADDR/],
    [
      "--node h1 --in eth0 --src 198.18.0.300 --dst 198.18.1.1 tcp 22",
      /--src '198.18.0.300' is not an IP/,
    ],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 2001:db8::1 tcp 22", /one packet has one family/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1", /say the protocol/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp", /exactly one destination port/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp 70000", /not a port/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 --sport 0 udp 53", /--sport '0'/],
    [
      "--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 --sport 5 icmp",
      /--sport makes no sense/,
    ],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 icmp 300", /icmp type '300'/],
    [
      "--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 icmp 3 1 1",
      /at most a type and a code/,
    ],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 icmpv6", /icmpv6 needs IPv6/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 gre", /'gre' is not a protocol/],
    ["--node h1 --in eth0 --src 198.18.0.1 --dst 198.18.1.1 -o yaml tcp 1", /-o 'yaml'/],
    [
      "--node h1 --in a/b --src 198.18.0.1 --dst 198.18.1.1 tcp 1",
      /--in 'a\/b' is not an interface/,
    ],
    ["--node h1 --bogus --in eth0 --src 198.18.0.1 --dst 198.18.1.1 tcp 1", /Invalid option/],
  ];
  for (const [line, want] of bad) {
    assert.throws(() => parseExplainArgs(line.split(" ")), (e: Error) => {
      assert.ok(e instanceof PacketArgsError, line);
      assert.match(e.message, want, line);
      return true;
    });
  }
  const v6 = parseExplainArgs(
    "--node h1 --out eth0 --src 2001:DB8:1::1 --dst 2001:db8::1 icmp".split(" "),
  ).packet!;
  assert.deepEqual([v6.protocol, v6.icmpType, v6.src, v6.path, v6.oif], [
    58,
    128,
    "2001:db8:1::1",
    "output",
    "eth0",
  ]);
});

Deno.test("a failsafe with a net allows only that net, per family, and says so", () => {
  const d = (line: string) => run("failsafe_nets", 0, line);
  const inside = d("--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 22");
  assert.equal(inside.verdict, "ALLOW");
  assert.equal(
    inside.decision,
    "ALLOW by failsafe inbound port tcp/22 from 198.18.0.0/24 (FailsafeInboundHostPorts)",
  );
  assert.equal(inside.reply?.verdict, "ALLOW");
  const outside = d("--in eth0 --src 198.19.0.20 --dst 198.18.1.1 tcp 22");
  assert.equal(outside.verdict, "DROP");
  assert.match(outside.decision, /default drop for host endpoint hep0/);
  const v6inside = d("--in eth0 --src 2001:db8:0:1::20 --dst 2001:db8:1::1 tcp 22");
  assert.equal(
    v6inside.decision,
    "ALLOW by failsafe inbound port tcp/22 from 2001:db8:0:1::/64 (FailsafeInboundHostPorts)",
  );
  // 2222 is open from the IPv4 management net only: no IPv6 rule exists for it.
  assert.equal(d("--in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 2222").verdict, "ALLOW");
  assert.equal(
    d("--in eth0 --src 2001:db8:0:1::20 --dst 2001:db8:1::1 tcp 2222").verdict,
    "DROP",
  );
  const etcd = d("--out eth0 --src 198.18.1.1 --dst 198.18.0.10 tcp 2379");
  assert.equal(
    etcd.decision,
    "ALLOW by failsafe outbound port tcp/2379 to 198.18.0.10 (FailsafeOutboundHostPorts)",
  );
  assert.equal(d("--out eth0 --src 198.18.1.1 --dst 198.18.0.11 tcp 2379").verdict, "DROP");
  // Unrestricted entries keep working beside them.
  assert.equal(d("--in eth0 --src 198.19.0.20 --dst 198.18.1.1 udp 68").verdict, "ALLOW");
});
