/**
 * etcd with authentication on (`etcdctl auth enable`): the store authenticates with the
 * configured user and password (the JSON gateway's auth/authenticate, then a token on every
 * call and watch; etcd3's own auth for the grpc transport), and a wrong or missing password
 * is one line.
 */
import assert from "node:assert/strict";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { type ConnectionConfig, createEtcdClient } from "../../src/datastore/connection.ts";
import { openResourceStore } from "../../src/datastore/etcd_store.ts";
import { DatastoreUnavailableError } from "../../src/datastore/store.ts";
import type { EtcdTransport } from "../../src/datastore/etcd_client.ts";

const ignore = !haveEtcd();

async function etcdctl(endpoint: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("etcdctl", {
    args: ["--endpoints", endpoint, ...args],
    env: { ETCDCTL_API: "3" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

for (const transport of ["http", "grpc"] as EtcdTransport[]) {
  Deno.test({
    name: `${transport} transport: user and password authenticate; a wrong one is refused`,
    ignore,
    async fn() {
      await using etcd = await startEtcd();
      await etcdctl(etcd.endpoint, ["user", "add", "root:s3cret"]);
      await etcdctl(etcd.endpoint, ["auth", "enable"]);
      const conn = (password?: string): ConnectionConfig => ({
        endpoints: [etcd.endpoint],
        transport,
        ...(password === undefined ? {} : { username: "root", password }),
      });
      const store = openResourceStore(conn("s3cret"));
      try {
        await store.apply({
          kind: "policy",
          metadata: { name: "authed" },
          spec: { selector: "all()" },
        });
        const names = (await store.list("policy")).map((p) => p.metadata.name);
        assert.deepEqual(names, ["authed"]);
      } finally {
        await store.close();
      }
      // A watch carries the token too: it is created, and sees a put made after that.
      const client = createEtcdClient(conn("s3cret"));
      try {
        const seen = Promise.withResolvers<string>();
        const watch = client.watch({ prefix: "/hf-auth/" }, {
          onCreated: () => void client.put("/hf-auth/k", "v").catch(seen.reject),
          onEvents: (events) => seen.resolve(`${events[0]?.key}=${events[0]?.value}`),
          onEnd: (end) => seen.reject(new Error(`watch ended: ${JSON.stringify(end)}`)),
        });
        assert.equal(await seen.promise, "/hf-auth/k=v");
        await watch.cancel();
      } finally {
        client.close();
      }
      for (const password of ["wrong", undefined]) {
        const bad = openResourceStore(conn(password));
        try {
          await assert.rejects(() => bad.list("policy"), (e: Error) => {
            assert.ok(e instanceof DatastoreUnavailableError, `${password}: ${e}`);
            assert.ok(!e.message.includes("\n"), e.message);
            return true;
          });
        } finally {
          await bad.close();
        }
      }
    },
  });
}
