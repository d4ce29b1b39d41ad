/**
 * CIDR helpers for rendering: rule CIDRs arrive as operators wrote them (source CIDRs keep host
 * bits, bare addresses mean /32 or /128, spec 1.6), but an nft interval set wants network
 * addresses and rejects overlapping elements, so lists are normalised here. Private to
 * src/dataplane.
 */

/** A parsed CIDR with host bits cleared. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Network address as an unsigned integer (32 or 128 bits). */
  readonly addr: bigint;
  readonly len: number;
}

/** Parses `a.b.c.d[/n]` or an IPv6 address with optional `/n`; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const [addrText = "", lenText, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const v6 = addrText.includes(":");
  const bits = v6 ? 128 : 32;
  const addr = v6 ? parse6(addrText) : parse4(addrText);
  if (addr === undefined) return undefined;
  let len = bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    len = Number(lenText);
    if (len > bits) return undefined;
  }
  const hostBits = BigInt(bits - len);
  const net = (addr >> hostBits) << hostBits;
  return { family: v6 ? 6 : 4, addr: net, len };
}

/** Canonical text: dotted quad or RFC 5952 IPv6, with `/len` unless it is a single address. */
export function formatCidr(c: Cidr): string {
  const text = c.family === 4 ? format4(c.addr) : format6(c.addr);
  return c.len === (c.family === 4 ? 32 : 128) ? text : `${text}/${c.len}`;
}

/**
 * The CIDRs of one family from `texts`, de-duplicated, with every CIDR contained in another
 * dropped (two CIDRs either nest or are disjoint, so this removes every overlap), sorted.
 * Malformed entries are left out (validation rejects them before they reach the dataplane).
 */
export function cidrsOfFamily(texts: readonly string[], family: 4 | 6): string[] {
  const parsed = texts.map(parseCidr).filter((c): c is Cidr =>
    c !== undefined && c.family === family
  );
  parsed.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.len - b.len));
  const kept: Cidr[] = [];
  const bits = family === 4 ? 32 : 128;
  for (const c of parsed) {
    const last = kept[kept.length - 1];
    if (last !== undefined) {
      const shift = BigInt(bits - last.len);
      if ((c.addr >> shift) === (last.addr >> shift)) continue; // inside `last`
    }
    kept.push(c);
  }
  return kept.map(formatCidr);
}

function parse4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parse6(text: string): bigint | undefined {
  let t = text.toLowerCase();
  const pct = t.indexOf("%");
  if (pct >= 0) t = t.slice(0, pct);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = t.lastIndexOf(":");
  const tail = t.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parse4(tail);
    if (v4 === undefined) return undefined;
    t = `${t.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

function format4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
}

function format6(v: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
