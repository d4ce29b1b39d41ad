/**
 * Dataplane benchmark on one large synthetic HostState (50 policed interfaces, 500 policies,
 * 100 IP sets holding 2000 addresses): the pure costs (build, render, planUpdate for typical
 * single changes), the real `nft` costs inside a network namespace this script creates and
 * always removes, and the resident memory of the large state. Every ratio is against a
 * baseline measured in the same run, because machines here are noisy. Prints three tables of
 * medians; asserts nothing.
 *
 *   deno run -A scripts/bench_dataplane.ts [--runs N] [--policies N] [--members N]
 *   (part 2 needs root, `ip` and `nft`; part 1b uses the scale fixture of issue 7)
 */
import type { HostState, IpSetMembers, PolicedInterface, RuleSet } from "../src/calc/host_state.ts";
import {
  buildNftState,
  commandRunner,
  fingerprintListing,
  fingerprintState,
  NftDataplane,
  type NftRunner,
  planUpdate,
  render,
  TABLE_REF,
} from "../src/dataplane/mod.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../src/config/defaults.ts";
import { hostState, iface, ruleSet } from "../synth/host_states.ts";
import { CalculationGraph } from "../src/calc/graph.ts";
import { DesiredTable, planChanges } from "../src/dataplane/mod.ts";
import type { ModelUpdate } from "../src/datastore/updates.ts";
import { createLogger, memorySink } from "../src/log/logger.ts";
import { median, time, timeAsync, whyNoNft } from "./_bench.ts";
import {
  allowTcp,
  FIXTURE_IFACES,
  remoteDb,
  scaleFixture,
  webPolicy,
} from "../synth/scale_fixture.ts";

const IFACES = 50;
const POLICIES = 500;
const IP_SETS = 100;
const V4_PER_SET = 15;
const V6_PER_SET = 5; // 100 x (15 + 5) = 2000 members
const PROFILES = 5;
/** The policy whose rules the "policy changed" case edits (a normal one, on eth23). */
const EDITED = 123;
/** The set the "member added" case grows. */
const GROWN = 7;

const runsArg = Deno.args.indexOf("--runs");
const RUNS = Math.max(1, runsArg >= 0 ? Number(Deno.args[runsArg + 1]) || 7 : 7);
/** Pure single-change costs are sub-millisecond: take many more samples of those. */
const FAST_RUNS = Math.max(RUNS * 15, 51);

// ---------------------------------------------------------------------------------------------
// The synthetic state. Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.

const setId = (s: number) => `s:bench-${String(s).padStart(3, "0")}`;
const policyName = (p: number) => `pol${String(p).padStart(3, "0")}`;
const profileName = (r: number) => `prof${r}`;

function setMembers(s: number, extraV4: string[] = []): IpSetMembers {
  const v4 = Array.from({ length: V4_PER_SET }, (_, k) => `198.18.${s}.${k + 1}`);
  const v6 = Array.from({ length: V6_PER_SET }, (_, k) => `2001:db8:${s.toString(16)}::${k + 1}`);
  return { v4: [...v4, ...extraV4].sort(), v6: v6.sort() };
}

/** Seven rules per policy: IP sets, negated sets, CIDRs (both families), port sets, ICMP. */
function policyRules(p: number, firstPort = 80): RuleSet {
  return ruleSet(
    [
      {
        action: "allow",
        protocol: "tcp",
        source: { ipSets: [setId(p % IP_SETS)] },
        destination: { ports: [firstPort, 443, { min: 8000 + p, max: 8100 + p }, 9000 + p] },
      },
      {
        action: "deny",
        source: { nets: [`198.19.${p % 256}.0/24`, `2001:db8:ff${(p % 16).toString(16)}::/48`] },
      },
      {
        action: "allow",
        protocol: "udp",
        source: { notNets: ["198.18.0.0/15"] },
        destination: { ports: [53, 123, { min: 5000, max: 5010 }] },
      },
      { action: "allow", protocol: "icmp", ipVersion: 4, icmp: { type: 8 } },
    ],
    [
      {
        action: "allow",
        protocol: "tcp",
        destination: { ipSets: [setId((p + 1) % IP_SETS)], ports: [5432, 6379] },
      },
      { action: "allow", destination: { nets: [`198.18.${200 + (p % 50)}.0/24`] } },
      { action: "deny", protocol: "udp", destination: { notIpSets: [setId((p + 2) % IP_SETS)] } },
    ],
  );
}

/**
 * Interface `eth<i>` gets the ten policies p with p % 50 == i. Policies 0-24 are untracked,
 * 25-49 pre-DNAT, the rest normal (a policy has exactly one class), so every stage is used.
 */
function interfaceFor(i: number): PolicedInterface {
  const untracked: string[] = [];
  const preDnat: string[] = [];
  const normal: string[] = [];
  for (let p = i; p < POLICIES; p += IFACES) {
    (p < 25 ? untracked : p < 50 ? preDnat : normal).push(policyName(p));
  }
  return iface(`eth${i}`, `hep${i}`, {
    untracked: { ingress: untracked, egress: untracked },
    preDnat: { ingress: preDnat },
    normal: { ingress: normal, egress: normal },
    profiles: [profileName(i % PROFILES)],
  });
}

function largeState(): HostState {
  const policies: Record<string, RuleSet> = {};
  for (let p = 0; p < POLICIES; p++) policies[policyName(p)] = policyRules(p);
  const profiles: Record<string, RuleSet> = {};
  for (let r = 0; r < PROFILES; r++) {
    profiles[profileName(r)] = ruleSet(
      [{ action: "allow", protocol: "tcp", destination: { ports: [80 + r] } }],
      [{ action: "allow" }],
    );
  }
  const ipSets: Record<string, IpSetMembers> = {};
  for (let s = 0; s < IP_SETS; s++) ipSets[setId(s)] = setMembers(s);
  return hostState({
    interfaces: Array.from({ length: IFACES }, (_, i) => interfaceFor(i)),
    policies,
    profiles,
    ipSets,
  });
}

/** The typical single changes the agent sees between two syncs. */
function changes(base: HostState): { name: string; state: HostState; note: string }[] {
  const policies = new Map(base.policies);
  policies.set(policyName(EDITED), policyRules(EDITED, 81));
  const ipSets = new Map(base.ipSets);
  ipSets.set(setId(GROWN), setMembers(GROWN, [`198.18.${GROWN}.200`]));
  const added = iface(`eth${IFACES}`, `hep${IFACES}`, {
    normal: { ingress: [policyName(100)], egress: [policyName(100)] },
    profiles: [profileName(0)],
  });
  return [
    {
      name: "one policy's rules changed",
      state: { ...base, policies },
      note: `${policyName(EDITED)}: one dport 80 -> 81`,
    },
    {
      name: "one IP-set member added",
      state: { ...base, ipSets },
      note: `${setId(GROWN)} +1 IPv4 address`,
    },
    {
      name: "one interface added",
      state: { ...base, interfaces: [...base.interfaces, added] },
      note: `eth${IFACES}, existing policy + profile`,
    },
    // Rebuilt from scratch, as the calculation would after a no-op batch: equal, not identical.
    { name: "nothing changed", state: largeState(), note: "freshly built equal state" },
  ];
}

// ---------------------------------------------------------------------------------------------
// Measuring and printing.

function samples(n: number, fn: () => void): number[] {
  return Array.from({ length: n }, () => time(fn));
}

/** `bytes B / lines L` of a script, or "-" for none. */
function size(script: string | undefined): string {
  if (script === undefined) return "-";
  if (script === "") return "0 B / 0 lines";
  const lines = script.split("\n").length - (script.endsWith("\n") ? 1 : 0);
  const bytes = new TextEncoder().encode(script).length;
  return `${bytes} B / ${lines} lines`;
}

/** ms / baseline, with enough digits that small ratios stay readable. */
function ratio(ms: number, baseline: number): string {
  if (!(baseline > 0)) return "-";
  const r = ms / baseline;
  return r >= 10 ? `${r.toFixed(1)}x` : r >= 0.1 ? `${r.toFixed(2)}x` : `${r.toPrecision(2)}x`;
}

type Row = { name: string; ms: number; script?: string; note: string };

function printTable(title: string, rows: Row[], baseline: number): void {
  const cells = rows.map((r) => [
    r.name,
    r.ms.toFixed(3),
    ratio(r.ms, baseline),
    size(r.script),
    r.note,
  ]);
  const head = ["case", "median ms", "vs baseline", "script bytes/lines", "notes"];
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row.map((cell, c) =>
      c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)
    ).join("  ").trimEnd();
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of cells) console.log(line(row));
}

const MiB = (bytes: number) => bytes / (1024 * 1024);

// ---------------------------------------------------------------------------------------------
// Part 3 first (printed last): resident memory before anything else has warmed up the heap.

const mem0 = Deno.memoryUsage();
const base = largeState();
const mem1 = Deno.memoryUsage();
const baseNft = buildNftState(base);
const mem2 = Deno.memoryUsage();
const fullText = render(baseNft);
const mem3 = Deno.memoryUsage();

const memberCount = [...base.ipSets.values()].reduce((n, m) => n + m.v4.length + m.v6.length, 0);
const ruleCount = [...baseNft.chains.values()].reduce((n, c) => n + c.rules.length, 0);
console.log(
  `dataplane benchmark: ${base.interfaces.length} policed interfaces, ${base.policies.size} ` +
    `policies (7 rules each), ${base.profiles.size} profiles, ${base.ipSets.size} IP sets ` +
    `with ${memberCount} members -> ${baseNft.chains.size} chains, ${ruleCount} rules, ` +
    `${baseNft.sets.size} nft sets; runs: ${RUNS} (pure single changes: ${FAST_RUNS})`,
);

// ---------------------------------------------------------------------------------------------
// Part 1: pure costs. Baseline: the full render.

const cases = changes(base).map((c) => ({ ...c, nft: buildNftState(c.state) }));
// Warm-up (JIT) before timing anything.
for (let k = 0; k < 3; k++) {
  render(buildNftState(base));
  for (const c of cases) planUpdate(baseNft, c.nft);
}

const renderMs = median(samples(RUNS, () => render(baseNft)));
const pureRows: Row[] = [
  {
    name: "render (full text)",
    ms: renderMs,
    script: fullText,
    note: "baseline; the first program and every repair",
  },
  {
    name: "buildNftState",
    ms: median(samples(RUNS, () => buildNftState(base))),
    note: "HostState -> typed nft state",
  },
];
for (const c of cases) {
  let script = "";
  const ms = median(samples(FAST_RUNS, () => script = planUpdate(baseNft, c.nft)));
  pureRows.push({ name: `planUpdate: ${c.name}`, ms, script, note: c.note });
}
for (const c of cases) {
  pureRows.push({
    name: `build + planUpdate: ${c.name}`,
    ms: median(samples(RUNS, () => planUpdate(baseNft, buildNftState(c.state)))),
    note: "what NftDataplane.apply computes per change",
  });
}
printTable("Part 1: pure costs (no I/O); baseline = full render", pureRows, renderMs);

// ---------------------------------------------------------------------------------------------
// Part 1b: single changes at the scale fixture through the real calculation, on the
// agent's incremental path (calculation change report -> DesiredTable.update -> planChanges),
// against what every change cost before: a whole build and a whole diff.

function incrementalPart(): void {
  const policies = Number(flag("--policies") ?? 1000);
  const members = Number(flag("--members") ?? 10000);
  const g = new CalculationGraph({
    hostname: "h1",
    dataplaneConfig: DEFAULT_DATAPLANE_CONFIG,
    log: createLogger([memorySink("ERROR")], "calc"),
  });
  g.setInterfaces(FIXTURE_IFACES);
  g.applyUpdates(scaleFixture(policies, members));
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  const step = (batch: ModelUpdate[]) => {
    let script = "";
    const ms = time(() => {
      g.applyUpdates(batch);
      script = planChanges(table.update(g.view(), g.takeChanges()), table.state);
    });
    return { ms, script };
  };
  const full = () => {
    const before = DesiredTable.build(g.hostState()).state;
    return time(() => planUpdate(before, DesiredTable.build(g.hostState()).state));
  };
  type Pair = { name: string; there: ModelUpdate[]; back: ModelUpdate[]; note: string };
  const mid = `filler-${String(Math.floor(policies / 2)).padStart(4, "0")}`;
  const pairs: Pair[] = [
    {
      name: "open a port (probe policy put)",
      there: [webPolicy("probe", 10, allowTcp(8080))],
      back: [{ type: "policy", name: "probe", value: null }],
      note: "close: the policy deleted",
    },
    {
      name: "a remote endpoint added",
      there: [remoteDb(members)],
      back: [remoteDb(members, false)],
      note: "back: deleted",
    },
    {
      name: "a compiled policy's port changed",
      there: [webPolicy(mid, 1000 + Math.floor(policies / 2), allowTcp(40000))],
      back: [
        webPolicy(mid, 1000 + Math.floor(policies / 2), allowTcp(20000 + Math.floor(policies / 2))),
      ],
      note: "back: restored",
    },
    {
      name: "a deny from a selector put mid-order",
      there: [webPolicy("splitter", 1000 + Math.floor(policies / 2) + 0.5, {
        action: "deny",
        source: { selector: "role == 'db'" },
      })],
      back: [{ type: "policy", name: "splitter", value: null }],
      note: "splits the compiled run in two; back: deleted",
    },
  ];
  for (let k = 0; k < 3; k++) for (const p of pairs) step(p.there), step(p.back); // warm-up
  const baseline = median(samples(RUNS, full));
  const rows: Row[] = [{
    name: "whole build + whole diff",
    ms: baseline,
    note: "baseline: what each change cost before the incremental path",
  }];
  for (const p of pairs) {
    const there: number[] = [];
    const back: number[] = [];
    let scriptThere = "";
    let scriptBack = "";
    for (let k = 0; k < FAST_RUNS; k++) {
      const a = step(p.there);
      const b = step(p.back);
      there.push(a.ms), back.push(b.ms);
      scriptThere = a.script, scriptBack = b.script;
    }
    rows.push({
      name: p.name,
      ms: median(there),
      script: scriptThere,
      note: "calc + update + plan",
    });
    rows.push({ name: `  and back`, ms: median(back), script: scriptBack, note: p.note });
  }
  printTable(
    `Part 1b: single changes at ${policies} policies / ${members} set members through the ` +
      "calculation (incremental path); baseline = whole build + whole diff",
    rows,
    baseline,
  );
}

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

incrementalPart();

// ---------------------------------------------------------------------------------------------
// Part 2: real nft inside a namespace of our own. Baseline: the first full program.

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`'ip ${args.join(" ")}' failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function mustRun(runner: NftRunner, script: string): Promise<void> {
  const r = await runner.run(script);
  if (!r.ok) throw new Error(`nft refused a benchmark script: ${r.stderr.trim()}`);
}

async function nftPart(netns: string): Promise<void> {
  const runner = commandRunner({ netns });
  const dropTable = `add table ${TABLE_REF}\ndelete table ${TABLE_REF}\n`;
  const rows: Row[] = [];

  // The first full program, into a namespace without our table (removed, untimed, each run).
  await mustRun(runner, fullText); // warm-up: nft and the kernel's caches
  const first: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await mustRun(runner, dropTable);
    first.push(await timeAsync(() => mustRun(runner, fullText)));
  }
  const baseline = median(first);
  rows.push({
    name: "first full program (no table yet)",
    ms: baseline,
    script: fullText,
    note: "baseline; add+delete+table in one transaction",
  });
  const replace: number[] = [];
  for (let r = 0; r < RUNS; r++) replace.push(await timeAsync(() => mustRun(runner, fullText)));
  rows.push({
    name: "full program over the existing table",
    ms: median(replace),
    script: fullText,
    note: "the repair path: the old table is deleted in the same transaction",
  });
  const floor: number[] = [];
  for (let r = 0; r < RUNS; r++) floor.push(await timeAsync(() => mustRun(runner, "\n")));
  rows.push({
    name: "floor: empty transaction",
    ms: median(floor),
    script: "",
    note: "spawning 'ip netns exec <ns> nft -f -' alone",
  });
  // The smallest transaction that names our table: spawn cost plus nft's minimal cache. The
  // gap between this and an incremental row is what nft spends on that change's objects.
  const touch = `add table ${TABLE_REF}\n`;
  const cache: number[] = [];
  for (let r = 0; r < RUNS; r++) cache.push(await timeAsync(() => mustRun(runner, touch)));
  rows.push({
    name: "floor: no-op 'add table' (table present)",
    ms: median(cache),
    script: touch,
    note: "spawn + one trivial transaction on the large table",
  });

  // Incremental transactions through the driver: base -> changed (timed) -> base (untimed).
  const dp = new NftDataplane(runner);
  await dp.applyState(baseNft); // full program; the table now holds the base state
  for (const c of cases) {
    const times: number[] = [];
    let script = "";
    for (let r = 0; r < RUNS; r++) {
      times.push(await timeAsync(async () => script = (await dp.applyState(c.nft)).script));
      await dp.applyState(baseNft);
    }
    rows.push({
      name: `applyState: ${c.name}`,
      ms: median(times),
      script,
      note: script === "" ? "nft not run" : c.note,
    });
  }

  // The periodic drift check on the large table: list, fingerprint, compare.
  let listingBytes = 0;
  const inSync: number[] = [];
  let repairedInSync = 0;
  for (let r = 0; r < RUNS; r++) {
    inSync.push(
      await timeAsync(async () => {
        if ((await dp.refresh()).repaired) repairedInSync++;
      }),
    );
  }
  const listing = await runner.listTable();
  if (listing !== null) listingBytes = new TextEncoder().encode(listing).length;
  const lists: number[] = [];
  for (let r = 0; r < RUNS; r++) lists.push(await timeAsync(() => runner.listTable()));
  const listMs = median(lists);
  const fpMs = listing === null ? 0 : median(samples(RUNS, () => {
    fingerprintListing(listing);
    fingerprintState(baseNft);
  }));
  rows.push({
    name: "refresh(): table in sync",
    ms: median(inSync),
    note: `nft -j list ${listMs.toFixed(1)} ms (${(listingBytes / 1024).toFixed(0)} KiB JSON) + ` +
      `fingerprints ${fpMs.toFixed(1)} ms; repaired ${repairedInSync}/${RUNS}`,
  });
  const drift: number[] = [];
  let reason = "";
  const victim = [...baseNft.chains.keys()].find((n) => n.includes(policyName(EDITED)))!;
  for (let r = 0; r < RUNS; r++) {
    await mustRun(runner, `flush chain ${TABLE_REF} ${victim}\n`);
    drift.push(await timeAsync(async () => reason = (await dp.refresh()).reason ?? "none"));
  }
  rows.push({
    name: "refresh(): one chain flushed behind our back",
    ms: median(drift),
    script: fullText,
    note: `chain ${victim}; reason ${reason}; list + full re-program`,
  });
  await dp.cleanup();
  printTable(
    `Part 2: real nft in network namespace ${netns}; baseline = first full program`,
    rows,
    baseline,
  );
}

const whyNot = whyNoNft();
if (whyNot !== undefined) {
  console.log(`\nPart 2: skipped (${whyNot}); run as root with 'ip' and 'nft' installed`);
} else {
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16))
    .map((h) => h.padStart(2, "0")).join("");
  const netns = `hfbench-${suffix}`;
  await ip(["netns", "add", netns]);
  let removed = false;
  const removeNetns = () => {
    if (removed) return;
    removed = true;
    new Deno.Command("ip", { args: ["netns", "del", netns], stdout: "null", stderr: "null" })
      .outputSync();
  };
  // Ctrl-C must not leave the namespace behind either.
  const onSignal = () => {
    removeNetns();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await nftPart(netns);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    removeNetns();
  }
}

// ---------------------------------------------------------------------------------------------
// Part 3: memory, measured at the start. Baseline: RSS before the state was built.

const memRows: [string, Deno.MemoryUsage, string][] = [
  ["before (imports loaded)", mem0, "baseline"],
  ["+ HostState built", mem1, `${base.policies.size} policies, ${memberCount} set members`],
  ["+ buildNftState", mem2, `${baseNft.chains.size} chains, ${ruleCount} rule texts`],
  ["+ render (full text)", mem3, `${(fullText.length / 1024).toFixed(0)} KiB of text`],
];
console.log("\nPart 3: memory (Deno.memoryUsage, no forced GC); baseline = RSS before building");
const memHead = ["case", "RSS MiB", "vs baseline", "heap used MiB", "notes"];
const memCells = memRows.map(([name, m, note]) => [
  name,
  MiB(m.rss).toFixed(1),
  `${MiB(m.rss - mem0.rss) >= 0 ? "+" : ""}${MiB(m.rss - mem0.rss).toFixed(1)} MiB`,
  MiB(m.heapUsed).toFixed(1),
  note,
]);
const memW = memHead.map((h, c) => Math.max(h.length, ...memCells.map((r) => r[c]!.length)));
const memLine = (row: string[]) =>
  row.map((cell, c) =>
    c === 0 || c === row.length - 1 ? cell.padEnd(memW[c]!) : cell.padStart(memW[c]!)
  ).join("  ").trimEnd();
console.log(memLine(memHead));
console.log(memLine(memW.map((w) => "-".repeat(w))));
for (const row of memCells) console.log(memLine(row));
