/**
 * Proves the system-test harness itself, without the agent: the topology routes, the probes
 * tell ALLOW, DROP and a closed port (RST) apart with real packets, and a hand-written nft
 * rule inside a namespace is seen as a DROP. If these fail, agent tests mean nothing.
 */
import { canUseNetns, haveCommand, listOurNetns } from "../../netlab/netns.ts";
import { expectVerdict, type ProbeResult } from "../../netlab/probe.ts";
import { ADDR, buildTopology } from "../harness/topology.ts";
import { haveEtcd } from "../../netlab/etcd.ts";

const ignore = !canUseNetns() || !haveCommand("nft") || !haveEtcd() || !haveCommand("python3");

Deno.test({
  name: "the harness network routes, probes tell allow/drop/refused apart, and cleans up",
  ignore,
  async fn(t) {
    let group = "";
    {
      await using topo = await buildTopology({ h2: true });
      group = topo.group;
      const { probe } = topo;

      await t.step("every link answers TCP, UDP and ping over IPv4 and IPv6", async () => {
        const checks: Array<[string, Promise<ProbeResult>]> = [
          ["R -> h1 eth0 tcp/80", probe.r.tcp(ADDR.h1Eth0, 80)],
          ["R -> h1 eth0 v6 tcp/80", probe.r.tcp(ADDR.h1Eth0v6, 80)],
          ["R -> h1 udp/9091", probe.r.udp(ADDR.h1Eth0, 9091)],
          ["R -> h1 v6 udp/9091", probe.r.udp(ADDR.h1Eth0v6, 9091)],
          ["R -> h1 ping", probe.r.ping(ADDR.h1Eth0)],
          ["R -> h1 ping6", probe.r.ping(ADDR.h1Eth0v6)],
          ["R -> h1 icmp timestamp", probe.r.icmp(ADDR.h1Eth0, 13)],
          ["R2 -> h1 eth1 tcp/80", probe.r2.tcp(ADDR.h1Eth1, 80)],
          ["W -> h1 cali1 tcp/80", probe.w.tcp(ADDR.h1Cali, 80)],
          ["h1 -> etcd tcp/2379", probe.h1.tcp(ADDR.etcd, 2379, { send: null })],
          ["E -> h1 mgmt tcp/22", probe.e.tcp(ADDR.h1Mgmt, 22)],
          ["h2 -> h1 eth0 tcp/80", probe.h2!.tcp(ADDR.h1Eth0, 80)],
          [
            "R (outside source) -> h1 tcp/80",
            probe.r.tcp(ADDR.h1Eth0, 80, { source: ADDR.rOutside }),
          ],
          ["R -> R2 forwarded tcp/80", probe.r.tcp(ADDR.r2, 80)],
          ["R -> R2 forwarded v6 tcp/80", probe.r.tcp(ADDR.r2v6, 80)],
          ["R -> W forwarded tcp/80", probe.r.tcp(ADDR.w, 80)],
          ["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80)],
          ["h1 -> R udp/53", probe.h1.udp(ADDR.r, 53)],
          ["h1 -> R from sport 998 tcp/80", probe.h1.tcp(ADDR.r, 80, { sourcePort: 998 })],
          ["h1 -> R udp from sport 998", probe.h1.udp(ADDR.r, 53, { sourcePort: 998 })],
        ];
        const results = await Promise.all(checks.map(([, p]) => p));
        checks.forEach(([label], i) => expectVerdict(label, results[i]!, "allow"));
      });

      await t.step("a closed TCP port is REFUSED (RST), not ALLOW and not DROP", async () => {
        expectVerdict("R -> h1 tcp/12345", await topo.probe.r.tcp(ADDR.h1Eth0, 12345), "refused");
        expectVerdict("R -> h1 v6 tcp/12345", await probe.r.tcp(ADDR.h1Eth0v6, 12345), "refused");
      });

      await t.step("an nft drop rule in h1 is seen as DROP; others stay ALLOW", async () => {
        await topo.h1.nft(`table inet hft_selftest {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    iifname "eth0" tcp dport 81 drop
    iifname "eth0" udp dport 9091 drop
    iifname "eth0" icmp type echo-request drop
    iifname "eth0" icmpv6 type echo-request drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "eth0" oifname "eth1" tcp dport 81 drop
  }
}
`);
        const [t81, t80, u, p4, p6, f81, f80] = await Promise.all([
          probe.r.tcp(ADDR.h1Eth0, 81),
          probe.r.tcp(ADDR.h1Eth0, 80),
          probe.r.udp(ADDR.h1Eth0, 9091),
          probe.r.ping(ADDR.h1Eth0),
          probe.r.ping(ADDR.h1Eth0v6),
          probe.r.tcp(ADDR.r2, 81),
          probe.r.tcp(ADDR.r2, 80),
        ]);
        expectVerdict("R -> h1 tcp/81", t81!, "drop");
        expectVerdict("R -> h1 tcp/80", t80!, "allow");
        expectVerdict("R -> h1 udp/9091", u!, "drop");
        expectVerdict("R -> h1 ping", p4!, "drop");
        expectVerdict("R -> h1 ping6", p6!, "drop");
        expectVerdict("R -> R2 tcp/81 forwarded", f81!, "drop");
        expectVerdict("R -> R2 tcp/80 forwarded", f80!, "allow");
      });

      await t.step("a kept TCP connection survives a new-connection drop rule", async () => {
        await using conn = await probe.r.openTcp(ADDR.h1Eth0, 8080);
        expectVerdict("exchange before", await conn.exchange("one"), "allow");
        await topo.h1.nft(`add rule inet hft_selftest input tcp dport 8080 ct state new drop\n`);
        expectVerdict("new connection", await probe.r.tcp(ADDR.h1Eth0, 8080), "drop");
        expectVerdict("exchange after", await conn.exchange("two"), "allow");
        await topo.h1.nft(`insert rule inet hft_selftest input tcp dport 8080 drop\n`);
        expectVerdict("exchange after full drop", await conn.exchange("three", 700), "drop");
      });

      await t.step("IPv6 neighbour discovery can be blocked, and then ping6 fails", async () => {
        await topo.h1.nft(`delete table inet hft_selftest
table inet hft_selftest {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "eth0" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "eth0" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } drop
  }
}
`);
        await topo.h1.flushNeighbours();
        await topo.r.flushNeighbours();
        expectVerdict("R -> h1 ping6 without NDP", await probe.r.ping(ADDR.h1Eth0v6), "drop");
        await topo.h1.nft(`delete table inet hft_selftest\n`);
        expectVerdict("R -> h1 ping6 with NDP", await probe.r.ping(ADDR.h1Eth0v6, 2000), "allow");
      });

      await t.step("etcd in E answers from h1 (where the agent runs)", async () => {
        const r = await topo.h1.exec([
          "etcdctl",
          `--endpoints=${topo.etcdEndpoint}`,
          "put",
          "/x",
          "y",
        ], {
          env: { ETCDCTL_API: "3" },
        });
        if (!r.stdout.includes("OK")) throw new Error(`etcdctl put: ${r.stdout}`);
      });
    }
    const left = (await listOurNetns()).filter((n) => n.includes(group));
    if (left.length > 0) throw new Error(`Namespaces left behind: ${left.join(", ")}`);
  },
});
