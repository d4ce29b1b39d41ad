/**
 * CIDR helpers for rendering: rule CIDRs arrive as operators wrote them (source CIDRs keep host
 * bits, bare addresses mean /32 or /128), but an nft interval set wants network
 * addresses and rejects overlapping elements, so lists are normalised here. Parsing and
 * printing are src/net/ip.ts's; this file only adds nft's needs. Private to src/dataplane.
 */
import {
  type Cidr,
  cidrContains,
  formatIp,
  formatIpv4Number,
  ipv4Number,
  isSingleAddress,
  networkOf,
  parseCidr,
  parseIp,
} from "../net/ip.ts";

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

/** nft text of a named-port protocol: sctp by number, so /etc/protocols is never needed. */
const _PROTO_TEXT: Readonly<Record<string, string>> = { tcp: "tcp", udp: "udp", sctp: "132" };

/**
 * Named-port set elements of one family from the calculation's `ADDR . PROTO . PORT` members:
 * canonical address, protocol as nft text, de-duplicated, sorted by address, protocol, port.
 * Malformed members and other families are left out.
 */
export function namedPortElementsOfFamily(list: readonly string[], family: 4 | 6): string[] {
  const seen = new Map<string, { b: Uint8Array; proto: string; port: number }>();
  for (const m of list) {
    const [addr = "", proto = "", port = ""] = m.split(" . ");
    const ip = parseIp(addr.trim());
    const p = _PROTO_TEXT[proto.trim()] ?? (/^[0-9]{1,3}$/.test(proto.trim()) ? proto.trim() : "");
    const n = Number(port);
    if (ip === undefined || ip.family !== family || p === "" || !(n >= 0 && n <= 65535)) continue;
    seen.set(`${formatIp(ip)} . ${p} . ${n}`, { b: ip.bytes, proto: p, port: n });
  }
  return [...seen.entries()].sort(([, x], [, y]) =>
    compareBytes(x.b, y.b) || (x.proto < y.proto ? -1 : x.proto > y.proto ? 1 : 0) ||
    x.port - y.port
  ).map(([t]) => t);
}

/** The nft type of a named-port set of one family. */
export function namedPortSetType(family: 4 | 6): string {
  return `${family === 4 ? "ipv4_addr" : "ipv6_addr"} . inet_proto . inet_service`;
}

/**
 * Canonical, de-duplicated, numerically sorted addresses of one family; a `/len` suffix is
 * ignored, other families and junk are dropped. For IP-set elements.
 */
export function addressesOfFamily(list: readonly string[], family: 4 | 6): string[] {
  if (family === 4) return _ipv4Addresses(list);
  const seen = new Map<string, Uint8Array>();
  for (const a of list) {
    const slash = a.indexOf("/");
    const ip = parseIp(slash < 0 ? a.trim() : a.slice(0, slash).trim());
    if (ip === undefined || ip.family !== family) continue;
    seen.set(formatIp(ip), ip.bytes);
  }
  return [...seen.entries()].sort((x, y) => compareBytes(x[1], y[1])).map(([t]) => t);
}

/** addressesOfFamily for IPv4, by 32-bit number: no bytes or comparisons of bytes per member. */
function _ipv4Addresses(list: readonly string[]): string[] {
  const seen = new Map<number, string>();
  for (const a of list) {
    const slash = a.indexOf("/");
    const n = ipv4Number(slash < 0 ? a.trim() : a.slice(0, slash).trim());
    if (n !== undefined && !seen.has(n)) seen.set(n, formatIpv4Number(n));
  }
  return [...seen.keys()].sort((x, y) => x - y).map((n) => seen.get(n)!);
}
