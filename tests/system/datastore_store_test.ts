/** EtcdResourceStore against a real etcd: operations, error texts, keys, races, failures. */
import assert from "node:assert/strict";
import { type Etcd3, rawEtcd } from "../harness/raw_etcd.ts";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { type ConnectionConfig, createEtcdClient } from "../../src/datastore/connection.ts";
import { EtcdResourceStore, openResourceStore } from "../../src/datastore/etcd_store.ts";
import {
  AlreadyExistsError,
  DatastoreUnavailableError,
  InsufficientIdentifiersError,
  NotExistError,
} from "../../src/datastore/store.ts";
import type {
  HostEndpointResource,
  NodeResource,
  PolicyResource,
  ProfileResource,
  WorkloadEndpointResource,
} from "../../src/model/resources.ts";
import { hostEndpointResource, policyResource, profileResource } from "../fixtures/resources.ts";

const ignore = !haveEtcd();

/** A loopback port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function dump(client: Etcd3, prefix = "/calico/"): Promise<Record<string, string>> {
  return await client.getAll().prefix(prefix).strings();
}

const policy = (name: string, extra: Partial<PolicyResource["spec"]> = {}): PolicyResource =>
  policyResource(name, { selector: "has(host-endpoint)", ...extra });

const hep = (node: string, name: string): HostEndpointResource =>
  hostEndpointResource(name, { node, labels: { role: "web" }, iface: "eth0", ips: ["198.18.0.1"] });

const profile: ProfileResource = profileResource("ns/prof", { ingress: [{ action: "allow" }] }, {
  labels: { zone: "a" },
  tags: ["db"],
});

/** A store and a raw client on a fresh etcd, all closed at the end. */
async function withStore(
  fn: (store: EtcdResourceStore, raw: Etcd3, conn: ConnectionConfig) => Promise<void>,
) {
  await using etcd = await startEtcd();
  const conn: ConnectionConfig = { endpoints: [etcd.endpoint] };
  const store = openResourceStore(conn);
  const raw = rawEtcd(conn.endpoints);
  try {
    await fn(store, raw, conn);
  } finally {
    await store.close();
    raw.close();
  }
}

Deno.test({
  name: "create, replace, apply, list and delete a policy with calicoctl's error texts",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      await store.create(policy("p", { egress: [{ action: "pass" }] }));
      const stored = JSON.parse(
        (await raw.get("/calico/v1/policy/tier/default/policy/p").string())!,
      );
      assert.deepEqual(stored, {
        outbound_rules: [{ action: "next-tier" }],
        selector: "has(host-endpoint)",
        types: ["egress"],
      });
      // C6: create of an existing policy.
      await assert.rejects(() => store.create(policy("p")), (e: Error) => {
        assert.ok(e instanceof AlreadyExistsError);
        assert.equal(e.message, "resource already exists: Policy(name=p)");
        return true;
      });
      // C7: replace of a missing policy.
      await assert.rejects(() => store.replace(policy("q")), {
        name: "NotExistError",
        message: "resource does not exist: Policy(name=q)",
      });
      await store.replace(policy("p", { order: 5 }));
      const [got] = await store.list("policy", { name: "p" });
      assert.deepEqual(got, {
        kind: "policy",
        metadata: { name: "p" },
        spec: { selector: "has(host-endpoint)", order: 5, types: ["ingress"] },
      });
      await store.apply(policy("q"));
      await store.apply(policy("q", { order: 1 }));
      assert.deepEqual((await store.list("policy")).map((p) => p.metadata.name), ["p", "q"]);
      await store.delete({ kind: "policy", name: "p" });
      // C8 at store level: deleting a missing policy is NotExistError (the CLI may skip it).
      await assert.rejects(() => store.delete({ kind: "policy", name: "p" }), (e: Error) => {
        assert.ok(e instanceof NotExistError);
        assert.equal(e.message, "resource does not exist: Policy(name=p)");
        return true;
      });
      assert.deepEqual(await store.list("policy", { name: "p" }), []);
    }),
});

Deno.test({
  name: "identifiers are checked before etcd is contacted",
  ignore,
  fn: async () => {
    // Port 1 is never an etcd: an identifier error proves no call was made first.
    // A port nothing listens on (Deno's fetch refuses a few "bad" ports such as 1 outright).
    const port = closedPort();
    const store = openResourceStore({ endpoints: [`http://127.0.0.1:${port}`] });
    try {
      const noNode = { ...hep("", "n"), metadata: { name: "n", node: "" } };
      await assert.rejects(() => store.create(noNode), (e: Error) => {
        assert.ok(e instanceof InsufficientIdentifiersError);
        assert.equal(e.message, "insufficient identifiers, missing 'node'");
        return true;
      });
      await assert.rejects(() => store.delete({ kind: "policy", name: "" }), {
        message: "insufficient identifiers, missing 'name'",
      });
      await assert.rejects(
        () => store.delete({ kind: "workloadEndpoint", node: "h", name: "e" }),
        { message: "insufficient identifiers, missing 'orchestrator'" },
      );
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "host endpoints: keys, escaping, errors and filters",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      await store.create(hep("h1", "a/b%"));
      await store.create(hep("h2", "eth0"));
      const keys = Object.keys(await dump(raw, "/calico/v1/host/"));
      assert.deepEqual(keys.sort(), [
        "/calico/v1/host/h1/endpoint/a%2fb%25",
        "/calico/v1/host/h2/endpoint/eth0",
      ]);
      await assert.rejects(() => store.create(hep("h1", "a/b%")), {
        message: "resource already exists: HostEndpoint(node=h1, name=a/b%)",
      });
      await assert.rejects(() => store.delete({ kind: "hostEndpoint", node: "h3", name: "x" }), {
        message: "resource does not exist: HostEndpoint(node=h3, name=x)",
      });
      const all = await store.list("hostEndpoint");
      assert.deepEqual(
        all.map((h) => [h.metadata.name, (h as HostEndpointResource).metadata.node]),
        [
          ["a/b%", "h1"],
          ["eth0", "h2"],
        ],
      );
      assert.deepEqual(await store.list("hostEndpoint", { node: "h2" }), [hep("h2", "eth0")]);
      assert.deepEqual(await store.list("hostEndpoint", { name: "a/b%" }), [hep("h1", "a/b%")]);
      assert.deepEqual(await store.list("hostEndpoint", { node: "nope" }), []);
    }),
});

Deno.test({
  name: "a profile is written as three keys in one transaction, tags naming the errors",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      await store.create(profile);
      assert.deepEqual(await dump(raw, "/calico/v1/policy/profile/"), {
        "/calico/v1/policy/profile/ns%2fprof/labels": '{"zone":"a"}',
        "/calico/v1/policy/profile/ns%2fprof/rules":
          '{"inbound_rules":[{"action":"allow"}],"outbound_rules":[]}',
        "/calico/v1/policy/profile/ns%2fprof/tags": '["db"]',
      });
      await assert.rejects(() => store.create(profile), {
        message: "resource already exists: ProfileTags(name=ns/prof)",
      });
      await assert.rejects(
        () => store.replace({ ...profile, metadata: { name: "other" } }),
        { message: "resource does not exist: ProfileTags(name=other)" },
      );
      assert.deepEqual(await store.list("profile"), [profile]);
      await store.apply({ kind: "profile", metadata: { name: "ns/prof" }, spec: {} });
      assert.deepEqual(await dump(raw, "/calico/v1/policy/profile/"), {
        "/calico/v1/policy/profile/ns%2fprof/labels": "{}",
        "/calico/v1/policy/profile/ns%2fprof/rules": '{"inbound_rules":[],"outbound_rules":[]}',
        "/calico/v1/policy/profile/ns%2fprof/tags": "[]",
      });
      await store.delete({ kind: "profile", name: "ns/prof" });
      assert.deepEqual(await dump(raw, "/calico/v1/policy/profile/"), {});
      await assert.rejects(() => store.delete({ kind: "profile", name: "ns/prof" }), {
        message: "resource does not exist: ProfileTags(name=ns/prof)",
      });
    }),
});

Deno.test({
  name: "creating a node initialises the datastore and writes its keys (C12)",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      const node: NodeResource = { kind: "node", metadata: { name: "h1" }, spec: {} };
      await store.create(node);
      const keys = await dump(raw);
      assert.equal(keys["/calico/v1/Ready"], "true");
      assert.match(keys["/calico/v1/config/ClusterGUID"]!, /^[0-9a-f]{32}$/);
      assert.equal(keys["/calico/v1/host/h1/metadata"], "{}");
      assert.equal(keys["/calico/bgp/v1/host/h1/ip_addr_v4"], "");
      assert.equal(keys["/calico/bgp/v1/host/h1/ip_addr_v6"], "");
      assert.equal(keys["/calico/v1/host/h1/bird_ip"], undefined);
      await assert.rejects(() => store.create(node), {
        message: "resource already exists: Node(name=h1)",
      });
      // Ready=false set by an operator survives later node writes; the GUID is kept.
      await raw.put("/calico/v1/Ready").value("false");
      const bgpNode: NodeResource = {
        kind: "node",
        metadata: { name: "h1" },
        spec: {
          bgp: { asNumber: 64512, ipv4Address: "198.18.0.1/24" },
          orchRefs: [{ orchestrator: "k8s", nodeName: "n1" }],
        },
      };
      await store.replace(bgpNode);
      const after = await dump(raw);
      assert.equal(after["/calico/v1/Ready"], "false");
      assert.equal(after["/calico/v1/config/ClusterGUID"], keys["/calico/v1/config/ClusterGUID"]);
      assert.equal(after["/calico/v1/host/h1/bird_ip"], "198.18.0.1");
      assert.equal(after["/calico/bgp/v1/host/h1/ip_addr_v4"], "198.18.0.1");
      assert.equal(after["/calico/bgp/v1/host/h1/network_v4"], "198.18.0.0/24");
      assert.equal(after["/calico/bgp/v1/host/h1/as_num"], "64512");
      assert.deepEqual(await store.list("node"), [bgpNode]);
      // Apply without BGP removes the optional keys again.
      await store.apply(node);
      const third = await dump(raw);
      assert.equal(third["/calico/v1/host/h1/bird_ip"], undefined);
      assert.equal(third["/calico/bgp/v1/host/h1/as_num"], undefined);
      assert.equal(third["/calico/bgp/v1/host/h1/network_v4"], undefined);
      assert.equal(third["/calico/bgp/v1/host/h1/ip_addr_v4"], "");
      assert.deepEqual(await store.list("node", { name: "h1" }), [node]);
    }),
});

Deno.test({
  name: "deleting a node removes its whole subtree and BGP keys",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      await store.create({ kind: "node", metadata: { name: "h1" }, spec: {} });
      await store.create({ kind: "node", metadata: { name: "h10" }, spec: {} });
      await store.create(hep("h1", "eth0"));
      const wep: WorkloadEndpointResource = {
        kind: "workloadEndpoint",
        metadata: { name: "e", workload: "w", orchestrator: "k8s", node: "h1" },
        spec: { interfaceName: "cali1", ipNetworks: ["198.18.5.5/32"] },
      };
      await store.create(wep);
      await store.setFelixConfig("LogSeverityScreen", "DEBUG", "h1");
      assert.deepEqual(await store.list("workloadEndpoint", { node: "h1" }), [wep]);
      await store.delete({ kind: "node", name: "h1" });
      const left = Object.keys(await dump(raw)).sort();
      assert.deepEqual(left.filter((k) => k.includes("/h1/")), []);
      assert.ok(left.includes("/calico/v1/host/h10/metadata"), "h10 must survive");
      assert.ok(left.includes("/calico/bgp/v1/host/h10/ip_addr_v4"));
      await assert.rejects(() => store.delete({ kind: "node", name: "h1" }), {
        message: "resource does not exist: Node(name=h1)",
      });
      // Any directory under /calico/v1/host counts as a node.
      await store.create(hep("h7", "eth0"));
      assert.deepEqual((await store.list("node")).map((n) => n.metadata.name), ["h10", "h7"]);
    }),
});

Deno.test({
  name: "raw Felix config is set, read and unset globally and per host",
  ignore,
  fn: () =>
    withStore(async (store, raw) => {
      await store.setFelixConfig("LogSeverityScreen", "DEBUG");
      await store.setFelixConfig("InterfacePrefix", "eth", "h1");
      assert.equal(await raw.get("/calico/v1/config/LogSeverityScreen").string(), "DEBUG");
      assert.equal(await raw.get("/calico/v1/host/h1/config/InterfacePrefix").string(), "eth");
      assert.equal(await store.getFelixConfig("LogSeverityScreen"), "DEBUG");
      assert.equal(await store.getFelixConfig("InterfacePrefix", "h1"), "eth");
      assert.equal(await store.getFelixConfig("InterfacePrefix"), undefined);
      await store.setFelixConfig("LogSeverityScreen", null);
      assert.equal(await store.getFelixConfig("LogSeverityScreen"), undefined);
    }),
});

Deno.test({
  name: "twenty concurrent creates of one policy from separate clients: exactly one wins",
  ignore,
  fn: async () => {
    await using etcd = await startEtcd();
    const conn: ConnectionConfig = { endpoints: [etcd.endpoint] };
    const stores = Array.from({ length: 20 }, () => openResourceStore(conn));
    try {
      const results = await Promise.allSettled(
        stores.map((s, i) => s.create(policy("race", { order: i }))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      assert.equal(won.length, 1);
      assert.equal(lost.length, 19);
      for (const l of lost) {
        assert.ok(l.reason instanceof AlreadyExistsError, String(l.reason));
        assert.equal(l.reason.message, "resource already exists: Policy(name=race)");
      }
      const winner = results.findIndex((r) => r.status === "fulfilled");
      const [stored] = await stores[0]!.list("policy", { name: "race" });
      assert.equal((stored as PolicyResource).spec.order, winner);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  },
});

Deno.test({
  name: "an unreachable etcd gives one clear line naming the endpoint within seconds",
  ignore,
  fn: async () => {
    // A port nothing listens on (Deno's fetch refuses a few "bad" ports such as 1 outright).
    const port = closedPort();
    const store = openResourceStore({ endpoints: [`http://127.0.0.1:${port}`] });
    const t0 = Date.now();
    try {
      await assert.rejects(() => store.list("policy"), (e: Error) => {
        assert.ok(e instanceof DatastoreUnavailableError, String(e));
        assert.equal(
          e.message,
          `Cannot connect to etcd at http://127.0.0.1:${port}: connection refused`,
        );
        assert.ok(!e.message.includes("\n"));
        return true;
      });
      await assert.rejects(() => store.create(policy("p")), DatastoreUnavailableError);
      await assert.rejects(() => store.checkConnection(), DatastoreUnavailableError);
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "an etcd that accepts connections but never answers times out with the endpoint named",
  ignore,
  fn: async () => {
    // A TCP listener that never speaks HTTP/2: the call must hit its deadline, not hang.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const conns: Deno.Conn[] = [];
    const accepting = (async () => {
      try {
        for await (const c of listener) conns.push(c);
      } catch { /* closed */ }
    })();
    const conn = { endpoints: [`http://127.0.0.1:${port}`] };
    const store = new EtcdResourceStore(createEtcdClient(conn, { callTimeoutMs: 1500 }), conn);
    const t0 = Date.now();
    try {
      await assert.rejects(() => store.list("policy"), (e: Error) => {
        assert.ok(e instanceof DatastoreUnavailableError, String(e));
        assert.match(
          e.message,
          new RegExp(`^Cannot connect to etcd at http://127.0.0.1:${port}: `),
        );
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    } finally {
      await store.close();
      listener.close();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    }
  },
});
