/**
 * Policy and profile rules as typed nft rules, and the shared per-policy and
 * per-profile chains. Source and destination always mean the packet's source and destination
 * address/port, whatever the direction. Multiple CIDRs and ports become anonymous interval
 * sets, so no scratch marks are needed; each selector becomes a named set per family.
 */
import type { NumericPort, ResolvedEntity, ResolvedRule, RuleSet } from "../calc/host_state.ts";
import { DENY_ALL } from "../calc/resolve_rules.ts";
import type { Protocol } from "../model/resources.ts";
import { cidrsOfFamily } from "./_cidr.ts";
import { auditing, auditStatements, auditTail } from "./audit.ts";
import type { BuildContext } from "./context.ts";
import { objectName, quoteLogPrefix } from "./names.ts";
import {
  COUNTER,
  DROP,
  type Family,
  type Match,
  type NftRule,
  type PortRange,
  RETURN,
  rule,
  type RuleOwner,
  setMarkBits,
  type Side,
  type Statement,
  type Verdict,
} from "./rule.ts";
import type { NftChain, NftDirection } from "./state.ts";

/** Chain and set names of policy objects (deterministic; odd characters escaped). */
export const policyNames = {
  policyIn: (name: string) => objectName("pi", name),
  policyOut: (name: string) => objectName("po", name),
  profileIn: (name: string) => objectName("pri", name),
  profileOut: (name: string) => objectName("pro", name),
  /** The nft set of an IP set (selector or named-port set; the ids differ) for one family. */
  set: (id: string, family: Family) => objectName(family === 4 ? "s4" : "s6", id),
};

/**
 * The IP version a rule is limited to: its `ipVersion`, else the one its protocol implies
 * (`icmp` 4, `icmpv6` 6; also done by the calculation, repeated so a hand-built state is safe).
 */
export function ruleFamily(r: ResolvedRule): Family | undefined {
  if (r.ipVersion !== undefined) return r.ipVersion;
  if (r.protocol === "icmp" || r.protocol === 1) return 4;
  if (r.protocol === "icmpv6" || r.protocol === 58) return 6;
  return undefined;
}

function entityNeedsFamily(e: ResolvedEntity): boolean {
  return e.nets.length + e.notNets.length + e.ipSets.length + e.notIpSets.length +
      _namedCount(e) > 0;
}

function _namedCount(e: ResolvedEntity): number {
  return (e.namedPorts?.length ?? 0) + (e.notNamedPorts?.length ?? 0);
}

/**
 * True when a rule matches nothing family-specific, so one nft rule serves IPv4 and IPv6
 * alike (an inet chain sees both) instead of a copy per family.
 */
export function isFamilyNeutral(r: ResolvedRule): boolean {
  return ruleFamily(r) === undefined && r.icmp === undefined &&
    r.notICMP === undefined && !entityNeedsFamily(r.source) &&
    !entityNeedsFamily(r.destination);
}

const PROTO_NUMBERS: Record<string, number> = { icmp: 1, icmpv6: 58, sctp: 132, udplite: 136 };

/**
 * nft protocol text: `tcp`/`udp` are nft keywords; everything else is written as its number,
 * so rendering never depends on /etc/protocols being present.
 */
export function protoText(p: Protocol): string {
  if (p === "tcp" || p === "udp") return p;
  if (typeof p === "number") return String(p);
  return String(PROTO_NUMBERS[p]);
}

/** The protocols a port match implies when a rule names none: those with a port header. */
export const PORT_PROTOCOLS: readonly string[] = ["tcp", "udp", "132", "136"];

/** Sorted, merged port intervals: nft rejects overlapping elements in an interval set. */
export function portIntervals(ports: readonly NumericPort[]): PortRange[] {
  const iv = ports.map((p): [number, number] => typeof p === "number" ? [p, p] : [p.min, p.max])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of iv) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** How one rule list's rules end, per stage: filter and mangle return, raw also does. */
export function actionTail(
  action: ResolvedRule["action"],
  ctx: BuildContext,
  quotedLogPrefix: string,
): { statements: Statement[]; verdict?: Verdict } {
  switch (action) {
    case "allow":
      return { statements: [COUNTER, setMarkBits(ctx.accept)], verdict: RETURN };
    case "deny":
      return { statements: [COUNTER], verdict: DROP };
    case "pass":
      return { statements: [COUNTER, setMarkBits(ctx.pass)], verdict: RETURN };
    case "log":
      return { statements: [{ kind: "log", quotedPrefix: quotedLogPrefix }] };
  }
}

/** Labels a rule list: `policy web ingress`. */
export interface RuleListLabel {
  readonly kind: "policy" | "profile";
  readonly name: string;
  readonly direction: NftDirection;
}

/**
 * The nft rules for one rule list, in order. Each rule becomes one nft rule when it is
 * family-neutral, else one per rendered family; a family is skipped when the rule's version
 * differs or when filtering a non-empty CIDR field to that family empties it.
 * A side with named ports matches its numeric ports OR any named-port set; nft has no OR
 * across different lookups, so such a rule becomes one nft rule per alternative, each
 * excluding the ones before it (`th dport != 80`, `... != @set`), so a packet matches at
 * most one of them and a log or counter runs once.
 */
export function policyRules(
  rules: readonly ResolvedRule[],
  label: RuleListLabel,
  ctx: BuildContext,
): NftRule[] {
  const out: NftRule[] = [];
  const logPrefix = quoteLogPrefix(ctx.cfg.logPrefix);
  rules.forEach((r, i) => {
    const comment = `${label.kind} ${label.name} ${label.direction} rule ${i + 1}`;
    const audit = r.action === "deny" && auditing(ctx);
    const owner: RuleOwner = {
      kind: label.kind,
      name: label.name,
      direction: label.direction,
      rule: i + 1,
      ...(audit ? { audit: true } : {}),
    };
    const tail = audit
      ? { statements: auditStatements(ctx), verdict: undefined }
      : actionTail(r.action, ctx, logPrefix);
    const finish = (match: Match[]) =>
      rule(match, tail.statements, tail.verdict, comment, r.action === "log" ? undefined : owner);
    if (isFamilyNeutral(r)) {
      for (const match of matchParts(r, undefined)) out.push(finish(match));
    } else {
      for (const fam of ctx.families) {
        for (const match of familyMatch(r, fam) ?? []) out.push(finish(match));
      }
    }
    if (audit) out.push(...auditTail(ctx, comment));
  });
  return out;
}

/** Match alternatives for `fam`, or undefined when the rule is skipped for that family. */
function familyMatch(r: ResolvedRule, fam: Family): Match[][] | undefined {
  const v = ruleFamily(r);
  if (v !== undefined && v !== fam) return undefined;
  for (const e of [r.source, r.destination]) {
    for (const list of [e.nets, e.notNets]) {
      if (list.length > 0 && cidrsOfFamily(list, fam).length === 0) return undefined;
    }
  }
  return matchParts(r, fam).map((m) => [{ kind: "nfproto", family: fam }, ...m]);
}

/**
 * Match parts in a fixed order: protocol, source, destination, ICMP; one list per
 * alternative (a single one unless a side has named ports).
 */
function matchParts(r: ResolvedRule, fam: Family | undefined): Match[][] {
  const parts: Match[] = [];
  const hasPorts = [r.source, r.destination].some((e) =>
    e.ports.length + e.notPorts.length + _namedCount(e) > 0
  );
  if (r.protocol !== undefined) {
    parts.push({ kind: "l4proto", protocols: [protoText(r.protocol)], negate: false });
  } else if (hasPorts) {
    // th ports need an L4 header with ports
    parts.push({ kind: "l4proto", protocols: PORT_PROTOCOLS, negate: false });
  }
  if (r.notProtocol !== undefined) {
    parts.push({ kind: "l4proto", protocols: [protoText(r.notProtocol)], negate: true });
  }
  const icmp: Match[] = [];
  if (fam !== undefined) {
    if (r.icmp?.type !== undefined) {
      icmp.push({ kind: "icmpType", family: fam, types: [r.icmp.type] });
      if (r.icmp.code !== undefined) {
        icmp.push({ kind: "icmpCode", family: fam, code: r.icmp.code });
      }
    }
    if (r.notICMP?.type !== undefined) {
      icmp.push({
        kind: "notIcmp",
        family: fam,
        type: r.notICMP.type,
        ...(r.notICMP.code === undefined ? {} : { code: r.notICMP.code }),
      });
    }
  }
  const out: Match[][] = [];
  for (const src of entityParts(r.source, "s", fam)) {
    for (const dst of entityParts(r.destination, "d", fam)) {
      out.push([...parts, ...src, ...dst, ...icmp]);
    }
  }
  return out;
}

/**
 * One side's match parts, one list per alternative: the numeric ports, then each named port
 * with the alternatives before it negated. Named ports need a family (callers ensure it).
 */
function entityParts(e: ResolvedEntity, side: Side, fam: Family | undefined): Match[][] {
  const parts: Match[] = [];
  if (fam !== undefined) {
    const nets = cidrsOfFamily(e.nets, fam);
    if (nets.length > 0) {
      parts.push({ kind: "addrs", family: fam, side, cidrs: nets, negate: false });
    }
    const notNets = cidrsOfFamily(e.notNets, fam);
    if (notNets.length > 0) {
      parts.push({ kind: "addrs", family: fam, side, cidrs: notNets, negate: true });
    }
    for (const id of e.ipSets) {
      parts.push({
        kind: "addrSet",
        family: fam,
        side,
        set: policyNames.set(id, fam),
        negate: false,
      });
    }
    for (const id of e.notIpSets) {
      parts.push({
        kind: "addrSet",
        family: fam,
        side,
        set: policyNames.set(id, fam),
        negate: true,
      });
    }
  }
  const tail: Match[] = [];
  if (e.notPorts.length > 0) {
    tail.push({ kind: "ports", via: "th", side, ranges: portIntervals(e.notPorts), negate: true });
  }
  const lookup = (set: string, negate: boolean): Match => ({
    kind: "namedPort",
    family: fam!,
    side,
    set: policyNames.set(set, fam!),
    negate,
  });
  for (const n of e.notNamedPorts ?? []) tail.push(lookup(n.set, true));
  const named = e.namedPorts ?? [];
  const portMatch = (negate: boolean): Match => ({
    kind: "ports",
    via: "th",
    side,
    ranges: portIntervals(e.ports),
    negate,
  });
  if (named.length === 0) {
    return [[...parts, ...(e.ports.length > 0 ? [portMatch(false)] : []), ...tail]];
  }
  const alternatives: Match[][] = [];
  const before: Match[] = [];
  if (e.ports.length > 0) {
    alternatives.push([...parts, portMatch(false), ...tail]);
    before.push(portMatch(true));
  }
  for (const n of named) {
    alternatives.push([...parts, ...before, lookup(n.set, false), ...tail]);
    before.push(lookup(n.set, true));
  }
  return alternatives;
}

/** The empty rule list a policy without rules in a direction has. */
const EMPTY: RuleSet = { ingress: [], egress: [] };

/** A policy's chain for one direction (an absent policy has no rules: it falls through). */
export function policyChain(
  name: string,
  direction: NftDirection,
  rules: RuleSet | undefined,
  ctx: BuildContext,
): NftChain {
  const label = { kind: "policy", name, direction } as const;
  const rs = rules ?? EMPTY;
  return {
    name: direction === "ingress" ? policyNames.policyIn(name) : policyNames.policyOut(name),
    comment: `policy ${name} ${direction}`,
    owner: label,
    rules: policyRules(direction === "ingress" ? rs.ingress : rs.egress, label, ctx),
  };
}

/** A profile's two chains, inbound then outbound. */
export function profileChains(
  name: string,
  rules: RuleSet | undefined,
  ctx: BuildContext,
): [NftChain, NftChain] {
  // A profile the calculation did not supply is treated like an unknown one: deny-all.
  const rs = rules ?? DENY_ALL;
  const li = { kind: "profile", name, direction: "ingress" } as const;
  const lo = { kind: "profile", name, direction: "egress" } as const;
  return [
    {
      name: policyNames.profileIn(name),
      comment: `profile ${name} inbound`,
      owner: li,
      rules: policyRules(rs.ingress, li, ctx),
    },
    {
      name: policyNames.profileOut(name),
      comment: `profile ${name} outbound`,
      owner: lo,
      rules: policyRules(rs.egress, lo, ctx),
    },
  ];
}
