/**
 * Endpoint status reporting with a manual clock and an in-memory store (Felix's
 * statusrep rules): one write per delay, every change waits at least one tick, only the
 * latest value is written, removed endpoints are deleted, stale keys are cleaned at
 * start-up and by the periodic check, failures are retried.
 */
import { deepStrictEqual as assertEquals, equal, ok as assert } from "node:assert/strict";
import {
  EndpointStatusReporter,
  type EndpointStatusStore,
} from "../../src/status/endpoint_status.ts";
import { type EndpointStatus } from "../../src/status/report.ts";
import { jittered, ManualClock } from "../../src/time/clock.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";

class FakeStore implements EndpointStatusStore {
  readonly keys = new Map<string, EndpointStatus | undefined>();
  readonly ops: string[] = [];
  failing = false;
  lists = 0;
  constructor(private readonly clock: ManualClock) {}
  #check() {
    if (this.failing) throw new Error("14 UNAVAILABLE: No connection established");
  }
  list() {
    this.#check();
    this.lists++;
    return Promise.resolve(new Map(this.keys));
  }
  put(name: string, status: EndpointStatus) {
    this.#check();
    this.keys.set(name, status);
    this.ops.push(`${this.clock.now()} put ${name}=${status}`);
    return Promise.resolve();
  }
  delete(name: string) {
    this.#check();
    this.keys.delete(name);
    this.ops.push(`${this.clock.now()} delete ${name}`);
    return Promise.resolve();
  }
}

function setup(delaySecs = 1) {
  const clock = new ManualClock(0);
  const store = new FakeStore(clock);
  const sink = memorySink("DEBUG");
  const reporter = new EndpointStatusReporter({
    store,
    log: createLogger([sink], "status"),
    delaySecs,
    clock,
    random: () => 0.5, // no jitter: exact tick times
  });
  return { clock, store, sink, reporter };
}

const view = (o: Record<string, EndpointStatus>) => new Map(Object.entries(o));

/** Advances one second at a time. */
async function seconds(clock: ManualClock, n: number) {
  for (let i = 0; i < n; i++) await clock.advance(1000);
}

Deno.test({
  name: "At start-up stale keys are deleted and each endpoint is written after one damping tick",
  async fn() {
    const { clock, store, reporter } = setup();
    store.keys.set("gone", "up");
    store.keys.set("eth0", "down");
    reporter.update(view({ eth0: "up", "ns/eth1": "error" }));
    await seconds(clock, 10);
    assertEquals(store.ops, [
      "1000 delete gone",
      "2000 put eth0=up",
      "3000 put ns/eth1=error",
    ]);
    equal(store.lists, 1);
    equal(reporter.pending, false);
    equal(clock.pending, 1); // only the periodic check stays armed
    await reporter.close();
    equal(clock.pending, 0);
  },
});

Deno.test({
  name: "Writes are rate-limited to one per delay",
  async fn() {
    const { clock, store, reporter } = setup(2);
    reporter.update(view({ a: "up", b: "up", c: "down", d: "error" }));
    await seconds(clock, 20);
    assertEquals(store.ops, [
      "4000 put a=up",
      "6000 put b=up",
      "8000 put c=down",
      "10000 put d=error",
    ]);
    assertEquals(reporter.stats, { writes: 4, deletes: 0, failures: 0, resyncs: 1 });
    await reporter.close();
  },
});

Deno.test({
  name: "A flapping endpoint costs one write, of its latest state",
  async fn(t) {
    await t.step("flaps before the first tick", async () => {
      const { clock, store, reporter } = setup();
      reporter.update(view({ eth0: "up" }));
      await clock.advance(300);
      reporter.update(view({ eth0: "down" }));
      await clock.advance(300);
      reporter.update(view({ eth0: "up" }));
      await clock.advance(300);
      reporter.update(view({ eth0: "down" }));
      await seconds(clock, 5);
      assertEquals(store.ops, ["2000 put eth0=down"]);
      await reporter.close();
    });
    await t.step("flaps while waiting for its write", async () => {
      const { clock, store, reporter } = setup();
      reporter.update(view({ eth0: "up" }));
      await clock.advance(1500); // promoted at the first tick, written at the next
      reporter.update(view({ eth0: "error" }));
      await seconds(clock, 5);
      assertEquals(store.ops, ["2000 put eth0=error"]);
      await reporter.close();
    });
    await t.step("a change never skips its damping tick", async () => {
      const { clock, store, reporter } = setup();
      reporter.update(view({ eth0: "up" }));
      await seconds(clock, 3);
      reporter.update(view({ eth0: "down" }));
      await seconds(clock, 5);
      assertEquals(store.ops, ["2000 put eth0=up", "5000 put eth0=down"]);
      await reporter.close();
    });
  },
});

Deno.test({
  name: "An unchanged view writes nothing; a removed endpoint's key is deleted",
  async fn() {
    const { clock, store, reporter } = setup();
    reporter.update(view({ eth0: "up", eth1: "up" }));
    await seconds(clock, 5);
    const before = store.ops.length;
    reporter.update(view({ eth0: "up", eth1: "up" }));
    await seconds(clock, 5);
    equal(store.ops.length, before);
    reporter.update(view({ eth0: "up" }));
    await seconds(clock, 5);
    assertEquals(store.ops.slice(before), ["12000 delete eth1"]);
    assertEquals([...store.keys], [["eth0", "up"]]);
    await reporter.close();
  },
});

Deno.test({
  name: "The periodic check (180 x delay) rewrites or deletes keys that disagree",
  async fn() {
    const { clock, store, sink, reporter } = setup();
    reporter.update(view({ eth0: "up", eth1: "down" }));
    await seconds(clock, 5);
    store.keys.set("eth0", "error"); // changed by someone else
    store.keys.delete("eth1"); // deleted by someone else
    store.keys.set("rogue", "up"); // never ours
    store.keys.set("junk", undefined); // unreadable value
    const mark = store.ops.length;
    await clock.advance(180_000 - 5_000 - 1);
    equal(store.ops.length, mark);
    await seconds(clock, 6);
    const fixes = store.ops.slice(mark);
    // One per tick, starting at the first tick after the check fell due.
    assertEquals(fixes.map((o) => Number(o.split(" ")[0])), [181_000, 182_000, 183_000, 184_000]);
    assertEquals(fixes.map((o) => o.replace(/^\d+ /, "")).sort(), [
      "delete junk",
      "delete rogue",
      "put eth0=up",
      "put eth1=down",
    ]);
    equal(store.lists, 2);
    assert(sink.lines.some((l) => l.includes("'rogue' is out of date")));
    assertEquals(
      [...store.keys].sort(),
      [["eth0", "up"], ["eth1", "down"]],
    );
    await reporter.close();
  },
});

Deno.test({
  name: "Failed writes are warned about once and retried each tick until they succeed",
  async fn() {
    const { clock, store, sink, reporter } = setup();
    store.failing = true;
    reporter.update(view({ eth0: "up" }));
    await seconds(clock, 6);
    equal(store.ops.length, 0);
    const warnings = sink.lines.filter((l) => l.includes("[WARNING]"));
    equal(warnings.length, 1, warnings.join("\n"));
    assert(warnings[0]!.includes("Failed to list endpoint statuses"), warnings[0]!);
    store.failing = false;
    await seconds(clock, 3);
    // The start-up check runs once etcd answers again, then the write goes through.
    assertEquals(store.ops, ["7000 put eth0=up"]);
    equal(store.lists, 1);
    assert(sink.lines.some((l) => l.includes("works again")));
    await reporter.close();
  },
});

Deno.test({
  name: "Nothing happens before the first view, and close stops all timers",
  async fn() {
    const { clock, store, reporter } = setup();
    await clock.advance(300_000);
    equal(store.lists, 0);
    equal(clock.pending, 0);
    reporter.update(view({ eth0: "up" }));
    await reporter.close();
    equal(clock.pending, 0);
    await seconds(clock, 10);
    equal(store.ops.length, 0);
  },
});

Deno.test({
  name: "Tick times are jittered by at most 10 percent",
  fn() {
    equal(jittered(1000, 0.1, () => 0), 900);
    equal(jittered(1000, 0.1, () => 0.5), 1000);
    assert(jittered(1000, 0.1, () => 0.999999) < 1100);
    assert(jittered(1000, 0.1, () => 0.999999) > 1099);
  },
});
