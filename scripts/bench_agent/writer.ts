/**
 * The benchmark's etcd writer, run inside the etcd namespace (the driver in the root namespace
 * cannot reach it). Every write reports the wall-clock time just before it was sent (`t0`)
 * and when etcd answered (`t1`), so the driver can time "etcd put -> the peer sees it".
 *
 * Usage: deno run -A writer.ts ENDPOINT
 */
import { Etcd3, Range } from "etcd3";
import { nowMs, serve } from "./rpc.ts";
import { BURST_BASE, fillerKV, fixtureKVs, type KV } from "./fixture.ts";

const endpoint = Deno.args[0]!;
const client = new Etcd3({ hosts: endpoint });

/** etcd's default --max-txn-ops. */
const TXN_OPS = 128;

async function put(key: string, value: string) {
  const t0 = nowMs();
  const r = await client.put(key).value(value).exec();
  return { t0, t1: nowMs(), rev: Number(r.header.revision) };
}

/** Writes many keys in transactions of TXN_OPS puts, a few in flight at once. */
async function load(kvs: readonly KV[]): Promise<number> {
  let rev = 0;
  const chunks: KV[][] = [];
  for (let i = 0; i < kvs.length; i += TXN_OPS) chunks.push(kvs.slice(i, i + TXN_OPS));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      const r = await client.if(chunk[0]![0], "Version", "!=", -1)
        .then(...chunk.map(([k, v]) => client.put(k).value(v)))
        .commit();
      rev = Math.max(rev, Number(r.header.revision));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return rev;
}

await serve({
  async load(req) {
    const kvs = fixtureKVs({
      policies: Number(req.policies),
      remotes: Number(req.remotes),
      hosts: Number(req.hosts),
    });
    // The Ready flag goes last, in its own write, once everything else is in.
    const ready = kvs.pop()!;
    const t0 = nowMs();
    await load(kvs);
    const r = await put(ready[0], ready[1]);
    return { keys: kvs.length + 1, rev: r.rev, ms: nowMs() - t0 };
  },
  put: (req) => put(String(req.key), String(req.value)),
  async del(req) {
    const t0 = nowMs();
    const r = await client.delete().key(String(req.key)).exec();
    return { t0, t1: nowMs(), rev: Number(r.header.revision), deleted: Number(r.deleted) };
  },
  /** Deletes the keys in [start, end). */
  async delRange(req) {
    const r = await client.delete().range(new Range(String(req.start), String(req.end)))
      .exec();
    return { rev: Number(r.header.revision), deleted: Number(r.deleted) };
  },
  /**
   * The burst: every filler re-put with port BURST_BASE+i, one put per request, as fast as
   * etcd takes them (`inFlight` at once); the last filler's put goes alone after the others
   * have been answered, so "the last put" and the port it opens are known. With `prefix`, the
   * keys go under that prefix instead (for the emulated agent; the real policies stay).
   */
  async burst(req) {
    const n = Number(req.policies);
    const inFlight = Number(req.inFlight ?? 32);
    const prefix = req.prefix === undefined ? "" : String(req.prefix);
    let next = 0;
    const tFirst = nowMs();
    const worker = async () => {
      while (next < n - 1) {
        const [k, v] = fillerKV(next++, BURST_BASE);
        await put(prefix + k, v);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const [k, v] = fillerKV(n - 1, BURST_BASE);
    const last = await put(prefix + k, v);
    return { tFirst, tLast0: last.t0, lastRev: last.rev, lastPort: BURST_BASE + n - 1 };
  },
});
client.close();
