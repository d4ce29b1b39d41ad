/**
 * What each host costs the etcd cluster, and what `etcd grpc-proxy` saves (README
 * "Reliability"). Two tables of medians; asserts nothing.
 *
 * 1. Watch bytes per change: K agents' syncers (the agent's own datastore code, one etcd
 *    client each) watch `/calico/v1/`, connected directly to etcd or through one grpc-proxy;
 *    M policy writes of about 1 KB follow. The bytes etcd sends (its own metric
 *    `etcd_network_client_grpc_sent_bytes_total`) per change, less the same run with no
 *    watcher (the baseline: the writes' own replies), are what the watchers cost etcd.
 * 2. Agent memory per 10k remote endpoints: the real agent (`scripts/hostfence agent`) in a
 *    network namespace this script creates (a veth eth0, etcd on the namespace's loopback),
 *    with N host endpoints of other nodes that one policy's source selector puts into an IP
 *    set. Resident memory once in sync, against N = 0 in the same run.
 *
 *   deno run -A scripts/bench_datastore.ts [--runs N]      (root, `etcd`, `ip`, `nft`)
 *
 * etcd and the proxy listen on 127.0.0.1 only; part 2 runs entirely inside its namespace.
 */
import { Etcd3 } from "etcd3";
import { createEtcdClient } from "../src/datastore/connection.ts";
import { Syncer } from "../src/datastore/syncer.ts";
import { Agent } from "../netlab/agent.ts";
import { startEtcd, startGrpcProxy } from "../netlab/etcd.ts";
import { NetNs } from "../netlab/netns.ts";
import { LabDatastore } from "../netlab/datastore.ts";
import { median } from "./_bench.ts";

const runsArg = Deno.args.indexOf("--runs");
const RUNS = Math.max(1, runsArg >= 0 ? Number(Deno.args[runsArg + 1]) || 3 : 3);
const CHANGES = 100;
const WATCHERS = [1, 10, 50];
const ENDPOINT_COUNTS = [0, 10_000, 20_000];

/** A policy value of about 1 KB, as the CLI stores it. */
function policyValue(i: number): string {
  const rules = Array.from({ length: 8 }, (_, r) => ({
    action: "allow",
    protocol: "tcp",
    src_selector: `role == 'client-${r}'`,
    dst_ports: [8000 + r, 9000 + i % 100],
  }));
  return JSON.stringify({ order: 10, selector: "role == 'web'", inbound_rules: rules });
}

async function sentBytes(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("etcd_network_client_grpc_sent_bytes_total")) {
      sum += Number(line.split(" ").pop());
    }
  }
  return sum;
}

/** Bytes etcd sends per change with `k` syncers attached to `via` (etcd or the proxy). */
async function watchBytesPerChange(etcdEndpoint: string, via: string, k: number) {
  const writer = new Etcd3({ hosts: [etcdEndpoint] });
  // Agents use the default (http) client on etcd itself; the proxy serves only gRPC.
  const transport = via === etcdEndpoint ? {} : { transport: "grpc" as const };
  const clients = Array.from(
    { length: k },
    () => createEtcdClient({ endpoints: [via], ...transport }),
  );
  let target = Infinity;
  const seen = new Array<number>(k).fill(0);
  const caughtUp = () => seen.every((r) => r >= target);
  const syncers = clients.map((client, i) =>
    new Syncer({ client, onUpdates: (_b, rev) => void (seen[i] = rev) })
  );
  try {
    for (const s of syncers) s.start();
    const start = Number(
      (await writer.put("/calico/v1/Ready").value("true").exec()).header
        .revision,
    );
    target = start;
    while (!caughtUp()) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const before = await sentBytes(etcdEndpoint);
    let last = 0;
    for (let i = 0; i < CHANGES; i++) {
      const r = await writer.put(`/calico/v1/policy/tier/default/policy/bench-${i % 10}`)
        .value(policyValue(i)).exec();
      last = Number(r.header.revision);
    }
    target = last;
    while (!caughtUp()) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    return (await sentBytes(etcdEndpoint) - before) / CHANGES;
  } finally {
    for (const s of syncers) await s.close();
    for (const c of clients) c.close();
    writer.close();
  }
}

async function part1() {
  await using etcd = await startEtcd();
  await using proxy = await startGrpcProxy({ endpoints: [etcd.endpoint] });
  const base: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    base.push(await watchBytesPerChange(etcd.endpoint, etcd.endpoint, 0));
  }
  const baseline = median(base);
  console.log(
    `\nWatch bytes etcd sends per change (~${policyValue(0).length}-byte policy value, ` +
      `${CHANGES} changes, median of ${RUNS}; baseline without watchers ${baseline.toFixed(0)} B ` +
      "subtracted)\n",
  );
  console.log(
    "| agents | direct: B/change | per agent | via grpc-proxy: B/change | direct / proxy |",
  );
  console.log(
    "| -----: | ---------------: | --------: | -----------------------: | -------------: |",
  );
  for (const k of WATCHERS) {
    const d: number[] = [];
    const p: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      d.push(await watchBytesPerChange(etcd.endpoint, etcd.endpoint, k) - baseline);
      p.push(await watchBytesPerChange(etcd.endpoint, proxy.endpoint, k) - baseline);
    }
    const dm = median(d);
    const pm = Math.max(1, median(p));
    console.log(
      `| ${k} | ${dm.toFixed(0)} | ${(dm / k).toFixed(0)} | ${pm.toFixed(0)} | ` +
        `${(dm / pm).toFixed(1)}x |`,
    );
  }
}

/** Raw writer lines for `n` remote host endpoints (100 per node) and the local set-up. */
function datastoreLines(n: number): string {
  const lines: string[] = [];
  const put = (key: string, value: unknown) =>
    lines.push(
      JSON.stringify({ key, value: typeof value === "string" ? value : JSON.stringify(value) }),
    );
  put("/calico/v1/Ready", "true");
  put("/calico/v1/host/h1/endpoint/eth0", { name: "eth0", labels: { role: "web" } });
  put("/calico/v1/policy/tier/default/policy/allow-db", {
    order: 10,
    selector: "role == 'web'",
    inbound_rules: [{ action: "allow", src_selector: "role == 'db'" }],
    types: ["ingress"],
  });
  for (let i = 0; i < n; i++) {
    put(`/calico/v1/host/r${Math.floor(i / 100)}/endpoint/e${i % 100}`, {
      expected_ipv4_addrs: [`198.19.${i >> 8}.${i & 255}`],
      labels: { role: "db" },
    });
  }
  return lines.join("\n") + "\n";
}

async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Addresses in the agent's IP sets: proof that the remote endpoints were programmed. */
async function setMembers(ns: NetNs): Promise<number> {
  const r = await ns.exec(["nft", "-j", "list", "table", "inet", "hostfence"]);
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, { elem?: unknown[] }>[] })
    .nftables;
  return items.reduce((n, i) => n + (i.set?.elem?.length ?? 0), 0);
}

async function part2() {
  await using ns = await NetNs.create("bench", `${Deno.pid}-dsb`);
  await ns.ipBatch([
    "link add eth0 type veth peer name peer0",
    "link set peer0 up",
    "addr add 198.18.1.1/24 dev eth0",
    "link set eth0 up",
  ]);
  await using etcd = await startEtcd({ netns: ns.name, host: "127.0.0.1", port: 2379 });
  const ds = new LabDatastore(ns, etcd.endpoint);
  const rows: { n: number; rss: number; sync: number; members: number }[] = [];
  let written = 0;
  for (const n of ENDPOINT_COUNTS) {
    // Only the endpoints not written yet; the local set-up is re-put (same values).
    const all = datastoreLines(n).split("\n").filter((l) => l !== "");
    const fresh = [...all.slice(0, 3), ...all.slice(3 + written)];
    await ds.bulk(["puts"], fresh.join("\n") + "\n");
    written = n;
    const fence = await ds.fence();
    const rss: number[] = [];
    const sync: number[] = [];
    let members = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      await using agent = await Agent.start({ ns, etcdEndpoint: etcd.endpoint });
      await agent.waitForRevision(fence, 300_000);
      sync.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 2000));
      rss.push(await rssKiB(agent.pid));
      members = await setMembers(ns);
    }
    rows.push({ n, rss: median(rss), sync: median(sync), members });
  }
  const base = rows[0]!;
  console.log(`\nAgent resident memory once in sync (median of ${RUNS})\n`);
  console.log(
    "| remote endpoints | IP set members | RSS MiB | over 0 endpoints, MiB | per 10k, MiB | " +
      "start to in sync, s |",
  );
  console.log(
    "| ---------------: | -------------: | ------: | --------------------: | -----------: | " +
      "------------------: |",
  );
  for (const r of rows) {
    const extra = (r.rss - base.rss) / 1024;
    const per10k = r.n > 0 ? (extra / (r.n / 10_000)).toFixed(1) : "-";
    console.log(
      `| ${r.n} | ${r.members} | ${(r.rss / 1024).toFixed(1)} | ${
        extra.toFixed(1)
      } | ${per10k} | ` +
        `${(r.sync / 1000).toFixed(1)} |`,
    );
  }
}

if (import.meta.main) {
  const only = Deno.args.includes("--memory-only") ? "memory" : undefined;
  if (only !== "memory") await part1();
  await part2();
}
