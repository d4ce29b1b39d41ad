/**
 * Workload interfaces (InterfacePrefix `cali`) are told apart from host interfaces: traffic
 * from a workload to the host gets DefaultEndpointToHostAction and never host-endpoint
 * policy, host-to-workload traffic is not policed, and the action changes live from etcd.
 */
import { AGENT_TESTS_IGNORED, hep0, openSite, policy, workloadW } from "../harness/scenario.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";

Deno.test({
  name: "workload-to-host traffic follows DefaultEndpointToHostAction, live from etcd",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe } = site;
    // HEP0 allows everything in and out, so any drop below is the workload rule's doing.
    const allowAll = policy("allow-all", {
      ingress: [{ action: "allow" }],
      egress: [{ action: "allow" }],
    });

    await t.step("default DROP: a workload cannot reach host processes", async () => {
      await site.apply(...workloadW(), hep0(), allowAll);
      await expectAll([
        ["W -> h1 cali1 tcp/80", probe.w.tcp(ADDR.h1Cali, 80), "drop"],
        ["W -> h1 eth0 address tcp/80", probe.w.tcp(ADDR.h1Eth0, 80), "drop"],
        ["W -> h1 v6 tcp/80", probe.w.tcp(ADDR.h1Cali6, 80), "drop"],
        // Host to workload is not policed, and its replies come back.
        ["h1 -> W tcp/80", probe.h1.tcp(ADDR.w, 80), "allow"],
        ["R -> h1 tcp/80 (HEP0 allows all)", probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
      ]);
    });

    await t.step("ACCEPT set in etcd applies live", async () => {
      await site.ds.setConfig("DefaultEndpointToHostAction", "ACCEPT");
      await site.sync();
      await expectAll([
        ["W -> h1 cali1 tcp/80", probe.w.tcp(ADDR.h1Cali, 80), "allow"],
        ["W -> h1 v6 tcp/80", probe.w.tcp(ADDR.h1Cali6, 80), "allow"],
      ]);
    });

    await t.step("RETURN leaves it to the host's own rules (none here: allowed)", async () => {
      await site.ds.setConfig("DefaultEndpointToHostAction", "RETURN");
      await site.sync();
      await expectAll([["W -> h1 cali1 tcp/80", probe.w.tcp(ADDR.h1Cali, 80), "allow"]]);
      await site.ds.setConfig("DefaultEndpointToHostAction", "DROP", "h1");
      await site.sync();
      await expectAll([
        ["W -> h1 cali1 tcp/80 (per-host DROP wins)", probe.w.tcp(ADDR.h1Cali, 80), "drop"],
      ]);
    });
  },
});
