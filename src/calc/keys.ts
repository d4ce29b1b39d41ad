/**
 * Typed keys of the calculation graph. The graph's nodes share items across maps and indexes
 * (an endpoint is a label-index item, an IP-set member source and maybe a local host
 * endpoint; an active rule set is a policy or a profile), so each kind of key has one type and
 * one place that builds it. A key is never taken apart again: whatever a node needs to know
 * about the item travels beside the key, not inside it. Private to src/calc.
 */

declare const _endpointKey: unique symbol;

/**
 * An item of the IP-set label index: a host endpoint of any host, a workload endpoint or a
 * network set. Distinct per kind, so a host endpoint and a network set of the same name
 * never collide.
 */
export type EndpointKey = string & { readonly [_endpointKey]: true };

/** The key of host endpoint `name` on host `node`. */
export function hostEndpointKey(node: string, name: string): EndpointKey {
  return `h/${node}/${name}` as EndpointKey;
}

/** The key of the workload endpoint with syncer id `id`. */
export function workloadEndpointKey(id: string): EndpointKey {
  return `w/${id}` as EndpointKey;
}

/** The key of network set `name`. */
export function networkSetKey(name: string): EndpointKey {
  return `n/${name}` as EndpointKey;
}

/** A selector's unique id, as the label indexes key selectors. */
export type SelectorId = string;

/** An IP set's id: a selector's unique id, or a named-port set id (see namedPortSetId). */
export type IpSetId = string;

/** A local host endpoint's name: the policy index's items. */
export type HepName = string;

/** What an active rule set is: a policy's or a profile's. */
export type RulesKind = "policy" | "profile";

/** An active rule set's identity: kind and name kept apart, never joined into one string. */
export interface RulesKey {
  readonly kind: RulesKind;
  readonly name: string;
}
