/**
 * Reading our counters back from `nft -j list table inet hostfence` and attributing them to
 * what they count for: each rule and compiled-set element of the programmed NftState carries
 * its owner (rule.ts), so packets are summed per policy rule and per endpoint drop without
 * parsing rule text.
 */
import { quoteComment } from "./names.ts";
import { orderedChains } from "./render.ts";
import type { RuleOwner } from "./rule.ts";
import type { ChainOwner, NftState } from "./state.ts";

/** One rule's counter as listed by nft. */
export interface RuleCounter {
  readonly chain: string;
  readonly handle: number;
  readonly comment?: string;
  readonly packets: number;
  readonly bytes: number;
}

/** One set element's counter as listed by nft (compiled sets count per element). */
export interface ElementCounter {
  readonly set: string;
  /** The element in our text form (`tcp . 80-90 . 198.18.0.0/24`). */
  readonly element: string;
  readonly packets: number;
  readonly bytes: number;
}

/** Counters summed over one chain, with what the chain is for. */
export interface ChainCounter {
  readonly chain: string;
  readonly owner: ChainOwner;
  readonly packets: number;
  readonly bytes: number;
}

/** Packets and bytes counted for one owner. */
export interface OwnedCounter {
  readonly owner: RuleOwner;
  readonly packets: number;
  readonly bytes: number;
}

type _Item = Record<string, Record<string, unknown> | undefined>;

function _items(json: string): _Item[] {
  const doc = JSON.parse(json) as unknown;
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) throw new SyntaxError("Not an nft JSON listing: no 'nftables' array");
  return items as _Item[];
}

/**
 * Every rule with a `counter` statement in an `nft -j list` document. Throws SyntaxError (from
 * JSON.parse, or with the offending shape) when the text is not nft JSON.
 */
export function parseCounters(json: string): RuleCounter[] {
  const out: RuleCounter[] = [];
  for (const item of _items(json)) {
    const rule = item.rule;
    if (rule === undefined) continue;
    const exprs = Array.isArray(rule.expr) ? rule.expr : [];
    let packets = 0;
    let bytes = 0;
    let found = false;
    for (const e of exprs) {
      const c = (e as { counter?: { packets?: number; bytes?: number } }).counter;
      if (c === undefined || c === null) continue;
      found = true;
      packets += Number(c.packets ?? 0);
      bytes += Number(c.bytes ?? 0);
    }
    if (!found) continue;
    out.push({
      chain: String(rule.chain),
      handle: Number(rule.handle),
      ...(typeof rule.comment === "string" ? { comment: rule.comment } : {}),
      packets,
      bytes,
    });
  }
  return out;
}

/** Every set element with a counter in an `nft -j list` document. Throws like parseCounters. */
export function parseElementCounters(json: string): ElementCounter[] {
  const out: ElementCounter[] = [];
  for (const item of _items(json)) {
    const set = item.set;
    if (set === undefined || !Array.isArray(set.elem)) continue;
    for (const e of set.elem) {
      const el = (e as { elem?: { val?: unknown; counter?: { packets?: number; bytes?: number } } })
        .elem;
      if (el?.counter === undefined) continue;
      out.push({
        set: String(set.name),
        element: elementText(el.val),
        packets: Number(el.counter.packets ?? 0),
        bytes: Number(el.counter.bytes ?? 0),
      });
    }
  }
  return out;
}

/** Protocol names nft may print for the numbers we write (we write tcp/udp by name). */
const PROTOCOL_NUMBERS: Record<string, string> = {
  icmp: "1",
  igmp: "2",
  gre: "47",
  esp: "50",
  ah: "51",
  "ipv6-icmp": "58",
  icmpv6: "58",
  sctp: "132",
  udplite: "136",
};

/** An element value from nft JSON in the text form we render elements in. */
export function elementText(val: unknown): string {
  if (typeof val === "number") return String(val);
  if (typeof val === "string") return PROTOCOL_NUMBERS[val] ?? val;
  const v = val as {
    concat?: unknown[];
    range?: [unknown, unknown];
    prefix?: { addr?: string; len?: number };
  };
  if (Array.isArray(v.concat)) return v.concat.map(elementText).join(" . ");
  if (Array.isArray(v.range)) {
    const [lo, hi] = v.range.map(elementText);
    return lo === hi ? lo! : `${lo}-${hi}`;
  }
  if (v.prefix !== undefined) {
    const addr = String(v.prefix.addr);
    const full = addr.includes(":") ? 128 : 32;
    return v.prefix.len === full ? addr : `${addr}/${v.prefix.len}`;
  }
  return JSON.stringify(val);
}

/**
 * Sums rule counters per chain of `state`, in render order; chains without a
 * counter are left out, and counters of chains not in `state` (a stale listing) are ignored.
 */
export function chainCounters(counters: readonly RuleCounter[], state: NftState): ChainCounter[] {
  const sums = new Map<string, { packets: number; bytes: number }>();
  for (const c of counters) {
    if (!state.chains.has(c.chain)) continue;
    const s = sums.get(c.chain) ?? { packets: 0, bytes: 0 };
    s.packets += c.packets;
    s.bytes += c.bytes;
    sums.set(c.chain, s);
  }
  const out: ChainCounter[] = [];
  for (const chain of orderedChains(state)) {
    const s = sums.get(chain.name);
    if (s !== undefined) out.push({ chain: chain.name, owner: chain.owner, ...s });
  }
  return out;
}

/**
 * Attributes counters to owners. A listed rule is the rule of its chain with the same
 * comment (comments we write are unique per owner in a chain); a counted rule without such a
 * match in a policy or profile chain counts for that policy as a whole (rule 0). Compiled-set
 * elements count for the rule they were compiled from. Stale chains and sets are ignored.
 */
export function ownerCounters(
  rules: readonly RuleCounter[],
  elements: readonly ElementCounter[],
  state: NftState,
): OwnedCounter[] {
  const byComment = new Map<string, Map<string, RuleOwner>>();
  const ownerIn = (chain: string, comment: string | undefined): RuleOwner | undefined => {
    const c = state.chains.get(chain);
    if (c === undefined) return undefined;
    let m = byComment.get(chain);
    if (m === undefined) {
      byComment.set(chain, m = new Map());
      for (const r of c.rules) {
        // nft lists the comment as we quoted it.
        if (r.owner !== undefined && r.comment !== undefined) {
          m.set(quoteComment(r.comment).slice(1, -1), r.owner);
        }
      }
    }
    const o = comment === undefined ? undefined : m.get(comment);
    if (o !== undefined) return o;
    if (c.owner.kind === "policy" || c.owner.kind === "profile") {
      return { kind: c.owner.kind, name: c.owner.name, direction: c.owner.direction, rule: 0 };
    }
    return undefined;
  };
  const out: OwnedCounter[] = [];
  for (const r of rules) {
    const owner = ownerIn(r.chain, r.comment);
    if (owner !== undefined) out.push({ owner, packets: r.packets, bytes: r.bytes });
  }
  for (const e of elements) {
    const owner = state.sets.get(e.set)?.owners?.get(e.element);
    if (owner !== undefined) out.push({ owner, packets: e.packets, bytes: e.bytes });
  }
  return out;
}
