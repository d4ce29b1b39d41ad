/**
 * Which policies apply where, in what order (ascending `order`, then name; missing order last),
 * split by class (untracked, pre-DNAT, normal) and direction. Pure functions over the few policy
 * fields that matter, so the graph can recompute one endpoint's lists without touching anything
 * else.
 */
import type { PolicyType } from "../model/resources.ts";
import type { EndpointPolicies } from "./host_state.ts";
import { sameList } from "../util/same_list.ts";

/** The fields of a policy that decide its place in an endpoint's lists. */
export interface PolicyPlacement {
  readonly name: string;
  /** Absent sorts after every policy that has an order. */
  readonly order?: number;
  readonly types?: readonly PolicyType[];
  readonly doNotTrack?: boolean;
  readonly preDNAT?: boolean;
}

/**
 * Compares two policies: order ascending, absent order last, ties by name. Names are
 * compared by code unit, which equals byte-wise UTF-8 order for the ASCII names the
 * validator allows.
 */
export function comparePolicies(a: PolicyPlacement, b: PolicyPlacement): number {
  const ao = a.order;
  const bo = b.order;
  if (ao !== undefined && bo !== undefined) {
    if (ao < bo) return -1;
    if (ao > bo) return 1;
  } else if (ao !== undefined) {
    return -1;
  } else if (bo !== undefined) {
    return 1;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** True when the policy governs the direction: absent or empty `types` governs both. */
export function governs(p: PolicyPlacement, dir: PolicyType): boolean {
  return p.types === undefined || p.types.length === 0 || p.types.includes(dir);
}

/**
 * Sorts the applicable policies and splits them by class (untracked, pre-DNAT, normal) and
 * direction. Pre-DNAT policies only ever go into the ingress list (they run before routing,
 * where there is no egress).
 */
export function placePolicies(
  applicable: Iterable<PolicyPlacement>,
  profiles: readonly string[],
): EndpointPolicies {
  const sorted = [...applicable].sort(comparePolicies);
  const ut = { ingress: [] as string[], egress: [] as string[] };
  const pre = { ingress: [] as string[] };
  const norm = { ingress: [] as string[], egress: [] as string[] };
  for (const p of sorted) {
    const inn = governs(p, "ingress");
    const out = governs(p, "egress");
    if (p.doNotTrack) {
      if (inn) ut.ingress.push(p.name);
      if (out) ut.egress.push(p.name);
    } else if (p.preDNAT) {
      if (inn) pre.ingress.push(p.name);
    } else {
      if (inn) norm.ingress.push(p.name);
      if (out) norm.egress.push(p.name);
    }
  }
  return { untracked: ut, preDnat: pre, normal: norm, profiles: [...profiles] };
}

/** Deep equality of two placements, so unchanged lists keep their object identity. */
export function sameEndpointPolicies(a: EndpointPolicies, b: EndpointPolicies): boolean {
  return sameList(a.untracked.ingress, b.untracked.ingress) &&
    sameList(a.untracked.egress, b.untracked.egress) &&
    sameList(a.preDnat.ingress, b.preDnat.ingress) &&
    sameList(a.normal.ingress, b.normal.ingress) &&
    sameList(a.normal.egress, b.normal.egress) &&
    sameList(a.profiles, b.profiles);
}
