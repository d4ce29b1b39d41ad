/**
 * Bulk etcd writes for fault tests and benchmarks, run as a script inside the etcd namespace
 * (the calling process cannot reach etcd there, and one `etcdctl` per write would take minutes):
 *
 * - `deno run -A etcd_writer.ts ENDPOINT repeat KEY COUNT BYTES`: COUNT puts of a BYTES-long
 *   value to one key (COUNT revisions).
 * - `deno run -A etcd_writer.ts ENDPOINT puts`: one put per standard-input line
 *   `{"key": ..., "value": ...}`, several at a time.
 *
 * Prints the revision of the last write. ENDPOINT may be a comma list of members; only
 * those are contacted.
 */
import { Etcd3 } from "etcd3";

async function main(args: string[]): Promise<number> {
  const [endpoint, mode, ...rest] = args;
  if (!endpoint || !mode) {
    console.error("usage: etcd_writer.ts ENDPOINT repeat KEY COUNT BYTES | puts");
    return 2;
  }
  const client = new Etcd3({ hosts: endpoint.split(",") });
  try {
    let revision = 0;
    const put = async (key: string, value: string) => {
      const r = await client.put(key).value(value).exec();
      revision = Math.max(revision, Number(r.header.revision));
    };
    if (mode === "repeat") {
      const [key, count, bytes] = rest;
      for (let i = 0; i < Number(count); i++) {
        const head = `${i}:`;
        await put(key!, head + "x".repeat(Math.max(0, Number(bytes) - head.length)));
      }
    } else if (mode === "puts") {
      const text = await new Response(Deno.stdin.readable).text();
      const items = text.split("\n").filter((l) => l.trim() !== "").map((l) =>
        JSON.parse(l) as { key: string; value: string }
      );
      for (let i = 0; i < items.length; i += 16) {
        await Promise.all(items.slice(i, i + 16).map((it) => put(it.key, it.value)));
      }
    } else {
      console.error(`unknown mode ${mode}`);
      return 2;
    }
    console.log(revision);
    return 0;
  } finally {
    client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
