/**
 * Status reporting against a real etcd: the heartbeat's lease and TTL, expiry after a
 * crash-like stop, endpoint status keys written/updated/deleted/damped, and
 * `hostfence status` reading it all back.
 */
import { deepStrictEqual as assertEquals, equal, ok as assert } from "node:assert/strict";
import { type Etcd3, rawEtcd } from "../harness/raw_etcd.ts";
import { type EtcdClient, getValue } from "../../src/datastore/etcd_client.ts";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { createEtcdClient } from "../../src/datastore/connection.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import { EtcdHeartbeatStore, HeartbeatReporter } from "../../src/status/heartbeat.ts";
import {
  EndpointStatusReporter,
  etcdEndpointStatusStore,
} from "../../src/status/endpoint_status.ts";
import { parseStatusReport } from "../../src/status/report.ts";
import { runStatus } from "../../src/cmd/status.ts";

const ignore = !haveEtcd();
const STATUS = "/calico/felix/v1/host/h1/status";
const LAST = "/calico/felix/v1/host/h1/last_reported_status";

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A fresh etcd and a client on it, both gone at the end. */
async function withEtcd(
  fn: (client: EtcdClient, endpoint: string, raw: Etcd3) => Promise<void>,
) {
  await using etcd = await startEtcd();
  const client = createEtcdClient({ endpoints: [etcd.endpoint] });
  const raw = rawEtcd(etcd.endpoint);
  try {
    await fn(client, etcd.endpoint, raw);
  } finally {
    client.close();
    raw.close();
  }
}

function heartbeat(client: EtcdClient, intervalSecs: number, ttlSecs: number) {
  const sink = memorySink("DEBUG");
  const store = new EtcdHeartbeatStore(client, "h1");
  const reporter = new HeartbeatReporter({
    store,
    log: createLogger([sink], "status"),
    intervalSecs,
    ttlSecs,
    firstDelayMs: 0,
  });
  return { store, reporter, sink };
}

async function leaseOf(client: Etcd3, key: string): Promise<string | undefined> {
  const res = await client.get(key).exec();
  return res.kvs[0]?.lease;
}

Deno.test({
  name: "The heartbeat key is bound to a lease of ReportingTTLSecs; the last report is not",
  ignore,
  async fn() {
    await withEtcd(async (client, _endpoint, raw) => {
      const { store, reporter } = heartbeat(client, 0.3, 30);
      reporter.start();
      try {
        await waitFor("two heartbeats", () => Promise.resolve(reporter.successes >= 2));
        const lease = await leaseOf(raw, STATUS);
        assert(lease !== undefined && lease !== "0", `status lease: ${lease}`);
        equal(lease, store.leaseId);
        const ttl = await raw.leaseClient.leaseTimeToLive({ ID: lease!, keys: true });
        equal(ttl.grantedTTL, "30");
        assert(Number(ttl.TTL) > 25 && Number(ttl.TTL) <= 30, `remaining TTL ${ttl.TTL}`);
        assertEquals(ttl.keys.map((k) => k.toString()), [STATUS]);
        equal(await leaseOf(raw, LAST), "0");
        // Each write moved the key to a new lease and revoked the old one.
        await waitFor("a third heartbeat", () => Promise.resolve(reporter.successes >= 3));
        const leases = await raw.leaseClient.leaseLeases();
        equal(leases.leases.length, 1, JSON.stringify(leases.leases));

        const last = parseStatusReport((await raw.get(LAST).string())!);
        const live = parseStatusReport((await raw.get(STATUS).string())!);
        assert(last && live);
        equal(last.first_update, false);
        assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(last.time), last.time);
        assert(Math.abs(Date.parse(last.time) - Date.now()) < 5_000, last.time);
        assert(last.uptime > 0);
      } finally {
        await reporter.close();
      }
      // A clean stop withdraws the live key at once and keeps the last report.
      equal(await raw.get(STATUS).string(), null);
      assert((await raw.get(LAST).string()) !== null);
      equal((await raw.leaseClient.leaseLeases()).leases.length, 0);
    });
  },
});

Deno.test({
  name: "The first heartbeat says first_update true",
  ignore,
  async fn() {
    await withEtcd(async (client, _endpoint, raw) => {
      const { reporter } = heartbeat(client, 60, 30);
      reporter.start();
      try {
        await waitFor("one heartbeat", () => Promise.resolve(reporter.successes >= 1));
        equal(parseStatusReport((await getValue(client, STATUS))!)?.first_update, true);
        equal(parseStatusReport((await raw.get(LAST).string())!)?.first_update, true);
      } finally {
        await reporter.close();
      }
    });
  },
});

Deno.test({
  name: "After a crash-like stop the live key expires with its lease; the last report stays",
  ignore,
  async fn() {
    await withEtcd(async (client, _endpoint, raw) => {
      const { reporter } = heartbeat(client, 60, 2);
      reporter.start();
      await waitFor("one heartbeat", () => Promise.resolve(reporter.successes >= 1));
      await reporter.close({ revoke: false });
      assert((await raw.get(STATUS).string()) !== null, "status right after the stop");
      const stoppedAt = Date.now();
      await waitFor("the status key to expire", async () => {
        return (await raw.get(STATUS).string()) === null;
      }, 8_000);
      assert(Date.now() - stoppedAt > 500, "expired suspiciously early");
      const last = parseStatusReport((await raw.get(LAST).string())!);
      equal(last?.first_update, true);
    });
  },
});

Deno.test({
  name: "A write failure is logged and retried at the next interval",
  ignore,
  async fn() {
    await using etcd = await startEtcd();
    const client = createEtcdClient({ endpoints: [etcd.endpoint] }, { callTimeoutMs: 1000 });
    const { reporter, sink } = heartbeat(client, 0.5, 30);
    try {
      await etcd.stop();
      reporter.start();
      await waitFor(
        "a warning",
        () => Promise.resolve(sink.lines.some((l) => l.includes("Failed to write status"))),
      );
      equal(reporter.successes, 0);
      await etcd.restart();
      await waitFor("a heartbeat", () => Promise.resolve(reporter.successes >= 1), 15_000);
      equal(parseStatusReport((await getValue(client, STATUS))!)?.first_update, true);
    } finally {
      await reporter.close();
      client.close();
    }
  },
});

Deno.test({
  name: "Endpoint statuses are written, updated, deleted and damped in etcd",
  ignore,
  async fn() {
    await withEtcd(async (client, _endpoint, raw) => {
      const prefix = "/calico/felix/v1/host/h1/endpoint/";
      await raw.put(prefix + "gone").value('{"status":"up"}');
      await raw.put("/calico/felix/v1/host/h2/endpoint/eth0").value('{"status":"up"}');
      const reporter = new EndpointStatusReporter({
        store: etcdEndpointStatusStore(client, "h1"),
        log: createLogger([]),
        delaySecs: 0.1,
      });
      const dump = () => raw.getAll().prefix("/calico/felix/").strings();
      try {
        reporter.update(new Map([["eth0", "up"], ["ns/eth1", "error"]]));
        await waitFor("the first statuses", async () => {
          const d = await dump();
          return d[prefix + "eth0"] === '{"status":"up"}' &&
            d[prefix + "ns%2feth1"] === '{"status":"error"}' && d[prefix + "gone"] === undefined;
        });
        // Another host's keys are not ours to touch.
        equal((await dump())["/calico/felix/v1/host/h2/endpoint/eth0"], '{"status":"up"}');

        const version = async () => (await raw.get(prefix + "eth0").exec()).kvs[0]?.version;
        const before = Number(await version());
        for (const s of ["down", "up", "down", "error", "down"] as const) {
          reporter.update(new Map([["eth0", s], ["ns/eth1", "error"]]));
        }
        await waitFor("the flap to settle", () => Promise.resolve(!reporter.pending));
        equal((await dump())[prefix + "eth0"], '{"status":"down"}');
        equal(Number(await version()), before + 1, "one write for the whole flap");

        reporter.update(new Map([["eth0", "down"]]));
        await waitFor(
          "the deletion",
          async () => (await dump())[prefix + "ns%2feth1"] === undefined,
        );
        assertEquals(Object.keys(await dump()).sort(), [
          "/calico/felix/v1/host/h1/endpoint/eth0",
          "/calico/felix/v1/host/h2/endpoint/eth0",
        ]);
      } finally {
        await reporter.close();
      }
    });
  },
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

Deno.test({
  name: "hostfence status shows live, expired and never-reported nodes with endpoint states",
  ignore,
  async fn() {
    await withEtcd(async (client, endpoint, raw) => {
      for (const n of ["h1", "h2", "h3"]) {
        await raw.put(`/calico/v1/host/${n}/metadata`).value("{}");
      }
      await raw.put("/calico/v1/host/h1/endpoint/eth0").value('{"name":"eth0"}');
      await raw.put("/calico/v1/host/h1/endpoint/eth1").value('{"name":"eth1"}');
      await raw.put("/calico/v1/host/h1/endpoint/eth2").value('{"name":"eth2"}');
      await raw.put("/calico/v1/host/h2/endpoint/eth0").value('{"name":"eth0"}');
      // h2's agent stopped an hour ago: only its last report is left.
      const hourAgo = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      await raw.put("/calico/felix/v1/host/h2/last_reported_status")
        .value(JSON.stringify({ time: hourAgo, uptime: 7200, first_update: false }));
      await raw.put("/calico/felix/v1/host/h2/endpoint/eth0").value('{"status":"up"}');

      const { reporter } = heartbeat(client, 60, 30);
      const eps = new EndpointStatusReporter({
        store: etcdEndpointStatusStore(client, "h1"),
        log: createLogger([]),
        delaySecs: 0.05,
      });
      try {
        reporter.start();
        eps.update(new Map([["eth0", "up"], ["eth1", "error"]]));
        await waitFor("reports", () => Promise.resolve(reporter.successes >= 1 && !eps.pending));

        const c = capture();
        const noEnv = { env: () => undefined, defaultConfigFile: "/nonexistent/c.cfg" };
        equal(await runStatus(["--etcd-endpoints", endpoint], c.io, noEnv), 0, c.err());
        const lines = c.out().trimEnd().split("\n");
        equal(lines.length, 4, c.out());
        assert(/^NODE\s+HEARTBEAT\s+LAST REPORT\s+AGE\s+UPTIME\s+ENDPOINTS$/.test(lines[0]!));
        assert(
          /^h1\s+live\s+\S+Z\s+\d+s\s+\S+\s+eth0=up, eth1=error, eth2=unknown$/.test(lines[1]!),
          lines[1]!,
        );
        assert(
          /^h2\s+EXPIRED\s+\S+Z\s+(59m\d+s|1h0m)\s+2h0m\s+eth0=up$/.test(lines[2]!),
          lines[2]!,
        );
        assert(/^h3\s+NEVER\s+-\s+-\s+-\s+none$/.test(lines[3]!), lines[3]!);

        const j = capture();
        equal(
          await runStatus(
            ["--etcd-endpoints", endpoint, "--node", "h1", "-o", "json"],
            j.io,
            noEnv,
          ),
          0,
        );
        const parsed = JSON.parse(j.out());
        equal(parsed.length, 1);
        equal(parsed[0].node, "h1");
        equal(parsed[0].heartbeat, "live");
        equal(parsed[0].firstUpdate, true);
        assertEquals(parsed[0].endpoints, [
          { name: "eth0", status: "up" },
          { name: "eth1", status: "error" },
          { name: "eth2", status: "unknown" },
        ]);

        const u = capture();
        equal(await runStatus(["--etcd-endpoints", endpoint, "--node", "h"], u.io, noEnv), 1);
        assert(u.err().startsWith("Node 'h' is unknown"), u.err());
      } finally {
        await eps.close();
        await reporter.close();
      }
    });
  },
});
