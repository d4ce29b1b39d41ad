/**
 * The activity recorder that watches the agent's loop from outside: resyncs and updates from
 * the syncer's batches, apply times only for applies that ran nft (and failures), the
 * HostState last programmed, refreshes and repairs, and how long a call has been in flight.
 */
import assert from "node:assert/strict";
import type { Dataplane } from "../../src/agent/agent.ts";
import { hostState, iface } from "../../synth/host_states.ts";
import { fixedSource } from "../../src/dataplane/mod.ts";
import { ActivityRecorder } from "../../src/observe/mod.ts";

/** A dataplane whose calls finish when the test says so. */
function fakeDataplane() {
  const pending: {
    resolve: (v: { changed: boolean } & { repaired: boolean; reason?: string }) => void;
    reject: (e: Error) => void;
  }[] = [];
  const call = () =>
    new Promise<{ changed: boolean } & { repaired: boolean; reason?: string }>((resolve, reject) =>
      pending.push({ resolve, reject })
    );
  const dp: Dataplane = { apply: call, refresh: call };
  return { dp, pending };
}

Deno.test("a batch ending in inSync is one resync; updates are counted by type", () => {
  const r = new ActivityRecorder();
  r.recordBatch([
    { type: "ready" },
    { type: "policy" },
    { type: "policy" },
    { type: "hostEndpoint" },
    { type: "inSync" },
  ]);
  r.recordBatch([{ type: "policy" }]);
  r.recordBatch([{ type: "inSync" }]); // a resync that found nothing new
  const s = r.snapshot();
  assert.equal(s.resyncs, 2);
  assert.deepEqual(Object.fromEntries(s.updates), { ready: 1, policy: 3, hostEndpoint: 1 });
});

Deno.test("apply times are observed for applies that ran nft or failed, not for no-ops", async () => {
  let clock = 1000;
  const r = new ActivityRecorder({ now: () => clock, applyTimeBuckets: [0.01, 1] });
  const { dp, pending } = fakeDataplane();
  const wrapped = r.instrument(dp);
  const s1 = hostState({ interfaces: [iface("eth0", "hep0")] });
  const s2 = hostState({});

  const first = wrapped.apply(fixedSource(s1));
  clock += 5; // 5 ms
  assert.deepEqual(r.snapshot().busy, { what: "apply", forMs: 5 });
  pending.shift()!.resolve({ changed: true, repaired: false });
  await first;
  assert.equal(r.snapshot().busy, undefined);
  assert.equal(r.snapshot().programmed, s1);

  const noop = wrapped.apply(fixedSource(s1));
  clock += 3;
  pending.shift()!.resolve({ changed: false, repaired: false });
  await noop;

  const failing = wrapped.apply(fixedSource(s2));
  clock += 2000;
  pending.shift()!.reject(new Error("nft said no"));
  await assert.rejects(failing, /nft said no/);

  const s = r.snapshot();
  assert.equal(s.programmed, s1, "a failed apply does not replace the programmed state");
  assert.deepEqual(s.applyTime, {
    buckets: [{ le: 0.01, count: 1 }, { le: 1, count: 1 }],
    count: 2,
    sum: 2.005,
  });
});

Deno.test("refreshes, repairs by reason and refresh failures are counted", async () => {
  const r = new ActivityRecorder();
  const { dp, pending } = fakeDataplane();
  const wrapped = r.instrument(dp);
  const results = [
    { changed: false, repaired: false },
    { changed: false, repaired: true, reason: "missing" },
    { changed: false, repaired: true, reason: "differs" },
    { changed: false, repaired: true, reason: "differs" },
  ];
  for (const res of results) {
    const p = wrapped.refresh();
    pending.shift()!.resolve(res);
    assert.deepEqual(await p, res, "the result is passed through unchanged");
  }
  const p = wrapped.refresh();
  pending.shift()!.reject(new Error("listing failed"));
  await assert.rejects(p, /listing failed/);
  const s = r.snapshot();
  assert.equal(s.refreshes, 5);
  assert.equal(s.refreshFailures, 1);
  assert.deepEqual(Object.fromEntries(s.repairs), { missing: 1, differs: 2 });
  assert.equal(s.busy, undefined);
});

Deno.test("the busy figure is the oldest call still in flight", async () => {
  let clock = 0;
  const r = new ActivityRecorder({ now: () => clock });
  const { dp, pending } = fakeDataplane();
  const wrapped = r.instrument(dp);
  const a = wrapped.refresh();
  clock = 100;
  const b = wrapped.apply(fixedSource(hostState({})));
  clock = 250;
  assert.deepEqual(r.snapshot().busy, { what: "refresh", forMs: 250 });
  pending.shift()!.resolve({ changed: false, repaired: false });
  await a;
  assert.deepEqual(r.snapshot().busy, { what: "apply", forMs: 150 });
  pending.shift()!.resolve({ changed: true, repaired: false });
  await b;
  assert.equal(r.snapshot().busy, undefined);
});
