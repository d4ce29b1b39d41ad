/**
 * The libcalico-go v1 backend JSON → resources. Pure. Decoding is strict about
 * types (a string where a number belongs is an error naming the field) and lenient about
 * unknown keys, as Go's JSON decoder was. Value checks are the model's (src/model/validate.ts),
 * which convert.ts applies to what this returns before the agent sees it.
 */
import type {
  Action,
  EndpointPort,
  HostEndpointResource,
  Labels,
  NetworkSetResource,
  NodeResource,
  PolicyResource,
  PolicyType,
  Port,
  ProfileResource,
  Protocol,
  Rule,
  WorkloadEndpointResource,
} from "../model/resources.ts";
import { formatCidr, formatIp, parseCidr, parseIp } from "../net/ip.ts";
import type { BgpField } from "./keys.ts";
import {
  backendName,
  type Codec,
  type Field,
  type FieldTable,
  rowAt,
} from "../model/fields/table.ts";
import { ENDPOINT_PORT_FIELDS, HOST_ENDPOINT_FIELDS } from "../model/fields/host_endpoint.ts";
import { NETWORK_SET_FIELDS } from "../model/fields/network_set.ts";
import { NODE_FIELDS, NODE_KEYS, type NodeKey } from "../model/fields/node.ts";
import { WORKLOAD_ENDPOINT_FIELDS } from "../model/fields/workload_endpoint.ts";
import { PROFILE_FIELDS } from "../model/fields/profile.ts";
import { partFields, RULE_FIELDS_BACKEND_ORDER } from "../model/fields/rule.ts";
import { POLICY_FIELDS } from "../model/fields/policy.ts";
import { clip, quote } from "../log/quote.ts";
import { errorMessage } from "../util/error_message.ts";

/** The stored value is not JSON, or a field has the wrong type: "Failed to parse value". */
export class BackendParseError extends SyntaxError {
  override name = "BackendParseError";
}

type Obj = Record<string, unknown>;

function _fail(msg: string): never {
  throw new BackendParseError(msg);
}

function _show(v: unknown): string {
  return quote(v, { max: 60 });
}

/** JSON.parse with our error type. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return _fail(`invalid JSON: ${clip(errorMessage(e))}`);
  }
}

function _object(v: unknown, field: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    _fail(`field '${field}' must be an object, got ${_show(v)}`);
  }
  return v as Obj;
}

/** Reads an optional field: absent and JSON null are both "not set", as in Go. */
function _opt<T>(o: Obj, key: string, read: (v: unknown, field: string) => T): T | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : read(v, key);
}

function _string(v: unknown, field: string): string {
  if (typeof v !== "string") _fail(`field '${field}' must be a string, got ${_show(v)}`);
  return v as string;
}

function _number(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    _fail(`field '${field}' must be a number, got ${_show(v)}`);
  }
  return v as number;
}

function _int(v: unknown, field: string): number {
  const n = _number(v, field);
  if (!Number.isInteger(n)) _fail(`field '${field}' must be an integer, got ${_show(v)}`);
  return n;
}

function _bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") _fail(`field '${field}' must be true or false, got ${_show(v)}`);
  return v as boolean;
}

function _stringList(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
  return (v as unknown[]).map((x, i) => _string(x, `${field}[${i}]`));
}

function _stringMap(v: unknown, field: string): Record<string, string> {
  const o = _object(v, field);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) out[k] = _string(x, `${field}.${k}`);
  return out;
}

/**
 * Parses a stored port: a number, a numeric string, `"a:b"`, or any other string without a
 * colon, which is a named port (libcalico-go's PortFromString; the validator checks the name).
 */
export function decodePort(v: unknown, field: string): Port {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      _fail(`invalid port in field '${field}': ${_show(v)}`);
    }
    return v;
  }
  if (typeof v !== "string") _fail(`field '${field}' must be a port number, range or name`);
  const s = v as string;
  if (/^\d+$/.test(s)) return decodePort(Number(s), field);
  if (s !== "" && !s.includes(":")) return s;
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m) _fail(`invalid port format (${s}) in field '${field}'`);
  const min = Number(m![1]), max = Number(m![2]);
  if (min > 65535) _fail(`invalid minimum port number in range (${s}) in field '${field}'`);
  if (max > 65535) _fail(`invalid maximum port number in range (${s}) in field '${field}'`);
  if (min > max) {
    _fail(
      `minimum port number (${min}) is greater than maximum port number (${max}) in port range`,
    );
  }
  return min === max ? min : { min, max };
}

function _ports(v: unknown, field: string): Port[] {
  if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
  return (v as unknown[]).map((x, i) => decodePort(x, `${field}[${i}]`));
}

/** A stored protocol: a number, or a name (a numeric string becomes a number). */
export function decodeProtocol(v: unknown, field: string): Protocol {
  if (typeof v === "number") return _int(v, field);
  const s = _string(v, field);
  if (/^\d+$/.test(s)) return Number(s);
  return s as Protocol;
}

function _cidr(v: unknown, field: string): string {
  const s = _string(v, field);
  const c = parseCidr(s);
  if (!c) _fail(`invalid CIDR ${_show(s)} in field '${field}'`);
  return formatCidr(c!);
}

function _cidrs(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
  return (v as unknown[]).map((x, i) => _cidr(x, `${field}[${i}]`));
}

/** The backend reader of each codec a rule's parts use. */
const READERS: Partial<Record<Codec, (v: unknown, field: string) => unknown>> = {
  string: _string,
  int: _int,
  ipVersion: _int,
  protocol: decodeProtocol,
  cidr: _cidr,
  cidrs: _cidrs,
  ports: _ports,
};

/** One stored key of a rule: its name, reader and, for a part, the values merged into it. */
interface _Slot {
  readonly key: string;
  readonly codec: Codec;
  readonly name: string;
  readonly read: (v: unknown, field: string) => unknown;
  /** A part's singular fields appended to this list (`src_net` to `src_nets`). */
  readonly merged: readonly _Slot[];
  /** A flattened part's own slots (`icmp`, `source`, ...). */
  readonly parts: readonly _Slot[];
}

/** A rule's stored keys, worked out once from the tables (decoding runs per rule). */
const RULE_SLOTS: readonly _Slot[] = RULE_FIELDS_BACKEND_ORDER.map((f) => {
  const flat = f.codec === "icmp" || f.codec === "entity";
  const table = flat ? partFields(f) : [];
  const slot = (p: Field): _Slot => ({
    key: p.key,
    codec: p.codec,
    name: backendName(p, f),
    read: READERS[p.codec]!,
    merged: table.filter((m) => m.mergeInto === p.key).map(slot),
    parts: [],
  });
  return {
    key: f.key,
    codec: f.codec,
    name: flat ? "" : backendName(f),
    read: READERS[f.codec] ?? _string,
    merged: [],
    parts: table.filter((p) => p.mergeInto === undefined).map(slot),
  };
});

/**
 * A part stored flat in the rule (`icmp_type`, `!src_nets`, ...) read back; empty values are
 * "not set", a singular net is appended to its list (as libcalico-go did).
 */
function _part(o: Obj, parts: readonly _Slot[]): Obj | undefined {
  let out: Obj | undefined;
  for (const p of parts) {
    let v = _opt(o, p.name, p.read);
    for (const m of p.merged) {
      const single = _opt(o, m.name, m.read);
      if (single !== undefined) v = [...((v as unknown[] | undefined) ?? []), single];
    }
    if (v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0)) {
      (out ??= {})[p.key] = v;
    }
  }
  return out;
}

const BACKEND_ACTIONS: Readonly<Record<string, Action>> = {
  "": "allow",
  allow: "allow",
  deny: "deny",
  log: "log",
  "next-tier": "pass",
};

/**
 * One stored rule: empty action → `allow`, `next-tier` → `pass`, singular nets merged into
 * `nets`. An action outside the backend set is kept as written for the validator to reject.
 */
export function decodeRule(v: unknown, field = "rule"): Rule {
  const o = _object(v, field);
  const out: Obj = {};
  for (const slot of RULE_SLOTS) {
    if (slot.codec === "action") {
      const action = _opt(o, slot.name, _string) ?? "";
      out[slot.key] = BACKEND_ACTIONS[action] ?? action;
      continue;
    }
    const x = slot.parts.length ? _part(o, slot.parts) : _opt(o, slot.name, slot.read);
    if (x !== undefined) out[slot.key] = x;
  }
  return out as unknown as Rule;
}

function _rules(v: unknown, field: string): Rule[] {
  if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
  return (v as unknown[]).map((r, i) => decodeRule(r, `${field}[${i}]`));
}

/** Sets optional properties only when present (exactOptionalPropertyTypes-friendly). */
function _put(target: Record<string, unknown>, key: string, value: unknown) {
  if (value !== undefined) target[key] = value;
}

function _ipList(family: 4 | 6) {
  return (v: unknown, field: string): string[] =>
    _stringList(v, field).map((s, i) => {
      const ip = parseIp(s);
      if (!ip || ip.family !== family) {
        _fail(`invalid IPv${family} address ${_show(s)} in field '${field}[${i}]'`);
      }
      return formatIp(ip!);
    });
}

/** A stored host endpoint; `name`/`node` come from its key. Throws BackendParseError. */
export function decodeHostEndpoint(node: string, name: string, text: string): HostEndpointResource {
  return decodeHostEndpointValue(node, name, parseJson(text));
}

/** decodeHostEndpoint of a value already parsed (`parseJson`), for callers that read it too. */
export function decodeHostEndpointValue(
  node: string,
  name: string,
  value: unknown,
): HostEndpointResource {
  const o = _object(value, "value");
  const r = _decodeFields(HOST_ENDPOINT_FIELDS, o, { name, node });
  return { kind: "hostEndpoint", ...r } as unknown as HostEndpointResource;
}

/**
 * A host endpoint's `ports` as libcalico-go's backend stored them (`model.EndpointPort`:
 * `{"name": ..., "protocol": ..., "port": ...}`, the protocol lower-cased by its v3 -> v1
 * conversion; other cases are read as lower case too). Values are checked by the validator.
 */
function _endpointPorts(v: unknown, field: string): EndpointPort[] {
  if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
  return (v as unknown[]).map((x, i) => {
    const f = `${field}[${i}]`;
    const o = _object(x, f);
    const protocol = _opt(o, "protocol", decodeProtocol) ?? "";
    return {
      name: _opt(o, "name", _string) ?? "",
      protocol: (typeof protocol === "string" ? protocol.toLowerCase() : protocol) as Protocol,
      port: _opt(o, "port", _int) ?? 0,
    };
  });
}

const POLICY_TYPES: readonly string[] = ["ingress", "egress"];

export interface PolicyDecodeOptions {
  /**
   * How to read a policy stored without `types` (pre-1.7 data). calicoctl shows
   * `[ingress, egress]` (`[ingress]` for pre-DNAT); Felix treats it as governing both
   * directions, which is what the agent wants (`forAgent`).
   */
  readonly forAgent?: boolean;
}

/** A stored policy; `name` comes from its key. Throws BackendParseError. */
export function decodePolicy(
  name: string,
  text: string,
  opts: PolicyDecodeOptions = {},
): PolicyResource {
  const o = _object(parseJson(text), "value");
  const r = _decodeFields(POLICY_FIELDS, o, { name }, opts);
  return { kind: "policy", ...r } as unknown as PolicyResource;
}

/**
 * A resource read from its backend JSON by its table. Metadata first, then the fields
 * always present, then the rest: the model's key order and the order problems are found in.
 */
function _decodeFields(
  table: FieldTable,
  o: Obj,
  metadata: Obj,
  opts: PolicyDecodeOptions = {},
): { metadata: Obj; spec: Obj } {
  const spec: Obj = {};
  for (const f of _decodeOrder(table)) {
    const target = f.meta ? metadata : spec;
    if (f.codec === "policyTypes") {
      const types = _opt(o, _backendKey(f), _stringList) ?? [];
      target[f.key] = types.length
        ? types as PolicyType[]
        : spec.preDNAT && !opts.forAgent
        ? ["ingress"]
        : ["ingress", "egress"];
      continue;
    }
    if (f.backend === undefined && f.backendByFamily === undefined) continue;
    const v = _decodeField(o, f);
    if (v !== undefined) target[f.key] = v;
  }
  return { metadata, spec };
}

/**
 * A table's rows in decoding order (metadata, then required, then the rest), worked out once
 * per table: decoding runs once per stored key, thousands of times at an agent's start.
 */
function _decodeOrder(table: FieldTable): readonly Field[] {
  let order = _orders.get(table);
  if (order === undefined) {
    order = [
      ...table.filter((f) => f.meta),
      ...table.filter((f) => !f.meta && f.required),
      ...table.filter((f) => !f.meta && !f.required),
    ];
    _orders.set(table, order);
  }
  return order;
}

const _orders = new WeakMap<FieldTable, readonly Field[]>();

/** A row's backend key, worked out once per row (see _decodeOrder). */
function _backendKey(f: Field): string {
  let name = _names.get(f);
  if (name === undefined) _names.set(f, name = backendName(f));
  return name;
}

const _names = new WeakMap<Field, string>();

const _ip4List = _ipList(4);
const _ip6List = _ipList(6);

/** A resource field read back; `undefined` for "not set" (absent, or empty where omitted). */
function _decodeField(o: Obj, f: Field): unknown {
  if (f.backendByFamily) {
    // The IPv4 list, then the IPv6 one, as one list; empty is "not set".
    const [v4, v6] = f.backendByFamily;
    const read = (family: 4 | 6): (v: unknown, field: string) => unknown[] =>
      f.codec === "ips"
        ? (family === 4 ? _ip4List : _ip6List)
        : f.codec === "cidrs"
        ? _cidrs
        : _structs(f);
    const a = o[v4] === undefined || o[v4] === null ? undefined : read(4)(o[v4], v4);
    const b = o[v6] === undefined || o[v6] === null ? undefined : read(6)(o[v6], v6);
    const xs = a === undefined ? b ?? [] : b === undefined ? a : [...a, ...b];
    return xs.length ? xs : undefined;
  }
  const name = _backendKey(f);
  switch (f.codec) {
    case "string": {
      const v = _opt(o, name, _string);
      return f.required ? v ?? "" : v || undefined;
    }
    case "float":
      return _opt(o, name, _number);
    case "flag":
      return _opt(o, name, _bool) ? true : undefined;
    case "bool":
      // Only policies written with an explicit applyOnForward (v3 input) store it.
      return _opt(o, name, _bool);
    case "rules": {
      const rules = _opt(o, name, _rules);
      return rules?.length ? rules : undefined;
    }
    case "labels": {
      const labels = _opt(o, name, _stringMap);
      return labels && Object.keys(labels).length ? labels : undefined;
    }
    case "strings": {
      const xs = _opt(o, name, _stringList);
      return xs?.length ? xs : undefined;
    }
    case "cidrs": {
      const nets = _opt(o, name, _cidrs);
      return f.required ? nets ?? [] : nets?.length ? nets : undefined;
    }
    case "structs": {
      const read: (v: unknown, field: string) => unknown[] = f.fields === ENDPOINT_PORT_FIELDS
        ? _endpointPorts
        : _structs(f);
      const items = _opt(o, name, read);
      return items?.length ? items : undefined;
    }
    case "ip":
      return _opt(o, name, _string);
    case "mac":
      return _opt(o, name, _string) || undefined;
  }
  throw new Error(`no backend reader for codec ${f.codec} (field ${f.key})`);
}

/** A list of stored structs whose fields are all required strings (model.IPNAT). */
function _structs(f: Field) {
  return (v: unknown, field: string): Obj[] => {
    if (!Array.isArray(v)) _fail(`field '${field}' must be a list, got ${_show(v)}`);
    return (v as unknown[]).map((x, i) => {
      const e = _object(x, `${field}[${i}]`);
      const out: Obj = {};
      for (const p of f.fields ?? []) {
        const key = backendName(p);
        out[p.key] = _string(e[key], `${field}[${i}].${key}`);
      }
      return out;
    });
  };
}

/** A stored network set; `name` comes from its key. Throws BackendParseError. */
export function decodeNetworkSet(name: string, text: string): NetworkSetResource {
  const o = _object(parseJson(text), "value");
  const r = _decodeFields(NETWORK_SET_FIELDS, o, { name });
  return { kind: "networkSet", ...r } as unknown as NetworkSetResource;
}

/** Whether each stored `types` entry is one Felix knows; for the validator. */
export function unknownPolicyTypes(p: PolicyResource): string[] {
  return (p.spec.types ?? []).filter((t) => !POLICY_TYPES.includes(t));
}

/** `/calico/v1/policy/profile/<name>/rules`. Throws BackendParseError. */
export function decodeProfileRules(text: string): { ingress: Rule[]; egress: Rule[] } {
  const o = _object(parseJson(text), "value");
  const out: Record<string, Rule[]> = {};
  for (const f of PROFILE_FIELDS) {
    if (f.codec === "rules") out[f.key] = _opt(o, backendName(f), _rules) ?? [];
  }
  return out as { ingress: Rule[]; egress: Rule[] };
}

/** `/calico/v1/policy/profile/<name>/tags`: a JSON list of strings. */
export function decodeProfileTags(text: string): string[] {
  const v = parseJson(text);
  return v === null ? [] : _stringList(v, "value");
}

/** `/calico/v1/policy/profile/<name>/labels`: a JSON object of strings. */
export function decodeProfileLabels(text: string): Record<string, string> {
  const v = parseJson(text);
  return v === null ? {} : _stringMap(v, "value");
}

/** A whole profile from whichever of its three keys exist. Throws BackendParseError. */
export function decodeProfile(
  name: string,
  parts: { readonly rules?: string; readonly tags?: string; readonly labels?: string },
): ProfileResource {
  const rules = parts.rules !== undefined
    ? decodeProfileRules(parts.rules)
    : { ingress: [], egress: [] };
  const tags = parts.tags !== undefined ? decodeProfileTags(parts.tags) : [];
  const labels: Labels = parts.labels !== undefined ? decodeProfileLabels(parts.labels) : {};
  const metadata: Record<string, unknown> = { name };
  if (Object.keys(labels).length) metadata.labels = labels;
  if (tags.length) metadata.tags = tags;
  const spec: Record<string, unknown> = {};
  if (rules.ingress.length) spec.ingress = rules.ingress;
  if (rules.egress.length) spec.egress = rules.egress;
  return { kind: "profile", metadata, spec } as unknown as ProfileResource;
}

/** Identifies a workload endpoint (from its key). */
export interface WorkloadEndpointIds {
  readonly node: string;
  readonly orchestrator: string;
  readonly workload: string;
  readonly name: string;
}

/** A stored workload endpoint. Throws BackendParseError. */
export function decodeWorkloadEndpoint(
  ids: WorkloadEndpointIds,
  text: string,
): WorkloadEndpointResource {
  const o = _object(parseJson(text), "value");
  const { name, workload, orchestrator, node } = ids;
  const r = _decodeFields(WORKLOAD_ENDPOINT_FIELDS, o, { name, workload, orchestrator, node });
  return { kind: "workloadEndpoint", ...r } as unknown as WorkloadEndpointResource;
}

/** The raw values of one node's keys, as found (absent keys omitted). */
export interface NodeKeyTexts {
  readonly orchRefs?: string;
  readonly bgp?: Partial<Readonly<Record<BgpField, string>>>;
}

/** An AS number as stored: plain (`64512`) or dotted (`1.10` = 1*65536+10). */
export function parseAsNumber(text: string): number | undefined {
  let m = /^(\d+)$/.exec(text);
  if (m) {
    const n = Number(m[1]);
    return n <= 0xffffffff ? n : undefined;
  }
  m = /^(\d+)\.(\d+)$/.exec(text);
  if (m) {
    const hi = Number(m[1]), lo = Number(m[2]);
    return hi <= 0xffff && lo <= 0xffff ? hi * 65536 + lo : undefined;
  }
  return undefined;
}

/** A node key's stored text (the store hands over orchestrator_refs and the BGP keys). */
function _nodeText(texts: NodeKeyTexts, key: string): string | undefined {
  const [dir, name] = key.split("/") as [string, string];
  if (dir === "bgp") return texts.bgp?.[name as BgpField];
  return name === "orchestrator_refs" ? texts.orchRefs : undefined;
}

/** Each node field read back and the keys it is read from, in NODE_KEYS order. */
const NODE_FIELD_KEYS: ReadonlyMap<string, { row: Field; keys: NodeKey[] }> = (() => {
  const out = new Map<string, { row: Field; keys: NodeKey[] }>();
  for (const k of NODE_KEYS) {
    if (k.field === undefined || k.read === false) continue;
    const entry = out.get(k.field) ?? { row: rowAt(NODE_FIELDS, k.field), keys: [] };
    entry.keys.push(k);
    out.set(k.field, entry);
  }
  return out;
})();

/** A node from its keys (the BGP address gets its prefix back from `network_v4/v6`). */
export function decodeNode(name: string, texts: NodeKeyTexts): NodeResource {
  const spec: Obj = {};
  for (const [path, { row, keys }] of NODE_FIELD_KEYS) {
    const text = (as: NodeKey["as"]) => {
      const k = keys.find((k) => k.as === as);
      return k && _nodeText(texts, k.key);
    };
    const v = NODE_FIELD_READERS[row.codec]!(text, keys);
    if (v === undefined) continue;
    // `bgp.ipv4Address`: the part's object is made when its first field is set.
    const [part, key] = path.split(".") as [string, string?];
    if (key !== undefined) ((spec[part] ??= {}) as Obj)[key] = v;
    else spec[part] = v;
  }
  return { kind: "node", metadata: { name }, spec } as unknown as NodeResource;
}

type _NodeReader = (
  text: (as: NodeKey["as"]) => string | undefined,
  keys: readonly NodeKey[],
) => unknown;

/** How each node field is read back from its keys' texts, by its codec. */
const NODE_FIELD_READERS: Partial<Record<Codec, _NodeReader>> = {
  cidr: (text) => _addrWithPrefix(text("address"), text("network")),
  asNumber: (text) => _asNumber(text("text")),
  structs: (text, keys) => _jsonStructs(text("json"), keys.find((k) => k.as === "json")!),
};

/** A CIDR stored as its address (`ip_addr_v4`) and network (`network_v4`, for the prefix). */
function _addrWithPrefix(addr: string | undefined, network: string | undefined) {
  if (!addr) return undefined;
  const ip = parseCidr(addr);
  if (!ip) _fail(`invalid BGP address ${_show(addr)}`);
  const net = network ? parseCidr(network) : undefined;
  const prefix = net && net.ip.family === ip!.ip.family ? net.prefix : ip!.prefix;
  return formatCidr({ ip: ip!.ip, prefix });
}

function _asNumber(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const asn = parseAsNumber(text);
  if (asn === undefined) _fail(`invalid AS number ${_show(text)}`);
  return asn;
}

/** A JSON list of structs in one key (`orchestrator_refs`); an empty list is unset. */
function _jsonStructs(text: string | undefined, k: NodeKey): Obj[] | undefined {
  if (!text) return undefined;
  const name = k.key.slice(k.key.indexOf("/") + 1);
  const v = parseJson(text);
  if (!Array.isArray(v)) _fail(`${name} must be a list`);
  const items = (v as unknown[]).map((x, i) => {
    const o = _object(x, `${name}[${i}]`);
    const item: Obj = {};
    for (const f of k.fields ?? []) _put(item, f.key, _decodeField(o, f));
    return item;
  });
  return items.length ? items : undefined;
}
