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
import { type Cidr, formatCidr, formatIp, networkOf, parseCidr, parseIp } from "../net/ip.ts";
import type { BgpField } from "./keys.ts";
import { backendName, type Codec, type Field, type FieldTable } from "../model/fields/table.ts";
import { HOST_ENDPOINT_FIELDS } from "../model/fields/host_endpoint.ts";
import { NETWORK_SET_FIELDS } from "../model/fields/network_set.ts";
import { NODE_KEYS, type NodeKey } from "../model/fields/node.ts";
import { PROFILE_FIELDS } from "../model/fields/profile.ts";
import { RULE_BACKEND_SLOTS } from "../model/fields/rule.ts";
import { POLICY_FIELDS } from "../model/fields/policy.ts";
import { WORKLOAD_ENDPOINT_BACKEND_FIELDS } from "../model/fields/workload_endpoint.ts";

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

/**
 * A resource's backend JSON from its table: rows with a backend name, in table order; empty
 * values left out but for `backendAlways` rows, which are written as their zero value.
 */
function _encodeFields(table: FieldTable, metadata: object, spec: object): Json {
  const out: Json = {};
  for (const f of table) {
    if (f.constant !== undefined) {
      out[backendName(f)] = f.constant;
      continue;
    }
    const v = ((f.meta ? metadata : spec) as Json)[f.key];
    if (f.backendByFamily) {
      const [v4, v6] = _byFamily(f, v as unknown[] | undefined);
      if (v4.length || f.backendAlways) out[f.backendByFamily[0]] = v4;
      if (v6.length || f.backendAlways) out[f.backendByFamily[1]] = v6;
      continue;
    }
    if (f.backend === undefined) continue;
    const x = f.codec === "policyTypes"
      ? defaultPolicyTypes(spec as PolicyResource["spec"])
      : _encodeField(f, v);
    if (x !== undefined) out[backendName(f)] = x;
    else if (f.backendAlways) out[backendName(f)] = _zero(f);
  }
  return out;
}

/** An unset field as calicoctl wrote it: `[]` for a list, `""` for a string, else `null`. */
function _zero(f: Field): unknown {
  return _LISTS.has(f.codec) ? [] : f.codec === "string" ? "" : null;
}

const _LISTS: ReadonlySet<Codec> = new Set(["strings", "cidrs", "ips", "structs"]);

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
      const items = (v as Json[] | undefined)?.map((x) => _struct(f.fields ?? [], x));
      return items?.length ? items : undefined;
    }
    default:
      return v;
  }
}

/** A struct item as written, keys in table order (the Go struct's) under their backend names. */
function _struct(table: FieldTable, v: Json): Json {
  const out: Json = {};
  for (const f of table) out[f.backend ?? f.key] = v[f.key];
  return out;
}

/**
 * A `backendByFamily` list as its IPv4 and IPv6 lists: IPs and CIDRs canonical, structs
 * (NATs) as written, by the family of their first field's address.
 */
function _byFamily(f: Field, xs: readonly unknown[] = []): [unknown[], unknown[]] {
  const out: [unknown[], unknown[]] = [[], []];
  for (const x of xs) {
    const [family, stored] = f.codec === "structs"
      ? _structFamily(f.fields ?? [], x as Json)
      : _canonical(f.codec, x as string);
    out[family === 6 ? 1 : 0].push(stored);
  }
  return out;
}

/** An IP or CIDR and its family; text that does not parse goes by whether it has a colon. */
function _canonical(codec: Codec, text: string): [number, string] {
  if (codec === "ips") {
    const ip = parseIp(text);
    if (ip) return [ip.family, formatIp(ip)];
  } else {
    const c = parseCidr(text);
    if (c) return [c.ip.family, formatCidr(c)];
  }
  return [text.includes(":") ? 6 : 4, text];
}

function _structFamily(table: FieldTable, item: Json): [number, Json] {
  const ip = parseIp(item[table[0]!.key] as string);
  return [ip?.family === 6 ? 6 : 4, _struct(table, item)];
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

/**
 * Workload endpoint JSON in libcalico-go's key order (WORKLOAD_ENDPOINT_BACKEND_FIELDS):
 * `state: active` as calicoctl stored it, nets and NATs split by family.
 */
export function encodeWorkloadEndpoint(w: WorkloadEndpointResource): string {
  return JSON.stringify(_encodeFields(WORKLOAD_ENDPOINT_BACKEND_FIELDS, w.metadata, w.spec));
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
 * The node's keys as NODE_KEYS lays them out: metadata `{}`, `bird_ip`, `orchestrator_refs`,
 * and the BGP keys (`ip_addr_v4`/`ip_addr_v6` always written, empty when unset; the rest
 * deleted when unset).
 */
export function encodeNode(n: NodeResource): NodeKeyValues {
  const bgp: Record<string, string | null> = {};
  const host: Record<string, string | null> = {};
  for (const k of NODE_KEYS) {
    const [dir, name] = k.key.split("/") as [string, string];
    (dir === "bgp" ? bgp : host)[name] = _nodeKeyValue(k, n.spec);
  }
  return {
    metadata: host.metadata!,
    birdIp: host.bird_ip!,
    orchRefs: host.orchestrator_refs!,
    bgp: bgp as Record<BgpField, string | null>,
  };
}

/** One node key's value: its part of the field's value; unset is `""` or `null` (delete). */
function _nodeKeyValue(k: NodeKey, spec: object): string | null {
  if (k.constant !== undefined) return k.constant;
  let v: unknown = spec;
  for (const key of k.field!.split(".")) v = (v as Json | undefined)?.[key];
  return _NODE_KEY_TEXT[k.as!](v, k) ?? (k.always ? "" : null);
}

type _NodeKeyText = (v: unknown, k: NodeKey) => string | undefined;

/** A node key's text by what of the field it holds (`undefined`: unset). */
const _NODE_KEY_TEXT: Readonly<Record<NonNullable<NodeKey["as"]>, _NodeKeyText>> = {
  address: (v) => _mapCidr(v, (c) => formatIp(c.ip)),
  network: (v) => _mapCidr(v, (c) => formatCidr(networkOf(c))),
  text: (v) => v === undefined ? undefined : String(v),
  json: (v, k) => {
    const items = (v as Json[] | undefined) ?? [];
    return items.length ? JSON.stringify(items.map((x) => _struct(k.fields ?? [], x))) : undefined;
  },
};

/** A CIDR's part; an unset or unparsable CIDR has none. */
function _mapCidr(v: unknown, part: (c: Cidr) => string): string | undefined {
  const c = v ? parseCidr(v as string) : undefined;
  return c ? part(c) : undefined;
}
