/**
 * The benchmark's one table: every figure beside the floor measured in the same run, and a
 * measurement that failed shown as failed (with the reason) instead of a number. Pure.
 */
import { median, percentile } from "./stats.ts";

type Dist = "open" | "close" | "applied" | "txns" | "applies";
type Case = "small" | "big";
/** One round of floods: no firewall, the stateful floor, and hostfence, back to back. */
export interface RateRound {
  readonly none: number;
  readonly floor: number;
  readonly agent: number;
}

/** Which failure areas blank which cells. */
const AREAS = {
  floorConv: ["floor-conv"],
  agentConv: ["agent-conv"],
  floorBurst: ["floor-burst"],
  agentBurst: ["agent-burst"],
  cold: ["cold"],
  coldFloor: ["cold-floor", "cold"],
  rss: ["rss"],
  ppsAll: ["pps", "pps-agent", "pps-big", "pps-small"],
  ppsBig: ["pps", "pps-agent", "pps-big"],
  ppsSmall: ["pps", "pps-agent", "pps-small"],
} as const;

function ms(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x < 10 ? `${x.toFixed(1)}` : `${x.toFixed(0)}`;
}
/** p50 / p90 / p99; values that could not be measured (NaN) are counted, not hidden. */
function dist(all: readonly number[] | undefined): string | undefined {
  if (!all || all.length === 0) return undefined;
  const xs = all.filter(Number.isFinite);
  const missing = all.length - xs.length;
  if (xs.length === 0) return `none of ${all.length} seen`;
  return `${ms(percentile(xs, 50))} / ${ms(percentile(xs, 90))} / ${ms(percentile(xs, 99))} ms` +
    (missing > 0 ? ` (${missing} of ${all.length} not seen)` : "");
}
function ratio(a: number | undefined, b: number | undefined, unit = "floor"): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !(b > 0)) return "-";
  return `${(a / b).toFixed(a / b < 10 ? 2 : 1)}x ${unit}`;
}
function kpps(x: number): string {
  return `${(x / 1000).toFixed(x < 99_950 ? 1 : 0)}k/s`;
}

export interface RunInfo {
  readonly policies: number;
  readonly remotes: number;
  readonly hosts: number;
  readonly reps: number;
  readonly floodSeconds: number;
  readonly floodRounds: number;
  readonly small: number;
  readonly seconds: number;
}

export class Table {
  #floor = new Map<Dist, number[]>();
  #agent = new Map<Dist, number[]>();
  #fail = new Map<string, string>();
  #burstFloor?: { ms: number; nft: string };
  #burstAgent?: { portMs: number; syncMs: number; gens: number; applied: number; inSync: number };
  #cold?: readonly { syncMs: number; dropMs: number }[];
  #coldFloor?: { total: number; parts: string };
  #rss?: { agent: { rss: number; hwm: number }; floor: { rss: number; hwm: number } };
  #peak?: number;
  #pps = new Map<Case, RateRound[]>();
  #gaps: number[] = [];

  floor(k: Dist, xs: number[]) {
    this.#floor.set(k, xs);
  }
  agent(k: Dist, xs: number[]) {
    this.#agent.set(k, xs);
  }
  fail(area: string, reason: string) {
    if (!this.#fail.has(area)) this.#fail.set(area, reason);
  }
  burstFloor(ms: number, nft: string) {
    this.#burstFloor = { ms, nft };
  }
  burstAgent(portMs: number, syncMs: number, gens: number, applied: number, inSync: number) {
    this.#burstAgent = { portMs, syncMs, gens, applied, inSync };
  }
  /** One sample per cold start (the table shows their median and range). */
  cold(samples: readonly { syncMs: number; dropMs: number }[]) {
    this.#cold = samples;
  }
  coldFloor(f: { total: number; parts: string }) {
    this.#coldFloor = f;
  }
  rss(agent: { rss: number; hwm: number }, floor: { rss: number; hwm: number }) {
    this.#rss = { agent, floor };
  }
  peak(hwm: number) {
    this.#peak = hwm;
  }
  /** The peer's time between the attempt that saw a change and the one before it. */
  gap(ms: number) {
    this.#gaps.push(ms);
  }
  pps(k: Case, round: RateRound) {
    this.#pps.set(k, [...(this.#pps.get(k) ?? []), round]);
  }

  /** The cell text, or why it is missing. */
  #cell(value: string | undefined, areas: readonly string[]): string {
    if (value !== undefined) return value;
    for (const a of areas) {
      const why = this.#fail.get(a);
      if (why !== undefined) return `FAILED: ${why.replaceAll("|", "/")}`;
    }
    return "not measured";
  }

  render(info: RunInfo): string {
    const F = this.#floor, A = this.#agent;
    const p50 = (m: Map<Dist, number[]>, k: Dist) => {
      const xs = m.get(k);
      return xs && xs.length ? percentile(xs, 50) : undefined;
    };
    const medMax = (xs: number[] | undefined) =>
      xs && xs.length ? `${percentile(xs, 50)} / ${Math.max(...xs)}` : undefined;
    const rows: string[][] = [];
    const row = (what: string, floor: string, agent: string, r: string) =>
      rows.push([what, floor, agent, r]);
    const fc = (v: string | undefined) => this.#cell(v, AREAS.floorConv);
    const ac = (v: string | undefined) => this.#cell(v, AREAS.agentConv);
    for (const k of ["open", "close"] as const) {
      row(
        `etcd ${k === "open" ? "put" : "delete"} -> peer sees the port ${
          k === "open" ? "open" : "closed"
        } (p50 / p90 / p99)`,
        fc(dist(F.get(k))),
        ac(dist(A.get(k))),
        ratio(p50(A, k), p50(F, k)),
      );
    }
    row(
      `"applied in" per single change (p50 / p90 / p99; floor: its one nft process)`,
      fc(dist(F.get("applied"))),
      ac(dist(A.get("applied"))),
      ratio(p50(A, "applied"), p50(F, "applied")),
    );
    const applies = A.get("applies");
    row(
      "nft transactions per single change (kernel generations, median / max)",
      fc(medMax(F.get("txns"))),
      ac(
        medMax(A.get("txns")) &&
          `${medMax(A.get("txns"))} ("applied in" lines: ${medMax(applies)})`,
      ),
      "-",
    );
    const bf = this.#burstFloor, ba = this.#burstAgent;
    row(
      `burst of ${info.policies} puts: last put -> its port answers`,
      this.#cell(bf && `${ms(bf.ms)} ms`, AREAS.floorBurst),
      this.#cell(ba && `${ms(ba.portMs)} ms`, AREAS.agentBurst),
      ratio(ba?.portMs, bf?.ms),
    );
    row(
      "burst: last put -> agent in sync at the last revision",
      "-",
      this.#cell(ba && `${ms(ba.syncMs)} ms`, AREAS.agentBurst),
      "-",
    );
    row(
      "burst: nft transactions (kernel generations)",
      this.#cell(bf && `${bf.nft}`, AREAS.floorBurst),
      this.#cell(
        ba && `${ba.gens} ("applied in" lines: ${ba.applied}; in-sync lines: ${ba.inSync})`,
        AREAS.agentBurst,
      ),
      "-",
    );
    const cf = this.#coldFloor, c = this.#cold;
    const cfCell = this.#cell(cf && `${ms(cf.total)} ms (${cf.parts})`, AREAS.coldFloor);
    const coldCell = (vs: number[] | undefined) => {
      if (vs === undefined || vs.length === 0) return undefined;
      const mid = percentile(vs, 50);
      return vs.length === 1
        ? `${ms(mid)} ms`
        : `${ms(mid)} ms (median of ${vs.length}; ${ms(Math.min(...vs))}-${ms(Math.max(...vs))})`;
    };
    const syncs = c?.map((x) => x.syncMs), drops = c?.map((x) => x.dropMs);
    row(
      "cold start: process start -> first `Dataplane in sync`",
      cfCell,
      this.#cell(coldCell(syncs), AREAS.cold),
      ratio(syncs && percentile(syncs, 50), cf?.total),
    );
    row(
      "cold start: process start -> an unallowed port is dropped",
      cfCell,
      this.#cell(coldCell(drops), AREAS.cold),
      ratio(drops && percentile(drops, 50), cf?.total),
    );
    const r = this.#rss;
    row(
      "RSS steady (VmRSS 3 s after the first sync; floor: the emulated agent)",
      this.#cell(r && `${r.floor.rss.toFixed(0)} MiB`, AREAS.rss),
      this.#cell(r && `${r.agent.rss.toFixed(0)} MiB`, AREAS.rss),
      ratio(r?.agent.rss, r?.floor.rss),
    );
    row(
      "RSS peak (VmHWM at the end of the run)",
      this.#cell(r && `${r.floor.hwm.toFixed(0)} MiB`, AREAS.rss),
      this.#cell(this.#peak === undefined ? undefined : `${this.#peak.toFixed(0)} MiB`, AREAS.rss),
      ratio(this.#peak, r?.floor.hwm),
    );
    // Packet rates: medians over rounds; each hostfence case against the floors measured in
    // its own rounds, so that a change in machine load between cases does not skew the ratio.
    const med = (rs: readonly RateRound[] | undefined, f: (r: RateRound) => number) =>
      rs && rs.length ? median(rs.map(f)) : undefined;
    const range = (rs: readonly RateRound[], f: (r: RateRound) => number) => {
      const xs = rs.map(f);
      return xs.length > 1 ? ` (${kpps(Math.min(...xs))}-${kpps(Math.max(...xs))})` : "";
    };
    const all = [...(this.#pps.get("big") ?? []), ...(this.#pps.get("small") ?? [])];
    const none = med(all, (r) => r.none), fl = med(all, (r) => r.floor);
    const n = `${info.floodRounds} rounds`;
    row(
      `new UDP flows/s, no firewall (median and range of ${all.length || "the"} ` +
        `${info.floodSeconds} s floods)`,
      this.#cell(
        none === undefined ? undefined : kpps(none) + range(all, (r) => r.none),
        AREAS.ppsAll,
      ),
      "-",
      "-",
    );
    row(
      "new UDP flows/s, stateful floor (conntrack + one accept rule)",
      this.#cell(
        fl === undefined ? undefined : kpps(fl) + range(all, (r) => r.floor),
        AREAS.ppsAll,
      ),
      "-",
      ratio(fl, none, "no firewall"),
    );
    for (const [k, count] of [["small", info.small], ["big", info.policies]] as const) {
      const rs = this.#pps.get(k);
      const areas = k === "big" ? AREAS.ppsBig : AREAS.ppsSmall;
      const a = med(rs, (r) => r.agent), f = med(rs, (r) => r.floor), z = med(rs, (r) => r.none);
      row(
        `new UDP flows/s, hostfence, allowed by the last policy after ${count} fillers + 1 ` +
          `(${n}, floor in the same rounds)`,
        this.#cell(f === undefined ? undefined : kpps(f), areas),
        this.#cell(a === undefined ? undefined : kpps(a), areas),
        a === undefined ? "-" : `${ratio(a, f)}, ${ratio(a, z, "no firewall")}`,
      );
    }
    const head = ["measured (same run)", "floor", "hostfence", "hostfence / floor"];
    const lines = [
      `| ${head.join(" | ")} |`,
      `|${head.map(() => "---").join("|")}|`,
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ];
    const extra = [...this.#fail.entries()].map(([a, w]) => `failed (${a}): ${w}`);
    return [
      `hostfence end-to-end benchmark: ${info.policies} policies, ${info.remotes} remote host ` +
      `endpoints on ${info.hosts} hosts, ${info.reps} repetitions, ${info.floodSeconds} s floods ` +
      `(run took ${info.seconds.toFixed(0)} s)` +
      (this.#gaps.length
        ? `; the peer's probes at the changes were ${ms(percentile(this.#gaps, 50))} ms apart ` +
          `(p50; max ${ms(Math.max(...this.#gaps))} ms)`
        : ""),
      "",
      ...lines,
      ...(extra.length ? ["", ...extra] : []),
    ].join("\n");
  }
}
