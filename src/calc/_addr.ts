/**
 * Address text helpers for the calculation. Host endpoints list expected IPs as operators
 * typed them and `ip` prints interface addresses in its own form, so both sides are turned
 * into one canonical text (src/net/ip.ts: dotted quad, RFC 5952 IPv6) before they are
 * compared or put into an IP set. Private to src/calc.
 */
import {
  type Cidr,
  formatIp,
  formatIpv4Number,
  ipv4Number,
  ipv4TextLength,
  isSingleAddress,
  networkOf,
  parseCidr,
  parseIp,
} from "../net/ip.ts";

/** A canonical address and its family. */
export interface CanonicalIp {
  readonly family: 4 | 6;
  /** Dotted quad, or lower-case RFC 5952 IPv6 (longest zero run compressed). */
  readonly text: string;
}

/**
 * Canonicalises a plain address; a `/len` suffix or an `%zone` suffix is dropped first (WEP
 * `ipNetworks` carry a prefix length, link-local addresses may carry a zone). Returns
 * undefined for text that is not an address, so callers can skip it rather than fail.
 */
export function canonicalIp(raw: string): CanonicalIp | undefined {
  let text = raw.trim();
  const slash = text.indexOf("/");
  if (slash >= 0) text = text.slice(0, slash);
  const pct = text.indexOf("%");
  if (pct >= 0) text = text.slice(0, pct);
  // The usual case, a plain IPv4 address, without a Uint8Array and a second string.
  const n = ipv4Number(text);
  if (n !== undefined) {
    return { family: 4, text: text.length === ipv4TextLength(n) ? text : formatIpv4Number(n) };
  }
  const ip = parseIp(text);
  return ip ? { family: ip.family, text: formatIp(ip) } : undefined;
}

/** Orders canonical addresses numerically (not as strings: 10.0.0.9 < 10.0.0.10). */
export function compareIps(a: string, b: string): number {
  const ka = parseIp(a)?.bytes ?? new Uint8Array();
  const kb = parseIp(b)?.bytes ?? new Uint8Array();
  for (let i = 0; i < ka.length && i < kb.length; i++) {
    const d = ka[i]! - kb[i]!;
    if (d !== 0) return d;
  }
  return ka.length - kb.length;
}

/** Sorts canonical addresses numerically, parsing each once (sets can be large). */
export function sortIps(texts: Iterable<string>): string[] {
  const all = [...texts];
  const v4 = _sortIpv4(all);
  if (v4 !== undefined) return v4;
  const keyed = all.map((t) => ({ t, b: parseIp(t)?.bytes ?? new Uint8Array() }));
  keyed.sort((x, y) => {
    for (let i = 0; i < x.b.length && i < y.b.length; i++) {
      const d = x.b[i]! - y.b[i]!;
      if (d !== 0) return d;
    }
    return x.b.length - y.b.length;
  });
  return keyed.map((k) => k.t);
}

/** sortIps of IPv4 addresses only, by 32-bit number; undefined when any text is not one. */
function _sortIpv4(texts: readonly string[]): string[] | undefined {
  const keyed: { t: string; n: number }[] = [];
  for (const t of texts) {
    const n = ipv4Number(t);
    if (n === undefined) return undefined;
    keyed.push({ t, n });
  }
  keyed.sort((x, y) => x.n - y.n);
  return keyed.map((k) => k.t);
}

/**
 * A network set's net as an IP-set member: host bits cleared, a single address (/32, /128)
 * written as the bare address so it shares its refcount with an endpoint's address, any
 * other prefix as `addr/len`. Undefined for text that is not a CIDR.
 */
export function canonicalNet(raw: string): CanonicalIp | undefined {
  if (_nets.has(raw)) return _nets.get(raw);
  const c = parseCidr(raw.trim());
  let out: CanonicalIp | undefined;
  if (c !== undefined) {
    const n = networkOf(c);
    const text = isSingleAddress(n) ? formatIp(n.ip) : `${formatIp(n.ip)}/${n.prefix}`;
    out = { family: n.ip.family, text };
  }
  // Cached: an edited network set lists again the thousands of nets it already had.
  if (_nets.size >= 100_000) _nets.clear();
  _nets.set(raw, out);
  return out;
}

const _nets = new Map<string, CanonicalIp | undefined>();

interface _Member {
  readonly text: string;
  readonly cidr: Cidr;
}

function _members(texts: Iterable<string>): _Member[] {
  const out: _Member[] = [];
  for (const text of texts) {
    const cidr = parseCidr(text);
    if (cidr !== undefined) out.push({ text, cidr });
  }
  out.sort((x, y) => {
    if (x.cidr.ip.family !== y.cidr.ip.family) return x.cidr.ip.family - y.cidr.ip.family;
    const a = x.cidr.ip.bytes, b = y.cidr.ip.bytes;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      if (d !== 0) return d;
    }
    return x.cidr.prefix - y.cidr.prefix;
  });
  return out;
}

/** Canonical member texts (addresses and prefixes) sorted by family, address and prefix. */
export function sortMembers(texts: Iterable<string>): string[] {
  return _members(texts).map((m) => m.text);
}

/**
 * A named-port set member: `ADDR . PROTO . PORT` with a canonical address, the way nft writes
 * an `ipv4_addr . inet_proto . inet_service` element (so the dataplane can use it as is).
 */
export function namedPortMember(ip: string, protocol: string, port: number): string {
  return `${ip} . ${protocol} . ${port}`;
}

/** Orders named-port members by address (numerically), then protocol, then port. */
export function sortNamedPortMembers(members: Iterable<string>): string[] {
  const keyed = [...members].map((m) => {
    const [ip = "", proto = "", port = "0"] = m.split(" . ");
    return { m, b: parseIp(ip)?.bytes ?? new Uint8Array(), proto, port: Number(port) };
  });
  keyed.sort((x, y) => {
    for (let i = 0; i < x.b.length && i < y.b.length; i++) {
      const d = x.b[i]! - y.b[i]!;
      if (d !== 0) return d;
    }
    return x.b.length - y.b.length || (x.proto < y.proto ? -1 : x.proto > y.proto ? 1 : 0) ||
      x.port - y.port;
  });
  return keyed.map((k) => k.m);
}
