/**
 * The agent under datastore faults (issue 10): a watch cancelled by compaction, and SIGTERM
 * while the watch is in trouble. Proven with real etcd, nft and packets.
 */
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, allowPorts, hep0, openSite, toYaml } from "../harness/scenario.ts";

Deno.test({
  name: "a watch cancelled by compaction is noticed and resynced; SIGTERM then exits",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    await expectAll([["R -> h1 tcp/81 before", probe.r.tcp(h1, 81), "drop"]]);

    const agent = site.agent;
    const from = agent.mark();
    Deno.kill(agent.pid, "SIGSTOP");
    let rev: number;
    try {
      // Enough history that etcd cannot send it all to the stopped agent before compaction.
      await ds.bulk(["repeat", "/calico/v1/fault-test/filler", "1500", "4096"]);
      await ds.write("apply", toYaml([allowPorts(80, 81)]));
      rev = await ds.fence();
      await ds.compact(rev);
    } finally {
      Deno.kill(agent.pid, "SIGCONT");
    }
    await agent.waitForRevision(rev, 30_000);
    assert(
      agent.hasLogged(/Lost watch|watch .*(cancel|compact)/i, from),
      `No lost-watch warning:\n${agent.tail()}`,
    );
    await expectAll([
      ["R -> h1 tcp/81 after the resync", probe.r.tcp(h1, 81), "allow"],
      ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "drop"],
    ]);

    const t0 = Date.now();
    const status = await agent.stop();
    const took = Date.now() - t0;
    assert(
      status.success,
      `Agent did not exit cleanly on SIGTERM (${JSON.stringify(status)}):\n${agent.tail()}`,
    );
    assert(took < 5_000, `SIGTERM took ${took} ms`);
    // Rules stay in place after a stop.
    await expectAll([["R -> h1 tcp/81 after stop", probe.r.tcp(h1, 81), "allow"]]);
  },
});

Deno.test({
  name: "SIGTERM exits within seconds while etcd is frozen, and the rules stay",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    const { probe } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    const etcd = site.topo.etcd!;
    Deno.kill(etcd.pid, "SIGSTOP");
    try {
      const t0 = Date.now();
      const status = await site.agent.stop();
      const took = Date.now() - t0;
      assert(
        status.success,
        `Agent did not exit by itself on SIGTERM (${
          JSON.stringify(status)
        }):\n${site.agent.tail()}`,
      );
      assert(took < 5_000, `SIGTERM took ${took} ms`);
      await expectAll([
        ["R -> h1 tcp/80 after stop", probe.r.tcp(h1, 80), "allow"],
        ["R -> h1 tcp/81 after stop", probe.r.tcp(h1, 81), "drop"],
      ]);
    } finally {
      Deno.kill(etcd.pid, "SIGCONT");
    }
  },
});
