/**
 * Typed rule -> nft rule text (what follows `add rule inet hostfence CHAIN `). The only place
 * rule syntax is written; texts are memoised per rule object, since the differ compares texts
 * and rules are immutable.
 */
import { quoteComment } from "./names.ts";
import type { LookupKey, Match, NftRule, PortRange, Statement, Verdict } from "./rule.ts";

/** `0x01000000`: marks are always printed as 8 hex digits, as nft lists them. */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** A single value as is, several as an anonymous set. */
export function setText(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`;
}

/** `80`, `8000-8080` or `{ 80, 8000-8080 }` from merged, sorted ranges. */
export function rangesText(ranges: readonly PortRange[]): string {
  return setText(ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)));
}

const memo = new WeakMap<NftRule, string>();

/** The rule's text; the same string object for the same rule. */
export function ruleText(r: NftRule): string {
  let t = memo.get(r);
  if (t === undefined) {
    const parts: string[] = [];
    for (const m of r.match) parts.push(matchText(m));
    for (const s of r.statements) parts.push(statementText(s));
    if (r.verdict !== undefined) parts.push(verdictText(r.verdict));
    if (r.comment !== undefined) parts.push(`comment ${quoteComment(r.comment)}`);
    t = parts.join(" ");
    memo.set(r, t);
  }
  return t;
}

function ipWord(family: 4 | 6): string {
  return family === 4 ? "ip" : "ip6";
}

function icmpWord(family: 4 | 6): string {
  return family === 4 ? "icmp" : "icmpv6";
}

function not(negate: boolean): string {
  return negate ? "!= " : "";
}

function matchText(m: Match): string {
  switch (m.kind) {
    case "nfproto":
      return `meta nfproto ${m.family === 4 ? "ipv4" : "ipv6"}`;
    case "l4proto":
      return `meta l4proto ${not(m.negate)}${setText(m.protocols)}`;
    case "ports":
      return `${m.via} ${m.side}port ${not(m.negate)}${rangesText(m.ranges)}`;
    case "addrs":
      return `${ipWord(m.family)} ${m.side}addr ${not(m.negate)}${setText(m.cidrs)}`;
    case "addrSet":
      return `${ipWord(m.family)} ${m.side}addr ${not(m.negate)}@${m.set}`;
    case "icmpType":
      return `${icmpWord(m.family)} type ${setText(m.types.map(String))}`;
    case "icmpCode":
      return `${icmpWord(m.family)} code ${m.code}`;
    case "notIcmp": {
      const w = icmpWord(m.family);
      // "not (type AND code)": one concatenated lookup excludes exactly the pair.
      return m.code === undefined
        ? `${w} type != ${m.type}`
        : `${w} type . ${w} code != { ${m.type} . ${m.code} }`;
    }
    case "ctState":
      return `ct state ${m.states.join(",")}`;
    case "mark":
      return `meta mark & ${hex(m.bits)} == ${m.set ? hex(m.bits) : "0"}`;
    case "noDevice":
      return `${m.dir === "in" ? "iif" : "oif"} ${m.negate ? "!= " : ""}0`;
    case "ifname":
      return `${m.dir === "in" ? "iifname" : "oifname"} ${m.quoted}`;
    case "namedPort":
      return `${namedPortKeys(m.family, m.side).map(keyText).join(" . ")} ${
        not(m.negate)
      }@${m.set}`;
    case "lookup":
      return `${m.keys.map(keyText).join(" . ")} @${m.set}`;
  }
}

/** The key of a named-port lookup: the address, protocol and port of one side. */
export function namedPortKeys(family: 4 | 6, side: "s" | "d"): LookupKey[] {
  return [{ field: "addr", family, side }, { field: "l4proto" }, { field: "port", side }];
}

/** The packet field a lookup key reads, as nft writes it. */
export function keyText(k: LookupKey): string {
  switch (k.field) {
    case "l4proto":
      return "meta l4proto";
    case "addr":
      return `${ipWord(k.family)} ${k.side}addr`;
    case "port":
      return `th ${k.side}port`;
  }
}

function statementText(s: Statement): string {
  switch (s.kind) {
    case "counter":
      return "counter";
    case "markOr":
      return `meta mark set meta mark | ${hex(s.bits)}`;
    case "markAnd":
      return `meta mark set meta mark & ${hex(s.keep)}`;
    case "notrack":
      return "notrack";
    case "log":
      return `log prefix ${s.quotedPrefix}`;
    case "limit":
      return `limit rate ${s.rate}/${s.per}`;
  }
}

function verdictText(v: Verdict): string {
  switch (v.kind) {
    case "accept":
    case "drop":
    case "return":
      return v.kind;
    case "jump":
    case "goto":
      return `${v.kind} ${v.chain}`;
    case "vmap":
      return `${v.dir === "in" ? "iifname" : "oifname"} vmap @${v.map}`;
  }
}
