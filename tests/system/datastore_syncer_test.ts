/** The agent's syncer against a real etcd: snapshot, live changes, bad data, resyncs. */
import assert from "node:assert/strict";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { type ConnectionConfig, createEtcdClient } from "../../src/datastore/connection.ts";
import { rawEtcd } from "../harness/raw_etcd.ts";
import { openResourceStore } from "../../src/datastore/etcd_store.ts";
import { Syncer } from "../../src/datastore/syncer.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";

const ignore = !haveEtcd();

const HEP_KEY = "/calico/v1/host/h1/endpoint/eth0";
const HEP_VALUE = '{"name":"eth0","expected_ipv4_addrs":["198.18.0.1"],"labels":{"role":"web"}}';
const POLICY_KEY = "/calico/v1/policy/tier/default/policy/p1";
const POLICY_VALUE =
  '{"order":10,"inbound_rules":[{"action":"allow","protocol":"tcp","dst_ports":[22]}],' +
  '"selector":"has(role)","types":["ingress"]}';

/** Collects batches, and waits for a condition on everything received so far. */
class Collector {
  readonly batches: { batch: ModelUpdate[]; revision: number }[] = [];
  onUpdates = (batch: ModelUpdate[], revision: number) => {
    this.batches.push({ batch, revision });
  };
  get all(): ModelUpdate[] {
    return this.batches.flatMap((b) => b.batch);
  }
  inSyncCount(): number {
    return this.all.filter((u) => u.type === "inSync").length;
  }
  async waitFor(what: string, pred: (all: ModelUpdate[]) => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.all)) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; got ${JSON.stringify(this.all)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Updates other than inSync, with values reduced to "set"/null for easy comparison. */
function summary(us: ModelUpdate[]): string[] {
  return us.filter((u) => u.type !== "inSync").map((u) => {
    const id = "name" in u
      ? (("node" in u && u.node) ? `${u.node}/${u.name}` : u.name)
      : "id" in u
      ? u.id
      : "";
    const v = (u as { value: unknown }).value;
    return `${u.type}:${id}=${v === null ? "null" : typeof v === "object" ? "set" : String(v)}`;
  });
}

function setup(etcdEndpoint: string, opts: { resyncIntervalMs?: number } = {}) {
  const conn: ConnectionConfig = { endpoints: [etcdEndpoint] };
  const raw = rawEtcd(conn.endpoints);
  const syncClient = createEtcdClient(conn);
  const sink = memorySink("DEBUG");
  const log = createLogger([sink], "syncer");
  const col = new Collector();
  const syncer = new Syncer({
    client: syncClient,
    onUpdates: col.onUpdates,
    log,
    endpoints: conn.endpoints,
    retryMinMs: 100,
    retryMaxMs: 500,
    ...opts,
  });
  return {
    conn,
    raw,
    col,
    sink,
    syncer,
    async [Symbol.asyncDispose]() {
      await syncer.close();
      syncClient.close();
      raw.close();
    },
  };
}

Deno.test({
  name: "the syncer delivers a snapshot then inSync, then live puts and deletes in order",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint);
    await s.raw.put("/calico/v1/Ready").value("true");
    await s.raw.put("/calico/v1/config/LogSeverityScreen").value("DEBUG");
    await s.raw.put("/calico/v1/host/h1/config/InterfacePrefix").value("cali");
    await s.raw.put(HEP_KEY).value(HEP_VALUE);
    await s.raw.put(POLICY_KEY).value(POLICY_VALUE);
    await s.raw.put("/calico/v1/policy/profile/pr/rules").value(
      '{"inbound_rules":[{"action":"next-tier"}],"outbound_rules":[]}',
    );
    await s.raw.put("/calico/v1/policy/profile/pr/labels").value('{"zone":"a"}');
    await s.raw.put("/calico/v1/policy/profile/pr/tags").value('["db"]');
    await s.raw.put("/calico/v1/host/h1/metadata").value("{}"); // not for the agent
    await s.raw.put("/calico/v1/ipam/v4/pool/198.18.0.0-16").value("{}"); // not for the agent
    s.syncer.start();
    await s.col.waitFor("inSync", (all) => all.some((u) => u.type === "inSync"));
    const first = s.col.batches[0]!;
    assert.equal(first.batch.at(-1)?.type, "inSync", "inSync closes the snapshot batch");
    assert.deepEqual(summary(first.batch), [
      "ready:=true",
      "config:LogSeverityScreen=DEBUG",
      "config:h1/InterfacePrefix=cali",
      "hostEndpoint:h1/eth0=set",
      "profileLabels:pr=set",
      "profileRules:pr=set",
      "profileTags:pr=set",
      "policy:p1=set",
    ]);
    const hep = first.batch.find((u) => u.type === "hostEndpoint");
    assert.deepEqual(hep, {
      type: "hostEndpoint",
      node: "h1",
      name: "eth0",
      value: {
        kind: "hostEndpoint",
        metadata: { name: "eth0", node: "h1", labels: { role: "web" } },
        spec: { interfaceName: "eth0", expectedIPs: ["198.18.0.1"] },
      },
    });
    const rules = first.batch.find((u) => u.type === "profileRules");
    assert.deepEqual(rules, {
      type: "profileRules",
      name: "pr",
      value: { ingress: [{ action: "pass" }], egress: [] },
    });
    assert.equal(s.syncer.revision, first.revision);

    // Live changes arrive in order, each once.
    await s.raw.put("/calico/v1/policy/tier/default/policy/p2").value('{"selector":""}');
    await s.raw.delete().key(HEP_KEY);
    await s.raw.put("/calico/v1/Ready").value("false");
    await s.raw.put("/calico/v1/host/h1/metadata").value("{}");
    await s.col.waitFor("ready=false", (all) => all.some((u) => u.type === "ready" && !u.value));
    assert.deepEqual(summary(s.col.all.slice(first.batch.length)), [
      "policy:p2=set",
      "hostEndpoint:h1/eth0=null",
      "ready:=false",
    ]);
    const last = s.col.batches.at(-1)!;
    assert.ok(last.revision > first.revision);
    await s.syncer.close();
    assert.equal(s.syncer.revision, last.revision);
  },
});

Deno.test({
  name: "bad JSON and invalid objects are logged in Felix's words and delivered as null",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint);
    await s.raw.put(HEP_KEY).value(HEP_VALUE);
    s.syncer.start();
    await s.col.waitFor("inSync", (all) => all.some((u) => u.type === "inSync"));
    await s.raw.put(HEP_KEY).value("{not json");
    await s.raw.put("/calico/v1/host/h1/endpoint/eth1").value('{"labels":{"a":"b"}}');
    await s.raw.put("/calico/v1/host/h1/endpoint/eth2").value(
      '{"name":"eth2","profile_ids":["ns/x"]}',
    );
    await s.raw.put(POLICY_KEY).value('{"selector":"has(", "types":["ingress"]}');
    await s.col.waitFor("policy null", (all) => all.some((u) => u.type === "policy"));
    assert.deepEqual(summary(s.col.all.slice(1)), [
      "hostEndpoint:h1/eth0=null",
      "hostEndpoint:h1/eth1=null",
      "hostEndpoint:h1/eth2=null",
      "policy:p1=null",
    ]);
    const warnings = s.sink.lines.filter((l) => l.includes("[WARNING]"));
    assert.ok(
      warnings.some((l) =>
        l.includes(`Failed to parse value for ${HEP_KEY}: invalid JSON`) &&
        l.endsWith("'{not json'")
      ),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((l) =>
        l.includes(
          "Validation failed for host endpoint /calico/v1/host/h1/endpoint/eth1, treating as " +
            "missing: 'name' or 'expected_ipvX_addrs' must be present; '{\"labels\":{\"a\":\"b\"}}'",
        )
      ),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((l) =>
        l.includes("Validation failed for host endpoint /calico/v1/host/h1/endpoint/eth2") &&
        l.includes("ns/x")
      ),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((l) =>
        l.includes(`Validation failed for policy ${POLICY_KEY}, treating as missing`)
      ),
      warnings.join("\n"),
    );
    // Fixing the value brings the object back.
    await s.raw.put(HEP_KEY).value(HEP_VALUE);
    await s.col.waitFor(
      "hep back",
      (all) => all.some((u) => u.type === "hostEndpoint" && u.name === "eth0" && u.value !== null),
    );
  },
});

Deno.test({
  name: "deleting a node delivers a delete for every key the agent had under it",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint);
    const store = openResourceStore(s.conn);
    try {
      await store.create({ kind: "node", metadata: { name: "h1" }, spec: {} });
      await store.create({
        kind: "hostEndpoint",
        metadata: { name: "eth0", node: "h1" },
        spec: { interfaceName: "eth0" },
      });
      await store.create({
        kind: "workloadEndpoint",
        metadata: { name: "e", workload: "w", orchestrator: "k8s", node: "h1" },
        spec: { interfaceName: "cali1", ipNetworks: ["198.18.5.5/32"] },
      });
      await store.setFelixConfig("InterfacePrefix", "cali", "h1");
      await store.create({
        kind: "hostEndpoint",
        metadata: { name: "eth0", node: "h2" },
        spec: { interfaceName: "eth0" },
      });
      s.syncer.start();
      await s.col.waitFor("inSync", (all) => all.some((u) => u.type === "inSync"));
      const before = s.col.all.length;
      await store.delete({ kind: "node", name: "h1" });
      await s.col.waitFor("3 deletes", (all) => all.length >= before + 3);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(summary(s.col.all.slice(before)).sort(), [
        "config:h1/InterfacePrefix=null",
        "hostEndpoint:h1/eth0=null",
        "workloadEndpoint:h1/k8s/w/e=null",
      ]);
    } finally {
      await store.close();
    }
  },
});

/** A TCP relay whose connections can be cut, to break the syncer's link but not etcd. */
class Relay {
  #listener: Deno.Listener | undefined;
  #conns = new Set<Deno.Conn>();
  #tasks: Promise<void>[] = [];
  readonly port: number;
  constructor(private readonly target: number) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (l.addr as Deno.NetAddr).port;
    this.#serve(l);
  }
  #serve(l: Deno.Listener) {
    this.#listener = l;
    this.#tasks.push((async () => {
      try {
        for await (const c of l) {
          this.#tasks.push(this.#pipe(c));
        }
      } catch { /* listener closed */ }
    })());
  }
  async #pipe(client: Deno.Conn) {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
    } catch {
      client.close();
      return;
    }
    this.#conns.add(client);
    this.#conns.add(server);
    const copy = async (from: Deno.Conn, to: Deno.Conn) => {
      const buf = new Uint8Array(16384);
      try {
        for (;;) {
          const n = await from.read(buf);
          if (n === null) break;
          let off = 0;
          while (off < n) off += await to.write(buf.subarray(off, n));
        }
      } catch { /* cut */ }
      for (const c of [from, to]) {
        if (this.#conns.delete(c)) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      }
    };
    await Promise.all([copy(client, server), copy(server, client)]);
  }
  /** Stops accepting and cuts every open connection. */
  cut() {
    this.#listener?.close();
    this.#listener = undefined;
    for (const c of [...this.#conns]) {
      this.#conns.delete(c);
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
  resume() {
    this.#serve(Deno.listen({ hostname: "127.0.0.1", port: this.port }));
  }
  async close() {
    this.cut();
    await Promise.all(this.#tasks);
  }
}

Deno.test({
  name: "after losing its connection the syncer resyncs and delivers only what changed",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    const etcdPort = Number(new URL(etcd.endpoint).port);
    const relay = new Relay(etcdPort);
    const direct = rawEtcd(etcd.endpoint);
    try {
      await direct.put(HEP_KEY).value(HEP_VALUE);
      await direct.put(POLICY_KEY).value(POLICY_VALUE);
      await direct.put("/calico/v1/config/A").value("1");
      await using s = setup(`http://127.0.0.1:${relay.port}`);
      s.syncer.start();
      await s.col.waitFor("inSync", (all) => all.some((u) => u.type === "inSync"));
      const snapshotLen = s.col.all.length;
      relay.cut();
      await s.col.waitFor(
        "nothing",
        () =>
          s.sink.lines.some((l) =>
            l.includes("[WARNING]") && l.includes(`127.0.0.1:${relay.port}`)
          ),
      );
      // Changes made while the syncer cannot see etcd.
      await direct.delete().key(HEP_KEY);
      await direct.put("/calico/v1/config/A").value("2");
      await direct.put("/calico/v1/config/B").value("x");
      await direct.put("/calico/v1/config/B").value("y");
      relay.resume();
      await s.col.waitFor("second inSync", () => s.col.inSyncCount() >= 2);
      assert.deepEqual(summary(s.col.all.slice(snapshotLen)), [
        "config:A=2",
        "config:B=y",
        "hostEndpoint:h1/eth0=null",
      ]);
      // Live watching works again afterwards, without replays.
      await direct.put("/calico/v1/config/C").value("z");
      await s.col.waitFor("C", (all) => all.some((u) => u.type === "config" && u.name === "C"));
      const after = summary(s.col.all.slice(snapshotLen));
      assert.equal(new Set(after).size, after.length, `duplicates: ${after}`);
      assert.ok(
        s.sink.lines.some((l) =>
          l.includes("[WARNING]") && l.includes(`etcd at http://127.0.0.1:${relay.port}`)
        ),
      );
    } finally {
      direct.close();
      await relay.close();
    }
  },
});

Deno.test({
  name: "the syncer survives an etcd restart and delivers later changes exactly once",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint);
    await s.raw.put(POLICY_KEY).value(POLICY_VALUE);
    await s.raw.put("/calico/v1/config/A").value("1");
    s.syncer.start();
    await s.col.waitFor("inSync", (all) => all.some((u) => u.type === "inSync"));
    const snapshotLen = s.col.all.length;
    await etcd.stop();
    await s.col.waitFor(
      "warning",
      () => s.sink.lines.some((l) => l.includes("[WARNING]") && l.includes(etcd.endpoint)),
    );
    await etcd.restart();
    await s.raw.delete().key(POLICY_KEY);
    await s.raw.put("/calico/v1/config/A").value("2");
    await s.raw.put("/calico/v1/Ready").value("true");
    await s.col.waitFor("ready", (all) => all.some((u) => u.type === "ready"));
    await s.col.waitFor(
      "config A=2",
      (all) => all.some((u) => u.type === "config" && u.name === "A" && u.value === "2"),
    );
    await new Promise((r) => setTimeout(r, 300));
    const changes = summary(s.col.all.slice(snapshotLen));
    assert.deepEqual([...changes].sort(), ["config:A=2", "policy:p1=null", "ready:=true"]);
    const revs = s.col.batches.map((b) => b.revision);
    assert.deepEqual(revs, [...revs].sort((a, b) => a - b), "revisions never go back");
  },
});

Deno.test({
  name: "a periodic safety resync emits nothing new when nothing changed",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint, { resyncIntervalMs: 150 });
    await s.raw.put(HEP_KEY).value(HEP_VALUE);
    s.syncer.start();
    await s.col.waitFor("3 inSyncs", () => s.col.inSyncCount() >= 3);
    await s.raw.put("/calico/v1/config/A").value("1");
    await s.col.waitFor("2 more inSyncs", () => s.col.inSyncCount() >= 5);
    assert.deepEqual(summary(s.col.all), ["hostEndpoint:h1/eth0=set", "config:A=1"]);
  },
});

Deno.test({
  name: "the periodic resync runs on its timer while the watch hangs on a frozen etcd",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    await using s = setup(etcd.endpoint, { resyncIntervalMs: 500 });
    s.syncer.start();
    await s.col.waitFor("first inSync", () => s.col.inSyncCount() >= 1);
    const from = s.sink.lines.length;
    Deno.kill(etcd.pid, "SIGSTOP");
    try {
      // The watch sees nothing (etcd neither answers nor closes); the timer must still fire,
      // and its resync then reports that etcd does not answer.
      const deadline = Date.now() + 10_000;
      const tried = () =>
        s.sink.lines.slice(from).some((l) => l.includes("Periodic datastore resync")) &&
        s.sink.lines.slice(from).some((l) => /Cannot connect to etcd .*timed out/.test(l));
      while (!tried() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(tried(), `no periodic resync while etcd was frozen:\n${s.sink.lines.join("\n")}`);
    } finally {
      Deno.kill(etcd.pid, "SIGCONT");
    }
    await s.raw.put("/calico/v1/config/B").value("2");
    await s.col.waitFor("config B", (all) => summary(all).includes("config:B=2"));
  },
});
