/**
 * Datastore size never matters (issue 10 item 2): a snapshot larger than gRPC's 4 MiB receive
 * limit syncs in pages, and a single value over the limit is skipped with a warning naming
 * its key and size while everything else keeps syncing, in the snapshot and in the watch.
 */
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, allowPorts, hep0, openSite } from "../harness/scenario.ts";

const POLICY_PREFIX = "/calico/v1/policy/tier/default/policy/";

/** `n` valid policies of about 5 KB each that select nothing here, as etcd writer lines. */
function bulkPolicies(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const value = JSON.stringify({
      order: 1000 + i,
      selector: `has(bulk-${i})`,
      annotations: { padding: "x".repeat(5000) },
      inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [8000 + (i % 1000)] }],
      types: ["ingress"],
    });
    lines.push(
      JSON.stringify({ key: `${POLICY_PREFIX}bulk-${String(i).padStart(4, "0")}`, value }),
    );
  }
  return lines.join("\n") + "\n";
}

Deno.test({
  name: "900 policies of 5 KB (over 4 MiB in all): a restarted agent syncs and `get` works",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    await ds.bulk(["puts"], bulkPolicies(900));
    await site.apply(allowPorts(80, 81));
    const agent = await site.restartAgent();
    assert(!agent.hasLogged(/Cannot connect|larger than max/), `Agent said:\n${agent.tail()}`);
    await expectAll([
      ["R -> h1 tcp/81 after restart", probe.r.tcp(h1, 81), "allow"],
      ["R -> h1 tcp/8001 (bulk policies select nothing here)", probe.r.tcp(h1, 8080), "drop"],
    ]);
    const get = await ds.cli(["get", "policy"]);
    assert(get.code === 0, `get policy failed:\n${get.stderr}`);
    const rows = get.stdout.split("\n").filter((l) => /^bulk-\d{4}\b/.test(l));
    assert(rows.length === 900, `get policy listed ${rows.length} bulk policies, not 900`);
  },
});

Deno.test({
  name: "one value over gRPC's limit is skipped with a warning; everything else keeps syncing",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite({
      topology: { etcdArgs: ["--max-request-bytes=10485760"] },
    });
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    const hugeKey = `${POLICY_PREFIX}huge`;
    const skipped = new RegExp(`Skipping etcd key ${hugeKey}: its value is 5\\.0 MiB`);

    // Watch: the huge value arrives as an event, then a later change must still land.
    let from = site.agent.mark();
    await ds.bulk(["repeat", hugeKey, "1", String(5 * 1024 * 1024)]);
    await site.apply(allowPorts(80, 81));
    await site.agent.waitForLog(skipped, 15_000, from);
    await expectAll([["R -> h1 tcp/81 (watch)", probe.r.tcp(h1, 81), "allow"]]);
    assert(!site.agent.hasLogged(/Cannot connect/, from), `Agent said:\n${site.agent.tail()}`);

    // Snapshot: a restarted agent syncs everything but the huge key.
    await site.apply(allowPorts(80, 81, 443));
    const agent = await site.restartAgent();
    from = 0;
    assert(agent.hasLogged(skipped, from), `No skip warning after restart:\n${agent.tail()}`);
    assert(!agent.hasLogged(/Cannot connect/), `Agent said:\n${agent.tail()}`);
    await expectAll([["R -> h1 tcp/443 (snapshot)", probe.r.tcp(h1, 443), "allow"]]);

    // The CLI lists the rest and names the key it skipped.
    const get = await ds.cli(["get", "policy"]);
    assert(get.code === 0, `get policy failed:\n${get.stderr}`);
    assert(/^p\b/m.test(get.stdout), `get policy lost 'p':\n${get.stdout}`);
    assert(skipped.test(get.stderr), `get policy did not name the skipped key:\n${get.stderr}`);
    assert(!/Cannot connect|RESOURCE_EXHAUSTED/.test(get.stderr), get.stderr);
  },
});
