/**
 * ConfirmStore against a real etcd: the change, its record and guard land in one transaction;
 * of many concurrent rollbacks (separate clients, as separate agents) exactly one restores;
 * a rollback never runs before the guard's lease expires; confirm and rollback exclude each
 * other; a failing item writes nothing.
 */
import assert from "node:assert/strict";
import type { Etcd3 } from "etcd3";
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
async function expire(client: Etcd3, id: string): Promise<void> {
  const kv = (await client.get(guardKey(id)).exec()).kvs[0]!;
  await client.leaseClient.leaseRevoke({ ID: kv.lease });
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
      await c0!.put(policyKey("kept")).value('{"order":1,"selector":"all()"}');
      for (let round = 0; round < 20; round++) {
        const before = await c0!.get(policyKey("kept")).string();
        const change = await store.commit(
          [
            { op: "apply", resource: policy("kept", 100 + round) },
            { op: "create", resource: policy(`new-${round}`, 5) },
          ],
          "apply",
          60,
        );
        assert.notEqual(await c0!.get(policyKey("kept")).string(), before);
        assert.equal((await store.rollback(change.id)).kind, "pending", "guard still there");
        await expire(c0!, change.id);
        const outcomes = await Promise.all(
          clients.map((c) => new ConfirmStore(c).rollback(change.id)),
        );
        const kinds = outcomes.map((o) => o.kind).sort();
        assert.deepEqual(kinds, ["gone", "gone", "gone", "restored"], `round ${round}`);
        assert.equal(await c0!.get(policyKey("kept")).string(), before, "previous value back");
        assert.equal(
          await c0!.get(policyKey(`new-${round}`)).string(),
          null,
          "created one removed",
        );
        assert.equal(await c0!.get(recordKey(change.id)).string(), null, "record removed");
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
      assert.notEqual(await client.get(policyKey("a")).string(), null, "confirmed change stays");
      assert.equal(await store.confirm(a.id), "unknown");
      const b = await store.commit(
        [{ op: "delete", id: { kind: "policy", name: "a" } }],
        "delete",
        60,
      );
      await expire(client, b.id);
      assert.equal(await store.confirm(b.id), "expired");
      assert.equal((await store.rollback(b.id)).kind, "restored");
      assert.notEqual(await client.get(policyKey("a")).string(), null, "deleted policy re-created");
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
      const before = await client.getAll().prefix("/calico/").strings();
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
      assert.deepEqual(await client.getAll().prefix("/calico/").strings(), before);
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
        const text = (await c0!.get(policyKey(`p${round}`)).string())!;
        await c0!.put(policyKey(`p${round}`)).value(text);
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
        assert.equal(await c0!.get(policyKey(`p${round}`)).string(), text, "edit kept");
      }
    } finally {
      for (const c of clients) c.close();
    }
  },
});
