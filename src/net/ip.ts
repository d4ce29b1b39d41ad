/**
 * IPv4/IPv6 addresses and CIDRs as the v1 model uses them: parse, print canonically, tell the
 * family, clear host bits, test containment. Pure and dependency-free so the model, the
 * datastore encodings and the calculation all agree on what an address looks like.
 *
 * Parsing follows Go's `net.ParseIP`/`net.ParseCIDR` (which calicoctl used): dotted-quad IPv4,
 * RFC 4291 IPv6 text (with `::` and an embedded dotted quad), no zones, no brackets. Printing
 * follows Go's `String()`: dotted quad, and RFC 5952 lower-case IPv6 with the longest zero run
 * (of at least two groups) compressed.
 */

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** An address plus prefix length; host bits are kept as written (see `networkOf`). */
export interface Cidr {
  readonly ip: IpAddress;
  readonly prefix: number;
}

/** Parses a plain IPv4 or IPv6 address (no prefix, no zone); `undefined` when invalid. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) return _parse6(text);
  const b = _parse4(text);
  return b ? { family: 4, bytes: b } : undefined;
}

/**
 * Four dot-separated groups of 1-3 decimal digits, each at most 255 (leading zeros allowed,
 * as `Number` reads them). Scanned by hand: an IP set's thousands of members go through here
 * several times, and splitting and a regex per group made garbage the agent paid for in
 * scavenges.
 */
function _parse4(text: string): Uint8Array | undefined {
  const n = ipv4Number(text);
  if (n === undefined) return undefined;
  const out = new Uint8Array(4);
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 255;
  out[2] = (n >>> 8) & 255;
  out[3] = n & 255;
  return out;
}

/**
 * A plain IPv4 address (as `parseIp` reads one) as its 32-bit number, which orders addresses
 * as their bytes do; `undefined` for anything else (IPv6 included). Allocates nothing, for
 * sorting and de-duplicating large sets.
 */
export function ipv4Number(text: string): number | undefined {
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let value = 0;
  let group = 0, n = 0, digits = 0;
  for (let i = 0; i <= len; i++) {
    const ch = i < len ? text.charCodeAt(i) : 46; // a final "." ends the last group
    if (ch >= 48 && ch <= 57) {
      if (++digits > 3) return undefined;
      n = n * 10 + (ch - 48);
      continue;
    }
    if (ch !== 46 || digits === 0 || n > 255 || group > 3) return undefined;
    value = value * 256 + n;
    group++;
    n = 0;
    digits = 0;
  }
  return group === 4 ? value : undefined;
}

/**
 * The length of `formatIpv4Number(n)`. A text `ipv4Number` read as `n` that is this long is
 * that canonical text (it has no leading zeros).
 */
export function ipv4TextLength(n: number): number {
  const digits = (x: number) => x < 10 ? 1 : x < 100 ? 2 : 3;
  return digits(n >>> 24) + digits((n >>> 16) & 255) + digits((n >>> 8) & 255) + digits(n & 255) +
    3;
}

/** The dotted quad of an `ipv4Number`. */
export function formatIpv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function _groups6(s: string, allowV4Tail: boolean): number[] | undefined {
  if (s === "") return [];
  const out: number[] = [];
  const parts = s.split(":");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes(".")) {
      const v4 = _parse4(p);
      if (!v4) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

function _parse6(text: string): IpAddress | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const head = _groups6(halves[0]!, false);
    const tail = _groups6(halves[1]!, true);
    if (!head || !tail) return undefined;
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    const g = _groups6(text, true);
    if (!g) return undefined;
    all = g;
  }
  if (all.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const b = ip.bytes;
    return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((ip.bytes[2 * i]! << 8) | ip.bytes[2 * i + 1]!);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/**
 * Parses `addr/len`; host bits are allowed and kept. A bare address is taken as /32 or /128
 * unless `requirePrefix` is set. `undefined` when invalid.
 */
export function parseCidr(
  text: string,
  options: { readonly requirePrefix?: boolean } = {},
): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0 && options.requirePrefix) return undefined;
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = maxPrefix(ip.family);
  if (slash < 0) return { ip, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { ip, prefix: Number(p) };
}

/** 32 or 128. */
export function maxPrefix(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/** The same CIDR with host bits cleared (`10.0.0.5/24` -> `10.0.0.0/24`). */
export function networkOf(c: Cidr): Cidr {
  const bytes = new Uint8Array(c.ip.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, c.prefix - 8 * i));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return { ip: { family: c.ip.family, bytes }, prefix: c.prefix };
}

/** `addr/len` with the address in canonical text and host bits as they are. */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

/** Family of an address or CIDR text, or `undefined` when it is neither. */
export function familyOf(text: string): 4 | 6 | undefined {
  return parseCidr(text)?.ip.family;
}

/** Canonical text of an address, or `undefined` when `text` is not a plain address. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/** Canonical `addr/len` text (bare address -> /32 or /128; host bits kept), or `undefined`. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatCidr(c) : undefined;
}

/** Canonical network text (host bits cleared), or `undefined` when `text` is no CIDR. */
export function normaliseCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatCidr(networkOf(c)) : undefined;
}

/** True when the CIDR names exactly one address (/32 or /128). */
export function isSingleAddress(c: Cidr): boolean {
  return c.prefix === maxPrefix(c.ip.family);
}

/** True when `ip` lies inside `c` (same family, same leading `prefix` bits). */
export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.ip.family !== ip.family) return false;
  const a = networkOf(c);
  const b = networkOf({ ip, prefix: c.prefix });
  return a.ip.bytes.every((x, i) => x === b.ip.bytes[i]);
}
