/**
 * The running agent reports its heartbeat and its endpoints' states to etcd, and
 * `hostfence status` shows them: live node, endpoint up; after the agent is killed without
 * a chance to clean up, the heartbeat expires with its lease and the node shows EXPIRED.
 */
import { ok as assert } from "node:assert/strict";
import { AGENT_TESTS_IGNORED, hep, hep0, openSite } from "../harness/scenario.ts";

async function waitFor(what: string, check: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}

Deno.test({
  name: "the agent's heartbeat and endpoint states show in hostfence status",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite({
      flags: {
        "reporting-interval-secs": "1",
        "reporting-ttl-secs": "3",
        "endpoint-reporting-enabled": "true",
        "endpoint-reporting-delay-secs": "0.2",
      },
    });
    await site.apply(hep0(), hep("ghost", { iface: "nosuch0" }));
    let out = "";
    await waitFor("h1 live with hep0 up and ghost in error", async () => {
      out = (await site.ds.cli(["status"])).stdout;
      return /^h1\s+live\b.*hep0=up/m.test(out) && /ghost=error/.test(out);
    }, 25_000);

    const json = JSON.parse((await site.ds.cli(["status", "--node", "h1", "-o", "json"])).stdout);
    assert(JSON.stringify(json).includes('"up"'), JSON.stringify(json));

    // A crash: SIGKILL, so nothing is revoked; the lease runs out and the node shows EXPIRED.
    await site.agent.crash();
    await waitFor("h1 EXPIRED", async () => {
      out = (await site.ds.cli(["status"])).stdout;
      return /^h1\s+EXPIRED\b/m.test(out);
    }, 15_000);
  },
});
