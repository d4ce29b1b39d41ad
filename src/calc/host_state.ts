/**
 * What the calculation hands the dataplane: everything one host's nftables must enforce,
 * as plain data with every selector already resolved to an IP-set id. The dataplane never
 * looks at etcd, labels or selectors; the calculation never looks at nft.
 */
import type { Port, Rule } from "../model/resources.ts";

/** The Felix parameters the dataplane reads live in config (which sits below calc). */
import type { DataplaneConfig } from "../config/dataplane.ts";
export type { DataplaneConfig, FailsafePort, PortSpec } from "../config/dataplane.ts";

/** A port number or range: what is left of a rule's ports once named ports are set aside. */
export type NumericPort = Exclude<Port, string>;

/** IP-set ids of named-port sets start with this (selector sets with `s:`). */
export const NAMED_PORT_SET_PREFIX = "n:";

/**
 * True for the id of a named-port IP set: its members are `ADDR . PROTO . PORT` texts
 * (`198.18.1.1 . tcp . 8080`, PROTO one of tcp, udp, sctp) instead of plain addresses.
 */
export function isNamedPortSet(id: string): boolean {
  return id.startsWith(NAMED_PORT_SET_PREFIX);
}

/** A named port a rule side lists: the IP set of its (address, protocol, port) triples. */
export interface NamedPortRef {
  /** The named-port IP-set id (see isNamedPortSet). */
  readonly set: string;
  /** The port name, for people (explain). */
  readonly name: string;
}

/** One side of a rule with selectors and tags replaced by IP-set ids. */
export interface ResolvedEntity {
  /** Positive CIDRs, OR-ed (singular `net` merged in). Empty = no constraint. */
  readonly nets: readonly string[];
  /** Negated CIDRs: the address must be in none of them. */
  readonly notNets: readonly string[];
  /** Every listed set must contain the address (selector and tag are AND-ed). */
  readonly ipSets: readonly string[];
  /** The address must be in none of these sets. */
  readonly notIpSets: readonly string[];
  /** Numeric ports and ranges; with `namedPorts`, the packet's port may match either. */
  readonly ports: readonly NumericPort[];
  readonly notPorts: readonly NumericPort[];
  /**
   * Named ports: the packet matches one when its (address, protocol, port) on this side is in
   * the set, i.e. it goes to (or comes from) an endpoint declaring that name, on the declared
   * port. OR-ed with `ports`. Absent when the rule names none.
   */
  readonly namedPorts?: readonly NamedPortRef[];
  /** Negated named ports: the packet's triple must be in none of these sets. */
  readonly notNamedPorts?: readonly NamedPortRef[];
}

/**
 * A rule as the dataplane takes it: the model's Rule, field for field, with both sides
 * resolved (and always present: an absent side is one without constraints).
 */
export interface ResolvedRule extends Omit<Rule, "source" | "destination"> {
  readonly source: ResolvedEntity;
  readonly destination: ResolvedEntity;
}

export interface RuleSet {
  readonly ingress: readonly ResolvedRule[];
  readonly egress: readonly ResolvedRule[];
  /**
   * Set for a policy with `applyOnForward: false` (Calico 3): the dataplane leaves it out of
   * the forward path. Absent for every v1 policy, which keeps polices forwarded traffic too.
   */
  readonly notOnForward?: true;
}

/** Ordered policy names for one endpoint, split by class and direction. */
export interface EndpointPolicies {
  readonly untracked: { readonly ingress: readonly string[]; readonly egress: readonly string[] };
  readonly preDnat: { readonly ingress: readonly string[] };
  readonly normal: { readonly ingress: readonly string[]; readonly egress: readonly string[] };
  /** Profile names in the endpoint's order; an unknown one maps to a deny-all entry in `profiles`. */
  readonly profiles: readonly string[];
}

/** A host interface that a local host endpoint resolved to. */
export interface PolicedInterface extends EndpointPolicies {
  readonly iface: string;
  /** The winning host endpoint's name. */
  readonly hostEndpoint: string;
}

/**
 * The members of one IP set: endpoint addresses and network-set prefixes (`addr/len`, host
 * bits cleared; a /32 or /128 is written as the bare address). Disjoint: a member inside
 * another is left out, so no two overlap.
 */
export interface IpSetMembers {
  /** Sorted by address, then prefix length; de-duplicated. */
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** The complete desired state for one host. */
export interface HostState {
  readonly config: DataplaneConfig;
  /** Sorted by interface name. */
  readonly interfaces: readonly PolicedInterface[];
  /** Rules of every policy referenced by `interfaces`, by policy name. */
  readonly policies: ReadonlyMap<string, RuleSet>;
  /** Rules of every profile referenced by `interfaces`, by profile name. */
  readonly profiles: ReadonlyMap<string, RuleSet>;
  /**
   * Members of every IP set referenced by the rules above, by set id: a selector's unique id
   * (addresses) or a named-port set id (`ADDR . PROTO . PORT` texts, see isNamedPortSet).
   */
  readonly ipSets: ReadonlyMap<string, IpSetMembers>;
}

/** Read access to the current desired state by key: the calculation's live view. */
export interface HostView {
  readonly config: DataplaneConfig;
  /** The policed interface named `iface`, if it is policed. */
  interface(iface: string): PolicedInterface | undefined;
  /** Rules of an active policy / profile (a profile without rules reads as deny-all). */
  policy(name: string): RuleSet | undefined;
  profile(name: string): RuleSet | undefined;
  /** Members of an IP set in use. */
  ipSet(id: string): IpSetMembers | undefined;
}

/**
 * What changed since the dataplane last took changes, by key, so it can rebuild only those
 * objects. Keys name what changed, not how: the dataplane reads the new value from the view.
 */
export interface HostChanges {
  /** The config changed (or nothing was taken yet): everything must be rebuilt. */
  readonly full: boolean;
  /** Interfaces that became policed, stopped being policed, or whose lists changed. */
  readonly interfaces: ReadonlySet<string>;
  /** Policies and profiles whose rules changed, or that became active or inactive. */
  readonly policies: ReadonlySet<string>;
  readonly profiles: ReadonlySet<string>;
  /** IP sets that appeared or went away. */
  readonly ipSets: ReadonlySet<string>;
  /**
   * Member changes of IP sets that stayed: set id -> member (address or prefix, as in
   * IpSetMembers) -> whether it is now a member. A prefix arriving over addresses it covers
   * reports those addresses gone, so applying the changes gives the disjoint members.
   * An address that came and went within one batch may appear with its final state.
   */
  readonly members: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
}

/** The calculation's output as the dataplane reads it. */
export interface HostStateSource {
  /** The whole desired state (start-up, resync, repair, config change). */
  hostState(): HostState;
  view(): HostView;
  /** Changes since the last call, which resets them. */
  takeChanges(): HostChanges;
}
