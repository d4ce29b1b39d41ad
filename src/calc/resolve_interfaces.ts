/**
 * Host-endpoint to interface resolution. Pure and recomputed whole on every
 * change: one host has a handful of interfaces and local host endpoints, so an index would
 * cost more than it saves, and a full recompute cannot drift.
 */
import { canonicalIp } from "./_addr.ts";

/** One link as the calculation sees it: every link, including down ones and address-less ones. */
export interface InterfaceInfo {
  readonly name: string;
  /** Operationally up. */
  readonly up: boolean;
  /** Plain addresses (any text form; a prefix length or zone is ignored). */
  readonly addrs: readonly string[];
}

/** What the agent reports for a host endpoint. */
export type EndpointStatus = "up" | "down" | "error";

/** The fields of a local host endpoint that decide where it applies. */
export interface HepPlacement {
  readonly name: string;
  readonly interfaceName?: string;
  /** Canonical addresses (see canonicalIp); ignored when `interfaceName` is set. */
  readonly expectedIPs: readonly string[];
}

/** The outcome of resolution. */
export interface Resolution {
  /** Winning host endpoint per policed interface, in interface-name order. */
  readonly byInterface: ReadonlyMap<string, string>;
  /** Every given host endpoint's status, in name order. */
  readonly statuses: ReadonlyMap<string, EndpointStatus>;
}

/** True when the interface is a workload interface (starts with a non-empty prefix). */
export function isWorkloadInterface(name: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => p !== "" && name.startsWith(p));
}

/**
 * Resolves which host endpoint governs each host interface. A HEP with `interfaceName`
 * matches only that interface, present or not; one without matches every interface carrying
 * one of its expected IPs; the lowest HEP name wins an interface no matter how it matched.
 * Workload interfaces are skipped entirely. Status is `error` for a HEP governing no existing
 * link, `down` when one of its interfaces is down, otherwise `up`.
 */
export function resolveInterfaces(
  heps: Iterable<HepPlacement>,
  interfaces: readonly InterfaceInfo[],
  prefixes: readonly string[],
): Resolution {
  const byName = new Map<string, string[]>();
  const byIp = new Map<string, string[]>();
  const names: string[] = [];
  for (const h of heps) {
    names.push(h.name);
    if (h.interfaceName !== undefined) {
      _push(byName, h.interfaceName, h.name);
    } else {
      for (const ip of h.expectedIPs) _push(byIp, ip, h.name);
    }
  }
  const winners: [string, string][] = [];
  const governed = new Map<string, boolean[]>();
  const seen = new Set<string>();
  for (const iface of interfaces) {
    if (seen.has(iface.name) || isWorkloadInterface(iface.name, prefixes)) continue;
    seen.add(iface.name);
    let best: string | undefined;
    const consider = (n: string) => {
      if (best === undefined || n < best) best = n;
    };
    for (const n of byName.get(iface.name) ?? []) consider(n);
    for (const a of iface.addrs) {
      const c = canonicalIp(a);
      if (c) { for (const n of byIp.get(c.text) ?? []) consider(n); }
    }
    if (best === undefined) continue;
    winners.push([iface.name, best]);
    _push(governed, best, iface.up);
  }
  // A host endpoint that names its interface is policed on that name whether or not the link
  // exists yet: an interface deleted and created again (or created after its endpoint) is
  // policed from its first packet, not from the moment the agent notices the link. Its
  // status still says the link is missing (it governs no existing link).
  for (const [iface, heps] of byName) {
    if (seen.has(iface) || isWorkloadInterface(iface, prefixes)) continue;
    winners.push([iface, heps.reduce((a, b) => (b < a ? b : a))]);
  }
  winners.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const statuses = new Map<string, EndpointStatus>();
  for (const n of names.sort()) {
    const ups = governed.get(n);
    statuses.set(n, ups === undefined ? "error" : ups.every((u) => u) ? "up" : "down");
  }
  return { byInterface: new Map(winners), statuses };
}

function _push<T>(m: Map<string, T[]>, k: string, v: T) {
  const xs = m.get(k);
  if (xs) xs.push(v);
  else m.set(k, [v]);
}
