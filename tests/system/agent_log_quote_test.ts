/**
 * Hostile values in etcd reach the agent's log short and escaped: a policy whose selector is
 * 100,000 characters long and holds terminal escape bytes is skipped with one WARNING line of
 * a few hundred characters, on screen and in the log file, and the agent keeps enforcing.
 */
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, hep0, openSite, policy } from "../harness/scenario.ts";

const KEY = "/calico/v1/policy/tier/default/policy/huge";

Deno.test({
  name: "a 100k-character selector with escape bytes gives one short, escaped WARNING line",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    await site.apply(
      hep0(),
      policy("p", {
        ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }],
      }),
    );
    const from = site.agent.mark();
    const selector = "role == '\u001b[2J\u0000" + "x".repeat(100_000) + "' &&";
    await site.ds.put(
      KEY,
      JSON.stringify({ selector, order: 1, inbound_rules: [], outbound_rules: [] }),
    );
    const line = await site.agent.waitForLog(/Validation failed for policy .*huge/, 30_000, from);
    assert(line.length < 2000, `WARNING line is ${line.length} characters`);
    assert(/\[WARNING\]/.test(line), line);
    assert(/\(100\d{3} characters\)/.test(line), `says the full length: ${line.slice(0, 400)}`);
    assert(![...line].some((c) => c < " "), "no control characters on the line");
    assert(line.includes("\\u001b[2J"), "the escape byte is shown escaped");

    const file = (await site.agent.logFileText()).split("\n").filter((l) => l.includes("huge"));
    assert(file.length > 0 && file.every((l) => l.length < 2000), "log file lines are short");

    await site.sync();
    await expectAll([
      ["R -> h1 tcp/80 still allowed", site.probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
      ["R -> h1 tcp/81 still dropped", site.probe.r.tcp(ADDR.h1Eth0, 81), "drop"],
    ]);
  },
});
