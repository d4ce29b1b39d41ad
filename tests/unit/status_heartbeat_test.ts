/**
 * The heartbeat schedule with a manual clock and an in-memory store: first report after
 * the start delay, then every interval; first_update until a write succeeds; failures
 * warned and retried; live interval changes; clean and crash-like stops.
 */
import { deepStrictEqual as assertEquals, equal, ok as assert } from "node:assert/strict";
import { HeartbeatReporter, type HeartbeatStore } from "../../src/status/heartbeat.ts";
import { ManualClock } from "../../src/time/clock.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import { parseStatusReport, type StatusReport } from "../../src/status/report.ts";

class FakeStore implements HeartbeatStore {
  writes: { at: number; report: StatusReport; ttl: number }[] = [];
  failNext = 0;
  closed: boolean | undefined;
  constructor(private readonly clock: ManualClock) {}
  write(value: string, ttlSecs: number): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error("14 UNAVAILABLE: No connection established"));
    }
    this.writes.push({ at: this.clock.now(), report: parseStatusReport(value)!, ttl: ttlSecs });
    return Promise.resolve();
  }
  close(revoke: boolean): Promise<void> {
    this.closed = revoke;
    return Promise.resolve();
  }
}

function setup(opts: { intervalSecs?: number; ttlSecs?: number; firstDelayMs?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const store = new FakeStore(clock);
  const sink = memorySink("DEBUG");
  const reporter = new HeartbeatReporter({
    store,
    log: createLogger([sink], "status"),
    intervalSecs: opts.intervalSecs ?? 30,
    ttlSecs: opts.ttlSecs ?? 90,
    firstDelayMs: opts.firstDelayMs ?? 10_000,
    clock,
    uptime: () => (clock.now() - 1_000_000) / 1000,
  });
  return { clock, store, sink, reporter };
}

Deno.test({
  name: "The first report comes after the start delay, then one every interval",
  async fn() {
    const { clock, store, reporter } = setup();
    reporter.start();
    await clock.advance(9_999);
    equal(store.writes.length, 0);
    await clock.advance(1);
    equal(store.writes.length, 1);
    await clock.advance(30_000);
    await clock.advance(30_000);
    assertEquals(store.writes.map((w) => w.at - 1_000_000), [10_000, 40_000, 70_000]);
    assertEquals(store.writes.map((w) => w.ttl), [90, 90, 90]);
    assertEquals(store.writes.map((w) => w.report.uptime), [10, 40, 70]);
    equal(store.writes[0]!.report.time, "1970-01-01T00:16:50Z");
    await reporter.close();
    equal(clock.pending, 0);
  },
});

Deno.test({
  name: "first_update is true until a write succeeds, also across failed writes",
  async fn() {
    const { clock, store, sink, reporter } = setup({ firstDelayMs: 0 });
    store.failNext = 2;
    reporter.start();
    await clock.advance(0);
    await clock.advance(30_000);
    equal(store.writes.length, 0);
    const warnings = sink.lines.filter((l) => l.includes("[WARNING]"));
    equal(warnings.length, 2);
    assert(warnings[0]!.includes("Failed to write status to datastore"), warnings[0]!);
    await clock.advance(30_000);
    await clock.advance(30_000);
    assertEquals(store.writes.map((w) => w.report.first_update), [true, false]);
    equal(reporter.successes, 2);
    assert(sink.lines.some((l) => l.includes("first status report")));
    await reporter.close();
  },
});

Deno.test({
  name: "An interval of 0 disables the heartbeat; turning it on live starts it",
  async fn() {
    const { clock, store, reporter } = setup({ intervalSecs: 0, firstDelayMs: 100 });
    reporter.start();
    await clock.advance(600_000);
    equal(store.writes.length, 0);
    equal(clock.pending, 0);
    reporter.setTiming({ intervalSecs: 5, ttlSecs: 15 });
    await clock.advance(100);
    await clock.advance(5_000);
    assertEquals(store.writes.map((w) => w.ttl), [15, 15]);
    reporter.setTiming({ intervalSecs: 0, ttlSecs: 15 });
    await clock.advance(600_000);
    equal(store.writes.length, 2);
    await reporter.close();
  },
});

Deno.test({
  name: "A live interval change re-times the next report from now",
  async fn() {
    const { clock, store, reporter } = setup({ firstDelayMs: 0 });
    reporter.start();
    await clock.advance(0);
    await clock.advance(10_000);
    reporter.setTiming({ intervalSecs: 2, ttlSecs: 6 });
    await clock.advance(2_000);
    await clock.advance(2_000);
    assertEquals(store.writes.map((w) => w.at - 1_000_000), [0, 12_000, 14_000]);
    assertEquals(store.writes.map((w) => w.ttl), [90, 6, 6]);
    await reporter.close();
  },
});

Deno.test({
  name: "Closing revokes the status key by default, or leaves it to expire when asked",
  async fn(t) {
    await t.step("clean stop", async () => {
      const { clock, store, reporter } = setup();
      reporter.start();
      await reporter.close();
      equal(store.closed, true);
      equal(clock.pending, 0);
      await clock.advance(100_000);
      equal(store.writes.length, 0);
    });
    await t.step("crash-like stop", async () => {
      const { store, reporter } = setup();
      reporter.start();
      await reporter.close({ revoke: false });
      equal(store.closed, false);
    });
  },
});

Deno.test({
  name: "Reports never overlap: a slow write delays the next one",
  async fn() {
    const clock = new ManualClock(0);
    let release: (() => void) | undefined;
    let started = 0;
    const store: HeartbeatStore = {
      write: () => {
        started++;
        return new Promise<void>((r) => release = r);
      },
      close: () => Promise.resolve(),
    };
    const reporter = new HeartbeatReporter({
      store,
      log: createLogger([]),
      intervalSecs: 1,
      ttlSecs: 3,
      firstDelayMs: 0,
      clock,
    });
    reporter.start();
    await clock.advance(0);
    equal(started, 1);
    await clock.advance(5_000);
    equal(started, 1);
    release!();
    await clock.advance(0);
    await clock.advance(1_000);
    equal(started, 2);
    release!();
    await reporter.close();
  },
});
