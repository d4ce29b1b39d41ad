/**
 * The agent-facing StatusReporting: endpoint statuses pass only once in sync and only when
 * the calculation's status generation moved; live config changes switch endpoint reporting
 * and heartbeat timing; close stops everything.
 */
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import type { EtcdClient } from "../../src/datastore/etcd_client.ts";
import type { EndpointStatusStore } from "../../src/status/endpoint_status.ts";
import type { HeartbeatStore } from "../../src/status/heartbeat.ts";
import type { EndpointStatus } from "../../src/status/report.ts";
import { type ReportingConfig, StatusReporting } from "../../src/status/reporting.ts";
import { ManualClock } from "../../src/time/clock.ts";
import { createLogger } from "../../src/log/logger.ts";

class Calc {
  statusGeneration = 0;
  calls = 0;
  #statuses = new Map<string, EndpointStatus>();
  set(o: Record<string, EndpointStatus>) {
    this.#statuses = new Map(Object.entries(o));
    this.statusGeneration++;
  }
  endpointStatuses() {
    this.calls++;
    return new Map(this.#statuses);
  }
}

function setup(config: Partial<ReportingConfig> = {}) {
  const clock = new ManualClock(0);
  const beats: number[] = [];
  const endpointKeys = new Map<string, EndpointStatus>();
  let revoked: boolean | undefined;
  const heartbeatStore: HeartbeatStore = {
    write: (_v, ttl) => {
      beats.push(ttl);
      return Promise.resolve();
    },
    close: (revoke) => {
      revoked = revoke;
      return Promise.resolve();
    },
  };
  const endpointStore: EndpointStatusStore = {
    list: () => Promise.resolve(new Map(endpointKeys)),
    put: (n, s) => {
      endpointKeys.set(n, s);
      return Promise.resolve();
    },
    delete: (n) => {
      endpointKeys.delete(n);
      return Promise.resolve();
    },
  };
  const reporting = new StatusReporting({
    client: undefined as unknown as EtcdClient, // both stores are replaced
    hostname: "h1",
    config: {
      reportingIntervalSecs: 30,
      reportingTTLSecs: 90,
      endpointReportingEnabled: true,
      endpointReportingDelaySecs: 1,
      ...config,
    },
    log: createLogger([]),
    firstReportDelayMs: 0,
    clock,
    heartbeatStore,
    endpointStore,
  });
  return { clock, beats, endpointKeys, reporting, revoked: () => revoked };
}

Deno.test({
  name: "Endpoint statuses are reported only in sync and only when their generation moved",
  async fn() {
    const { clock, endpointKeys, reporting } = setup();
    const calc = new Calc();
    calc.set({ eth0: "up" });
    reporting.start();
    reporting.syncFrom(calc, false);
    equal(calc.calls, 0);
    reporting.syncFrom(calc, true);
    reporting.syncFrom(calc, true);
    equal(calc.calls, 1);
    await clock.advance(3000);
    assertEquals([...endpointKeys], [["eth0", "up"]]);
    calc.set({ eth0: "down" });
    reporting.syncFrom(calc, true);
    equal(calc.calls, 2);
    await clock.advance(3000);
    assertEquals([...endpointKeys], [["eth0", "down"]]);
    await reporting.close();
    equal(clock.pending, 0);
  },
});

Deno.test({
  name: "With endpoint reporting off nothing is asked of the calculation",
  async fn() {
    const { clock, endpointKeys, reporting } = setup({ endpointReportingEnabled: false });
    const calc = new Calc();
    calc.set({ eth0: "up" });
    reporting.start();
    reporting.syncFrom(calc, true);
    reporting.updateEndpointStatuses(new Map([["eth1", "up"]]));
    await clock.advance(5000);
    equal(calc.calls, 0);
    equal(endpointKeys.size, 0);
    equal(reporting.endpoints, undefined);
    await reporting.close();
  },
});

Deno.test({
  name: "Live config changes switch endpoint reporting and re-time the heartbeat",
  async fn() {
    const { clock, beats, endpointKeys, reporting, revoked } = setup({
      endpointReportingEnabled: false,
    });
    const calc = new Calc();
    calc.set({ eth0: "up" });
    reporting.start();
    await clock.advance(0);
    assertEquals(beats, [90]);
    reporting.syncFrom(calc, true);
    const on = {
      reportingIntervalSecs: 5,
      reportingTTLSecs: 15,
      endpointReportingEnabled: true,
      endpointReportingDelaySecs: 1,
    };
    reporting.setConfig(on);
    reporting.syncFrom(calc, true); // same generation, but the new reporter needs the view
    await clock.advance(5000);
    assertEquals([...endpointKeys], [["eth0", "up"]]);
    assertEquals(beats, [90, 15]);
    reporting.setConfig({ ...on, endpointReportingEnabled: false });
    calc.set({ eth0: "down" });
    reporting.syncFrom(calc, true);
    await clock.advance(5000);
    assertEquals([...endpointKeys], [["eth0", "up"]]);
    await reporting.close({ revoke: false });
    equal(revoked(), false);
    equal(clock.pending, 0);
  },
});
