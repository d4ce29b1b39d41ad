/**
 * One policy or profile rule (spec 1.6, 5.5) as nft rule text for one IP family. Source and
 * destination always mean the packet's source and destination address/port, whatever the
 * direction. Multiple CIDRs and ports become anonymous interval sets, so no scratch marks are
 * needed; each selector becomes a named set per family.
 */
import type { ResolvedEntity, ResolvedRule } from "../calc/host_state.ts";
import type { Port, Protocol } from "../model/resources.ts";
import { cidrsOfFamily } from "./_cidr.ts";
import { quoteComment, quoteLogPrefix } from "./names.ts";

/** What rule rendering needs from the surrounding state. */
export interface RuleContext {
  /** Accept mark A and pass mark P (spec 5.13). */
  readonly accept: number;
  readonly pass: number;
  readonly logPrefix: string;
  /** Families rendered: [4] or [4, 6] (Ipv6Support). */
  readonly families: readonly (4 | 6)[];
  /** Name of the nft set holding IP set `id` for `family`. */
  setName(id: string, family: 4 | 6): string;
}

/** `0x01000000`: marks are always printed as 8 hex digits, as nft lists them. */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** `meta mark set meta mark | M` */
export function setMark(m: number): string {
  return `meta mark set meta mark | ${hex(m)}`;
}

/** `meta mark set meta mark & ~M` */
export function clearMark(m: number): string {
  return `meta mark set meta mark & ${hex(~m >>> 0)}`;
}

/** Matches packets carrying mark bits `m`. */
export function markSet(m: number): string {
  return `meta mark & ${hex(m)} == ${hex(m)}`;
}

/** Matches packets not carrying mark bits `m`. */
export function markClear(m: number): string {
  return `meta mark & ${hex(m)} == 0`;
}

/**
 * The IP version a rule is limited to: its `ipVersion`, else the one its protocol implies
 * (`icmp` 4, `icmpv6` 6; also done by the calculation, repeated so a hand-built state is safe).
 */
export function ruleFamily(rule: ResolvedRule): 4 | 6 | undefined {
  if (rule.ipVersion !== undefined) return rule.ipVersion;
  if (rule.protocol === "icmp" || rule.protocol === 1) return 4;
  if (rule.protocol === "icmpv6" || rule.protocol === 58) return 6;
  return undefined;
}

function entityNeedsFamily(e: ResolvedEntity): boolean {
  return e.nets.length + e.notNets.length + e.ipSets.length + e.notIpSets.length > 0;
}

/**
 * True when a rule matches nothing family-specific, so one nft rule serves IPv4 and IPv6
 * alike (an inet chain sees both) instead of a copy per family.
 */
export function isFamilyNeutral(rule: ResolvedRule): boolean {
  return ruleFamily(rule) === undefined && rule.icmp === undefined &&
    rule.notICMP === undefined && !entityNeedsFamily(rule.source) &&
    !entityNeedsFamily(rule.destination);
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

/** Sorted, merged port intervals: nft rejects overlapping elements in an interval set. */
export function portIntervals(ports: readonly Port[]): [number, number][] {
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

/** `80`, `8000-8080` or `{ 80, 8000-8080 }`. */
export function portSetText(ports: readonly Port[]): string {
  return setText(portIntervals(ports).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)));
}

/** A single value as is, several as an anonymous set. */
export function setText(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`;
}

/** Labels a rule for comments: `policy web ingress rule 2`. */
export interface RuleLabel {
  readonly kind: "policy" | "profile";
  readonly name: string;
  readonly direction: "ingress" | "egress";
}

/**
 * The nft rules for one rule list, in order. Each rule becomes one nft rule when it is
 * family-neutral, else one per rendered family; a family is skipped when the rule's version
 * differs or when filtering a non-empty CIDR field to that family empties it (spec 1.6).
 */
export function renderRules(
  rules: readonly ResolvedRule[],
  label: RuleLabel,
  ctx: RuleContext,
): string[] {
  const out: string[] = [];
  rules.forEach((rule, i) => {
    const comment = quoteComment(`${label.kind} ${label.name} ${label.direction} rule ${i + 1}`);
    if (isFamilyNeutral(rule)) {
      out.push(
        joinParts([
          ...matchParts(rule, undefined, ctx),
          ...actionParts(rule, ctx),
          `comment ${comment}`,
        ]),
      );
      return;
    }
    for (const fam of ctx.families) {
      const match = familyMatch(rule, fam, ctx);
      if (match === undefined) continue;
      out.push(joinParts([...match, ...actionParts(rule, ctx), `comment ${comment}`]));
    }
  });
  return out;
}

function joinParts(parts: readonly string[]): string {
  return parts.filter((p) => p !== "").join(" ");
}

function actionParts(rule: ResolvedRule, ctx: RuleContext): string[] {
  switch (rule.action) {
    case "allow":
      return ["counter", setMark(ctx.accept), "return"];
    case "deny":
      return ["counter", "drop"];
    case "pass":
      return ["counter", setMark(ctx.pass), "return"];
    case "log":
      return [`log prefix ${quoteLogPrefix(ctx.logPrefix)}`];
  }
}

/** Match parts for `fam`, or undefined when the rule is skipped for that family. */
function familyMatch(rule: ResolvedRule, fam: 4 | 6, ctx: RuleContext): string[] | undefined {
  const v = ruleFamily(rule);
  if (v !== undefined && v !== fam) return undefined;
  for (const e of [rule.source, rule.destination]) {
    for (const list of [e.nets, e.notNets]) {
      if (list.length > 0 && cidrsOfFamily(list, fam).length === 0) return undefined;
    }
  }
  return [`meta nfproto ${fam === 4 ? "ipv4" : "ipv6"}`, ...matchParts(rule, fam, ctx)];
}

/** Match parts in a fixed order: protocol, source, destination, ICMP. */
function matchParts(rule: ResolvedRule, fam: 4 | 6 | undefined, ctx: RuleContext): string[] {
  const parts: string[] = [];
  const hasPorts = [rule.source, rule.destination].some((e) =>
    e.ports.length + e.notPorts.length > 0
  );
  if (rule.protocol !== undefined) parts.push(`meta l4proto ${protoText(rule.protocol)}`);
  else if (hasPorts) parts.push("meta l4proto { tcp, udp, 132, 136 }"); // th ports need an L4 header with ports
  if (rule.notProtocol !== undefined) parts.push(`meta l4proto != ${protoText(rule.notProtocol)}`);
  parts.push(...entityParts(rule.source, "s", fam, ctx));
  parts.push(...entityParts(rule.destination, "d", fam, ctx));
  if (fam !== undefined) {
    const icmp = fam === 4 ? "icmp" : "icmpv6";
    if (rule.icmp?.type !== undefined) {
      parts.push(`${icmp} type ${rule.icmp.type}`);
      if (rule.icmp.code !== undefined) parts.push(`${icmp} code ${rule.icmp.code}`);
    }
    if (rule.notICMP?.type !== undefined) {
      // "not (type AND code)": one concatenated lookup excludes exactly the pair.
      parts.push(
        rule.notICMP.code === undefined
          ? `${icmp} type != ${rule.notICMP.type}`
          : `${icmp} type . ${icmp} code != { ${rule.notICMP.type} . ${rule.notICMP.code} }`,
      );
    }
  }
  return parts;
}

function entityParts(
  e: ResolvedEntity,
  side: "s" | "d",
  fam: 4 | 6 | undefined,
  ctx: RuleContext,
): string[] {
  const parts: string[] = [];
  if (fam !== undefined) {
    const addr = `${fam === 4 ? "ip" : "ip6"} ${side}addr`;
    const nets = cidrsOfFamily(e.nets, fam);
    if (nets.length > 0) parts.push(`${addr} ${setText(nets)}`);
    const notNets = cidrsOfFamily(e.notNets, fam);
    if (notNets.length > 0) parts.push(`${addr} != ${setText(notNets)}`);
    for (const id of e.ipSets) parts.push(`${addr} @${ctx.setName(id, fam)}`);
    for (const id of e.notIpSets) parts.push(`${addr} != @${ctx.setName(id, fam)}`);
  }
  if (e.ports.length > 0) parts.push(`th ${side}port ${portSetText(e.ports)}`);
  if (e.notPorts.length > 0) parts.push(`th ${side}port != ${portSetText(e.notPorts)}`);
  return parts;
}
