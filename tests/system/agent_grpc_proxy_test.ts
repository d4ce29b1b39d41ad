/**
 * Many hosts (issue 10): agents reach etcd through `etcd grpc-proxy`, which coalesces their
 * identical watches into one. Several agents behind one proxy must enforce exactly what an
 * agent connected directly enforces: the same nftables table, the same verdicts on real
 * packets, and changes landing on every host. The proxy serves no JSON gateway, so these
 * agents use the grpc transport (EtcdTransport=grpc).
 */
import { assert, assertStrictEquals } from "../harness/assert.ts";
import { Agent } from "../../netlab/agent.ts";
import { startGrpcProxy } from "../../netlab/etcd.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import {
  AGENT_TESTS_IGNORED,
  allowPorts,
  hep,
  hep0,
  openSite,
  toYaml,
} from "../harness/scenario.ts";
import type { NetNs } from "../../netlab/netns.ts";

/**
 * Our table as nft lists it, without counters and handles, its chains, sets and maps in name
 * order (nft lists them in creation order, which differs between a first full programming and
 * later incremental changes).
 */
async function table(ns: NetNs): Promise<string> {
  const r = await ns.exec(["nft", "list", "table", "inet", "hostfence"]);
  const text = r.stdout.replace(/counter packets \d+ bytes \d+/g, "counter")
    .replace(/ # handle \d+/g, "");
  const body = text.slice(text.indexOf("{\n") + 2, text.lastIndexOf("}"));
  return body.split(/\n\s*\n/).map((b) => b.trim()).sort().join("\n\n");
}

Deno.test({
  name: "agents behind one etcd grpc-proxy enforce the same as an agent connected directly",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite({ topology: { h2: true } });
    const { probe, ds, topo } = site;
    const hepH2 = hep("hep-h2", {
      node: "h2",
      iface: "eth0",
      labels: { "host-endpoint": "true" },
    });
    await site.apply(hep0(), hepH2, allowPorts(80));
    const direct = await table(topo.h1);

    await using proxy = await startGrpcProxy({
      netns: topo.e.name,
      endpoints: [topo.etcdEndpoint],
      host: ADDR.etcd,
      port: 23790,
    });
    // etcd grpc-proxy serves gRPC only, no JSON gateway: the default (http) client says so
    // in one line, and agents behind the proxy use the grpc transport.
    const cli = await ds.cli(["get", "policy", "--etcd-endpoints", proxy.endpoint]);
    assertStrictEquals(cli.code, 1, cli.stdout);
    assert(/serves no etcd JSON gateway.*ETCD_TRANSPORT=grpc/.test(cli.stderr), cli.stderr);
    const viaProxy = { "etcd-endpoints": proxy.endpoint, "etcd-transport": "grpc" };
    const a1 = await site.restartAgent(viaProxy);
    await using a2 = await Agent.start({
      ns: topo.h2!,
      hostname: "h2",
      etcdEndpoint: proxy.endpoint,
      flags: { "etcd-transport": "grpc" },
    });
    await a2.waitForRevision(await ds.fence(), 30_000);
    assert(a1.hasLogged(new RegExp(`Connecting to etcd at ${proxy.endpoint}`)), a1.tail());
    const proxied = await table(topo.h1);
    assertStrictEquals(proxied, direct, "h1's table through the proxy vs direct");

    const h1 = ADDR.h1Eth0;
    const h2 = ADDR.h2Eth0;
    await expectAll([
      ["R -> h1 tcp/80 (proxy)", probe.r.tcp(h1, 80), "allow"],
      ["R -> h1 tcp/81 (proxy)", probe.r.tcp(h1, 81), "drop"],
      ["R -> h2 tcp/80 (proxy)", probe.r.tcp(h2, 80), "allow"],
      ["R -> h2 tcp/81 (proxy)", probe.r.tcp(h2, 81), "drop"],
    ]);

    // A change written directly to etcd reaches every agent behind the proxy.
    await ds.write("apply", toYaml([allowPorts(80, 81)]));
    const rev = await ds.fence();
    await Promise.all([a1.waitForRevision(rev, 30_000), a2.waitForRevision(rev, 30_000)]);
    await expectAll([
      ["R -> h1 tcp/81 after the change", probe.r.tcp(h1, 81), "allow"],
      ["R -> h2 tcp/81 after the change", probe.r.tcp(h2, 81), "allow"],
      ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "drop"],
      ["R -> h2 tcp/443", probe.r.tcp(h2, 443), "drop"],
    ]);
    // The proxy holds the agents' watches: none broke (a break costs a full resync).
    assert(!a1.hasLogged(/Lost watch|cancelled the watch/), a1.tail());
    assert(!a2.hasLogged(/Lost watch|cancelled the watch/), a2.tail());
    await a2.stop();
  },
});
