/**
 * Health and metrics wired to the REAL Agent loop (fake calculation and dataplane, the way
 * src/cmd/agent.ts is to wire them): wait-for-ready is live but not ready, the first apply makes it
 * ready, a failed apply shows in the failure counter while the agent stays ready, and the
 * syncer's batches show as resyncs and updates.
 */
import assert from "node:assert/strict";
import { fixedSource } from "../../src/dataplane/mod.ts";
import { Agent, type Calculation, type Dataplane } from "../../src/agent/agent.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { hostState, iface } from "../../synth/host_states.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import {
  ActivityRecorder,
  agentMetricsSource,
  healthHandler,
  metricsHandler,
  NO_COUNTERS,
} from "../../src/observe/mod.ts";
import { agentResolver } from "../fixtures/config_inputs.ts";

const STATE = hostState({ interfaces: [iface("eth0", "hep0")] });

const calc: Calculation = {
  applyUpdates() {},
  setInterfaces() {},
  setConfig() {},
  ...fixedSource(STATE),
};

Deno.test("health and metrics follow the real agent loop through start-up and a failure", async () => {
  let failNext = false;
  const dataplane: Dataplane = {
    async apply() {
      await new Promise((r) => setTimeout(r, 2));
      if (failNext) {
        failNext = false;
        throw new Error("nft: Error: Could not process rule");
      }
      return { changed: true };
    },
    refresh: () => Promise.resolve({ repaired: false }),
  };
  const recorder = new ActivityRecorder();
  const agent = new Agent({
    hostname: "h1",
    config: agentResolver(new Map(), new Map()).config!,
    resolveConfig: agentResolver,
    calc,
    dataplane: recorder.instrument(dataplane),
    log: createLogger([memorySink("DEBUG")], "agent"),
    waitLogMs: 1000,
    retryMinMs: 20,
    retryMaxMs: 20,
  });
  // What src/cmd/agent.ts does in the syncer's callback.
  const deliver = (batch: ModelUpdate[], revision: number) => {
    recorder.recordBatch(batch);
    agent.handleUpdates(batch, revision);
  };
  const source = agentMetricsSource({
    agent,
    recorder,
    counters: () => Promise.resolve(NO_COUNTERS),
    counterCacheMs: 0,
  });
  const health = healthHandler(source);
  const metrics = metricsHandler(source);
  const probe = async (path: string) => {
    const res = health(new Request(`http://127.0.0.1${path}`));
    return { status: res.status, body: await res.text() };
  };
  const scrape = async (name: string) => {
    const text = await (await metrics(new Request("http://127.0.0.1/metrics"))).text();
    const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const settle = () => new Promise((r) => setTimeout(r, 30));
  /** Polls until `scrape(name)` equals `want` (the loop runs on timers), then asserts it. */
  const eventually = async (name: string, want: number) => {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await scrape(name)) !== want) await settle();
    assert.equal(await scrape(name), want, name);
  };
  try {
    deliver(
      [{ type: "hostEndpoint", node: "h1", name: "hep0", value: null }, { type: "inSync" }],
      5,
    );
    await settle();
    assert.equal((await probe("/liveness")).status, 204);
    const waiting = await probe("/readiness");
    assert.equal(waiting.status, 503);
    assert.match(waiting.body, /wait-for-ready/);
    assert.equal(await scrape("hostfence_resync_state"), 1);
    assert.equal(await scrape("hostfence_resyncs_started_total"), 1);

    deliver([{ type: "ready", value: true }], 6);
    await eventually("hostfence_dataplane_programmed", 1);
    assert.equal((await probe("/readiness")).status, 204);
    assert.equal(await scrape("hostfence_resync_state"), 3);
    assert.equal(await scrape("hostfence_dataplane_applies_total"), 1);
    assert.equal(await scrape("hostfence_dataplane_applied_revision"), 6);
    assert.equal(await scrape("hostfence_active_local_endpoints"), 1);
    assert.equal(await scrape("hostfence_dataplane_apply_time_seconds_count"), 1);
    assert.equal(
      await scrape('hostfence_calc_graph_updates_processed_total{type="hostEndpoint"}'),
      1,
    );

    failNext = true;
    deliver([{ type: "policy", name: "p", value: null }], 7);
    await eventually("hostfence_dataplane_failures_total", 1);
    assert.equal(
      (await probe("/readiness")).status,
      204,
      "the previous rules stay in force, so the agent stays ready while it retries",
    );
    await eventually("hostfence_dataplane_applied_revision", 7); // the retry succeeded
    assert.equal(await scrape("hostfence_dataplane_apply_time_seconds_count"), 3);
  } finally {
    await agent.close();
  }
});
