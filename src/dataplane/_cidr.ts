/**
 * CIDR helpers for rendering: rule CIDRs arrive as operators wrote them (source CIDRs keep host
 * bits, bare addresses mean /32 or /128), but an nft interval set wants network
 * addresses and rejects overlapping elements, so lists are normalised here. Parsing and
 * printing are src/model/ip.ts's; this file only adds nft's needs. Private to src/dataplane.
 */
import {
  type Cidr,
  cidrContains,
  formatIp,
  isSingleAddress,
  networkOf,
  parseCidr,
  parseIp,
} from "../model/ip.ts";

/** Orders addresses of one family numerically (byte by byte). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** nft's element text: the address alone for a single address, else `addr/len`. */
function nftText(c: Cidr): string {
  return isSingleAddress(c) ? formatIp(c.ip) : `${formatIp(c.ip)}/${c.prefix}`;
}

/**
 * The CIDRs of one family from `texts`, host bits cleared, de-duplicated, with every CIDR
 * contained in another dropped (two CIDRs either nest or are disjoint, so this removes every
 * overlap), sorted. Malformed entries are left out (validation rejects them earlier).
 */
export function cidrsOfFamily(texts: readonly string[], family: 4 | 6): string[] {
  const parsed = texts.map((t) => parseCidr(t.trim())).filter((c): c is Cidr =>
    c !== undefined && c.ip.family === family
  ).map(networkOf);
  parsed.sort((a, b) => compareBytes(a.ip.bytes, b.ip.bytes) || a.prefix - b.prefix);
  const kept: Cidr[] = [];
  for (const c of parsed) {
    const last = kept[kept.length - 1];
    if (last !== undefined && cidrContains(last, c.ip)) continue; // inside `last`
    kept.push(c);
  }
  return kept.map(nftText);
}

/**
 * Canonical, de-duplicated, numerically sorted addresses of one family; a `/len` suffix is
 * ignored, other families and junk are dropped. For IP-set elements.
 */
export function addressesOfFamily(list: readonly string[], family: 4 | 6): string[] {
  const seen = new Map<string, Uint8Array>();
  for (const a of list) {
    const slash = a.indexOf("/");
    const ip = parseIp(slash < 0 ? a.trim() : a.slice(0, slash).trim());
    if (ip === undefined || ip.family !== family) continue;
    seen.set(formatIp(ip), ip.bytes);
  }
  return [...seen.entries()].sort((x, y) => compareBytes(x[1], y[1])).map(([t]) => t);
}
