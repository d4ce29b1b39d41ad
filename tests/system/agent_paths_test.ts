/**
 * Packet paths beyond the oracle rows, with real packets: forwarding between two
 * host endpoints, forwarding to a workload (bypasses host policy), a selector that resolves
 * to another host's expectedIPs, live policy edits under an established flow, and IPv6
 * neighbour discovery on a protected interface (HostEndpointAllowNDP).
 */
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import {
  AGENT_TESTS_IGNORED,
  hep,
  hep0,
  openSite,
  policy,
  workloadW,
} from "../harness/scenario.ts";

const tcp80 = { action: "allow", protocol: "tcp", destination: { ports: [80] } };

Deno.test({
  name: "agent packet paths: forwarding, workload bypass, remote selectors, live edits, NDP",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({ topology: { h2: true } });
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;

    await t.step("forwarded eth0 -> eth1 needs eth0 ingress and eth1 egress", async () => {
      await site.reset();
      const in0 = policy("in0", {
        selector: "role == 'web'",
        types: ["ingress"],
        ingress: [tcp80],
      });
      const out1 = policy("out1", { selector: "has(hep1)", types: ["egress"], egress: [tcp80] });
      await site.apply(hep0(), hep("hep1", { iface: "eth1", labels: { hep1: "true" } }), in0, out1);
      await expectAll([
        ["R -> R2 tcp/80", probe.r.tcp(ADDR.r2, 80), "allow"],
        ["R -> R2 v6 tcp/80", probe.r.tcp(ADDR.r2v6, 80), "allow"],
        ["R -> R2 tcp/81", probe.r.tcp(ADDR.r2, 81), "drop"],
        ["R -> R2 tcp/22 (failsafe-in of eth0 is terminal)", probe.r.tcp(ADDR.r2, 22), "allow"],
        ["R2 -> R tcp/80 (eth1 ingress has no policy)", probe.r2.tcp(ADDR.r, 80), "drop"],
        ["R -> h1 tcp/81 (eth0 ingress)", probe.r.tcp(h1, 81), "drop"],
      ]);
      await ds.deleteResource("policy", "out1");
      await expectAll([["R -> R2 tcp/80 without eth1 egress", probe.r.tcp(ADDR.r2, 80), "drop"]]);
      await site.apply(out1);
      await ds.deleteResource("policy", "in0");
      await expectAll([["R -> R2 tcp/80 without eth0 ingress", probe.r.tcp(ADDR.r2, 80), "drop"]]);
    });

    await t.step("forwarded only one side a HEP: only that side applies", async () => {
      await site.reset();
      await site.apply(hep0(), policy("in0", { selector: "role == 'web'", ingress: [tcp80] }));
      await expectAll([
        ["R -> R2 tcp/80 (eth1 not a HEP)", probe.r.tcp(ADDR.r2, 80), "allow"],
        ["R -> R2 tcp/81", probe.r.tcp(ADDR.r2, 81), "drop"],
      ]);
    });

    await t.step("forwarded traffic to a workload bypasses host endpoint policy", async () => {
      await site.reset();
      await site.apply(...workloadW(), hep0());
      await expectAll([
        ["R -> W tcp/80 (forwarded to cali1)", probe.r.tcp(ADDR.w, 80), "allow"],
        ["R -> W v6 tcp/80", probe.r.tcp(ADDR.w6, 80), "allow"],
        ["R -> h1 tcp/80 (host, default drop)", probe.r.tcp(h1, 80), "drop"],
      ]);
    });

    await t.step("a source selector resolves to another host's expectedIPs", async () => {
      await site.reset();
      const peer = hep("hep-h2", {
        node: "h2",
        ips: [ADDR.h2Eth0, ADDR.h2Eth0v6],
        labels: { role: "peer" },
      });
      const fromPeers = policy("from-peers", {
        selector: "role == 'web'",
        ingress: [{ ...tcp80, source: { selector: "role == 'peer'" } }],
      });
      await site.apply(hep0(), peer, fromPeers);
      await expectAll([
        ["h2 -> h1 tcp/80", probe.h2!.tcp(h1, 80), "allow"],
        ["h2 -> h1 v6 tcp/80", probe.h2!.tcp(ADDR.h1Eth0v6, 80), "allow"],
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
      ]);
      await site.apply(hep("hep-h2", { node: "h2", ips: [ADDR.h2Eth0], labels: { role: "x" } }));
      await expectAll([["h2 -> h1 tcp/80 after relabel", probe.h2!.tcp(h1, 80), "drop"]]);
      // Without expectedIPs the remote endpoint contributes no address.
      await site.apply(hep("hep-h2", { node: "h2", iface: "eth0", labels: { role: "peer" } }));
      await expectAll([["h2 -> h1 tcp/80, peer by name only", probe.h2!.tcp(h1, 80), "drop"]]);
    });

    await t.step(
      "a policy edit applies to the next connection; an open flow survives",
      async () => {
        await site.reset();
        const allow8080 = policy("p", {
          ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [8080] } }],
        });
        await site.apply(hep0(), allow8080);
        await using conn = await probe.r.openTcp(h1, 8080);
        await expectAll([["exchange on the open flow", conn.exchange("before"), "allow"]]);
        await site.apply(policy("p", { ingress: [tcp80] }));
        await expectAll([
          ["new R -> h1 tcp/8080 after the edit", probe.r.tcp(h1, 8080), "drop"],
          ["new R -> h1 tcp/80 after the edit", probe.r.tcp(h1, 80), "allow"],
          ["exchange on the open flow after the edit", conn.exchange("after"), "allow"],
        ]);
      },
    );

    await t.step("IPv6 neighbour discovery works on a protected interface by default", async () => {
      await site.reset();
      const echoOnly = policy("echo6", {
        ingress: [{ action: "allow", protocol: "icmpv6", icmp: { type: 128 } }],
      });
      await site.apply(hep0(), echoOnly);
      await site.topo.h1.flushNeighbours();
      await site.topo.r.flushNeighbours();
      await expectAll([[
        "R -> h1 ping6 (NDP allowed)",
        probe.r.ping(ADDR.h1Eth0v6, 2000),
        "allow",
      ]]);
    });

    await t.step("with HostEndpointAllowNDP=false neighbour resolution breaks", async () => {
      await site.restartAgent({ "host-endpoint-allow-ndp": "false" });
      await site.topo.h1.flushNeighbours();
      await site.topo.r.flushNeighbours();
      await expectAll([["R -> h1 ping6 (NDP dropped)", probe.r.ping(ADDR.h1Eth0v6, 2000), "drop"]]);
      await site.restartAgent();
    });
  },
});
