/**
 * The libcalico-go v1 etcd key layout, kept on etcd v3 as flat keys with the same
 * paths, so tools that know Calico's layout find everything where they expect it.
 * Pure: building keys, escaping names, and parsing a key back into what it names.
 */
import type { ResourceId } from "./store.ts";
import { NODE_KEYS } from "../model/fields/node.ts";

export const CALICO_V1_PREFIX = "/calico/v1/";
export const READY_KEY = "/calico/v1/Ready";
export const GLOBAL_CONFIG_PREFIX = "/calico/v1/config/";
export const CLUSTER_GUID_KEY = "/calico/v1/config/ClusterGUID";
export const HOST_PREFIX = "/calico/v1/host/";
export const POLICY_PREFIX = "/calico/v1/policy/tier/default/policy/";
export const PROFILE_PREFIX = "/calico/v1/policy/profile/";
/** Network sets, where libcalico-go's model keeps them for Felix: `/calico/v1/netset/<name>`. */
export const NETWORK_SET_PREFIX = "/calico/v1/netset/";
export const BGP_HOST_PREFIX = "/calico/bgp/v1/host/";
export const FELIX_HOST_PREFIX = "/calico/felix/v1/host/";

/**
 * Escapes a name for use as one key segment: `%` → `%25`, then `/` → `%2f`. Used for
 * endpoint ids, policy/profile names and orchestrator/workload ids (not node/config names).
 */
export function escapeName(name: string): string {
  return name.replaceAll("%", "%25").replaceAll("/", "%2f");
}

/** Reverses escapeName (`%2f` → `/`, then `%25` → `%`). */
export function unescapeName(segment: string): string {
  return segment.replaceAll("%2f", "/").replaceAll("%25", "%");
}

export function globalConfigKey(name: string): string {
  return GLOBAL_CONFIG_PREFIX + name;
}
export function hostConfigKey(node: string, name: string): string {
  return `${HOST_PREFIX}${node}/config/${name}`;
}
/** The directory holding everything of one node; deleting a node removes it whole. */
export function hostDir(node: string): string {
  return `${HOST_PREFIX}${node}/`;
}
export function nodeMetadataKey(node: string): string {
  return `${HOST_PREFIX}${node}/metadata`;
}
export function birdIpKey(node: string): string {
  return `${HOST_PREFIX}${node}/bird_ip`;
}
export function orchRefsKey(node: string): string {
  return `${HOST_PREFIX}${node}/orchestrator_refs`;
}
export function bgpHostDir(node: string): string {
  return `${BGP_HOST_PREFIX}${node}/`;
}
export type BgpField = "ip_addr_v4" | "ip_addr_v6" | "as_num" | "network_v4" | "network_v6";
/** The node keys under `/calico/bgp/v1/host/<node>/`, as the node's key table lists them. */
export const BGP_FIELDS: ReadonlySet<string> = new Set(
  NODE_KEYS.filter((k) => k.key.startsWith("bgp/")).map((k) => k.key.slice("bgp/".length)),
);
export function bgpKey(node: string, field: BgpField): string {
  return `${BGP_HOST_PREFIX}${node}/${field}`;
}
export function hostEndpointKey(node: string, name: string): string {
  return `${HOST_PREFIX}${node}/endpoint/${escapeName(name)}`;
}
export function workloadEndpointKey(
  node: string,
  orchestrator: string,
  workload: string,
  name: string,
): string {
  return `${HOST_PREFIX}${node}/workload/${escapeName(orchestrator)}/${
    escapeName(workload)
  }/endpoint/${escapeName(name)}`;
}
export function policyKey(name: string): string {
  return POLICY_PREFIX + escapeName(name);
}
export type ProfilePart = "rules" | "tags" | "labels";
export function profileKey(name: string, part: ProfilePart): string {
  return `${PROFILE_PREFIX}${escapeName(name)}/${part}`;
}
export function profileDir(name: string): string {
  return `${PROFILE_PREFIX}${escapeName(name)}/`;
}
export function networkSetKey(name: string): string {
  return NETWORK_SET_PREFIX + escapeName(name);
}
/** Felix's process status key (lease-bound on v3, in place of the v2 TTL). */
export function felixStatusKey(node: string): string {
  return `${FELIX_HOST_PREFIX}${node}/status`;
}
export function felixLastReportedStatusKey(node: string): string {
  return `${FELIX_HOST_PREFIX}${node}/last_reported_status`;
}
export function hostEndpointStatusKey(node: string, name: string): string {
  return `${FELIX_HOST_PREFIX}${node}/endpoint/${escapeName(name)}`;
}

/** What a key under `/calico/v1/` names; keys the agent does not use parse to `null`. */
export type ParsedKey =
  | { readonly type: "ready" }
  | { readonly type: "config"; readonly name: string; readonly node?: string }
  | { readonly type: "hostEndpoint"; readonly node: string; readonly name: string }
  | {
    readonly type: "workloadEndpoint";
    readonly node: string;
    readonly orchestrator: string;
    readonly workload: string;
    readonly name: string;
  }
  | { readonly type: "policy"; readonly name: string }
  | { readonly type: "networkSet"; readonly name: string }
  | { readonly type: "profileRules" | "profileTags" | "profileLabels"; readonly name: string }
  | { readonly type: "nodeMetadata" | "nodeBirdIp" | "nodeOrchRefs"; readonly node: string };

const RE_GLOBAL_CONFIG = /^\/calico\/v1\/config\/(.+)$/;
const RE_HOST_CONFIG = /^\/calico\/v1\/host\/([^/]+)\/config\/(.+)$/;
const RE_HEP = /^\/calico\/v1\/host\/([^/]+)\/endpoint\/([^/]+)$/;
const RE_WEP = /^\/calico\/v1\/host\/([^/]+)\/workload\/([^/]+)\/([^/]+)\/endpoint\/([^/]+)$/;
const RE_POLICY = /^\/calico\/v1\/policy\/tier\/default\/policy\/([^/]+)$/;
const RE_NETWORK_SET = /^\/calico\/v1\/netset\/([^/]+)$/;
const RE_PROFILE = /^\/calico\/v1\/policy\/profile\/([^/]+)\/(rules|tags|labels)$/;
const RE_NODE_PART = /^\/calico\/v1\/host\/([^/]+)\/(metadata|bird_ip|orchestrator_refs)$/;

const PROFILE_TYPES = {
  rules: "profileRules",
  tags: "profileTags",
  labels: "profileLabels",
} as const;
const NODE_TYPES = {
  metadata: "nodeMetadata",
  bird_ip: "nodeBirdIp",
  orchestrator_refs: "nodeOrchRefs",
} as const;

/** Parses a datastore key into what it names (names unescaped); `null` for other keys. */
export function parseKey(key: string): ParsedKey | null {
  if (key === READY_KEY) return { type: "ready" };
  let m: RegExpExecArray | null;
  if ((m = RE_GLOBAL_CONFIG.exec(key))) return { type: "config", name: m[1]! };
  if ((m = RE_HOST_CONFIG.exec(key))) return { type: "config", node: m[1]!, name: m[2]! };
  if ((m = RE_HEP.exec(key))) {
    return { type: "hostEndpoint", node: m[1]!, name: unescapeName(m[2]!) };
  }
  if ((m = RE_WEP.exec(key))) {
    return {
      type: "workloadEndpoint",
      node: m[1]!,
      orchestrator: unescapeName(m[2]!),
      workload: unescapeName(m[3]!),
      name: unescapeName(m[4]!),
    };
  }
  if ((m = RE_POLICY.exec(key))) return { type: "policy", name: unescapeName(m[1]!) };
  if ((m = RE_NETWORK_SET.exec(key))) return { type: "networkSet", name: unescapeName(m[1]!) };
  if ((m = RE_PROFILE.exec(key))) {
    return { type: PROFILE_TYPES[m[2] as keyof typeof PROFILE_TYPES], name: unescapeName(m[1]!) };
  }
  if ((m = RE_NODE_PART.exec(key))) {
    return { type: NODE_TYPES[m[2] as keyof typeof NODE_TYPES], node: m[1]! };
  }
  return null;
}

/**
 * calicoctl's rendering of a resource key in error messages: `Policy(name=p)`,
 * `HostEndpoint(node=h, name=n)`, `ProfileTags(name=p)`, `Node(name=n)`, ...
 */
export function renderResourceKey(id: ResourceId): string {
  switch (id.kind) {
    case "policy":
      return `Policy(name=${id.name})`;
    case "hostEndpoint":
      return `HostEndpoint(node=${id.node ?? ""}, name=${id.name})`;
    case "profile":
      return `ProfileTags(name=${id.name})`;
    case "node":
      return `Node(name=${id.name})`;
    case "workloadEndpoint":
      return `WorkloadEndpoint(node=${id.node ?? ""}, orchestrator=${
        id.orchestrator ?? ""
      }, workload=${id.workload ?? ""}, name=${id.name})`;
    case "networkSet":
      return `NetworkSet(name=${id.name})`;
  }
}

/** The identifier a kind needs that `id` lacks (checked before any etcd call), or undefined. */
export function missingIdentifier(id: ResourceId): string | undefined {
  switch (id.kind) {
    case "hostEndpoint":
      if (!id.node) return "node";
      if (!id.name) return "name";
      return undefined;
    case "workloadEndpoint":
      if (!id.node) return "node";
      if (!id.orchestrator) return "orchestrator";
      if (!id.workload) return "workload";
      if (!id.name) return "name";
      return undefined;
    default:
      return id.name ? undefined : "name";
  }
}
