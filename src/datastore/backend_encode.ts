/**
 * Resources → the libcalico-go v1 backend JSON. Pure. The output is what calicoctl
 * v1 would have stored, so data written by hostfence reads the same in Calico's own tools.
 */
import type {
  HostEndpointResource,
  NetworkSetResource,
  NodeResource,
  PolicyResource,
  PolicyType,
  Port,
  ProfileResource,
  Rule,
  WorkloadEndpointResource,
} from "../model/resources.ts";
import { formatCidr, formatIp, networkOf, parseCidr, parseIp } from "../net/ip.ts";
import type { BgpField } from "./keys.ts";
import { backendName, type Codec, type Field, type FieldTable } from "../model/fields/table.ts";
import { HOST_ENDPOINT_FIELDS } from "../model/fields/host_endpoint.ts";
import { NETWORK_SET_FIELDS } from "../model/fields/network_set.ts";
import { PROFILE_FIELDS } from "../model/fields/profile.ts";
import { RULE_BACKEND_SLOTS } from "../model/fields/rule.ts";
import { POLICY_FIELDS } from "../model/fields/policy.ts";

type Json = Record<string, unknown>;

/** A port as stored: a number for one port, `"a:b"` for a range, a named port's name. */
export function encodePort(p: Port): number | string {
  if (typeof p === "number" || typeof p === "string") return p;
  return p.min === p.max ? p.min : `${p.min}:${p.max}`;
}

/** Canonical CIDR text; a bare IP becomes /32 or /128. `network` clears host bits. */
export function encodeCidr(text: string, network: boolean): string {
  const c = parseCidr(text);
  if (!c) return text;
  return formatCidr(network ? networkOf(c) : c);
}

function _nets(xs: readonly string[] | undefined, network: boolean): string[] | undefined {
  if (!xs || xs.length === 0) return undefined;
  return xs.map((x) => encodeCidr(x, network));
}

function _ports(xs: readonly Port[] | undefined): (number | string)[] | undefined {
  if (!xs || xs.length === 0) return undefined;
  return xs.map(encodePort);
}

function _dropUndefined(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * One rule as backend JSON: `pass` becomes `next-tier`, destination CIDRs are normalised to
 * their network address, source CIDRs kept as written, empty fields omitted.
 */
export function encodeRule(r: Rule): Json {
  const rule = r as unknown as Json;
  const out: Json = {};
  for (const slot of RULE_BACKEND_SLOTS) {
    const own = rule[slot.field.key];
    const v = slot.part ? (own as Json | undefined)?.[slot.part.key] : own;
    const x = _encodeValue((slot.part ?? slot.field).codec, v, !!slot.field.networkCidrs);
    if (x !== undefined) out[slot.name] = x;
  }
  return out;
}

/** One rule value as stored; `undefined` leaves its key out. */
function _encodeValue(codec: Codec, v: unknown, network: boolean): unknown {
  switch (codec) {
    case "action":
      return v === "pass" ? "next-tier" : v;
    case "string":
      return v || undefined;
    case "cidr":
      return v ? encodeCidr(v as string, network) : undefined;
    case "cidrs":
      return _nets(v as string[] | undefined, network);
    case "ports":
      return _ports(v as Port[] | undefined);
    default:
      return v;
  }
}

function _rules(rs: readonly Rule[] | undefined): Json[] {
  return (rs ?? []).map(encodeRule);
}

/** libcalico-go's write-time `types` default: by which rule lists are non-empty. */
export function defaultPolicyTypes(spec: PolicyResource["spec"]): PolicyType[] {
  if (spec.types && spec.types.length > 0) return [...spec.types];
  const hasIn = (spec.ingress?.length ?? 0) > 0;
  const hasOut = (spec.egress?.length ?? 0) > 0;
  if (!hasOut) return ["ingress"];
  if (!hasIn) return ["egress"];
  return ["ingress", "egress"];
}

/** Policy JSON; `selector` always present, `types` defaulted, empty/false fields omitted. */
export function encodePolicy(p: PolicyResource): string {
  return JSON.stringify(_encodeFields(POLICY_FIELDS, p.metadata, p.spec));
}

/** A resource's backend JSON from its table: rows with a backend name, in table order. */
function _encodeFields(table: FieldTable, metadata: object, spec: object): Json {
  const out: Json = {};
  for (const f of table) {
    const v = ((f.meta ? metadata : spec) as Json)[f.key];
    if (f.backendByFamily) {
      const { v4, v6 } = _splitIps(v as string[] | undefined);
      if (v4.length) out[f.backendByFamily[0]] = v4;
      if (v6.length) out[f.backendByFamily[1]] = v6;
      continue;
    }
    if (f.backend === undefined) continue;
    const x = f.codec === "policyTypes"
      ? defaultPolicyTypes(spec as PolicyResource["spec"])
      : _encodeField(f, v);
    if (x !== undefined) out[backendName(f)] = x;
  }
  return out;
}

/** A resource field as stored; `undefined` leaves its key out. */
function _encodeField(f: Field, v: unknown): unknown {
  switch (f.codec) {
    case "string":
      return f.required ? v ?? "" : v || undefined;
    case "flag":
      return v ? true : undefined;
    case "rules": {
      const rules = _rules(v as Rule[] | undefined);
      return rules.length ? rules : undefined;
    }
    case "labels":
      return v && Object.keys(v).length ? v : undefined;
    case "strings":
      return (v as string[] | undefined)?.length ? [...(v as string[])] : undefined;
    case "cidrs":
      return f.required
        ? ((v ?? []) as string[]).map((x) => encodeCidr(x, false))
        : _nets(v as string[] | undefined, false);
    case "structs": {
      // Each item's fields in table order (the Go struct's), as Go wrote them.
      const items = (v as Json[] | undefined)?.map((x) => _copy(f.fields ?? [], x));
      return items?.length ? items : undefined;
    }
    default:
      return v;
  }
}

function _copy(table: FieldTable, v: Json): Json {
  const out: Json = {};
  for (const f of table) out[f.key] = v[f.key];
  return out;
}

function _splitIps(ips: readonly string[] | undefined): { v4: string[]; v6: string[] } {
  const v4: string[] = [], v6: string[] = [];
  for (const text of ips ?? []) {
    const ip = parseIp(text);
    if (!ip) (text.includes(":") ? v6 : v4).push(text);
    else (ip.family === 4 ? v4 : v6).push(formatIp(ip));
  }
  return { v4, v6 };
}

/** Host endpoint JSON: expected IPs split by family, everything omitted when empty. */
export function encodeHostEndpoint(h: HostEndpointResource): string {
  return JSON.stringify(_encodeFields(HOST_ENDPOINT_FIELDS, h.metadata, h.spec));
}

/** The three profile keys' values; tags is written first by the store. */
export function encodeProfile(p: ProfileResource): { rules: string; tags: string; labels: string } {
  // The rules key holds both rule lists, empty ones too.
  const rules: Json = {};
  for (const f of PROFILE_FIELDS) {
    if (f.codec === "rules") rules[backendName(f)] = _rules((p.spec as Json)[f.key] as Rule[]);
  }
  return {
    rules: JSON.stringify(rules),
    tags: JSON.stringify(p.metadata.tags ?? []),
    labels: JSON.stringify(p.metadata.labels ?? {}),
  };
}

/** Workload endpoint JSON; calicoctl always stores `state: active`. */
export function encodeWorkloadEndpoint(w: WorkloadEndpointResource): string {
  const v4: string[] = [], v6: string[] = [];
  for (const n of w.spec.ipNetworks ?? []) {
    const c = parseCidr(n);
    if (!c) (n.includes(":") ? v6 : v4).push(n);
    else (c.ip.family === 4 ? v4 : v6).push(formatCidr(c));
  }
  const nat4: { int_ip: string; ext_ip: string }[] = [];
  const nat6: { int_ip: string; ext_ip: string }[] = [];
  for (const nat of w.spec.ipNATs ?? []) {
    const entry = { int_ip: nat.internalIP, ext_ip: nat.externalIP };
    (parseIp(nat.internalIP)?.family === 6 ? nat6 : nat4).push(entry);
  }
  const labels = w.metadata.labels;
  return JSON.stringify(_dropUndefined({
    state: "active",
    name: w.spec.interfaceName,
    active_instance_id: w.metadata.activeInstanceID ?? "",
    mac: w.spec.mac ?? null,
    profile_ids: [...(w.spec.profiles ?? [])],
    ipv4_nets: v4,
    ipv6_nets: v6,
    ipv4_nat: nat4.length ? nat4 : undefined,
    ipv6_nat: nat6.length ? nat6 : undefined,
    labels: labels && Object.keys(labels).length ? labels : undefined,
    ipv4_gateway: w.spec.ipv4Gateway,
    ipv6_gateway: w.spec.ipv6Gateway,
  }));
}

/**
 * Network set JSON as libcalico-go's model.NetworkSet: `nets` always present (canonical, as
 * written), `labels` omitted when empty.
 */
export function encodeNetworkSet(n: NetworkSetResource): string {
  return JSON.stringify(_encodeFields(NETWORK_SET_FIELDS, n.metadata, n.spec));
}

/** What a node write puts and deletes (values are raw text, `null` = delete the key). */
export interface NodeKeyValues {
  /** `/calico/v1/host/<node>/metadata`: always `{}`. */
  readonly metadata: string;
  readonly birdIp: string | null;
  readonly orchRefs: string | null;
  readonly bgp: Readonly<Record<BgpField, string | null>>;
}

/**
 * The node's keys: metadata `{}`, `bird_ip`, `orchestrator_refs`, and the BGP keys
 * (`ip_addr_v4`/`ip_addr_v6` always written, empty when unset; the rest deleted when unset).
 */
export function encodeNode(n: NodeResource): NodeKeyValues {
  const bgp = n.spec.bgp;
  const c4 = bgp?.ipv4Address ? parseCidr(bgp.ipv4Address) : undefined;
  const c6 = bgp?.ipv6Address ? parseCidr(bgp.ipv6Address) : undefined;
  const refs = n.spec.orchRefs ?? [];
  return {
    metadata: "{}",
    birdIp: c4 ? formatIp(c4.ip) : null,
    orchRefs: refs.length
      ? JSON.stringify(
        refs.map((r) => _dropUndefined({ orchestrator: r.orchestrator, nodeName: r.nodeName })),
      )
      : null,
    bgp: {
      ip_addr_v4: c4 ? formatIp(c4.ip) : "",
      ip_addr_v6: c6 ? formatIp(c6.ip) : "",
      network_v4: c4 ? formatCidr(networkOf(c4)) : null,
      network_v6: c6 ? formatCidr(networkOf(c6)) : null,
      as_num: bgp?.asNumber !== undefined ? String(bgp.asNumber) : null,
    },
  };
}
