/**
 * What one endpoint or network set can put into IP sets: its canonical addresses (or nets)
 * and its declared named ports. Kept apart from labels because the two change independently
 * and feed different nodes: labels decide which sets match, these decide what a match adds.
 * Private to src/calc.
 */
import type { EndpointPort } from "../model/resources.ts";
import { endpointPortProtocol } from "../model/validate.ts";
import { sameList } from "../util/same_list.ts";
import { type CanonicalIp, canonicalIp, canonicalNet, namedPortMember } from "./_addr.ts";
import type { NamedPortProtocol } from "./resolve_rules.ts";

/** A declared named port with its protocol as named-port sets key it. */
export interface NamedPort {
  readonly name: string;
  readonly protocol: NamedPortProtocol;
  readonly port: number;
}

/** An item's member data. */
export interface MemberSource {
  readonly ips: readonly CanonicalIp[];
  /** Named ports a host endpoint declares (protocol normalised; others left out). */
  readonly ports: readonly NamedPort[];
}

/** The port a named-port set collects: a name and a protocol. */
export interface PortFilter {
  readonly name: string;
  readonly protocol: NamedPortProtocol;
}

/**
 * Builds member data from resource fields: `ips` as plain addresses, or with `nets` as a
 * network set's CIDRs (members keep their prefix); unparsable entries and repeats left out.
 */
export function memberSource(
  ips: readonly string[],
  ports: readonly EndpointPort[],
  nets: boolean,
): MemberSource {
  return { ips: nets ? _canonicalNets(ips) : _canonicalIps(ips), ports: _ports(ports) };
}

/** True when both give every set the same members. */
export function sameMemberSource(a: MemberSource, b: MemberSource): boolean {
  return sameList(a.ips, b.ips, (x, y) => x.text === y.text) &&
    sameList(
      a.ports,
      b.ports,
      (x, y) => x.name === y.name && x.protocol === y.protocol && x.port === y.port,
    );
}

/**
 * What `src` contributes to a set whose selector matches it: its addresses, or for a
 * named-port set (`port`) `ADDR . PROTO . PORT` for each address and each declared port of
 * that name and protocol (none when it declares no such port).
 */
export function membersOf(src: MemberSource, port: PortFilter | undefined): string[] {
  if (port === undefined) return src.ips.map((a) => a.text);
  const out: string[] = [];
  for (const p of src.ports) {
    if (p.name !== port.name || p.protocol !== port.protocol) continue;
    for (const a of src.ips) {
      const m = namedPortMember(a.text, p.protocol, p.port);
      if (!out.includes(m)) out.push(m);
    }
  }
  return out;
}

/** Declared ports with a protocol named ports can use (validation refuses the rest). */
function _ports(raw: readonly EndpointPort[]): NamedPort[] {
  const out: NamedPort[] = [];
  for (const p of raw) {
    const protocol = endpointPortProtocol(p.protocol);
    if (protocol !== undefined) out.push({ name: p.name, protocol, port: p.port });
  }
  return out;
}

function _canonicalIps(raw: readonly string[]): CanonicalIp[] {
  const out: CanonicalIp[] = [];
  for (const r of raw) {
    const c = canonicalIp(r);
    if (c && !out.some((o) => o.text === c.text)) out.push(c);
  }
  return out;
}

function _canonicalNets(raw: readonly string[]): CanonicalIp[] {
  const out: CanonicalIp[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const c = canonicalNet(r);
    if (c && !seen.has(c.text)) {
      seen.add(c.text);
      out.push(c);
    }
  }
  return out;
}
