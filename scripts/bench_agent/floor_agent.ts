/**
 * The convergence floor: an emulated agent, run inside the host namespace beside where the real
 * agent runs. It does the least any agent must do per event: an etcd watch, and one `nft`
 * process per event on a minimal table (`inet hfbench_floor`) that drops the watched ports
 * unless a rule accepts them. In `batch` mode (the burst floor) it coalesces: all events that
 * arrived while nft was busy go into one `nft -f -` transaction.
 *
 * Usage: deno run -A floor_agent.ts ENDPOINT
 */
import { Etcd3, type IKeyValue } from "etcd3";
import { emit, nowMs, serve } from "./rpc.ts";

const endpoint = Deno.args[0]!;
const client = new Etcd3({ hosts: endpoint });
const TABLE = "hfbench_floor";
const dec = new TextDecoder();

async function nft(args: string[], stdin?: string): Promise<{ out: string; ms: number }> {
  const t0 = nowMs();
  const child = new Deno.Command("nft", {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  if (!r.success) throw new Error(`nft ${args.join(" ")}: ${dec.decode(r.stderr).trim()}`);
  return { out: dec.decode(r.stdout), ms: nowMs() - t0 };
}

/** The one tcp port a policy value allows (the benchmark's policies allow exactly one). */
function portOf(value: string): number {
  const p = JSON.parse(value) as { inbound_rules?: { dst_ports?: number[] }[] };
  const port = p.inbound_rules?.[0]?.dst_ports?.[0];
  if (typeof port !== "number") throw new Error(`no port in ${value}`);
  return port;
}

// deno-lint-ignore no-explicit-any
let watcher: any;
const handles = new Map<string, number>();

await serve({
  /** Per-event mode: watch `key`; a put inserts an accept rule, a delete removes it. */
  async single(req) {
    const key = String(req.key);
    await nft(
      ["-f", "-"],
      [
        `table inet ${TABLE} {`,
        `  chain input { type filter hook input priority 0; policy accept;`,
        `    tcp dport ${Number(req.dropPort)} drop`,
        `  }`,
        `}`,
      ].join("\n") + "\n",
    );
    watcher = await client.watch().key(key).create();
    let queue = Promise.resolve();
    const on = (kind: "put" | "delete") => (kv: IKeyValue) => {
      const rev = Number(kv.mod_revision);
      const value = kv.value.toString();
      queue = queue.then(async () => {
        const tEvent = nowMs();
        if (kind === "put") {
          const r = await nft([
            "-a",
            "-e",
            "insert",
            "rule",
            "inet",
            TABLE,
            "input",
            "tcp",
            "dport",
            String(portOf(value)),
            "accept",
          ]);
          const h = /# handle (\d+)/.exec(r.out);
          if (h) handles.set(key, Number(h[1]));
          emit("applied", { kind, rev, tEvent, ms: r.ms, nft: 1 });
        } else {
          const h = handles.get(key);
          if (h === undefined) return;
          const r = await nft(["delete", "rule", "inet", TABLE, "input", "handle", String(h)]);
          handles.delete(key);
          emit("applied", { kind, rev, tEvent, ms: r.ms, nft: 1 });
        }
      }).catch((err) => emit("failed", { error: String(err) }));
    };
    watcher.on("put", on("put"));
    watcher.on("delete", on("delete"));
  },
  /** Coalescing mode: watch `prefix`; every batch of puts becomes one nft transaction. */
  async batch(req) {
    const prefix = String(req.prefix);
    const [lo, hi] = [Number(req.dropFrom), Number(req.dropTo)];
    await nft(
      ["-f", "-"],
      [
        `table inet ${TABLE} {`,
        `  chain input { type filter hook input priority 0; policy accept;`,
        `    tcp dport ${lo}-${hi} drop`,
        `  }`,
        `}`,
      ].join("\n") + "\n",
    );
    watcher = await client.watch().prefix(prefix).create();
    const pending: { port: number; rev: number }[] = [];
    let running = false;
    const drain = async () => {
      if (running) return;
      running = true;
      try {
        // Let the rest of this watch response arrive before taking the batch.
        await new Promise((r) => setTimeout(r, 0));
        while (pending.length > 0) {
          const batch = pending.splice(0);
          const script = batch.map((e) =>
            `insert rule inet ${TABLE} input tcp dport ${e.port} accept`
          )
            .join("\n") + "\n";
          const r = await nft(["-f", "-"], script);
          emit("applied", {
            kind: "batch",
            rev: Math.max(...batch.map((e) => e.rev)),
            events: batch.length,
            ms: r.ms,
            nft: 1,
          });
        }
      } catch (err) {
        emit("failed", { error: String(err) });
      } finally {
        running = false;
      }
    };
    watcher.on("put", (kv: IKeyValue) => {
      pending.push({ port: portOf(kv.value.toString()), rev: Number(kv.mod_revision) });
      drain();
    });
  },
  /** The cold-start floor's fetch: the whole `/calico/v1/` snapshot in pages of 1000 keys. */
  async fetch(req) {
    const t0 = nowMs();
    let n = 0, start = String(req.prefix);
    const end = start.slice(0, -1) + String.fromCharCode(start.charCodeAt(start.length - 1) + 1);
    while (true) {
      const r = await client.getAll().inRange({ start, end }).limit(1000).exec();
      n += r.kvs.length;
      if (!r.more || r.kvs.length === 0) break;
      start = r.kvs[r.kvs.length - 1]!.key.toString() + "\0";
    }
    return { keys: n, ms: nowMs() - t0 };
  },
  async stop() {
    if (watcher) await watcher.cancel();
    watcher = undefined;
    handles.clear();
    await nft(["delete", "table", "inet", TABLE]).catch(() => {});
  },
});
client.close();
