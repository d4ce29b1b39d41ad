/**
 * Packet and byte counters for metrics, read from our nft table at scrape time and attributed
 * with the NftState that was programmed: every counted rule and compiled-set element names
 * its owner, so a policy's allow, deny and pass rules count for it (log rules carry no
 * counter), and an endpoint's drops (no policy allowed, no profile allowed, default drop)
 * count for the endpoint while the NDP-allow counter beside them counts for no one.
 */
import type { HostState } from "../calc/host_state.ts";
import type { NftRunner } from "../dataplane/nft_dataplane.ts";
import type { RuleOwner } from "../dataplane/rule.ts";
import type { NftDirection, NftState } from "../dataplane/state.ts";
import {
  type ElementCounter,
  ownerCounters,
  parseCounters,
  parseElementCounters,
  type RuleCounter,
} from "../dataplane/nft_counters.ts";

/** Which kind of rule list a counter belongs to: a policy's class, or a profile. */
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

/**
 * Under PolicyAuditMode, packets that would have been dropped (and were accepted): by a
 * policy's or profile's deny rules, or at the end of an endpoint's chain (`reason`).
 */
export type WouldDropCounter =
  | ({ readonly by: "policy" } & PolicyCounter)
  | ({ readonly by: "endpoint"; readonly reason: string } & EndpointDropCounter);

/** Everything one counter read yields. */
export interface CounterReading {
  readonly policies: readonly PolicyCounter[];
  readonly endpointDrops: readonly EndpointDropCounter[];
  /** Audit mode's would-drops; absent or empty when audit mode is off. */
  readonly wouldDrops?: readonly WouldDropCounter[];
}

/** What a reading is when nothing is programmed yet. */
export const NO_COUNTERS: CounterReading = { policies: [], endpointDrops: [] };

/**
 * Attributes rule and element counters to policies, profiles and endpoints by the owner each
 * rule and compiled-set element carries. Every policy/profile the table holds (as a chain or
 * compiled into a set) and every endpoint filter chain appears, at zero when it counted
 * nothing, so rates start from the first scrape. `host` supplies each policy's class
 * (untracked / preDNAT / normal); without it every policy is `normal`.
 */
export function attributeCounters(
  rules: readonly RuleCounter[],
  nft: NftState,
  host?: HostState,
  elements: readonly ElementCounter[] = [],
): CounterReading {
  const classes = _policyClasses(host);
  const policies = new _Tally<PolicyCounter>();
  const policySum = (kind: "policy" | "profile", name: string, direction: NftDirection) =>
    policies.at(`${kind}\0${name}\0${direction}`, () => ({
      policy: name,
      class: kind === "profile" ? "profile" : classes.get(name) ?? "normal",
      direction,
      packets: 0,
      bytes: 0,
    }));
  const drops = new _Tally<EndpointDropCounter>();
  for (const chain of nft.chains.values()) {
    const o = chain.owner;
    if (o.kind === "policy" || o.kind === "profile") policySum(o.kind, o.name, o.direction);
    else if (o.kind === "endpoint" && o.stage === "filter") {
      drops.put(`${o.iface}\0${o.direction}`, {
        iface: o.iface,
        hostEndpoint: o.hostEndpoint,
        direction: o.direction,
        packets: 0,
        bytes: 0,
      });
    }
  }
  for (const set of nft.sets.values()) {
    for (const o of set.owners?.values() ?? []) {
      if (o.kind === "policy" || o.kind === "profile") policySum(o.kind, o.name, o.direction);
    }
  }
  // Every audited rule and element is listed, at zero until it counts.
  const would = new _Tally<WouldDropCounter>();
  const wouldSum = (o: RuleOwner) => _wouldDropSum(would, classes, o);
  for (const chain of nft.chains.values()) {
    for (const r of chain.rules) if (r.owner) wouldSum(r.owner);
  }
  for (const set of nft.sets.values()) {
    for (const o of set.owners?.values() ?? []) wouldSum(o);
  }
  for (const { owner, packets, bytes } of ownerCounters(rules, elements, nft)) {
    wouldSum(owner)?.add(packets, bytes);
    if (owner.kind === "policy" || owner.kind === "profile") {
      policySum(owner.kind, owner.name, owner.direction).add(packets, bytes);
    } else if (owner.kind === "endpointDrop") {
      drops.get(`${owner.iface}\0${owner.direction}`)?.add(packets, bytes);
    }
  }
  return {
    policies: policies.totals(),
    endpointDrops: drops.totals(),
    ...(would.size > 0 ? { wouldDrops: would.totals() } : {}),
  };
}

/** One running sum of packets and bytes. */
class _Sum {
  packets = 0;
  bytes = 0;
  add(packets: number, bytes: number): void {
    this.packets += packets;
    this.bytes += bytes;
  }
}

/** Sums keyed by what they count for, each with its entry, in first-seen order. */
class _Tally<T extends { packets: number; bytes: number }> {
  readonly #sums = new Map<string, { entry: T; sum: _Sum }>();

  get size(): number {
    return this.#sums.size;
  }

  /** The sum for `key`, made at zero from `make()` the first time. */
  at(key: string, make: () => T): _Sum {
    let e = this.#sums.get(key);
    if (e === undefined) this.#sums.set(key, e = { entry: make(), sum: new _Sum() });
    return e.sum;
  }

  /** Starts `key` afresh at zero with this entry. */
  put(key: string, entry: T): void {
    this.#sums.set(key, { entry, sum: new _Sum() });
  }

  get(key: string): _Sum | undefined {
    return this.#sums.get(key)?.sum;
  }

  /** Every entry with its sums. */
  totals(): T[] {
    return [...this.#sums.values()].map((e) => ({
      ...e.entry,
      packets: e.sum.packets,
      bytes: e.sum.bytes,
    }));
  }
}

/** The would-drop sum an audited owner counts into; undefined for an owner not audited. */
function _wouldDropSum(
  would: _Tally<WouldDropCounter>,
  classes: ReadonlyMap<string, PolicyClass>,
  o: RuleOwner,
): _Sum | undefined {
  if (!("audit" in o) || o.audit !== true) return undefined;
  if (o.kind === "endpointDrop") {
    return would.at(`e\0${o.iface}\0${o.direction}\0${o.reason}`, () => ({
      by: "endpoint",
      iface: o.iface,
      hostEndpoint: o.hostEndpoint,
      direction: o.direction,
      reason: o.reason,
      packets: 0,
      bytes: 0,
    }));
  }
  return would.at(`${o.kind}\0${o.name}\0${o.direction}`, () => ({
    by: "policy",
    policy: o.name,
    class: o.kind === "profile" ? "profile" : classes.get(o.name) ?? "normal",
    direction: o.direction,
    packets: 0,
    bytes: 0,
  }));
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
    return attributeCounters(
      parseCounters(listing),
      nft,
      hostState(),
      parseElementCounters(listing),
    );
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
