/** `hostfence agent` command-line flags (src/cmd/agent_args.ts, on the CLI's one parser) and the generated help. */
import assert from "node:assert/strict";
import { configInputs } from "../fixtures/config_inputs.ts";
import { AgentArgsError, agentHelpText, parseAgentArgs } from "../../src/cmd/agent_args.ts";
import { kebabName, PARAM_LIST } from "../../src/config/params.ts";
import { resolveConfig } from "../../src/config/resolve.ts";

Deno.test("flags take --name=VALUE and --name VALUE and map to canonical names", () => {
  const a = parseAgentArgs([
    "--felix-hostname=h1",
    "--failsafe-inbound-host-ports",
    "tcp:22,udp:68",
    "--etcd-endpoints=http://127.0.0.1:2379",
    "--log-file-path",
    "none",
    "--interface-prefix=cali,tap",
    "--log-prefix=a=b",
  ]);
  assert.deepEqual([...a.flags], [
    ["FelixHostname", "h1"],
    ["FailsafeInboundHostPorts", "tcp:22,udp:68"],
    ["EtcdEndpoints", "http://127.0.0.1:2379"],
    ["LogFilePath", "none"],
    ["InterfacePrefix", "cali,tap"],
    ["LogPrefix", "a=b"],
  ]);
  assert.equal(a.cleanup, false);
  assert.equal(a.help, false);
  assert.equal(a.configFile, undefined);
});

Deno.test("every parameter is accepted as its kebab-case flag", () => {
  for (const p of PARAM_LIST) {
    const a = parseAgentArgs([`--${kebabName(p.name)}=x`]);
    assert.equal(a.flags.get(p.name), "x", p.name);
  }
});

Deno.test("flag names also match case-insensitively without dashes; aliases work", () => {
  const a = parseAgentArgs(["--FelixHostname=h2", "--iptables-refresh-interval=5"]);
  assert.equal(a.flags.get("FelixHostname"), "h2");
  assert.equal(a.flags.get("NftablesRefreshInterval"), "5");
});

Deno.test("ignored iptables parameters are accepted as flags", () => {
  const a = parseAgentArgs(["--iptables-lock-file-path=/run/xtables.lock"]);
  assert.equal(a.flags.get("IptablesLockFilePath"), "/run/xtables.lock");
  const r = resolveConfig(configInputs({ flags: a.flags }));
  assert.deepEqual(r.warnings, []);
});

Deno.test("boolean flags without a value mean true", () => {
  const a = parseAgentArgs([
    "--health-enabled",
    "--ipv6-support",
    "false",
    "--prometheus-metrics-enabled",
  ]);
  assert.equal(a.flags.get("HealthEnabled"), "true");
  assert.equal(a.flags.get("Ipv6Support"), "false");
  assert.equal(a.flags.get("PrometheusMetricsEnabled"), "true");
});

Deno.test("config file, cleanup and help", () => {
  assert.equal(parseAgentArgs(["-c", "/tmp/f.cfg"]).configFile, "/tmp/f.cfg");
  assert.equal(parseAgentArgs(["--config-file=/tmp/g.cfg"]).configFile, "/tmp/g.cfg");
  assert.equal(parseAgentArgs(["--config-file", "/tmp/h.cfg"]).configFile, "/tmp/h.cfg");
  assert.equal(parseAgentArgs(["--cleanup"]).cleanup, true);
  assert.equal(parseAgentArgs(["-h"]).help, true);
  assert.equal(parseAgentArgs(["--help"]).help, true);
});

Deno.test("bad command lines give clear errors", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "unknown flag",
      ["--no-such-flag=1"],
      /^Unknown flag "--no-such-flag" \(see hostfence agent --help\)$/,
    ],
    ["missing value", ["--felix-hostname"], /^Flag --felix-hostname needs a value$/],
    ["positional argument", ["extra"], /^Unexpected argument "extra"/],
    ["single-dash flag", ["-x"], /^Unexpected argument "-x"/],
    ["empty config file", ["--config-file="], /^Flag --config-file needs a value$/],
  ];
  for (const [name, args, re] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseAgentArgs(args), (e: unknown) => {
        assert.ok(e instanceof AgentArgsError);
        assert.match(e.message, re);
        return true;
      });
    });
  }
});

Deno.test("a bad failsafe flag gives the one-line fatal message (O10)", () => {
  const a = parseAgentArgs(["--failsafe-inbound-host-ports=foo:1"]);
  const r = resolveConfig(configInputs({ flags: a.flags }));
  assert.equal(
    r.fatal,
    'Invalid value for FailsafeInboundHostPorts from command line: "foo:1": ' +
      'unknown protocol "foo" in "foo:1" (expected tcp or udp)',
  );
});

Deno.test("help lists every flag, its env variable and default, within 100 columns", () => {
  const help = agentHelpText();
  for (const p of PARAM_LIST) {
    assert.ok(help.includes(`--${kebabName(p.name)}=`), p.name);
    assert.ok(help.includes(`FELIX_${p.name.toUpperCase()}`), p.name);
  }
  assert.ok(help.includes("--config-file"));
  assert.ok(help.includes("--cleanup"));
  assert.ok(help.includes("Default: tcp:22,udp:68."));
  assert.ok(help.includes("IptablesLockFilePath"));
  for (const line of help.split("\n")) assert.ok(line.length <= 100, line);
});
