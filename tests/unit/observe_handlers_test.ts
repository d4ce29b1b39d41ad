/**
 * The health and metrics request handlers with fake sources, called directly (no server):
 * liveness and readiness through wait-for-ready, snapshot, first programming and a wedged
 * nft; /metrics text with every series and its value; a failed counter read that still
 * serves the rest; methods and paths that are not ours.
 */
import assert from "node:assert/strict";
import type { AgentStatus } from "../../src/agent/agent.ts";
import { fixedSource } from "../../src/dataplane/mod.ts";
import { hostState, iface } from "../../synth/host_states.ts";
import {
  ActivityRecorder,
  type ActivitySnapshot,
  CONTENT_TYPE,
  type CounterReading,
  healthHandler,
  metricsHandler,
  type MetricsSource,
  NO_COUNTERS,
  processStats,
} from "../../src/observe/mod.ts";

function status(p: Partial<AgentStatus> = {}): AgentStatus {
  return {
    ready: true,
    inSync: true,
    programmed: true,
    revision: 42,
    appliedRevision: 40,
    applies: 3,
    applyFailures: 1,
    lastApplyMs: 2.5,
    lastSuccessAt: new Date(1_700_000_000_500),
    ...p,
  };
}

const IDLE: ActivitySnapshot = new ActivityRecorder().snapshot();

interface Fake extends MetricsSource {
  st: AgentStatus;
  act: ActivitySnapshot;
  reading: CounterReading | Error;
}

function fake(st: AgentStatus = status(), act: ActivitySnapshot = IDLE): Fake {
  const f: Fake = {
    st,
    act,
    reading: NO_COUNTERS,
    status: () => f.st,
    activity: () => f.act,
    counters: () =>
      f.reading instanceof Error ? Promise.reject(f.reading) : Promise.resolve(f.reading),
    process: () => ({ startTimeSeconds: 1_700_000_000, residentMemoryBytes: 1234, openFds: 9 }),
  };
  return f;
}

const get = (path: string, method = "GET") =>
  new Request(`http://127.0.0.1:9099${path}`, { method });

Deno.test("health goes from live-but-not-ready to ready as the agent starts", async (t) => {
  const f = fake(status({ ready: false, inSync: false, programmed: false, applies: 0 }));
  const h = healthHandler(f);
  const expect = async (path: string, code: number, body: RegExp | "") => {
    const res = h(get(path));
    assert.equal(res.status, code, path);
    const text = await res.text();
    if (body === "") assert.equal(text, "");
    else assert.match(text, body);
  };
  await t.step("wait-for-ready: live, not ready", async () => {
    await expect("/liveness", 204, "");
    await expect("/readiness", 503, /wait-for-ready/);
  });
  await t.step("ready flag true, snapshot not complete", async () => {
    f.st = status({ ready: true, inSync: false, programmed: false });
    await expect("/readiness", 503, /snapshot not complete/);
  });
  await t.step("in sync, nft not programmed (with failed attempts)", async () => {
    f.st = status({ inSync: true, programmed: false, applyFailures: 2 });
    await expect("/readiness", 503, /nftables not programmed yet \(2 failed attempt/);
  });
  await t.step("programmed: ready", async () => {
    f.st = status();
    await expect("/readiness", 204, "");
    await expect("/liveness", 204, "");
  });
  await t.step("Ready flag goes false later: live, not ready", async () => {
    f.st = status({ ready: false });
    await expect("/readiness", 503, /Ready is not true/);
    await expect("/liveness", 204, "");
  });
});

Deno.test("a dataplane call stuck past the limit makes the agent neither live nor ready", async () => {
  const f = fake(status(), { ...IDLE, busy: { what: "apply", forMs: 61_000 } });
  const h = healthHandler(f, { stuckAfterMs: 60_000 });
  const live = h(get("/liveness"));
  assert.equal(live.status, 503);
  assert.equal(await live.text(), "A dataplane apply has been running for 61 s (limit 60 s)\n");
  const ready = h(get("/readiness"));
  assert.equal(ready.status, 503);
  await ready.body?.cancel();
  f.act = { ...IDLE, busy: { what: "apply", forMs: 59_000 } };
  assert.equal(h(get("/liveness")).status, 204, "a slow apply within the limit is fine");
});

Deno.test("health answers HEAD without a body, refuses POST and unknown paths", async () => {
  const h = healthHandler(fake(status({ programmed: false })));
  const head = h(get("/readiness", "HEAD"));
  assert.equal(head.status, 503);
  assert.equal(head.body, null);
  const post = h(get("/liveness", "POST"));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const other = h(get("/healthz"));
  assert.equal(other.status, 404);
  await other.body?.cancel();
});

/** Parses exposition text into `name{labels}` -> value, checking every line's shape. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|untyped)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (/^# HELP \S+ .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed line: ${line}`);
    const base = m[1]!.replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]!) || types.get(base) === "histogram", `no TYPE before ${line}`);
    out.set(`${m[1]}${m[2] ?? ""}`, m[3] === "+Inf" ? Infinity : Number(m[3]));
  }
  return out;
}

Deno.test("metrics show sync state, counts, applies and per-policy and per-endpoint counters", async () => {
  let clock = 0;
  const rec = new ActivityRecorder({ now: () => clock });
  rec.recordBatch([{ type: "ready" }, { type: "policy" }, { type: "inSync" }]);
  const programmed = hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["web"] } }), iface("eth1", "hep1")],
    policies: {
      web: { ingress: [], egress: [] },
    },
    profiles: { base: { ingress: [], egress: [] } },
    ipSets: {
      "s:abc": { v4: ["198.18.0.1", "198.18.0.2"], v6: ["2001:db8::1"] },
      "s:def": { v4: ["198.18.0.3"], v6: [] },
    },
  });
  const dp = rec.instrument({
    apply: () => {
      clock += 20;
      return Promise.resolve({ changed: true });
    },
    refresh: () => Promise.resolve({ repaired: true, reason: "differs" }),
  });
  await dp.apply(fixedSource(programmed));
  await dp.refresh();
  const f = fake(status(), rec.snapshot());
  f.reading = {
    policies: [
      { policy: "web", class: "normal", direction: "ingress", packets: 5, bytes: 300 },
      { policy: 'odd"name', class: "untracked", direction: "egress", packets: 1, bytes: 64 },
    ],
    endpointDrops: [
      { iface: "eth0", hostEndpoint: "hep0", direction: "ingress", packets: 7, bytes: 420 },
    ],
  };
  const res = await metricsHandler(f)(get("/metrics"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), CONTENT_TYPE);
  const text = await res.text();
  const s = series(text);
  const want: Record<string, number> = {
    "hostfence_resync_state": 3,
    "hostfence_datastore_ready": 1,
    "hostfence_datastore_in_sync": 1,
    "hostfence_dataplane_programmed": 1,
    "hostfence_resyncs_started_total": 1,
    'hostfence_calc_graph_updates_processed_total{type="policy"}': 1,
    'hostfence_calc_graph_updates_processed_total{type="ready"}': 1,
    "hostfence_datastore_revision": 42,
    "hostfence_dataplane_applied_revision": 40,
    "hostfence_dataplane_applies_total": 3,
    "hostfence_dataplane_failures_total": 1,
    'hostfence_dataplane_apply_time_seconds_bucket{le="0.01"}': 0,
    'hostfence_dataplane_apply_time_seconds_bucket{le="0.025"}': 1,
    'hostfence_dataplane_apply_time_seconds_bucket{le="+Inf"}': 1,
    "hostfence_dataplane_apply_time_seconds_sum": 0.02,
    "hostfence_dataplane_apply_time_seconds_count": 1,
    "hostfence_dataplane_last_apply_success_timestamp_seconds": 1_700_000_000.5,
    "hostfence_dataplane_refreshes_total": 1,
    "hostfence_dataplane_refresh_failures_total": 0,
    'hostfence_dataplane_repairs_total{reason="differs"}': 1,
    "hostfence_active_local_endpoints": 2,
    "hostfence_active_local_policies": 1,
    "hostfence_active_local_profiles": 1,
    "hostfence_ipsets_active": 2,
    'hostfence_ipset_members{family="ipv4"}': 3,
    'hostfence_ipset_members{family="ipv6"}': 1,
    'hostfence_policy_packets_total{policy="web",direction="ingress",class="normal"}': 5,
    'hostfence_policy_bytes_total{policy="web",direction="ingress",class="normal"}': 300,
    'hostfence_policy_packets_total{policy="odd\\"name",direction="egress",class="untracked"}': 1,
    'hostfence_endpoint_dropped_packets_total{interface="eth0",host_endpoint="hep0",direction="ingress"}':
      7,
    'hostfence_endpoint_dropped_bytes_total{interface="eth0",host_endpoint="hep0",direction="ingress"}':
      420,
    "hostfence_counter_read_errors_total": 0,
    "process_start_time_seconds": 1_700_000_000,
    "process_resident_memory_bytes": 1234,
    "process_open_fds": 9,
  };
  for (const [k, v] of Object.entries(want)) assert.equal(s.get(k), v, `${k} in\n${text}`);
  assert.match(text, /^# TYPE hostfence_dataplane_apply_time_seconds histogram$/m);
  assert.match(text, /^# TYPE hostfence_policy_packets_total counter$/m);
  assert.doesNotMatch(text, /process_cpu_seconds_total/, "absent figures are left out");
});

Deno.test("before anything happens the metrics say wait-for-ready with zero counts", async () => {
  const f = fake(
    status({
      ready: false,
      inSync: false,
      programmed: false,
      revision: 0,
      appliedRevision: 0,
      applies: 0,
      applyFailures: 0,
      lastApplyMs: undefined,
      lastSuccessAt: undefined,
    }),
  );
  const text = await (await metricsHandler(f)(get("/metrics"))).text();
  const s = series(text);
  assert.equal(s.get("hostfence_resync_state"), 1);
  assert.equal(s.get("hostfence_active_local_endpoints"), 0);
  assert.equal(s.get('hostfence_ipset_members{family="ipv4"}'), 0);
  assert.equal(s.get("hostfence_dataplane_apply_time_seconds_count"), 0);
  assert.ok(!s.has("hostfence_dataplane_last_apply_success_timestamp_seconds"));
  assert.match(text, /^# TYPE hostfence_dataplane_last_apply_success_timestamp_seconds gauge$/m);
  f.st = status({ ready: true, inSync: false });
  const s2 = series(await (await metricsHandler(f)(get("/metrics"))).text());
  assert.equal(s2.get("hostfence_resync_state"), 2);
});

Deno.test("a failed counter read serves the other metrics and counts the error", async () => {
  const f = fake();
  f.reading = new Error("nft: permission denied");
  const handler = metricsHandler(f);
  for (const expected of [1, 2]) {
    const res = await handler(get("/metrics"));
    assert.equal(res.status, 200);
    const s = series(await res.text());
    assert.equal(s.get("hostfence_counter_read_errors_total"), expected);
    assert.equal(s.get("hostfence_resync_state"), 3);
    assert.ok(![...s.keys()].some((k) => k.startsWith("hostfence_policy_packets_total{")));
  }
});

Deno.test("metrics refuse POST and other paths, answer HEAD without a body, and 500 on a broken source", async () => {
  const errors: unknown[] = [];
  const f = fake();
  const handler = metricsHandler(f, { onError: (e) => errors.push(e) });
  const post = await handler(get("/metrics", "POST"));
  assert.equal(post.status, 405);
  await post.body?.cancel();
  const other = await handler(get("/"));
  assert.equal(other.status, 404);
  await other.body?.cancel();
  const head = await handler(get("/metrics", "HEAD"));
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  f.status = () => {
    throw new Error("agent gone");
  };
  const broken = await handler(get("/metrics"));
  assert.equal(broken.status, 500);
  assert.match(await broken.text(), /agent gone/);
  assert.equal(errors.length, 1);
});

Deno.test("this process's own figures are read from Deno and /proc", () => {
  const p = processStats();
  assert.ok(p.residentMemoryBytes! > 1_000_000, `rss ${p.residentMemoryBytes}`);
  assert.ok(p.heapUsedBytes! > 0);
  const now = Date.now() / 1000;
  assert.ok(p.startTimeSeconds! <= now && p.startTimeSeconds! > now - 3600, "started recently");
  assert.ok(p.cpuSecondsTotal! >= 0);
  if (Deno.build.os === "linux") assert.ok(p.openFds! >= 3, `fds ${p.openFds}`);
});
