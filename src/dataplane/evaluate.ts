/**
 * An interpreter of the NftState: runs one described packet through the table's base chains
 * exactly as the kernel's nftables would (hooks in path order, priorities raw -300 < mangle
 * -150 < filter 0 within a hook, rules in order, jump/return/vmap, marks carried across
 * chains, `notrack` turning conntrack off for later chains), and records every rule that
 * matched. `hostfence explain` and the CLI's lockout check read verdicts from here, so they
 * judge packets by the very rules the agent programs, never by a second model of the policy
 * semantics.
 *
 * The kernel adds an implicit dependency to protocol-specific expressions (`ip saddr` needs
 * IPv4, `icmp type` needs ICMP, `tcp dport` needs TCP); a packet lacking it does not match,
 * negated or not, and neither does a `th` port match on a packet without ports. That is what
 * the interpreter does too.
 */
import {
  canonicalIp,
  type Cidr,
  cidrContains,
  type IpAddress,
  networkOf,
  parseCidr,
  parseIp,
} from "../net/ip.ts";
import type { LookupKey, Match, NftRule, RuleOwner, Statement } from "./rule.ts";
import type { NftHook, NftSet, NftState } from "./state.ts";
import { namedPortKeys } from "./rule_text.ts";

/** Which path through the host a packet takes (Netfilter hooks, in order). */
export type PacketPath = "input" | "output" | "forward";

/** Conntrack state the packet has when it reaches the filter chains. */
export type CtState = "new" | "established" | "related" | "invalid" | "untracked";

/** One packet as the interpreter sees it. */
export interface Packet {
  readonly path: PacketPath;
  /** Input interface (input and forward paths). */
  readonly iif?: string;
  /** Output interface (output and forward paths). */
  readonly oif?: string;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** IP protocol number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6, ... */
  readonly protocol: number;
  /** Ports, for protocols with ports (tcp, udp, sctp, udplite). */
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP / ICMPv6 type and code. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Conntrack state before our chains run; default `new`. */
  readonly ct?: CtState;
  /** Packet mark on arrival; default 0. */
  readonly mark?: number;
}

/** One rule that matched, in the order rules ran. */
export interface TraceStep {
  readonly chain: string;
  /** 0-based index of the rule in its chain. */
  readonly index: number;
  readonly rule: NftRule;
  /** For a compiled lookup that hit: the set, the element and the rule it stands for. */
  readonly element?: { readonly set: string; readonly text: string; readonly owner?: RuleOwner };
  /** The chain a jump or a dispatch entered (absent for a vmap miss or other verdicts). */
  readonly entered?: string;
  /** What the rule did: went on, or ended with a verdict. */
  readonly outcome: "continue" | "accept" | "drop" | "return" | "jump" | "miss";
}

/** What one base chain decided. */
export interface HookResult {
  readonly chain: string;
  readonly hook: NftHook;
  /** `accept` also when the chain ran off its end (policy accept). */
  readonly verdict: "accept" | "drop";
  readonly steps: readonly TraceStep[];
}

export interface Evaluation {
  /** `drop` when some base chain dropped the packet; then later chains did not run. */
  readonly verdict: "accept" | "drop";
  readonly hooks: readonly HookResult[];
  /** Conntrack state the filter chains saw (`untracked` after a raw `notrack`). */
  readonly ct: CtState;
  readonly mark: number;
}

const HOOKS: Record<PacketPath, readonly NftHook["hook"][]> = {
  input: ["prerouting", "input"],
  forward: ["prerouting", "forward"],
  output: ["output"],
};

const PRIORITY: Record<NftHook["priority"], number> = { raw: -300, mangle: -150, filter: 0 };

/** Protocols whose header starts with source and destination ports. */
const PORT_PROTOCOLS = new Set([6, 17, 132, 136]);

const PROTO_WORDS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

/** The protocol number of nft protocol text (`tcp`, `udp` or a number). */
export function protocolNumber(text: string): number {
  return PROTO_WORDS[text] ?? Number(text);
}

/** Thrown when the state refers to something it does not hold (a table nft would refuse). */
export class EvaluationError extends Error {}

/** Runs `packet` through `state`'s base chains. */
export function evaluate(state: NftState, packet: Packet): Evaluation {
  const ctx: _Ctx = {
    state,
    packet,
    mark: (packet.mark ?? 0) >>> 0,
    ct: packet.ct ?? "new",
    notrack: false,
    steps: [],
  };
  const hooks: HookResult[] = [];
  const order = HOOKS[packet.path];
  const bases = [...state.chains.values()]
    .filter((c) => c.hook !== undefined && order.includes(c.hook.hook))
    .sort((a, b) =>
      order.indexOf(a.hook!.hook) - order.indexOf(b.hook!.hook) ||
      PRIORITY[a.hook!.priority] - PRIORITY[b.hook!.priority]
    );
  let conntrackDone = false;
  for (const base of bases) {
    // Conntrack runs at priority -200 of prerouting/output: after raw, before mangle.
    if (!conntrackDone && PRIORITY[base.hook!.priority] > -200) {
      conntrackDone = true;
      if (ctx.notrack) ctx.ct = "untracked";
    }
    ctx.steps = [];
    const r = _runChain(ctx, base.name, 0);
    const verdict = r === "drop" ? "drop" : "accept";
    hooks.push({ chain: base.name, hook: base.hook!, verdict, steps: ctx.steps });
    if (verdict === "drop") return { verdict, hooks, ct: ctx.ct, mark: ctx.mark };
  }
  if (!conntrackDone && ctx.notrack) ctx.ct = "untracked";
  return { verdict: "accept", hooks, ct: ctx.ct, mark: ctx.mark };
}

interface _Ctx {
  readonly state: NftState;
  readonly packet: Packet;
  mark: number;
  ct: CtState;
  notrack: boolean;
  steps: TraceStep[];
}

/** nft refuses more than 16 nested jumps; a deeper one here means a loop in the state. */
const MAX_DEPTH = 16;

function _runChain(ctx: _Ctx, name: string, depth: number): "accept" | "drop" | "return" {
  if (depth > MAX_DEPTH) {
    throw new EvaluationError(`Jumps nest deeper than ${MAX_DEPTH} at ${name}`);
  }
  const chain = ctx.state.chains.get(name);
  if (chain === undefined) throw new EvaluationError(`Chain ${name} does not exist`);
  for (let index = 0; index < chain.rules.length; index++) {
    const rule = chain.rules[index]!;
    let element: TraceStep["element"];
    let ok = true;
    for (const m of rule.match) {
      if (m.kind === "lookup") {
        const hit = _lookup(ctx, m.keys, m.set);
        if (hit === undefined) ok = false;
        else element = hit;
      } else if (!matches(ctx, m)) ok = false;
      if (!ok) break;
    }
    if (!ok) continue;
    for (const s of rule.statements) _apply(ctx, s);
    const step = (outcome: TraceStep["outcome"], entered?: string) =>
      ctx.steps.push({
        chain: name,
        index,
        rule,
        ...(element ? { element } : {}),
        ...(entered ? { entered } : {}),
        outcome,
      });
    const v = rule.verdict;
    if (v === undefined) {
      step("continue");
      continue;
    }
    switch (v.kind) {
      case "accept":
        step("accept");
        return "accept";
      case "drop":
        step("drop");
        return "drop";
      case "return":
        step("return");
        return "return";
      case "goto":
        step("jump", v.chain);
        return _runChain(ctx, v.chain, depth + 1);
      case "jump":
      case "vmap": {
        let target: string | undefined = v.kind === "jump" ? v.chain : undefined;
        if (v.kind === "vmap") {
          const map = ctx.state.maps.get(v.map);
          if (map === undefined) throw new EvaluationError(`Map ${v.map} does not exist`);
          const key = v.dir === "in" ? ctx.packet.iif : ctx.packet.oif;
          target = key === undefined ? undefined : map.elements.get(key);
        }
        if (target === undefined) {
          step("miss");
          continue;
        }
        step("jump", target);
        const r = _runChain(ctx, target, depth + 1);
        if (r !== "return") return r;
        continue;
      }
    }
  }
  return "return";
}

function _apply(ctx: _Ctx, s: Statement): void {
  switch (s.kind) {
    case "markOr":
      ctx.mark = (ctx.mark | s.bits) >>> 0;
      return;
    case "markAnd":
      ctx.mark = (ctx.mark & s.keep) >>> 0;
      return;
    case "notrack":
      ctx.notrack = true;
      return;
    case "counter":
    case "log":
    case "limit": // a rate limit on the audit log; the packet goes on either way
      return;
  }
}

function _hasPorts(p: Packet): boolean {
  return PORT_PROTOCOLS.has(p.protocol) && p.sport !== undefined && p.dport !== undefined;
}

function _inRanges(n: number, ranges: readonly (readonly [number, number])[]): boolean {
  return ranges.some(([lo, hi]) => n >= lo && n <= hi);
}

const _cidrCache = new Map<string, ReturnType<typeof parseCidr>>();

function _cidr(text: string) {
  let c = _cidrCache.get(text);
  if (c === undefined) {
    c = parseCidr(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
    if (c === undefined) throw new EvaluationError(`Bad address ${text} in the table`);
    _cidrCache.set(text, c);
  }
  return c;
}

function _addr(p: Packet, side: "s" | "d") {
  const ip = parseIp(side === "s" ? p.src : p.dst);
  if (ip === undefined) throw new EvaluationError(`Bad packet address`);
  return ip;
}

function _ifMatch(quoted: string, name: string | undefined): boolean {
  if (name === undefined) return false;
  const body = quoted.slice(1, -1);
  if (body.endsWith("*") && !body.endsWith("\\*")) return name.startsWith(body.slice(0, -1));
  return name === body.replaceAll("\\*", "*");
}

const _setMembers = new WeakMap<NftSet, Set<string>>();

/** True when the packet matches one conjunct (lookups are handled by _lookup). */
export function matches(
  ctx: { packet: Packet; state: NftState; mark: number; ct: CtState },
  m: Match,
): boolean {
  const p = ctx.packet;
  switch (m.kind) {
    case "nfproto":
      return p.family === m.family;
    case "l4proto": {
      const inList = m.protocols.some((t) => protocolNumber(t) === p.protocol);
      return m.negate ? !inList : inList;
    }
    case "ports": {
      if (m.via === "tcp" && p.protocol !== 6) return false;
      if (m.via === "udp" && p.protocol !== 17) return false;
      if (!_hasPorts(p)) return false;
      const hit = _inRanges(m.side === "s" ? p.sport! : p.dport!, m.ranges);
      return m.negate ? !hit : hit;
    }
    case "addrs": {
      if (p.family !== m.family) return false;
      const ip = _addr(p, m.side);
      const hit = m.cidrs.some((c) => cidrContains(_cidr(c), ip));
      return m.negate ? !hit : hit;
    }
    case "addrSet": {
      if (p.family !== m.family) return false;
      const set = ctx.state.sets.get(m.set);
      if (set === undefined) throw new EvaluationError(`Set ${m.set} does not exist`);
      let hit: boolean;
      if (set.interval) hit = _inIntervalSet(set, _addr(p, m.side));
      else {
        let members = _setMembers.get(set);
        if (members === undefined) {
          members = new Set([...set.elements].map((e) => canonicalIp(e) ?? e));
          _setMembers.set(set, members);
        }
        hit = members.has(canonicalIp(m.side === "s" ? p.src : p.dst) ?? "");
      }
      return m.negate ? !hit : hit;
    }
    case "icmpType":
      return _isIcmp(p, m.family) && m.types.includes(p.icmpType ?? -1);
    case "icmpCode":
      return _isIcmp(p, m.family) && p.icmpCode === m.code;
    case "notIcmp":
      return _isIcmp(p, m.family) &&
        !(p.icmpType === m.type && (m.code === undefined || p.icmpCode === m.code));
    case "ctState":
      return m.states.includes(ctx.ct);
    case "mark":
      return m.set ? (ctx.mark & m.bits) >>> 0 === m.bits >>> 0 : (ctx.mark & m.bits) === 0;
    case "noDevice":
      return ((m.dir === "in" ? p.iif : p.oif) === undefined) !== (m.negate === true);
    case "ifname":
      return _ifMatch(m.quoted, m.dir === "in" ? p.iif : p.oif);
    case "namedPort": {
      // Like the kernel: a packet of the other family or without ports matches neither way.
      if (p.family !== m.family || !_hasPorts(p)) return false;
      const hit = _lookup(ctx, namedPortKeys(m.family, m.side), m.set) !== undefined;
      return m.negate ? !hit : hit;
    }
    case "lookup":
      return _lookup(ctx, m.keys, m.set) !== undefined;
  }
}

const _intervalSets = new WeakMap<NftSet, { size: number; starts: Cidr[] }>();

/**
 * Whether an interval IP set (disjoint addresses and prefixes, as the builder makes them)
 * holds `ip`: a binary search for the last element starting at or before it. Sorted once per
 * set; re-sorted when the set's size changed (the agent's live table changes sets in place).
 */
function _inIntervalSet(set: NftSet, ip: IpAddress): boolean {
  let sorted = _intervalSets.get(set);
  if (sorted === undefined || sorted.size !== set.elements.size) {
    const starts = [...set.elements].map((e) => networkOf(_cidr(e)));
    starts.sort((a, b) => _compareBytes(a.ip.bytes, b.ip.bytes));
    _intervalSets.set(set, sorted = { size: set.elements.size, starts });
  }
  const list = sorted.starts;
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (_compareBytes(list[mid]!.ip.bytes, ip.bytes) <= 0) lo = mid + 1;
    else hi = mid;
  }
  const candidate = list[lo - 1];
  return candidate !== undefined && cidrContains(candidate, ip);
}

function _compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function _isIcmp(p: Packet, family: 4 | 6): boolean {
  return p.family === family && p.protocol === (family === 4 ? 1 : 58);
}

/** One parsed field of a compiled element: a closed numeric interval or a CIDR. */
type _Field = { readonly lo: number; readonly hi: number } | {
  readonly cidr: NonNullable<ReturnType<typeof parseCidr>>;
};

const _parsedSets = new WeakMap<NftSet, { text: string; fields: _Field[] }[]>();

function _parseElements(set: NftSet, keys: readonly LookupKey[]) {
  let parsed = _parsedSets.get(set);
  if (parsed !== undefined) return parsed;
  parsed = [...set.elements].map((text) => {
    const parts = text.split(" . ");
    if (parts.length !== keys.length) {
      throw new EvaluationError(`Element ${text} of ${set.name} does not fit its key`);
    }
    const fields = parts.map((part, i): _Field => {
      const key = keys[i]!;
      if (key.field === "addr") return { cidr: _cidr(part) };
      if (key.field === "l4proto") {
        const n = protocolNumber(part);
        return { lo: n, hi: n };
      }
      const [lo, hi = lo] = part.split("-").map(Number);
      return { lo: lo!, hi: hi! };
    });
    return { text, fields };
  });
  _parsedSets.set(set, parsed);
  return parsed;
}

function _lookup(
  ctx: { packet: Packet; state: NftState },
  keys: readonly LookupKey[],
  setName: string,
): TraceStep["element"] | undefined {
  const p = ctx.packet;
  const set = ctx.state.sets.get(setName);
  if (set === undefined) throw new EvaluationError(`Set ${setName} does not exist`);
  // The packet's key; a field it lacks (no ports, other family) makes the lookup miss.
  const values: (number | ReturnType<typeof parseIp>)[] = [];
  for (const k of keys) {
    if (k.field === "l4proto") values.push(p.protocol);
    else if (k.field === "port") {
      if (!_hasPorts(p)) return undefined;
      values.push(k.side === "s" ? p.sport! : p.dport!);
    } else {
      if (p.family !== k.family) return undefined;
      values.push(_addr(p, k.side));
    }
  }
  for (const el of _parseElements(set, keys)) {
    const hit = el.fields.every((f, i) => {
      const v = values[i]!;
      if ("cidr" in f) return typeof v !== "number" && cidrContains(f.cidr, v!);
      return typeof v === "number" && v >= f.lo && v <= f.hi;
    });
    if (hit) {
      const owner = set.owners?.get(el.text);
      return { set: setName, text: el.text, ...(owner ? { owner } : {}) };
    }
  }
  return undefined;
}
