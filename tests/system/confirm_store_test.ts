/**
 * ConfirmStore against a real etcd: the change, its record and guard land in one transaction;
 * of many concurrent rollbacks (separate clients, as separate agents) exactly one restores;
 * a rollback never runs before the guard's lease expires; confirm and rollback exclude each
 * other; a failing item writes nothing.
 */
import assert from "node:assert/strict";
import { type EtcdClient, getKv, getPrefix, getValue } from "../../src/datastore/etcd_client.ts";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { createEtcdClient } from "../../src/datastore/connection.ts";
import { ConfirmCommitError, ConfirmStore } from "../../src/datastore/confirm_store.ts";
import { guardKey, recordKey } from "../../src/datastore/confirm_record.ts";
import { policyKey } from "../../src/datastore/keys.ts";
import type { PolicyResource } from "../../src/model/resources.ts";
import { policyResource } from "../fixtures/resources.ts";

const ignore = !haveEtcd();

const policy = (name: string, order: number): PolicyResource =>
  policyResource(name, { selector: "all()", order });

/** Drops the guard's lease at once, as its expiry would. */
async function expire(client: EtcdClient, id: string): Promise<void> {
  const kv = (await getKv(client, guardKey(id)))!;
  await client.leaseRevoke(kv.lease);
}

/** Every key and value under `prefix`. */
async function dump(client: EtcdClient, prefix: string): Promise<Record<string, string>> {
  return Object.fromEntries((await getPrefix(client, prefix)).map((kv) => [kv.key, kv.value]));
}

Deno.test({
  name: "concurrent rollbacks by several agents: exactly one restores",
  ignore,
  async fn() {
    await using etcd = await startEtcd();
    const clients = Array.from(
      { length: 4 },
      () => createEtcdClient({ endpoints: [etcd.endpoint] }),
    );
    try {
      const [c0] = clients;
      const store = new ConfirmStore(c0!);
      await c0!.put(policyKey("kept"), '{"order":1,"selector":"all()"}');
      for (let round = 0; round < 20; round++) {
        const before = await getValue(c0!, policyKey("kept"));
        const change = await store.commit(
          [
            { op: "apply", resource: policy("kept", 100 + round) },
            { op: "create", resource: policy(`new-${round}`, 5) },
          ],
          "apply",
          60,
        );
        assert.notEqual(await getValue(c0!, policyKey("kept")), before);
        assert.equal((await store.rollback(change.id)).kind, "pending", "guard still there");
        await expire(c0!, change.id);
        const outcomes = await Promise.all(
          clients.map((c) => new ConfirmStore(c).rollback(change.id)),
        );
        const kinds = outcomes.map((o) => o.kind).sort();
        assert.deepEqual(kinds, ["gone", "gone", "gone", "restored"], `round ${round}`);
        assert.equal(await getValue(c0!, policyKey("kept")), before, "previous value back");
        assert.equal(
          await getValue(c0!, policyKey(`new-${round}`)),
          null,
          "created one removed",
        );
        assert.equal(await getValue(c0!, recordKey(change.id)), null, "record removed");
      }
    } finally {
      for (const c of clients) c.close();
    }
  },
});

Deno.test({
  name: "confirm keeps the change; too late and unknown IDs are told apart",
  ignore,
  async fn() {
    await using etcd = await startEtcd();
    const client = createEtcdClient({ endpoints: [etcd.endpoint] });
    try {
      const store = new ConfirmStore(client);
      const a = await store.commit([{ op: "create", resource: policy("a", 1) }], "create", 60);
      assert.equal(await store.confirm(a.id), "confirmed");
      assert.equal((await store.rollback(a.id)).kind, "gone");
      assert.notEqual(await getValue(client, policyKey("a")), null, "confirmed change stays");
      assert.equal(await store.confirm(a.id), "unknown");
      const b = await store.commit(
        [{ op: "delete", id: { kind: "policy", name: "a" } }],
        "delete",
        60,
      );
      await expire(client, b.id);
      assert.equal(await store.confirm(b.id), "expired");
      assert.equal((await store.rollback(b.id)).kind, "restored");
      assert.notEqual(await getValue(client, policyKey("a")), null, "deleted policy re-created");
    } finally {
      client.close();
    }
  },
});

Deno.test({
  name: "a failing item writes nothing, not even the record",
  ignore,
  async fn() {
    await using etcd = await startEtcd();
    const client = createEtcdClient({ endpoints: [etcd.endpoint] });
    try {
      const store = new ConfirmStore(client);
      await store.commit([{ op: "create", resource: policy("exists", 1) }], "create", 60);
      const before = await dump(client, "/calico/");
      await assert.rejects(
        store.commit(
          [
            { op: "create", resource: policy("fresh", 1) },
            { op: "create", resource: policy("exists", 2) },
          ],
          "create",
          60,
        ),
        (e: Error) =>
          e instanceof ConfirmCommitError && e.index === 1 &&
          e.message === "resource already exists: Policy(name=exists)",
      );
      await assert.rejects(
        store.commit([{ op: "replace", resource: policy("absent", 1) }], "replace", 60),
        /resource does not exist: Policy\(name=absent\)/,
      );
      assert.deepEqual(await dump(client, "/calico/"), before);
    } finally {
      client.close();
    }
  },
});

Deno.test({
  name: "an edited resource is left alone, and still only one agent reports the rollback",
  ignore,
  async fn() {
    await using etcd = await startEtcd();
    const clients = Array.from(
      { length: 4 },
      () => createEtcdClient({ endpoints: [etcd.endpoint] }),
    );
    try {
      const [c0] = clients;
      const store = new ConfirmStore(c0!);
      for (let round = 0; round < 10; round++) {
        const change = await store.commit(
          [{ op: "apply", resource: policy(`p${round}`, 1) }],
          "apply",
          60,
        );
        // The operator edits it after the change, back to the very same text.
        const text = (await getValue(c0!, policyKey(`p${round}`)))!;
        await c0!.put(policyKey(`p${round}`), text);
        await expire(c0!, change.id);
        const outcomes = await Promise.all(
          clients.map((c) => new ConfirmStore(c).rollback(change.id)),
        );
        const restored = outcomes.filter((o) => o.kind === "restored");
        assert.equal(restored.length, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
        const plan = (restored[0] as Extract<(typeof outcomes)[number], { kind: "restored" }>).plan;
        assert.deepEqual(plan.restore, []);
        assert.deepEqual(plan.leave, [{
          resource: `Policy(name=p${round})`,
          key: policyKey(`p${round}`),
        }]);
        assert.equal(await getValue(c0!, policyKey(`p${round}`)), text, "edit kept");
      }
    } finally {
      for (const c of clients) c.close();
    }
  },
});
