/**
 * The failsafe port syntax in both of Felix's forms (src/config/failsafe.ts), and the same
 * values reaching the resolved configuration from every source.
 */
import assert from "node:assert/strict";
import { configInputs } from "../fixtures/config_inputs.ts";
import {
  type ConfigInputs,
  type FailsafePort,
  failsafePort,
  FailsafeSyntaxError,
  formatFailsafePort,
  formatFailsafePorts,
  formatParam,
  parseFailsafePort,
  parseFailsafePorts,
  resolveConfig,
} from "../../src/config/mod.ts";

function refuses(text: string, reason: RegExp): void {
  assert.throws(() => parseFailsafePorts(text), (e: unknown) => {
    assert.ok(e instanceof FailsafeSyntaxError, `expected FailsafeSyntaxError for ${text}`);
    assert.match(e.message, reason);
    return true;
  });
}

Deno.test("Calico 3's protocol:net:port form parses to a structured entry", async (t) => {
  const forms: [string, string, ReturnType<typeof parseFailsafePort>][] = [
    ["an IPv4 net", "tcp:198.18.0.0/24:22", { protocol: "tcp", port: 22, net: "198.18.0.0/24" }],
    [
      "an IPv6 net in brackets, as Felix writes it",
      "udp:[2001:DB8:0::/48]:53",
      { protocol: "udp", port: 53, net: "2001:db8::/48" },
    ],
    [
      "a bracketed IPv6 net without protocol means tcp (Felix accepts it)",
      "[2001:db8::/32]:22",
      { protocol: "tcp", port: 22, net: "2001:db8::/32" },
    ],
  ];
  for (const [label, text, want] of forms) {
    await t.step(label, () => assert.deepEqual(parseFailsafePort(text), want));
  }
  await t.step("host bits are cleared and a bare address is one host, like Felix", () => {
    assert.deepEqual(parseFailsafePort("tcp:198.18.0.77/24:22").net, "198.18.0.0/24");
    assert.deepEqual(parseFailsafePort("tcp:198.18.0.77:22").net, "198.18.0.77/32");
    assert.deepEqual(parseFailsafePort("tcp:[2001:db8::7]:22").net, "2001:db8::7/128");
  });
  await t.step("spaces and case", () => {
    assert.deepEqual(parseFailsafePort("TCP : 198.18.0.0/24 : 22"), {
      protocol: "tcp",
      port: 22,
      net: "198.18.0.0/24",
    });
  });
});

Deno.test("the old forms keep their meaning", () => {
  assert.deepEqual(parseFailsafePorts("tcp:22, udp:68,2222"), [
    { protocol: "tcp", port: 22 },
    { protocol: "udp", port: 68 },
    { protocol: "tcp", port: 2222 },
  ]);
});

Deno.test("a list mixes forms; duplicates collapse by protocol, net and port", () => {
  assert.deepEqual(
    parseFailsafePorts(
      "tcp:22,tcp:198.18.0.0/24:22,tcp:198.18.0.9/24:22,tcp:[2001:db8::/32]:22,udp:198.18.0.0/24:22",
    ),
    [
      { protocol: "tcp", port: 22 },
      { protocol: "tcp", port: 22, net: "198.18.0.0/24" },
      { protocol: "tcp", port: 22, net: "2001:db8::/32" },
      { protocol: "udp", port: 22, net: "198.18.0.0/24" },
    ],
  );
});

Deno.test("formatting gives back text that parses to the same entries", () => {
  const list: FailsafePort[] = [
    { protocol: "tcp", port: 22 },
    { protocol: "tcp", port: 22, net: "198.18.0.0/24" },
    { protocol: "udp", port: 53, net: "2001:db8::/32" },
  ];
  const text = formatFailsafePorts(list);
  assert.equal(text, "tcp:22,tcp:198.18.0.0/24:22,udp:[2001:db8::/32]:53");
  assert.deepEqual(parseFailsafePorts(text), list);
  assert.equal(formatFailsafePorts([]), "none");
  assert.equal(formatFailsafePort({ protocol: "udp", port: 68 }), "udp:68");
});

Deno.test("bad entries are refused with the reason and the entry", () => {
  refuses("tcp:198.18.0.0/33:22", /net "198.18.0.0\/33" in "tcp:198.18.0.0\/33:22" is not a CIDR/);
  refuses("tcp:mgmt:22", /net "mgmt" in "tcp:mgmt:22" is not a CIDR or IP address/);
  refuses("tcp:2001:db8::/32:22", /in brackets: tcp:\[2001:db8::\/32\]:22/);
  refuses("tcp:[2001:db8::/32:22", /an IPv6 net is written \[net\]:port/);
  refuses("tcp:[2001:db8::/32]22", /an IPv6 net is written \[net\]:port/);
  refuses("tcp:x:[2001:db8::/32]:22", /must be <protocol>:<net>:<port>/);
  refuses("sctp:198.18.0.0/24:22", /unknown protocol "sctp"/);
  refuses("tcp:198.18.0.0/24:ssh", /port "ssh" must be a number/);
  refuses("tcp:198.18.0.0/24:70000", /0-65535/);
  refuses("198.18.0.0/24:22", /unknown protocol "198.18.0.0\/24"/);
  refuses("tcp:[zz::/8]:22", /net "zz::\/8" .* is not a CIDR/);
});

Deno.test("structured entries (v3 FelixConfiguration) normalise like the text form", () => {
  assert.deepEqual(
    failsafePort({ protocol: "TCP", port: 22, net: "198.18.0.77/24" }),
    parseFailsafePort("tcp:198.18.0.0/24:22"),
  );
  assert.deepEqual(failsafePort({ protocol: "UDP", port: 68 }), { protocol: "udp", port: 68 });
  assert.deepEqual(failsafePort({ port: 22, net: "2001:db8::/32" }), {
    protocol: "tcp",
    port: 22,
    net: "2001:db8::/32",
  });
  assert.throws(() => failsafePort({ protocol: "SCTP", port: 22 }), /unknown protocol "SCTP"/);
  assert.throws(() => failsafePort({ protocol: "TCP", port: 65536 }), /0-65535/);
  assert.throws(() => failsafePort({ protocol: "TCP", port: 22, net: "x" }), /net "x"/);
});

Deno.test("the net form reaches the configuration from flags, environment, file and etcd", () => {
  const text = "tcp:198.18.0.0/24:22";
  const sources: [string, Partial<ConfigInputs>][] = [
    ["flag", { flags: new Map([["FailsafeInboundHostPorts", text]]) }],
    ["env", { env: { FELIX_FAILSAFEINBOUNDHOSTPORTS: text } }],
    ["file", { fileText: `[global]\nFailsafeInboundHostPorts = ${text}\n` }],
    ["etcd host", { datastoreHost: new Map([["FailsafeInboundHostPorts", text]]) }],
    ["etcd global", { datastoreGlobal: new Map([["FailsafeInboundHostPorts", text]]) }],
  ];
  for (const [what, over] of sources) {
    const r = resolveConfig(configInputs(over));
    assert.equal(r.fatal, undefined, what);
    assert.deepEqual(
      r.config?.failsafeInboundHostPorts,
      [{ protocol: "tcp", port: 22, net: "198.18.0.0/24" }],
      what,
    );
    assert.equal(formatParam("FailsafeInboundHostPorts", r.config!), text, what);
  }
});

Deno.test("a bad net stops the agent with one line naming the parameter and source", () => {
  const r = resolveConfig(configInputs({
    env: { FELIX_FAILSAFEOUTBOUNDHOSTPORTS: "tcp:[2001:db8::/129]:2379" },
  }));
  assert.equal(r.config, undefined);
  assert.equal(
    r.fatal,
    "Invalid value for FailsafeOutboundHostPorts from environment variable " +
      'FELIX_FAILSAFEOUTBOUNDHOSTPORTS: "tcp:[2001:db8::/129]:2379": net "2001:db8::/129" in ' +
      '"tcp:[2001:db8::/129]:2379" is not a CIDR or IP address (expected <protocol>:<net>:<port>, ' +
      "<protocol>:<port> or <port>)",
  );
  assert.ok(!r.fatal?.includes("\n"));
});
