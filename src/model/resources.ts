/**
 * The calicoctl `apiVersion: v1` resources as plain typed data.
 *
 * These are the one internal model of hostfence: the CLI decodes YAML into them, the
 * datastore layer converts them to and from the libcalico-go v1 etcd JSON, and the agent's
 * calculation works on them. Optional fields are absent rather than empty so that a
 * resource read back from etcd prints as it was written.
 */
import type { Labels } from "../selector/labels.ts";

/** The resource kinds hostfence accepts, spelled as in calicoctl files. */
export type ResourceKind =
  | "node"
  | "hostEndpoint"
  | "policy"
  | "profile"
  | "workloadEndpoint";

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  "node",
  "hostEndpoint",
  "policy",
  "profile",
  "workloadEndpoint",
];

/** Label maps (defined beside the selector code that reads them, so selector need not import model). */
export type { Labels };

/**
 * A single port, an inclusive range (`min === max` is never stored as a range), or the name
 * of a named port (a string): the port a host endpoint declares under that name in `ports`.
 */
export type Port = number | { readonly min: number; readonly max: number } | string;

/** A protocol name (lower case) or number 1-255. */
export type Protocol = "tcp" | "udp" | "icmp" | "icmpv6" | "sctp" | "udplite" | number;

export type Action = "allow" | "deny" | "log" | "pass";

/** A port a host endpoint declares by name, for rules that name it (Calico 3's named ports). */
export interface EndpointPort {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
}

export interface IcmpFields {
  readonly type?: number;
  readonly code?: number;
}

/** One side of a rule. `net`/`notNet` are the deprecated singular forms, kept as written. */
export interface EntityRule {
  readonly tag?: string;
  readonly notTag?: string;
  readonly net?: string;
  readonly notNet?: string;
  readonly nets?: readonly string[];
  readonly notNets?: readonly string[];
  readonly selector?: string;
  readonly notSelector?: string;
  readonly ports?: readonly Port[];
  readonly notPorts?: readonly Port[];
}

export interface Rule {
  readonly action: Action;
  readonly ipVersion?: 4 | 6;
  readonly protocol?: Protocol;
  readonly notProtocol?: Protocol;
  readonly icmp?: IcmpFields;
  readonly notICMP?: IcmpFields;
  readonly source?: EntityRule;
  readonly destination?: EntityRule;
}

export interface NodeResource {
  readonly kind: "node";
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly bgp?: {
      readonly asNumber?: number;
      readonly ipv4Address?: string;
      readonly ipv6Address?: string;
    };
    readonly orchRefs?: readonly { readonly nodeName?: string; readonly orchestrator: string }[];
  };
}

export interface HostEndpointResource {
  readonly kind: "hostEndpoint";
  readonly metadata: {
    readonly name: string;
    readonly node: string;
    readonly labels?: Labels;
  };
  readonly spec: {
    readonly interfaceName?: string;
    readonly expectedIPs?: readonly string[];
    readonly profiles?: readonly string[];
    readonly ports?: readonly EndpointPort[];
  };
}

export type PolicyType = "ingress" | "egress";

export interface PolicyResource {
  readonly kind: "policy";
  readonly metadata: {
    readonly name: string;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: {
    /** Absent means "after every policy that has an order". */
    readonly order?: number;
    /** Empty string means all(). */
    readonly selector: string;
    readonly types?: readonly PolicyType[];
    readonly ingress?: readonly Rule[];
    readonly egress?: readonly Rule[];
    readonly doNotTrack?: boolean;
    readonly preDNAT?: boolean;
    /**
     * Calico 3's applyOnForward. Absent (every v1 policy) keeps hostfence's v1 behaviour: the
     * policy also polices forwarded traffic. `false`: not used on the forward path; `true`:
     * used. Pre-DNAT and untracked policies must set it (validate.ts).
     */
    readonly applyOnForward?: boolean;
  };
}

export interface ProfileResource {
  readonly kind: "profile";
  readonly metadata: {
    readonly name: string;
    readonly labels?: Labels;
    readonly tags?: readonly string[];
  };
  readonly spec: {
    readonly ingress?: readonly Rule[];
    readonly egress?: readonly Rule[];
  };
}

export interface WorkloadEndpointResource {
  readonly kind: "workloadEndpoint";
  readonly metadata: {
    readonly name: string;
    readonly workload: string;
    readonly orchestrator: string;
    readonly node: string;
    readonly activeInstanceID?: string;
    readonly labels?: Labels;
  };
  readonly spec: {
    readonly ipNetworks?: readonly string[];
    readonly ipNATs?: readonly { readonly internalIP: string; readonly externalIP: string }[];
    readonly ipv4Gateway?: string;
    readonly ipv6Gateway?: string;
    readonly profiles?: readonly string[];
    readonly interfaceName: string;
    readonly mac?: string;
  };
}

/** A labelled list of CIDRs that selectors match like endpoints (v3 GlobalNetworkSet). */
export interface NetworkSetResource {
  readonly kind: "networkSet";
  readonly metadata: { readonly name: string; readonly labels?: Labels };
  readonly spec: { readonly nets: readonly string[] };
}

export type Resource =
  | NodeResource
  | HostEndpointResource
  | PolicyResource
  | ProfileResource
  | WorkloadEndpointResource;

/** Where a resource came from, so every error can point back at it. */
export interface SourcePosition {
  /** File path, `<stdin>`, or an etcd key. */
  readonly source: string;
  /** 1-based; absent for etcd keys. */
  readonly line?: number;
  readonly column?: number;
}
