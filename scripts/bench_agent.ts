/**
 * End-to-end agent benchmark (issue 7, item 6): a real etcd, the real agent and a probing peer,
 * in network namespaces this script creates and always removes. Prints one table in which every
 * figure stands beside a floor measured in the same run. Run it through scripts/bench_agent.sh
 * (root); flags: --policies N --remotes N --hosts N --reps N --flood-seconds S
 * --flood-rounds N --quick.
 *
 * ```
 *   E (etcd 198.18.0.1) --m-h1/mgmt0-- h1 (agent; eth0 198.18.1.1) --eth0/eth0-- P (peer 198.18.1.2)
 * ```
 *
 * Only h1's `eth0` is a host endpoint; the agent reaches etcd over `mgmt0`, which it leaves
 * alone. The peer probes h1 (a tcp connect every 1-3 ms, hping3 floods); the writer runs
 * inside E; the emulated agent (the convergence floor) runs inside h1, before the real one. A
 * second pair (hf, Pf), wired the same way without an agent, carries the packet-rate floors.
 */
import { parseArgs } from "node:util";
import { NetNs, removeNetns, run, veth } from "../netlab/netns.ts";
import { type EtcdServer, startEtcd } from "../netlab/etcd.ts";
import { Agent, IN_SYNC_RE } from "../netlab/agent.ts";
import { HOSTFENCE, REPO_ROOT } from "../netlab/paths.ts";
import { readLines } from "../netlab/json_lines.ts";
import { Helper, nowMs } from "./bench_agent/rpc.ts";
import {
  BURST_BASE,
  checkSizes,
  DENIED_PORT,
  fillerName,
  FLOOD_PORT,
  HOST,
  PROBE_POLICY,
  PROBE_PORT,
  probeKV,
} from "./bench_agent/fixture.ts";
import { policyKey, READY_KEY } from "../src/datastore/keys.ts";
import { Table } from "./bench_agent/table.ts";
import { percentile } from "./bench_agent/stats.ts";
import { errorMessage } from "../src/util/error_message.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    policies: { type: "string" },
    remotes: { type: "string" },
    hosts: { type: "string" },
    reps: { type: "string" },
    "flood-seconds": { type: "string" },
    "flood-rounds": { type: "string" },
    "cold-starts": { type: "string" },
    quick: { type: "boolean", default: false },
    group: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.values.help) {
  console.log(
    "usage: scripts/bench_agent.sh [--quick] [--policies N] [--remotes N] [--hosts N]\n" +
      "         [--reps N] [--flood-seconds S] [--flood-rounds N] [--cold-starts N]\n" +
      "defaults: 1000 policies, 10000 remote host endpoints on 100 hosts, 20 repetitions,\n" +
      "          5 rounds of 2 s floods, 5 cold starts\n" +
      "--quick:  50 policies, 200 remote host endpoints on 4 hosts, 3 repetitions,\n" +
      "          2 rounds of 1 s floods, 1 cold start",
  );
  Deno.exit(0);
}
const q = args.values.quick;
const num = (v: string | undefined, dflt: number) => (v === undefined ? dflt : Number(v));
const sizes = {
  policies: num(args.values.policies, q ? 50 : 1000),
  remotes: num(args.values.remotes, q ? 200 : 10000),
  hosts: num(args.values.hosts, q ? 4 : 100),
};
const REPS = num(args.values.reps, q ? 3 : 20);
const ROUNDS = num(args.values["flood-rounds"], q ? 2 : 5);
const FLOOD_S = num(args.values["flood-seconds"], q ? 1 : 2);
const COLD_STARTS = num(args.values["cold-starts"], q ? 1 : 5);
try {
  checkSizes(sizes);
  if (!(REPS >= 1) || !(FLOOD_S > 0) || !(ROUNDS >= 1) || !(COLD_STARTS >= 1)) {
    throw new RangeError(
      "--reps, --flood-rounds and --cold-starts must be >= 1, --flood-seconds > 0",
    );
  }
} catch (err) {
  console.error(`bench_agent: ${err instanceof Error ? err.message : err}`);
  Deno.exit(2);
}
const SMALL = 10; // the "10 policies" packet-rate case
const DENO = Deno.execPath();
const ETCD_IP = "198.18.0.1";
const H1_IP = "198.18.1.1";
const ENDPOINT = `http://${ETCD_IP}:2379`;
const group = args.values.group ?? `${Deno.pid}-bench`;
const HERE = new URL(".", import.meta.url).pathname;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => console.error(`bench_agent: ${s}`);
const msg = (e: unknown) => (errorMessage(e)).split("\n")[0]!;

// ---------------------------------------------------------------------------------------------
// Everything created is tracked here and removed by teardown(), also on Ctrl-C.
const made: NetNs[] = [];
const helpers: Helper[] = [];
let etcd: EtcdServer | undefined;
let agent: Agent | undefined;
let monitor: Deno.ChildProcess | undefined;
let tornDown: Promise<void> | undefined;

/** Removes everything this run made; every caller waits for the one removal. */
function teardown(): Promise<void> {
  tornDown ??= removeAll();
  return tornDown;
}

async function removeAll() {
  try {
    monitor?.kill("SIGTERM");
  } catch { /* gone */ }
  if (agent) await agent[Symbol.asyncDispose]().catch(() => {});
  for (const h of helpers) await h.close().catch(() => {});
  if (etcd) await Promise.resolve(etcd[Symbol.asyncDispose]()).catch(() => {});
  for (const ns of made.reverse()) await ns.remove().catch(() => {});
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    say(`${sig}: removing namespaces and processes`);
    teardown().finally(() => Deno.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
/**
 * The nft transactions the kernel committed in h1, in order, as the pid of the process that
 * committed each (`nft monitor`: `# new generation N by process PID (nft)`).
 */
const generations: number[] = [];
const GEN_RE = /^# new generation \d+ by process (\d+)/;

/**
 * Commits a marker transaction in `ns` and waits until `nft monitor` has reported it; returns
 * its position in `generations`. The transactions between two markers are exactly those
 * committed in between, however late the monitor reports them (it prints every rule of a big
 * transaction first, which can take longer than the transaction itself).
 */
async function marker(ns: NetNs): Promise<number> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns.name, "nft", "-f", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode("add table inet hfbench_mark\ndelete table inet hfbench_mark\n"),
  );
  await w.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`marker transaction failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const i = generations.lastIndexOf(child.pid);
    if (i >= 0) return i;
    await sleep(2);
  }
  throw new Error("nft monitor did not report the marker transaction within 60 s");
}

function helper(name: string, ns: NetNs, script: string, ...rest: string[]): Helper {
  const h = new Helper(
    name,
    ns.wrap([
      DENO,
      "run",
      "--quiet",
      "--allow-all",
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${HERE}bench_agent/${script}`,
      ...rest,
    ]),
  );
  helpers.push(h);
  return h;
}

/** Wall-clock ms of an agent log line's own timestamp (`YYYY-MM-DD HH:MM:SS.mmm`, UTC). */
function logTime(line: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!m) throw new Error(`no timestamp in agent line: ${line}`);
  const n = m.slice(1).map(Number);
  return Date.UTC(n[0]!, n[1]! - 1, n[2]!, n[3]!, n[4]!, n[5]!, n[6]!);
}

const APPLIED_RE = /Dataplane in sync at revision (\d+) \(applied in ([\d.]+) ms\)/;

function procStatus(pid: number): { rss: number; hwm: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------------------------------------
const table = new Table();
const t0Run = nowMs();

async function main() {
  for (const bin of ["etcd", "nft", "ip"]) {
    if ((await run(["sh", "-c", `command -v ${bin}`], { allowFail: true })).code !== 0) {
      throw new Error(`${bin} is not installed (run scripts/setup.sh)`);
    }
  }
  const haveHping = (await run(["sh", "-c", "command -v hping3"], { allowFail: true })).code === 0;
  say(
    `sizes: ${sizes.policies} policies, ${sizes.remotes} remote host endpoints on ${sizes.hosts} ` +
      `hosts, ${REPS} repetitions, ${FLOOD_S} s floods`,
  );
  // Warm Deno's module cache so cold start measures the agent, not the first compile.
  await run([HOSTFENCE, "version"]);

  // -- network -------------------------------------------------------------------------------
  const mk = async (role: string) => {
    const ns = await NetNs.create(role, group);
    made.push(ns);
    return ns;
  };
  const e = await mk("E"), h1 = await mk("h1"), peer = await mk("P");
  for (const ns of [e, h1, peer]) {
    await ns.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
  }
  await veth(h1, "mgmt0", e, "m-h1");
  await veth(h1, "eth0", peer, "eth0");
  await e.ipBatch([`addr add ${ETCD_IP}/24 dev m-h1`, "link set m-h1 up"]);
  await h1.ipBatch([
    "addr add 198.18.0.11/24 dev mgmt0",
    "link set mgmt0 up",
    `addr add ${H1_IP}/24 dev eth0`,
    "link set eth0 up",
  ]);
  await peer.ipBatch(["addr add 198.18.1.2/24 dev eth0", "link set eth0 up"]);
  etcd = await startEtcd({ netns: e.name, host: ETCD_IP, port: 2379 });

  const writer = helper("writer", e, "writer.ts", ENDPOINT);
  const prober = helper("prober", peer, "prober.ts", H1_IP);
  const floor = helper("floor", h1, "floor_agent.ts", ENDPOINT);

  monitor = new Deno.Command("ip", {
    args: ["netns", "exec", h1.name, "nft", "monitor"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  (async () => {
    for await (const line of readLines(monitor!.stdout)) {
      const g = GEN_RE.exec(line);
      if (g) generations.push(Number(g[1]));
    }
  })().catch(() => {});

  const load = await writer.call<{ keys: number; rev: number; ms: number }>("load", sizes);
  say(`fixture: ${load.keys} keys written in ${load.ms.toFixed(0)} ms (revision ${load.rev})`);

  // -- packets per second, before any agent: no firewall and the stateful floor ---------------
  // Packet rates: the agent's h1 and, for the floors, a second identical pair (hf, Pf) without
  // an agent, measured in alternation with h1 so that both see the same machine load.
  let pps: { agent: PacketRates; floor: PacketRates } | undefined;
  if (haveHping) {
    const hf = await mk("hf"), pf = await mk("Pf");
    await veth(hf, "eth0", pf, "eth0");
    await hf.ipBatch([`addr add ${H1_IP}/24 dev eth0`, "link set eth0 up"]);
    await pf.ipBatch(["addr add 198.18.1.2/24 dev eth0", "link set eth0 up"]);
    pps = { agent: await packetRates(h1, peer), floor: await packetRates(hf, pf) };
  } else table.fail("pps", "hping3 is not installed (scripts/setup.sh installs it)");

  // -- convergence floor: the emulated agent -------------------------------------------------
  const probeKey = policyKey(PROBE_POLICY);
  const [probeK, probeV] = probeKV();
  await prober.call("start", { port: PROBE_PORT });
  try {
    await floor.call("single", { key: probeKey, dropPort: PROBE_PORT });
    await prober.call("waitFor", { port: PROBE_PORT, since: nowMs(), want: "closed" });
    const open: number[] = [], close: number[] = [], nftMs: number[] = [], txns: number[] = [];
    const appliedAt = (rev: number) =>
      waitEvent(floor, (ev) => ev.event === "applied" && Number(ev.rev) >= rev);
    for (let i = 0; i < REPS; i++) {
      for (const kind of ["open", "close"] as const) {
        const m0 = await marker(h1);
        const w = kind === "open"
          ? await writer.call<Write>("put", { key: probeK, value: probeV })
          : await writer.call<Write>("del", { key: probeK });
        const seen = await prober.call<Seen>("waitFor", {
          port: PROBE_PORT,
          since: w.t0,
          want: kind === "open" ? "open" : "closed",
        });
        const ev = await appliedAt(w.rev);
        (kind === "open" ? open : close).push(seen.t - w.t0);
        if (seen.gap !== null) table.gap(seen.gap);
        nftMs.push(Number(ev.ms));
        txns.push(await marker(h1) - m0 - 1);
      }
    }
    table.floor("open", open);
    table.floor("close", close);
    table.floor("applied", nftMs);
    table.floor("txns", txns);
  } catch (err) {
    table.fail("floor-conv", msg(err));
  } finally {
    await floor.call("stop").catch(() => {});
  }

  // -- burst floor: a coalescing emulated agent ----------------------------------------------
  const burstPort = BURST_BASE + sizes.policies - 1;
  await prober.call("start", { port: burstPort });
  try {
    await floor.call("batch", {
      prefix: "/hfbench/floor/",
      dropFrom: BURST_BASE,
      dropTo: BURST_BASE + sizes.policies - 1,
    });
    await prober.call("waitFor", { port: burstPort, since: nowMs(), want: "closed" });
    const before = floor.events.length;
    const m0 = await marker(h1);
    const b = await writer.call<Burst>("burst", {
      policies: sizes.policies,
      prefix: "/hfbench/floor",
    });
    const seen = await prober.call<Seen>("waitFor", {
      port: burstPort,
      since: b.tFirst,
      want: "open",
      timeoutMs: 120_000,
    });
    await waitEvent(floor, (ev) => ev.event === "applied" && Number(ev.rev) >= b.lastRev);
    await sleep(1000);
    const nft = floor.events.slice(before).filter((ev) => ev.event === "applied").length;
    const gens = await marker(h1) - m0 - 1;
    table.burstFloor(
      seen.t - b.tLast0,
      gens === nft ? `${gens}` : `${gens} (its nft runs: ${nft})`,
    );
  } catch (err) {
    table.fail("floor-burst", msg(err));
  } finally {
    await floor.call("stop").catch(() => {});
    await writer.call("delRange", { start: "/hfbench/", end: "/hfbench0" }).catch(() => {});
    await prober.call("stop", { port: burstPort });
  }

  // -- cold start ----------------------------------------------------------------------------
  // Several starts from an empty table (one sample is noise on a shared machine); the last
  // agent keeps running for the memory figures below.
  const colds: { syncMs: number; dropMs: number }[] = [];
  let agentPid: number | undefined;
  await prober.call("start", { port: DENIED_PORT });
  try {
    for (let i = 0; i < COLD_STARTS; i++) {
      await prober.call("waitFor", { port: DENIED_PORT, since: nowMs(), want: "open" });
      const tStart = nowMs();
      agent = await Agent.start({ ns: h1, hostname: HOST, etcdEndpoint: ENDPOINT });
      const line = await agent.waitForLog(IN_SYNC_RE, 300_000);
      agentPid = Number(/\]\[(\d+)\]/.exec(line)?.[1]);
      const dropped = await prober.call<{ t: number }>("waitFor", {
        port: DENIED_PORT,
        since: tStart,
        want: "closed",
        timeoutMs: 60_000,
      });
      colds.push({ syncMs: logTime(line) - tStart, dropMs: dropped.t - tStart });
      // Stopped, its table removed (`--cleanup`) and its log directory gone: the next start
      // is from nothing again.
      if (i < COLD_STARTS - 1) await agent[Symbol.asyncDispose]();
    }
    table.cold(colds);
  } catch (err) {
    table.fail("cold", msg(err));
  }
  if (agent === undefined) throw new Error("the agent did not start");
  await prober.call("stop", { port: DENIED_PORT });
  try {
    table.coldFloor(await coldFloor(h1, floor));
  } catch (err) {
    table.fail("cold-floor", msg(err));
  }

  // -- memory --------------------------------------------------------------------------------
  await sleep(3000);
  if (agentPid && agentPid > 0) {
    try {
      table.rss(procStatus(agentPid), procStatus(floor.pid));
    } catch (err) {
      table.fail("rss", msg(err));
    }
  } else table.fail("rss", "no agent pid (the agent never reported in sync)");

  // -- convergence: the real agent -----------------------------------------------------------
  try {
    await prober.call("waitFor", { port: PROBE_PORT, since: nowMs(), want: "closed" });
    const open: number[] = [], close: number[] = [], applied: number[] = [];
    const txns: number[] = [], applies: number[] = [];
    for (let i = 0; i < REPS; i++) {
      for (const kind of ["open", "close"] as const) {
        const mark = agent.mark();
        const m0 = await marker(h1);
        const w = kind === "open"
          ? await writer.call<Write>("put", { key: probeK, value: probeV })
          : await writer.call<Write>("del", { key: probeK });
        const seen = await prober.call<Seen>("waitFor", {
          port: PROBE_PORT,
          since: w.t0,
          want: kind === "open" ? "open" : "closed",
        });
        await agent.waitForRevision(w.rev, 60_000);
        (kind === "open" ? open : close).push(seen.t - w.t0);
        if (seen.gap !== null) table.gap(seen.gap);
        const lines = agent.lines.slice(mark).filter((l) => APPLIED_RE.test(l));
        const last = lines.at(-1);
        if (last) applied.push(Number(APPLIED_RE.exec(last)![2]));
        applies.push(lines.length);
        txns.push(await marker(h1) - m0 - 1);
      }
    }
    table.agent("open", open);
    table.agent("close", close);
    table.agent("applied", applied);
    table.agent("txns", txns);
    table.agent("applies", applies);
  } catch (err) {
    table.fail("agent-conv", msg(err));
  }

  // -- burst: the real agent -----------------------------------------------------------------
  await prober.call("start", { port: burstPort });
  try {
    await prober.call("waitFor", { port: burstPort, since: nowMs(), want: "closed" });
    const mark = agent.mark();
    const m0 = await marker(h1);
    const b = await writer.call<Burst>("burst", { policies: sizes.policies });
    const seen = await prober.call<Seen>("waitFor", {
      port: burstPort,
      since: b.tFirst,
      want: "open",
      timeoutMs: 300_000,
    });
    await agent.waitForRevision(b.lastRev, 300_000);
    const syncLine = agent.lines.slice(mark).find((l) => {
      const m = IN_SYNC_RE.exec(l);
      return m && Number(m[1]) >= b.lastRev;
    })!;
    await sleep(1000); // anything the agent still does after the final state counts too
    const applied = agent.lines.slice(mark).filter((l) => APPLIED_RE.test(l)).length;
    const inSync = agent.lines.slice(mark).filter((l) => IN_SYNC_RE.test(l)).length;
    table.burstAgent(
      seen.t - b.tLast0,
      logTime(syncLine) - b.tLast0,
      await marker(h1) - m0 - 1,
      applied,
      inSync,
    );
  } catch (err) {
    table.fail("agent-burst", msg(err));
  }
  await prober.call("stop", { port: burstPort });
  await prober.call("stop", { port: PROBE_PORT });

  // -- packets per second with hostfence: all fillers, then SMALL -----------------------------
  if (pps) {
    const rounds = async (which: "big" | "small") => {
      try {
        for (let r = 0; r < ROUNDS; r++) {
          const none = await pps.floor.rate(false);
          const floor = await pps.floor.rate(true);
          const agentRate = await pps.agent.rate(false);
          table.pps(which, { none, floor, agent: agentRate });
        }
      } catch (err) {
        table.fail(`pps-${which}`, msg(err));
      }
    };
    // A fence: the Ready flag put again is a no-op the agent still reports in sync at, so
    // that revision means "everything before it is programmed". (etcd's current revision
    // would not do: the agent's own status writes, which it does not watch, raise it too.)
    const fence = async (timeoutMs: number) => {
      const w = await writer.call<Write>("put", { key: READY_KEY, value: "true" });
      await agent!.waitForRevision(w.rev, timeoutMs);
    };
    try {
      await fence(60_000);
      await rounds("big");
      if (sizes.policies > SMALL) {
        await writer.call("delRange", {
          start: policyKey(fillerName(SMALL)),
          end: policyKey(fillerName(sizes.policies - 1)) + "\0",
        });
      }
      await fence(120_000);
      await rounds("small");
    } catch (err) {
      table.fail("pps-agent", msg(err));
    }
  }
  if (agentPid) {
    try {
      table.peak(procStatus(agentPid).hwm);
    } catch { /* reported by rss */ }
  }
  const failures = agent.lines.filter((l) => /\[(ERROR|FATAL)\]/.test(l));
  if (failures.length > 0) {
    say(`the agent logged ${failures.length} ERROR/FATAL lines; the first: ${failures[0]}`);
  }
}

interface Write {
  t0: number;
  t1: number;
  rev: number;
}
/** When the peer saw the answer change, and the time since its previous attempt. */
interface Seen {
  t: number;
  gap: number | null;
}
interface Burst {
  tFirst: number;
  tLast0: number;
  lastRev: number;
}

/** Waits for a helper event matching `pred` (already seen or still to come). */
async function waitEvent(
  h: Helper,
  pred: (ev: Record<string, unknown>) => boolean,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let i = 0;
  while (Date.now() < deadline) {
    for (; i < h.events.length; i++) {
      const ev = h.events[i]!;
      if (ev.event === "failed") throw new Error(`${h.name}: ${ev.error}`);
      if (pred(ev)) return ev;
    }
    await sleep(2);
  }
  throw new Error(`${h.name}: no matching event within ${timeoutMs} ms`);
}

/**
 * The cold-start floor: starting a bare Deno process, fetching the whole snapshot from etcd
 * (in pages, from h1), and loading the agent's own resulting ruleset with one `nft -f` into an
 * empty namespace. Any agent has to do at least this much.
 */
async function coldFloor(h1: NetNs, floor: Helper): Promise<{ total: number; parts: string }> {
  const empty = await Deno.makeTempFile({ suffix: ".ts" });
  const rules = await Deno.makeTempFile({ suffix: ".nft" });
  try {
    await Deno.writeTextFile(empty, "");
    const denoRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = nowMs();
      await h1.exec([DENO, "run", "--quiet", empty]);
      denoRuns.push(nowMs() - t);
    }
    const deno = percentile(denoRuns, 50);
    const fetch = await floor.call<{ keys: number; ms: number }>("fetch", {
      prefix: "/calico/v1/",
    });
    const text = (await h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;
    await Deno.writeTextFile(rules, text);
    const scratch = await NetNs.create("S", group);
    made.push(scratch);
    const t = nowMs();
    await scratch.exec(["nft", "-f", rules]);
    const load = nowMs() - t;
    await scratch.remove();
    return {
      total: deno + fetch.ms + load,
      parts: `Deno ${deno.toFixed(0)} + fetch ${fetch.keys} keys ${fetch.ms.toFixed(0)} + nft -f ${
        load.toFixed(0)
      } ms`,
    };
  } finally {
    await Deno.remove(empty).catch(() => {});
    await Deno.remove(rules).catch(() => {});
  }
}

/** Measures the new-flow packet rate into one host namespace. */
interface PacketRates {
  /** Floods for FLOOD_S seconds; with `stateful`, behind the stateful floor table. */
  rate(stateful: boolean): Promise<number>;
}

/**
 * New-flow packet rates: hping3 in the peer floods UDP to the host's FLOOD_PORT, every packet
 * from the next source port; a counter in a separate table (`inet hfbench_count`, priority
 * 100, after any filter at priority 0) counts what got through and drops it there, before
 * conntrack confirms the flow, so every packet stays a new flow.
 */
async function packetRates(host: NetNs, peer: NetNs): Promise<PacketRates> {
  await host.nft(
    [
      "table inet hfbench_count {",
      "  counter flood { }",
      "  chain input { type filter hook input priority 100; policy accept;",
      `    udp dport ${FLOOD_PORT} counter name "flood" drop`,
      "  }",
      "}",
    ].join("\n") + "\n",
  );
  const STATEFUL_TABLE = [
    "table inet hfbench_stateful {",
    "  chain input { type filter hook input priority 0; policy accept;",
    '    iifname != "eth0" accept',
    "    ct state vmap { established : accept, related : accept, invalid : drop }",
    `    udp dport ${FLOOD_PORT} accept`,
    "    drop",
    "  }",
    "}",
  ].join("\n") + "\n";
  const count = async () => {
    const r = await host.exec(["nft", "-j", "list", "counter", "inet", "hfbench_count", "flood"]);
    const j = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
    return j.nftables.find((o) => o.counter)!.counter!.packets;
  };
  const flood = async (): Promise<number> => {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        peer.name,
        "hping3",
        "-2",
        "--flood",
        "-q",
        "-s",
        "1024",
        "-p",
        String(FLOOD_PORT),
        H1_IP,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await sleep(500);
      const c1 = await count(), t1 = nowMs();
      await sleep(FLOOD_S * 1000);
      const c2 = await count(), t2 = nowMs();
      return (c2 - c1) / ((t2 - t1) / 1000);
    } finally {
      try {
        child.kill("SIGINT");
      } catch { /* gone */ }
      await child.status;
      await sleep(300);
    }
  };
  return {
    async rate(stateful: boolean) {
      if (stateful) await host.nft(STATEFUL_TABLE);
      try {
        const r = await flood();
        if (!(r > 0)) throw new Error("no packet got through");
        return r;
      } finally {
        if (stateful) {
          await host.exec(["nft", "delete", "table", "inet", "hfbench_stateful"], {
            allowFail: true,
          });
        }
      }
    },
  };
}

let code = 0;
try {
  await main();
} catch (err) {
  say(`FAILED: ${err instanceof Error ? err.stack : err}`);
  code = 1;
} finally {
  await teardown();
}
console.log(
  table.render({
    ...sizes,
    reps: REPS,
    floodSeconds: FLOOD_S,
    floodRounds: ROUNDS,
    small: SMALL,
    seconds: (nowMs() - t0Run) / 1000,
  }),
);
// The leftover check: nothing of ours may remain.
const left = (await run(["ip", "netns", "list"], { allowFail: true })).stdout.split("\n")
  .map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`hft-${group}-`));
for (const n of left) await removeNetns(n);
Deno.exit(code);
