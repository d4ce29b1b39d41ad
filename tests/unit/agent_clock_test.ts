/**
 * The agent's timing rules driven by a manual clock (src/time/clock.ts) instead of real
 * waiting: wait-for-ready reminders, retry backoff, the periodic nftables refresh, the
 * timestamp of the last success, and no timer left behind by close.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Agent, type Calculation, type Dataplane } from "../../src/agent/agent.ts";
import type { HostState, HostStateSource } from "../../src/calc/host_state.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import { ManualClock } from "../../src/time/clock.ts";
import { agentResolver } from "../fixtures/config_inputs.ts";

const calc = {
  applyUpdates() {},
  setInterfaces() {},
  setConfig() {},
  hostState: () => ({}) as HostState,
} as unknown as Calculation;

/** Fails the first `failures` applies; records the clock's time of every call. */
class ClockedDataplane implements Dataplane {
  applies: number[] = [];
  refreshes: number[] = [];
  constructor(readonly clock: ManualClock, public failures = 0) {}
  apply(_source: HostStateSource) {
    this.applies.push(this.clock.now());
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error("nft: busy"));
    }
    return Promise.resolve({ changed: true });
  }
  refresh() {
    this.refreshes.push(this.clock.now());
    return Promise.resolve({ repaired: false });
  }
}

function setup(failures = 0) {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 1, 0, 0));
  const start = clock.now();
  const sink = memorySink("DEBUG");
  const dataplane = new ClockedDataplane(clock, failures);
  const agent = new Agent({
    hostname: "h1",
    config: agentResolver(new Map(), new Map()).config!,
    resolveConfig: agentResolver,
    calc,
    dataplane,
    log: createLogger([sink], "agent"),
    clock,
  });
  const since = (times: number[]) => times.map((t) => t - start);
  return { clock, agent, dataplane, lines: sink.lines, since };
}

Deno.test("wait-for-ready is logged at start and then every 2 s of clock time", async () => {
  const { clock, agent, lines } = setup();
  const waits = () => lines.filter((l) => l.includes("wait-for-ready")).length;
  assertEquals(waits(), 1);
  await clock.advance(1_999);
  assertEquals(waits(), 1);
  await clock.advance(1);
  assertEquals(waits(), 2);
  await clock.advance(6_000);
  assertEquals(waits(), 5);
  await agent.close();
  assertEquals(clock.pending, 0, "close leaves no timer armed");
});

Deno.test("a failed apply is retried after 0.5 s, then 1 s, then 2 s", async () => {
  const { clock, agent, dataplane, since } = setup(3);
  agent.handleUpdates([{ type: "ready", value: true }, { type: "inSync" }], 7);
  await clock.advance(0);
  await clock.advance(499);
  assertEquals(since(dataplane.applies), [0]);
  await clock.advance(1);
  await clock.advance(1_000);
  await clock.advance(2_000);
  assertEquals(since(dataplane.applies), [0, 500, 1_500, 3_500]);
  assert(agent.status().programmed);
  assertEquals(agent.status().applyFailures, 3);
  // The success is stamped with the clock's wall time.
  assertEquals(agent.status().lastSuccessAt, new Date(Date.UTC(2026, 10, 30, 1, 0, 3, 500)));
  await agent.close();
  assertEquals(clock.pending, 0);
});

Deno.test("the nftables table is re-read every NftablesRefreshInterval once programmed", async () => {
  const { clock, agent, dataplane, since } = setup();
  agent.handleUpdates([{ type: "ready", value: true }, { type: "inSync" }], 3);
  await clock.advance(0);
  assertEquals(since(dataplane.applies), [0]);
  await clock.advance(90_000 * 3);
  assertEquals(since(dataplane.refreshes), [90_000, 180_000, 270_000]);
  // A live change of the interval re-arms the timer from the time of the change.
  agent.handleUpdates([{ type: "config", name: "NftablesRefreshInterval", value: "10" }], 4);
  await clock.advance(25_000);
  assertEquals(since(dataplane.refreshes).slice(3), [280_000, 290_000]);
  await agent.close();
  assertEquals(clock.pending, 0);
});
