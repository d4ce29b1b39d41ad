/**
 * The oracle rows O1-O30 and O61 with real packets, each step named by its row with the
 * expected verdicts beside its probes: one site (h1 running the agent, R on eth0, R2 on eth1,
 * W on cali1), one step per row, etcd reset between steps. The rows were first written for
 * setup S0 with other addresses, mapped here: 10.0.0.1 -> 198.18.1.1 (h1 eth0), 10.0.0.2 ->
 * 198.18.1.2 (R), fd00::1/2 -> 2001:db8:1::1/2, 192.168.1.x -> 198.18.2.x (eth1, R2), and
 * "another source routed via eth0" -> 198.18.9.2 (R's second address).
 */
import { assert, assertMatch } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";
import {
  AGENT_TESTS_IGNORED,
  hep,
  hep0,
  openSite,
  policy,
  profile,
  type Site,
  workloadW,
} from "../harness/scenario.ts";

const allowAll = profile("allow-all", {
  ingress: [{ action: "allow" }],
  egress: [{ action: "allow" }],
});
const tcpDst = (ports: unknown[], action = "allow") => ({
  action,
  protocol: "tcp",
  destination: { ports },
});

/**
 * Each row runs twice: as the agent programs by default, and with NftablesCompileMinRun=1, so
 * that every run of plain allow or deny policies is a compiled set lookup; both must give the
 * same packets.
 */
for (
  const [mode, flags] of [
    ["", {}],
    [" (every run compiled)", { "nftables-compile-min-run": "1" }],
  ] as const
) {
  Deno.test({
    name: `agent oracle rows O1-O30 and O61 hold with real packets${mode}`,
    ignore: AGENT_TESTS_IGNORED,
    async fn(t) {
      await using site = await openSite({ flags });
      const { probe } = site;
      const h1 = ADDR.h1Eth0, h1v6 = ADDR.h1Eth0v6;
      const step = (name: string, fn: (s: Site) => Promise<void>) =>
        t.step(name, async () => {
          await site.reset();
          await fn(site);
        });

      await step("O1 no host endpoints, no policy: R -> h1 tcp/9091 is left alone", async () => {
        await expectAll([
          ["R -> h1 tcp/9091", probe.r.tcp(h1, 9091), "allow"],
          ["R -> h1 v6 tcp/9091", probe.r.tcp(h1v6, 9091), "allow"],
        ]);
      });

      await step("O2 only a workload endpoint: host traffic is unaffected", async (s) => {
        await s.apply(...workloadW());
        await expectAll([["R -> h1 tcp/9091", probe.r.tcp(h1, 9091), "allow"]]);
      });

      await step("O3 HEP0 without policy or profile drops R -> h1 tcp/9091", async (s) => {
        await s.apply(hep0());
        await expectAll([
          ["R -> h1 tcp/9091", probe.r.tcp(h1, 9091), "drop"],
          ["R -> h1 v6 tcp/9091", probe.r.tcp(h1v6, 9091), "drop"],
          ["R -> h1 udp/9091", probe.r.udp(h1, 9091), "drop"],
          ["R -> h1 ping", probe.r.ping(h1), "drop"],
        ]);
      });

      await step("O4/O5 default inbound failsafes: tcp/22 and udp/68 pass HEP0", async (s) => {
        await s.apply(hep0());
        await expectAll([
          ["R -> h1 tcp/22", probe.r.tcp(h1, 22), "allow"],
          ["R -> h1 v6 tcp/22", probe.r.tcp(h1v6, 22), "allow"],
          ["R -> h1 udp/68", probe.r.udp(h1, 68), "allow"],
        ]);
      });

      await step(
        "O6/O7 default outbound failsafes: etcd and DNS out, tcp/80 out dropped",
        async (s) => {
          await s.apply(hep0());
          await expectAll([
            ["h1 -> R tcp/2379 (and its reply)", probe.h1.tcp(ADDR.r, 2379), "allow"],
            ["h1 -> R v6 tcp/2379", probe.h1.tcp(ADDR.r6, 2379), "allow"],
            ["h1 -> R udp/53", probe.h1.udp(ADDR.r, 53), "allow"],
            ["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80), "drop"],
          ]);
        },
      );

      await step("O8 FailsafeInboundHostPorts=none: tcp/22 is dropped", async (s) => {
        await s.apply(hep0());
        await s.restartAgent({ "failsafe-inbound-host-ports": "none" });
        await expectAll([
          ["R -> h1 tcp/22", probe.r.tcp(h1, 22), "drop"],
          ["R -> h1 udp/68", probe.r.udp(h1, 68), "drop"],
        ]);
      });

      await step(
        "O9 FailsafeInboundHostPorts=2222: bare port means tcp, defaults gone",
        async (s) => {
          await s.apply(hep0());
          await s.restartAgent({ "failsafe-inbound-host-ports": "2222" });
          await expectAll([
            ["R -> h1 tcp/2222", probe.r.tcp(h1, 2222), "allow"],
            ["R -> h1 tcp/22", probe.r.tcp(h1, 22), "drop"],
            ["R -> h1 udp/68", probe.r.udp(h1, 68), "drop"],
          ]);
        },
      );

      await step(
        "O10 FailsafeInboundHostPorts=foo:1: refused with one line, no rules change",
        async (s) => {
          // hostfence decision: a bad die-on-fail value given locally stops the agent at once
          // (systemd restarts it) rather than retrying in-process; the programmed rules stay.
          await s.apply(hep0());
          const before = await s.topo.h1.nftRuleset();
          const bad = await s.topo.h1.exec([
            HOSTFENCE,
            "agent",
            "--felix-hostname=h1",
            `--etcd-endpoints=${s.topo.etcdEndpoint}`,
            "--log-file-path=none",
            "--failsafe-inbound-host-ports=foo:1",
          ], { allowFail: true });
          assert(bad.code === 1, `Agent with a bad config exited ${bad.code}, not 1`);
          const lines = bad.stderr.trim().split("\n");
          assert(lines.length === 1, `Expected one line, got:\n${bad.stderr}`);
          assert(
            /FailsafeInboundHostPorts/.test(lines[0]!) && /command line/.test(lines[0]!) &&
              /foo:1/.test(lines[0]!),
            `The line names the parameter, its source and the value: ${lines[0]}`,
          );
          assert(
            (await s.topo.h1.nftRuleset()) === before,
            "nft ruleset changed under a bad config",
          );
          await expectAll([
            ["R -> h1 tcp/9091 (HEP0 still enforced)", probe.r.tcp(h1, 9091), "drop"],
          ]);
        },
      );

      await step("O11 pre-DNAT allow skips the normal default drop", async (s) => {
        await s.apply(
          hep0(),
          policy("pdnat", {
            selector: "host-endpoint == 'true'",
            preDNAT: true,
            ingress: [tcpDst([9091])],
          }),
        );
        await expectAll([
          ["R -> h1 tcp/9091", probe.r.tcp(h1, 9091), "allow"],
          ["R -> h1 tcp/80 (not pre-DNAT allowed)", probe.r.tcp(h1, 80), "drop"],
        ]);
      });

      await step("O12 eth1 has no HEP: R2 -> h1 eth1 tcp/9091 is left alone", async (s) => {
        await s.apply(hep0());
        await expectAll([
          ["R2 -> h1 eth1 tcp/9091", probe.r2.tcp(ADDR.h1Eth1, 9091), "allow"],
          ["R -> h1 eth0 tcp/9091", probe.r.tcp(h1, 9091), "drop"],
        ]);
      });

      await step("O13 h1 to its own eth0 address goes via lo: allowed", async (s) => {
        await s.apply(hep0());
        await expectAll([
          ["h1 -> 198.18.1.1 tcp/9091", probe.h1.tcp(h1, 9091), "allow"],
          ["h1 -> 2001:db8:1::1 tcp/9091", probe.h1.tcp(h1v6, 9091), "allow"],
        ]);
      });

      await step("O14 order: deny at 10 beats allow at 20", async (s) => {
        await s.apply(
          hep0(),
          policy("p-deny", { order: 10, ingress: [tcpDst([80], "deny")] }),
          policy("p-allow", { order: 20, ingress: [{ action: "allow" }] }),
        );
        await expectAll([
          ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
          ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "allow"],
          ["R -> h1 v6 tcp/80", probe.r.tcp(h1v6, 80), "drop"],
          ["R -> h1 v6 tcp/443", probe.r.tcp(h1v6, 443), "allow"],
        ]);
      });

      await step("O15 equal order: name decides; renaming flips the verdict", async (s) => {
        await s.apply(
          hep0(),
          policy("a-allow", { order: 10, ingress: [tcpDst([80])] }),
          policy("b-deny", { order: 10, ingress: [tcpDst([80], "deny")] }),
        );
        await expectAll([["R -> h1 tcp/80 (a-allow first)", probe.r.tcp(h1, 80), "allow"]]);
        await s.ds.deleteResource("policy", "a-allow");
        await s.apply(policy("c-allow", { order: 10, ingress: [tcpDst([80])] }));
        await expectAll([["R -> h1 tcp/80 (b-deny first)", probe.r.tcp(h1, 80), "drop"]]);
      });

      await step("O16 a policy without order sorts last", async (s) => {
        await s.apply(
          hep0(),
          policy("z", { order: 1, ingress: [tcpDst([80])] }),
          policy("a", { ingress: [{ action: "deny" }] }),
        );
        await expectAll([
          ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
          ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
        ]);
      });

      await step("O17 a policy applies without pass: profiles are skipped", async (s) => {
        await s.apply(
          allowAll,
          hep0({ profiles: ["allow-all"] }),
          policy("p", {
            ingress: [{
              action: "allow",
              protocol: "tcp",
              source: { net: ADDR.rNet },
              destination: { ports: [22] },
            }],
          }),
        );
        await expectAll([["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"]]);
      });

      await step("O18 a final pass hands over to the allow-all profile", async (s) => {
        await s.apply(
          allowAll,
          hep0({ profiles: ["allow-all"] }),
          policy("p", {
            ingress: [
              {
                action: "allow",
                protocol: "tcp",
                source: { net: ADDR.rNet },
                destination: { ports: [22] },
              },
              { action: "pass" },
            ],
          }),
        );
        await expectAll([["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"]]);
      });

      await step("O19 pass with no profiles drops", async (s) => {
        await s.apply(hep0(), policy("p", { ingress: [{ action: "pass" }] }));
        await expectAll([["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"]]);
      });

      await step("O20 an ingress-only policy leaves egress to default drop", async (s) => {
        await s.apply(hep0(), policy("p", { ingress: [{ action: "allow" }] }));
        await expectAll([
          ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
          ["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80), "drop"],
        ]);
      });

      await step(
        "O21 types [ingress, egress] with no egress rules: egress drops, no profile",
        async (s) => {
          await s.apply(
            allowAll,
            hep0({ profiles: ["allow-all"] }),
            policy("p", { types: ["ingress", "egress"], ingress: [{ action: "allow" }] }),
          );
          await expectAll([["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80), "drop"]]);
        },
      );

      await step("O22 egress rules disabled by types: the profile decides egress", async (s) => {
        await s.apply(
          allowAll,
          hep0({ profiles: ["allow-all"] }),
          policy("p", {
            types: ["ingress"],
            ingress: [{ action: "allow", source: { net: `${ADDR.r}/32` } }],
            egress: [{ action: "deny" }],
          }),
        );
        await expectAll([["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80), "allow"]]);
      });

      await step("O23 a policy whose selector does not match does not apply", async (s) => {
        await s.apply(
          hep0(),
          policy("p", { selector: "role == 'db'", ingress: [{ action: "allow" }] }),
        );
        await expectAll([["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"]]);
      });

      await step("O24 labels inherited from a profile select the endpoint", async (s) => {
        await s.apply(
          profile("pdb", {}, { role: "db" }),
          hep("hep0", { iface: "eth0", profiles: ["pdb"] }),
          policy("p", { selector: "role == 'db'", ingress: [tcpDst([80])] }),
        );
        await expectAll([["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"]]);
      });

      await step(
        "O25 a log rule continues to the next rule (and renders a log prefix)",
        async (s) => {
          await s.apply(hep0(), policy("p", { ingress: [{ action: "log" }, tcpDst([80])] }));
          await expectAll([
            ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
            ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
          ]);
          const rules = await s.topo.h1.nftRuleset();
          assert(rules.includes("calico-packet"), `No 'calico-packet' log prefix in:\n${rules}`);
        },
      );

      await step("O26 deny from R, then allow tcp/80: other sources pass", async (s) => {
        await s.apply(
          hep0(),
          policy("p", {
            ingress: [
              { action: "deny", protocol: "tcp", source: { net: `${ADDR.r}/32` } },
              tcpDst([80]),
            ],
          }),
        );
        await expectAll([
          ["R(198.18.1.2) -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
          ["R(198.18.9.2) -> h1 tcp/80", probe.r.tcp(h1, 80, { source: ADDR.rOutside }), "allow"],
        ]);
      });

      await step("O27 source notNets excludes R's subnet", async (s) => {
        await s.apply(
          hep0(),
          policy("p", { ingress: [{ action: "allow", source: { notNets: [ADDR.rNet] } }] }),
        );
        await expectAll([
          ["R(198.18.1.2) -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
          ["R(198.18.9.2) -> h1 tcp/80", probe.r.tcp(h1, 80, { source: ADDR.rOutside }), "allow"],
        ]);
      });

      await step("O28 a port range 8000:8080 includes 8080 and not 8081", async (s) => {
        await s.apply(hep0(), policy("p", { ingress: [tcpDst(["8000:8080"])] }));
        await expectAll([
          ["R -> h1 tcp/8080", probe.r.tcp(h1, 8080), "allow"],
          ["R -> h1 tcp/8081", probe.r.tcp(h1, 8081), "drop"],
          ["R -> h1 v6 tcp/8080", probe.r.tcp(h1v6, 8080), "allow"],
          ["R -> h1 v6 tcp/8081", probe.r.tcp(h1v6, 8081), "drop"],
        ]);
      });

      await step("O29 notPorts [80]", async (s) => {
        await s.apply(
          hep0(),
          policy("p", {
            ingress: [{ action: "allow", protocol: "tcp", destination: { notPorts: [80] } }],
          }),
        );
        await expectAll([
          ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
          ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "allow"],
        ]);
      });

      await step("O30 icmp type 8 allows echo only, and only for IPv4", async (s) => {
        await s.apply(
          hep0(),
          policy("p", { ingress: [{ action: "allow", protocol: "icmp", icmp: { type: 8 } }] }),
        );
        await expectAll([
          ["R -> h1 ICMP echo", probe.r.ping(h1), "allow"],
          ["R -> h1 ICMP timestamp", probe.r.icmp(h1, 13), "drop"],
          ["R -> h1 ICMPv6 echo", probe.r.ping(h1v6), "drop"],
        ]);
      });

      await step(
        "O61 forwarded: pre-DNAT allow on eth0 skips its ingress; eth1 egress decides",
        async (s) => {
          const hep1 = hep("hep1", { iface: "eth1", labels: { hep1: "true" } });
          const preDnat = policy("pd", {
            selector: "role == 'web'",
            preDNAT: true,
            ingress: [{ action: "allow" }],
          });
          const egress1 = policy("eg1", {
            selector: "has(hep1)",
            types: ["egress"],
            egress: [{ action: "allow" }],
          });
          await s.apply(hep0(), hep1, preDnat, egress1);
          await expectAll([["R -> R2 tcp/80 forwarded", probe.r.tcp(ADDR.r2, 80), "allow"]]);
          await s.ds.deleteResource("policy", "eg1");
          await expectAll([[
            "R -> R2 tcp/80, eth1 no egress policy",
            probe.r.tcp(ADDR.r2, 80),
            "drop",
          ]]);
        },
      );

      await step(
        "mixed runs: compiled allows and denies around a pass and an ICMP allow keep their order",
        async (s) => {
          const tcpFrom = (ports: unknown[], nets: string[], action = "allow") => ({
            action,
            protocol: "tcp",
            source: { nets },
            destination: { ports },
          });
          await s.restartAgent(); // the default failsafe ports, whatever a row before set
          await s.apply(
            profile("udp-9000", { ingress: [{ action: "allow", protocol: "udp" }], egress: [] }),
            hep0({ profiles: ["udp-9000"] }),
            policy("m10", { order: 10, ingress: [tcpDst([80])] }),
            policy("m20", { order: 20, ingress: [tcpFrom([81], ["198.18.1.0/24"])] }),
            policy("m21", { order: 21, ingress: [tcpDst(["440:450", 8080])] }),
            policy("m30", { order: 30, ingress: [{ action: "pass", protocol: "udp" }] }),
            policy("m40", { order: 40, ingress: [tcpDst([999], "deny")] }),
            policy("m50", { order: 50, ingress: [tcpDst(["8081:8090"], "deny")] }),
            policy("m60", { order: 60, ingress: [{ action: "allow", protocol: "icmp" }] }),
            policy("m70", { order: 70, ingress: [tcpDst([999, 8081, 9091])] }),
          );
          if (flags["nftables-compile-min-run"] === "1") {
            const table = await s.topo.h1.nftRuleset();
            assertMatch(
              table,
              /set c-fh-eth0\.\d+\.p\.dp /,
              "the allow and deny runs are compiled",
            );
            assertMatch(table, /jump pi-m30/, "the pass policy keeps its chain");
          }
          await expectAll([
            ["R -> h1 tcp/80 (compiled allow)", probe.r.tcp(h1, 80), "allow"],
            ["R -> h1 tcp/81 from R's net", probe.r.tcp(h1, 81), "allow"],
            ["R -> h1 v6 tcp/81 (no v6 net)", probe.r.tcp(h1v6, 81), "drop"],
            ["R -> h1 tcp/443 (range)", probe.r.tcp(h1, 443), "allow"],
            ["R -> h1 v6 tcp/8080", probe.r.tcp(h1v6, 8080), "allow"],
            ["R -> h1 udp/9091 (pass, then profile)", probe.r.udp(h1, 9091), "allow"],
            ["R -> h1 tcp/999 (deny before allow)", probe.r.tcp(h1, 999), "drop"],
            ["R -> h1 tcp/8081 (deny range before allow)", probe.r.tcp(h1, 8081), "drop"],
            ["R -> h1 tcp/9091 (allow after the denies)", probe.r.tcp(h1, 9091), "allow"],
            ["R -> h1 ping (ICMP allow between runs)", probe.r.ping(h1), "allow"],
            ["R -> h1 tcp/2222 (nothing allows it)", probe.r.tcp(h1, 2222), "drop"],
          ]);
        },
      );
    },
  });
}
