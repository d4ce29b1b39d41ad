/**
 * The real agent with HealthEnabled and PrometheusMetricsEnabled, in host namespace h1 of the
 * test site: live-but-not-ready during wait-for-ready, ready once the first state is
 * programmed, and `/metrics` showing the sync state, the endpoint and policy counts, and the
 * nft counters of a policy and of the endpoint's default deny moving with real packets from R.
 * Both servers are reached from inside h1 (health binds HealthHost 127.0.0.1 there; metrics
 * all of h1's interfaces), never from the machine's own namespace.
 */
import { assert, assertStrictEquals } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, hep0, node, openSite, policy, toYaml } from "../harness/scenario.ts";

/** 9091 (Felix's default) is taken in h1 by the topology's probe daemon, so metrics move. */
const FLAGS = {
  "health-enabled": "true",
  "health-port": "9099",
  "prometheus-metrics-enabled": "true",
  "prometheus-metrics-port": "19091",
};

Deno.test({
  name: "the agent serves health and Prometheus metrics that follow its state and real traffic",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({ createNodes: false, startAgent: false });
    const h1 = site.topo.h1;
    /** `curl` inside h1: status code and body. */
    const get = async (url: string) => {
      const r = await h1.exec(["curl", "-s", "-m", "5", "-w", "\n%{http_code}", url], {
        allowFail: true,
      });
      const at = r.stdout.lastIndexOf("\n");
      return { code: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
    };
    const metric = async (series: string): Promise<number | undefined> => {
      const { code, body } = await get("http://127.0.0.1:19091/metrics");
      assertStrictEquals(code, 200, "metrics status");
      for (const line of body.split("\n")) {
        if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
      }
      return undefined;
    };

    await t.step("during wait-for-ready the agent is live but not ready", async () => {
      const agent = await site.startAgentOnly(FLAGS);
      await agent.waitForLog(/Health server listening on 127\.0\.0\.1:9099/, 15_000);
      await agent.waitForLog(/Prometheus metrics server listening on .*:19091/, 15_000);
      await agent.waitForLog(/wait-for-ready/i, 15_000);
      assertStrictEquals((await get("http://127.0.0.1:9099/liveness")).code, 204, "liveness");
      const ready = await get("http://127.0.0.1:9099/readiness");
      assertStrictEquals(ready.code, 503, "readiness");
      assert(/wait-for-ready/.test(ready.body), `readiness said: ${ready.body}`);
      assertStrictEquals(await metric("hostfence_resync_state"), 1, "resync state");
      assertStrictEquals(await metric("hostfence_dataplane_programmed"), 0, "programmed");
    });

    await t.step("once the datastore is ready and programmed the agent is ready", async () => {
      await site.ds.write("create", toYaml([node("h1")]));
      await site.sync();
      assertStrictEquals((await get("http://127.0.0.1:9099/readiness")).code, 204, "readiness");
      assertStrictEquals(await metric("hostfence_resync_state"), 3, "resync state");
      assertStrictEquals(await metric("hostfence_dataplane_programmed"), 1, "programmed");
      assert((await metric("hostfence_resyncs_started_total"))! >= 1, "resyncs counted");
      assert(
        (await metric("hostfence_dataplane_apply_time_seconds_count"))! >= 1,
        "apply time observed",
      );
    });

    await t.step("policy and default-deny counters move with packets from R", async () => {
      await site.apply(
        hep0(),
        policy("web", {
          order: 10,
          ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }],
          egress: [{ action: "allow" }],
        }),
      );
      assertStrictEquals(await metric("hostfence_active_local_endpoints"), 1, "endpoints");
      assertStrictEquals(await metric("hostfence_active_local_policies"), 1, "policies");
      const web = 'hostfence_policy_packets_total{policy="web",direction="ingress",class="normal"}';
      const drops =
        'hostfence_endpoint_dropped_packets_total{interface="eth0",host_endpoint="hep0",direction="ingress"}';
      // Counters are read at most once a second, so the new chains show up within that.
      await new Promise((r) => setTimeout(r, 1100));
      const webBefore = (await metric(web)) ?? -1;
      const dropsBefore = (await metric(drops)) ?? -1;
      assert(webBefore >= 0 && dropsBefore >= 0, "both series exist before the traffic");
      await expectAll([
        ["R -> h1 tcp/80", site.probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
        ["R -> h1 tcp/8080", site.probe.r.tcp(ADDR.h1Eth0, 8080), "drop"],
      ]);
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s counter cache
      const webAfter = (await metric(web))!;
      const dropsAfter = (await metric(drops))!;
      assert(webAfter > webBefore, `policy web counter ${webBefore} -> ${webAfter}`);
      assert(dropsAfter > dropsBefore, `eth0 default-deny counter ${dropsBefore} -> ${dropsAfter}`);
      assertStrictEquals(await metric("hostfence_counter_read_errors_total"), 0, "read errors");
    });
  },
});
