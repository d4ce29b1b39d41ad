/**
 * The real health and metrics servers on loopback ports picked by the kernel: scraped with
 * fetch, moved and switched off by a live config change, a port already taken logged rather
 * than thrown, and shut down cleanly (the sanitizers check nothing is left open).
 */
import assert from "node:assert/strict";
import type { AgentStatus } from "../../src/agent/agent.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import {
  ActivityRecorder,
  agentMetricsSource,
  CONTENT_TYPE,
  healthHandler,
  NO_COUNTERS,
  ObserveServers,
  type ObserveSettings,
  startHttpServer,
} from "../../src/observe/mod.ts";

function agentStatus(programmed: boolean): AgentStatus {
  return {
    ready: true,
    inSync: true,
    programmed,
    revision: 9,
    appliedRevision: programmed ? 9 : 0,
    applies: programmed ? 1 : 0,
    applyFailures: 0,
    lastApplyMs: undefined,
    lastSuccessAt: undefined,
  };
}

async function fetchText(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

async function refused(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return false;
  } catch (e) {
    return e instanceof TypeError;
  }
}

Deno.test("the health server answers on loopback and follows the agent's state", async () => {
  let programmed = false;
  const server = startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    handler: healthHandler({
      status: () => agentStatus(programmed),
      activity: () => ({ busy: undefined }),
    }),
  });
  try {
    assert.equal(server.hostname, "127.0.0.1");
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    assert.deepEqual((await fetchText(`${base}/liveness`)).status, 204);
    const notReady = await fetchText(`${base}/readiness`);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body, "nftables not programmed yet\n");
    programmed = true;
    assert.equal((await fetchText(`${base}/readiness`)).status, 204);
  } finally {
    await server.close();
  }
  await server.close(); // idempotent
});

Deno.test("ObserveServers starts, moves and stops the servers as the config changes", async (t) => {
  const sink = memorySink("DEBUG");
  const log = createLogger([sink], "test");
  const recorder = new ActivityRecorder();
  let reads = 0;
  const source = agentMetricsSource({
    agent: { status: () => agentStatus(true) },
    recorder,
    counters: () => {
      reads++;
      return Promise.resolve(NO_COUNTERS);
    },
  });
  const servers = new ObserveServers(source, { log, metricsHost: "127.0.0.1" });
  const base: ObserveSettings = {
    healthEnabled: true,
    healthHost: "127.0.0.1",
    healthPort: 0,
    prometheusMetricsEnabled: true,
    prometheusMetricsPort: 0,
  };
  try {
    await t.step("both on", async () => {
      await servers.configure(base);
      const h = servers.health!;
      const m = servers.metrics!;
      assert.equal((await fetchText(`http://127.0.0.1:${h.port}/readiness`)).status, 204);
      const scrape = await fetchText(`http://127.0.0.1:${m.port}/metrics`);
      assert.equal(scrape.status, 200);
      assert.equal(scrape.type, CONTENT_TYPE);
      assert.match(scrape.body, /^hostfence_resync_state 3$/m);
      assert.match(scrape.body, /^hostfence_dataplane_programmed 1$/m);
      assert.match(scrape.body, /^process_resident_memory_bytes \d+$/m);
      assert.match(scrape.body, /^process_start_time_seconds \d+(\.\d+)?$/m);
      await fetchText(`http://127.0.0.1:${m.port}/metrics`);
      assert.equal(reads, 1, "two scrapes within a second share one counter read");
      assert.ok(sink.lines.some((l) => /Health server listening on 127\.0\.0\.1:\d+/.test(l)));
      assert.ok(sink.lines.some((l) => /Prometheus metrics server listening on/.test(l)));
    });

    await t.step("the same settings again leave the servers alone", async () => {
      const h = servers.health;
      await servers.configure(base);
      assert.equal(servers.health, h);
    });

    await t.step("metrics switched off, health moved to another port", async () => {
      const oldHealth = servers.health!.port;
      const oldMetrics = servers.metrics!.port;
      // A fixed port that is free: take one from the kernel, release it, then ask for it.
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const freePort = (probe.addr as Deno.NetAddr).port;
      probe.close();
      await servers.configure({ ...base, healthPort: freePort, prometheusMetricsEnabled: false });
      assert.equal(servers.metrics, undefined);
      assert.equal(servers.health!.port, freePort);
      assert.equal((await fetchText(`http://127.0.0.1:${freePort}/liveness`)).status, 204);
      assert.ok(await refused(`http://127.0.0.1:${oldMetrics}/metrics`), "metrics port closed");
      if (oldHealth !== freePort) {
        assert.ok(await refused(`http://127.0.0.1:${oldHealth}/liveness`), "old port closed");
      }
    });

    await t.step(
      "a port already in use is logged, not thrown, and retried on the next change",
      async () => {
        const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const taken = (blocker.addr as Deno.NetAddr).port;
        try {
          await servers.configure({ ...base, prometheusMetricsPort: taken });
          assert.equal(servers.metrics, undefined);
          assert.ok(
            sink.lines.some((l) =>
              l.includes("[ERROR]") &&
              l.includes(`Cannot start the metrics server on 127.0.0.1 port ${taken}`)
            ),
            sink.lines.join("\n"),
          );
        } finally {
          blocker.close();
        }
        await servers.configure({ ...base, prometheusMetricsPort: 0 });
        assert.ok(servers.metrics !== undefined);
      },
    );
  } finally {
    await servers.close();
  }
  assert.equal(servers.health, undefined);
  assert.equal(servers.metrics, undefined);
  await servers.configure(base); // after close: does nothing
  assert.equal(servers.health, undefined);
});
