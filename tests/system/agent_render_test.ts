/**
 * `hostfence render --node h1` is the agent's own code path: from the same etcd it prints
 * exactly the ruleset the running agent programmed, and nft accepts it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AGENT_TESTS_IGNORED, hep0, openSite, policy } from "../harness/scenario.ts";
import { ADDR } from "../harness/topology.ts";

/**
 * `nft list table` output without counter values (they move with traffic), as its sorted
 * blocks: incremental updates append chains, so listing order depends on history.
 */
function normalise(listing: string): string[] {
  const lines = listing.replace(/counter packets \d+ bytes \d+/g, "counter").trim().split("\n");
  return lines.slice(1, -1).join("\n").split(/\n\s*\n/).map((b) => b.trim()).sort();
}

Deno.test({
  name: "render prints the ruleset the agent programs, without touching any firewall",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    await site.apply(
      hep0(),
      policy("web", {
        ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }],
      }),
    );
    const ifaces = (await site.topo.h1.exec(["ip", "-j", "addr", "show"])).stdout;
    const specs = (JSON.parse(ifaces) as { ifname: string; addr_info: { local: string }[] }[])
      .map((i) => `--interface=${i.ifname}=${i.addr_info.map((a) => a.local).join(",")}`)
      .map((s) => s.endsWith("=") ? s.slice(0, -1) : s);
    const r = await site.ds.cli(["render", "--node", "h1", ...specs]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.startsWith("add table inet hostfence"), r.stdout.slice(0, 200));
    assert(r.stdout.includes("fh-eth0"), "eth0's ingress chain is rendered");
    assert(r.stdout.includes(ADDR.h1Eth0) === false, "no address leaks into rules it is not in");

    // The etcd namespace has no hostfence table: render touched nothing there.
    const etcdRules = await site.ds.ns.exec(["nft", "list", "ruleset"]);
    assert(!etcdRules.stdout.includes("hostfence"), "render programmed nothing");

    // Loading the rendered text into a scratch namespace gives the agent's own table.
    const programmed = await site.topo.h1.exec(["nft", "list", "table", "inet", "hostfence"]);
    const scratch = site.topo.w; // a namespace without a hostfence table
    await scratch.exec(["nft", "-f", "-"], { stdin: r.stdout });
    try {
      const loaded = await scratch.exec(["nft", "list", "table", "inet", "hostfence"]);
      assertEquals(normalise(loaded.stdout), normalise(programmed.stdout));
    } finally {
      await scratch.exec(["nft", "delete", "table", "inet", "hostfence"], { allowFail: true });
    }

    // An unknown node renders an empty policy (no interfaces), not an error.
    const other = await site.ds.cli(["render", "--node", "nobody"]);
    assertEquals(other.code, 0, other.stderr);
    assert(!other.stdout.includes("fh-"), "no endpoint chains for a node without endpoints");
  },
});
