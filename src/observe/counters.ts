/**
 * Packet and byte counters for metrics, read from our nft table at scrape time and attributed
 * with the NftState that was programmed: policy and profile chains are summed whole (every
 * allow, deny and pass rule counts; log rules carry no counter), while an endpoint's filter
 * chain contributes only its drop rules (no policy allowed, no profile allowed, default drop),
 * so the NDP-allow counter in the same chain does not pass for drops.
 */
import type { HostState } from "../calc/host_state.ts";
import type { NftRunner } from "../dataplane/nft_dataplane.ts";
import type { NftDirection, NftState } from "../dataplane/state.ts";
import { chainCounters, parseCounters, type RuleCounter } from "../dataplane/counters.ts";

/** Which kind of rule list a counter belongs to (spec 5.2): a policy's class, or a profile. */
export type PolicyClass = "normal" | "untracked" | "preDNAT" | "profile";

/** Packets and bytes that matched a counted rule of one policy or profile in one direction. */
export interface PolicyCounter {
  readonly policy: string;
  readonly class: PolicyClass;
  readonly direction: NftDirection;
  readonly packets: number;
  readonly bytes: number;
}

/** Packets and bytes one policed interface dropped at the end of its policies and profiles. */
export interface EndpointDropCounter {
  readonly iface: string;
  readonly hostEndpoint: string;
  readonly direction: NftDirection;
  readonly packets: number;
  readonly bytes: number;
}

/** Everything one counter read yields. */
export interface CounterReading {
  readonly policies: readonly PolicyCounter[];
  readonly endpointDrops: readonly EndpointDropCounter[];
}

/** What a reading is when nothing is programmed yet. */
export const NO_COUNTERS: CounterReading = { policies: [], endpointDrops: [] };

/** The text of a drop rule's comment in our rendered rules: `... counter drop comment "x"`. */
const DROP_COMMENT = /(?:^|\s)counter drop comment "([^"]*)"$/;

/**
 * Attributes rule counters to policies, profiles and endpoints (see the module comment).
 * Every policy/profile chain and every endpoint filter chain of `nft` appears, at zero when
 * its rules counted nothing, so rates start from the first scrape. `host` supplies each
 * policy's class (untracked / preDNAT / normal); without it every policy is `normal`.
 */
export function attributeCounters(
  rules: readonly RuleCounter[],
  nft: NftState,
  host?: HostState,
): CounterReading {
  const classes = _policyClasses(host);
  const sums = new Map(chainCounters(rules, nft).map((c) => [c.chain, c]));
  const drops = new Map<string, { packets: number; bytes: number }>();
  const dropComments = new Map<string, Set<string>>();
  for (const [name, chain] of nft.chains) {
    if (chain.owner.kind !== "endpoint" || chain.owner.stage !== "filter") continue;
    const comments = new Set<string>();
    for (const r of chain.rules) {
      const m = DROP_COMMENT.exec(r);
      if (m) comments.add(m[1]!);
    }
    dropComments.set(name, comments);
    drops.set(name, { packets: 0, bytes: 0 });
  }
  for (const r of rules) {
    const wanted = dropComments.get(r.chain);
    if (wanted === undefined || r.comment === undefined || !wanted.has(r.comment)) continue;
    const d = drops.get(r.chain)!;
    d.packets += r.packets;
    d.bytes += r.bytes;
  }
  const policies: PolicyCounter[] = [];
  const endpointDrops: EndpointDropCounter[] = [];
  for (const [name, chain] of nft.chains) {
    const o = chain.owner;
    if (o.kind === "policy" || o.kind === "profile") {
      const s = sums.get(name);
      policies.push({
        policy: o.name,
        class: o.kind === "profile" ? "profile" : classes.get(o.name) ?? "normal",
        direction: o.direction,
        packets: s?.packets ?? 0,
        bytes: s?.bytes ?? 0,
      });
    } else if (o.kind === "endpoint" && o.stage === "filter") {
      const d = drops.get(name)!;
      endpointDrops.push({
        iface: o.iface,
        hostEndpoint: o.hostEndpoint,
        direction: o.direction,
        ...d,
      });
    }
  }
  return { policies, endpointDrops };
}

function _policyClasses(host: HostState | undefined): Map<string, PolicyClass> {
  const out = new Map<string, PolicyClass>();
  for (const i of host?.interfaces ?? []) {
    for (const p of [...i.untracked.ingress, ...i.untracked.egress]) out.set(p, "untracked");
    for (const p of i.preDnat.ingress) out.set(p, "preDNAT");
    for (const p of [...i.normal.ingress, ...i.normal.egress]) {
      if (!out.has(p)) out.set(p, "normal");
    }
  }
  return out;
}

/**
 * The real counter source: lists our table with `runner` (the same runner the NftDataplane
 * uses) and attributes it with the programmed NftState and HostState. Returns NO_COUNTERS
 * before the first apply or when the table is missing; throws what the listing throws.
 */
export function nftCounterReader(
  runner: Pick<NftRunner, "listTable">,
  programmed: () => NftState | undefined,
  hostState: () => HostState | undefined = () => undefined,
): () => Promise<CounterReading> {
  return async () => {
    const nft = programmed();
    if (nft === undefined) return NO_COUNTERS;
    const listing = await runner.listTable();
    if (listing === null) return NO_COUNTERS;
    return attributeCounters(parseCounters(listing), nft, hostState());
  };
}

/**
 * Wraps `read` so calls while a read is running, or within `ttlMs` after it finished, share
 * its result (success or failure): scrapes from several Prometheus servers do not each run
 * nft. `now` is a monotonic clock in milliseconds.
 */
export function cachedReader<T>(
  read: () => Promise<T>,
  ttlMs = 1000,
  now: () => number = () => performance.now(),
): () => Promise<T> {
  let last: { doneAt: number | undefined; result: Promise<T> } | undefined;
  return () => {
    if (last !== undefined && (last.doneAt === undefined || now() - last.doneAt < ttlMs)) {
      return last.result;
    }
    let result: Promise<T>;
    try {
      result = read();
    } catch (err) {
      result = Promise.reject(err);
    }
    const entry: { doneAt: number | undefined; result: Promise<T> } = {
      doneAt: undefined,
      result,
    };
    const finish = () => {
      entry.doneAt = now();
    };
    result.then(finish, finish); // a failure still reaches every caller that awaits `result`
    last = entry;
    return result;
  };
}
