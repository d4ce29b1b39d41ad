/**
 * Reading our rule counters back from `nft -j list table inet hostfence`, so metrics can show
 * per-policy packet and byte counts. Counters are attributed by chain: the NftState that was
 * programmed says which policy, profile or endpoint each chain belongs to.
 */
import type { ChainOwner, NftState } from "./state.ts";

/** One rule's counter as listed by nft. */
export interface RuleCounter {
  readonly chain: string;
  readonly handle: number;
  readonly comment?: string;
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

/**
 * Every rule with a `counter` statement in an `nft -j list` document. Throws SyntaxError (from
 * JSON.parse, or with the offending shape) when the text is not nft JSON.
 */
export function parseCounters(json: string): RuleCounter[] {
  const doc = JSON.parse(json) as unknown;
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) throw new SyntaxError("Not an nft JSON listing: no 'nftables' array");
  const out: RuleCounter[] = [];
  for (const item of items) {
    const rule = (item as { rule?: Record<string, unknown> }).rule;
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

/**
 * Sums rule counters per chain of `state`, in the state's chain order; chains without a
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
  for (const [name, chain] of state.chains) {
    const s = sums.get(name);
    if (s !== undefined) out.push({ chain: name, owner: chain.owner, ...s });
  }
  return out;
}
