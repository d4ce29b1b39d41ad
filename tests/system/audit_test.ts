/**
 * PolicyAuditMode with real packets (issue 8 item 4): turned on live in etcd, a port a deny
 * rule drops and a host endpoint's default drop are accepted instead, counted as would-drops
 * (shown by `hostfence status`) and logged by a rate-limited nft log rule; turned off live,
 * the same packets drop again. Failsafes off, so nothing else lets them through.
 */
import { assert, assertIncludes } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, hep, hep0, openSite, policy } from "../harness/scenario.ts";

const NO_FAILSAFES = {
  "failsafe-inbound-host-ports": "none",
  "failsafe-outbound-host-ports": "none",
};

Deno.test({
  name: "audit mode accepts, counts and logs would-drops; off again, they drop",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite({ flags: NO_FAILSAFES });
    const { ds, probe, topo } = site;
    await site.apply(
      hep0(),
      // eth1 has no policy and no profile: everything not established drops by default.
      hep("hep1", { iface: "eth1" }),
      policy("drop-ssh", {
        order: 10,
        ingress: [{ action: "deny", protocol: "tcp", destination: { ports: [22] } }],
      }),
      policy("allow-rest", {
        order: 100,
        ingress: [{ action: "allow" }],
        egress: [{ action: "allow" }],
      }),
    );
    const ssh = () => probe.r.tcp(ADDR.h1Eth0, 22);
    const viaEth1 = () => probe.r2.tcp(ADDR.h1Eth1, 80);
    await expectAll([
      ["R -> h1 tcp/22 (denied)", ssh(), "drop"],
      ["R -> h1 tcp/80", probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
      ["R2 -> h1 eth1 tcp/80 (default drop)", viaEth1(), "drop"],
    ]);

    const on = await ds.cli(["config", "set", "PolicyAuditMode", "true"]);
    assert(on.code === 0, `config set failed: ${on.stderr}`);
    await site.sync();
    await expectAll([
      ["R -> h1 tcp/22 under audit", ssh(), "allow"],
      ["R2 -> h1 eth1 tcp/80 under audit", viaEth1(), "allow"],
    ]);
    const table = (await topo.h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;
    assertIncludes(
      table,
      'limit rate 10/second log prefix "calico-packet-audit would drop: policy drop-ssh ingress rule 1: "',
      "the would-drop log rule",
    );

    // The agent publishes its would-drop counts for `hostfence status` every few seconds.
    let status = "";
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      status = (await ds.cli(["status"])).stdout;
      if (
        /policy drop-ssh\s+ingress\s+deny rule\s+[1-9]/.test(status) &&
        /endpoint hep1 \(eth1\)\s+ingress\s+default drop\s+[1-9]/.test(status)
      ) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assertIncludes(
      status,
      "PolicyAuditMode: packets accepted that policy would have dropped",
      "status",
    );
    assert(
      /h1\s+policy drop-ssh\s+ingress\s+deny rule\s+[1-9]/.test(status),
      `status lacks drop-ssh's would-drops:\n${status}`,
    );
    assert(
      /h1\s+endpoint hep1 \(eth1\)\s+ingress\s+default drop\s+[1-9]/.test(status),
      `status lacks hep1's default would-drops:\n${status}`,
    );
    const json = JSON.parse((await ds.cli(["status", "-o", "json"])).stdout) as {
      node: string;
      wouldDrops?: { by: string; packets: number }[];
    }[];
    const h1 = json.find((n) => n.node === "h1");
    assert(
      (h1?.wouldDrops ?? []).some((w) => w.by === "policy drop-ssh" && w.packets > 0),
      `status -o json lacks the would-drops: ${JSON.stringify(h1)}`,
    );

    const off = await ds.cli(["config", "set", "PolicyAuditMode", "false"]);
    assert(off.code === 0, `config set failed: ${off.stderr}`);
    await site.sync();
    await expectAll([
      ["R -> h1 tcp/22 with audit off again", ssh(), "drop"],
      ["R2 -> h1 eth1 tcp/80 with audit off again", viaEth1(), "drop"],
      ["R -> h1 tcp/80 still allowed", probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
    ]);
    const cleared = Date.now() + 15_000;
    while (Date.now() < cleared && (await ds.cli(["status"])).stdout.includes("PolicyAuditMode")) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = (await ds.cli(["status"])).stdout;
    assert(!after.includes("PolicyAuditMode"), `would-drops still shown with audit off:\n${after}`);
  },
});
