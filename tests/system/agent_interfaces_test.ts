/**
 * Host endpoints follow the host's interfaces and addresses as they come and go:
 * an expectedIPs endpoint starts policing an interface as soon as the address appears and
 * stops when it goes; an interfaceName endpoint polices its interface from its first packet,
 * even when the link is created (or re-created) after the endpoint.
 */
import { ok as assert } from "node:assert/strict";
import { AGENT_TESTS_IGNORED, hep, openSite } from "../harness/scenario.ts";
import type { Verdict } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";

/** Polls `probe` until it gives `want` or `ms` pass; returns how long it took. */
async function eventually(
  what: string,
  probe: () => Promise<{ verdict: Verdict }>,
  want: Verdict,
  ms = 5000,
): Promise<number> {
  const start = Date.now();
  let last: Verdict | undefined;
  while (Date.now() - start < ms) {
    last = (await probe()).verdict;
    if (last === want) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: expected ${want} within ${ms} ms, last saw ${last}`);
}

Deno.test({
  name: "host endpoints follow interfaces and addresses as they change",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe, topo } = site;
    const extra = "198.18.1.50";

    await t.step("an expectedIPs endpoint polices eth0 once the address appears", async () => {
      await site.apply(hep("by-ip", { ips: [extra], labels: { "host-endpoint": "true" } }));
      await eventually("before the address exists", () => probe.r.tcp(ADDR.h1Eth0, 9091), "allow");
      await topo.h1.exec(["ip", "addr", "add", `${extra}/24`, "dev", "eth0"]);
      const took = await eventually(
        "after adding it",
        () => probe.r.tcp(ADDR.h1Eth0, 9091),
        "drop",
      );
      assert(took < 3000, `eth0 became policed after ${took} ms`);
      assert((await probe.r.tcp(ADDR.h1Eth0, 22)).verdict === "allow", "failsafe ssh stays open");
    });

    await t.step("removing the address leaves eth0 alone again", async () => {
      await topo.h1.exec(["ip", "addr", "del", `${extra}/24`, "dev", "eth0"]);
      await eventually("after removing it", () => probe.r.tcp(ADDR.h1Eth0, 9091), "allow");
    });

    await t.step(
      "an interfaceName endpoint polices its interface from the moment it appears",
      async () => {
        await site.reset();
        await site.apply(hep("late", { iface: "late0", labels: { "host-endpoint": "true" } }));
        const before = (await topo.h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;
        // Unlike Felix, an endpoint naming a link that does not exist is dispatched already, so
        // the link is policed from its first packet (issue 10: a re-created interface was open
        // for up to two seconds).
        assert(before.includes('"late0" : jump fh-late0'), "late0 is dispatched before it exists");
        // Rename eth0 to late0: the same link, now under the endpoint's name.
        await topo.h1.ipBatch([
          "link set eth0 down",
          "link set eth0 name late0",
          "link set late0 up",
          `addr replace ${ADDR.h1Eth0}/24 dev late0`,
        ]);
        try {
          const first = await probe.r.tcp(ADDR.h1Eth0, 9091);
          assert(
            first.verdict === "drop",
            `the first connection after the rename: ${first.verdict}`,
          );
          // And again after the link is deleted and created anew under the same name.
          await topo.h1.ipBatch(["link set late0 name eth0"]);
          await eventually("eth0 is not policed", () => probe.r.tcp(ADDR.h1Eth0, 9091), "allow");
          await topo.h1.ipBatch([
            "link set eth0 down",
            "link set eth0 name late0",
            "link set late0 up",
            `addr replace ${ADDR.h1Eth0}/24 dev late0`,
          ]);
          const again = await probe.r.tcp(ADDR.h1Eth0, 9091);
          assert(
            again.verdict === "drop",
            `the first connection after it came back: ${again.verdict}`,
          );
        } finally {
          await topo.h1.ipBatch([
            "link set late0 down",
            "link set late0 name eth0",
            "link set eth0 up",
          ]);
        }
      },
    );
  },
});
