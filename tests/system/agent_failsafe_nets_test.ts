/**
 * Calico 3's failsafe form with a network (`tcp:198.18.1.0/24:22`, `tcp:[2001:db8:1::2/128]:22`)
 * with real packets: behind a deny-all policy the failsafe port stays open from a peer inside
 * the net and is dropped from a peer outside it, in each family, whichever source the value
 * comes from (flag, environment, etcd); a bad entry stops the agent with one line.
 *
 * Peers: R on h1's eth0 segment (198.18.1.2, 2001:db8:1::2, and 198.18.9.2 routed via eth0:
 * "outside"), h2 on the same segment (198.18.1.3, 2001:db8:1::3). The ssh stand-in is the
 * topology's echo server on tcp/22 and tcp/2222 in h1.
 */
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";
import { AGENT_TESTS_IGNORED, hep0, openSite, policy, type Site } from "../harness/scenario.ts";

const denyAll = policy("deny-all", {
  ingress: [{ action: "deny" }],
  egress: [{ action: "deny" }],
});

/** Runs the agent once with `args` and returns its exit code and standard error lines. */
async function refused(s: Site, args: string[], env: Record<string, string> = {}) {
  const r = await s.topo.h1.exec([
    "env",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    HOSTFENCE,
    "agent",
    "--felix-hostname=h1",
    `--etcd-endpoints=${s.topo.etcdEndpoint}`,
    "--log-file-path=none",
    ...args,
  ], { allowFail: true });
  return { code: r.code, lines: r.stderr.trim().split("\n") };
}

Deno.test({
  name: "a failsafe with a net keeps ssh open from that net only, per family, with real packets",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({ topology: { h2: true } });
    const { probe } = site;
    const h1 = ADDR.h1Eth0, h1v6 = ADDR.h1Eth0v6;
    await site.apply(hep0(), denyAll);

    await t.step("flag: inside the net allowed, outside dropped, IPv4 and IPv6", async () => {
      await site.restartAgent({
        "failsafe-inbound-host-ports": "tcp:198.18.1.0/24:22,tcp:[2001:db8:1::2/128]:22",
      });
      await expectAll([
        ["R(198.18.1.2) -> h1 tcp/22", probe.r.tcp(h1, 22), "allow"],
        ["h2(198.18.1.3) -> h1 tcp/22", probe.h2!.tcp(h1, 22), "allow"],
        ["R(198.18.9.2) -> h1 tcp/22", probe.r.tcp(h1, 22, { source: ADDR.rOutside }), "drop"],
        ["R(2001:db8:1::2) -> h1 v6 tcp/22", probe.r.tcp(h1v6, 22), "allow"],
        ["h2(2001:db8:1::3) -> h1 v6 tcp/22", probe.h2!.tcp(h1v6, 22), "drop"],
        ["R -> h1 tcp/2222 (not a failsafe)", probe.r.tcp(h1, 2222), "drop"],
        ["R -> h1 udp/68 (default replaced)", probe.r.udp(h1, 68), "drop"],
      ]);
    });

    await t.step("environment: an IPv4 net gives no IPv6 rule", async () => {
      await site.restartAgent({}, { FELIX_FAILSAFEINBOUNDHOSTPORTS: "tcp:198.18.1.0/24:2222" });
      await expectAll([
        ["R -> h1 tcp/2222", probe.r.tcp(h1, 2222), "allow"],
        ["R(198.18.9.2) -> h1 tcp/2222", probe.r.tcp(h1, 2222, { source: ADDR.rOutside }), "drop"],
        ["R -> h1 v6 tcp/2222", probe.r.tcp(h1v6, 2222), "drop"],
        ["R -> h1 tcp/22 (not listed)", probe.r.tcp(h1, 22), "drop"],
      ]);
    });

    await t.step("etcd key, live: outbound to the net only, old syntax beside it", async () => {
      await site.restartAgent({ "failsafe-inbound-host-ports": "tcp:[2001:db8:1::3]:22" });
      await expectAll([
        ["h2(2001:db8:1::3) -> h1 v6 tcp/22", probe.h2!.tcp(h1v6, 22), "allow"],
        ["R(2001:db8:1::2) -> h1 v6 tcp/22", probe.r.tcp(h1v6, 22), "drop"],
        ["R -> h1 tcp/22 (a v6 net only)", probe.r.tcp(h1, 22), "drop"],
        ["h1 -> R tcp/2379 (before)", probe.h1.tcp(ADDR.r, 2379), "allow"],
      ]);
      const put = await site.ds.cli([
        "config",
        "set",
        "FailsafeOutboundHostPorts",
        "tcp:198.18.1.2:2379,udp:53",
        "--raw=felix",
        "--force",
      ]);
      assert(put.code === 0, `config set failed: ${put.stderr}`);
      await site.sync();
      await expectAll([
        ["h1 -> R(198.18.1.2) tcp/2379", probe.h1.tcp(ADDR.r, 2379), "allow"],
        ["h1 -> h2(198.18.1.3) tcp/2379", probe.h1.tcp(ADDR.h2Eth0, 2379), "drop"],
        ["h1 -> R v6 tcp/2379", probe.h1.tcp(ADDR.r6, 2379), "drop"],
        ["h1 -> R udp/53", probe.h1.udp(ADDR.r, 53), "allow"],
      ]);
      // explain reads the same key and agrees with the packets.
      for (const [dst, verdict] of [[ADDR.r, "ALLOW"], [ADDR.h2Eth0, "DROP"]] as const) {
        const x = await site.ds.cli([
          "explain",
          "--node=h1",
          "--out=eth0",
          `--src=${h1}`,
          `--dst=${dst}`,
          "tcp",
          "2379",
        ]);
        assert(x.code === 0, `explain failed: ${x.stderr}`);
        assert(x.stdout.includes(`Verdict: ${verdict}`), x.stdout);
        if (verdict === "ALLOW") {
          assert(x.stdout.includes("failsafe outbound port tcp/2379 to 198.18.1.2 "), x.stdout);
        }
      }
    });

    await t.step("a bad entry stops the agent with one line, no rules change", async () => {
      // Counters may still move (late retransmits of earlier probes); the rules must not.
      const rules = async () =>
        (await site.topo.h1.nftRuleset()).replace(/packets \d+ bytes \d+/g, "");
      const before = await rules();
      for (
        const [args, env, source, value] of [
          [
            ["--failsafe-inbound-host-ports=tcp:198.18.1.0/33:22"],
            {},
            /from command line/,
            /tcp:198\.18\.1\.0\/33:22.*not a CIDR/,
          ],
          [
            [],
            { FELIX_FAILSAFEOUTBOUNDHOSTPORTS: "tcp:2001:db8::/32:2379" },
            /from environment variable FELIX_FAILSAFEOUTBOUNDHOSTPORTS/,
            /IPv6 net goes in brackets/,
          ],
        ] as const
      ) {
        const r = await refused(site, [...args], { ...env });
        assert(r.code === 1, `Agent with a bad failsafe exited ${r.code}, not 1`);
        assert(r.lines.length === 1, `Expected one line, got:\n${r.lines.join("\n")}`);
        assert(source.test(r.lines[0]!) && value.test(r.lines[0]!), `Line: ${r.lines[0]}`);
      }
      assert((await rules()) === before, "nft ruleset changed");
    });
  },
});
