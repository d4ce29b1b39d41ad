/**
 * Field validation of resources: the rules of libcalico-go v1's validator with
 * hostfence's one change (`interfaceName` may contain dots, for VLAN interfaces).
 *
 * Each failed check becomes a ValidationIssue carrying calicoctl's field name (the Go struct
 * field name, e.g. `InterfaceName`, or the name the Go struct-level check reported, e.g.
 * `Source.Ports`) and reason, so `formatIssues` prints what calicoctl printed. Where calicoctl
 * printed no reason (regex tags), a short one is added so operators learn what is allowed.
 * Issues come in the order the Go validator walked the structs: fields in declaration
 * order, then the struct-level check. Pure; used by the CLI (file input) and by the agent's
 * validation filter (etcd data), so it must accept any decoded value without throwing.
 */
import type {
  EndpointPort,
  EntityRule,
  HostEndpointResource,
  IcmpFields,
  Labels,
  NetworkSetResource,
  NodeResource,
  PolicyResource,
  Port,
  ProfileResource,
  Resource,
  Rule,
  WorkloadEndpointResource,
} from "./resources.ts";
import type { Codec } from "./fields/table.ts";
import { RULE_FIELDS } from "./fields/rule.ts";
import { cidrContains, type IpAddress, isSingleAddress, parseCidr, parseIp } from "../net/ip.ts";
import { parseSelector, SelectorSyntaxError } from "../selector/mod.ts";
import { quote } from "../log/quote.ts";

/** One failed check, in calicoctl's terms: `error with field NAME = 'VALUE' (REASON)`. */
export interface ValidationIssue {
  /** Path inside the resource, e.g. `spec.ingress[0].destination.ports`. */
  readonly path: string;
  /** calicoctl's field name, e.g. `InterfaceName`, `Protocol`. */
  readonly field: string;
  readonly value: unknown;
  readonly reason: string;
}

/** The `name` rule: node names, HEP/WEP `node`, tags, `activeInstanceID`. */
export const NAME_RE = /^[a-zA-Z0-9_.-]{1,128}$/;
/** The `namespacedname` rule: HEP, policy, profile and WEP names, profile references. */
export const NAMESPACED_NAME_RE = /^[a-zA-Z0-9_./-]{1,128}$/;
/** Interface names: calicoctl's `^[a-zA-Z0-9_-]{1,15}$` plus dots (0': VLANs like eth0.100). */
export const INTERFACE_RE = /^[a-zA-Z0-9_.-]{1,15}$/;
/** Label keys (LCG >= 1.4). */
export const LABEL_KEY_RE = /^[a-zA-Z0-9_./-]{1,512}$/;
/** Label values: empty, or up to 63 characters ending in a letter or digit. */
export const LABEL_VALUE_RE = /^[a-zA-Z0-9]?([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?$/;
const ACTION_RE = /^(allow|deny|log|pass)$/;
const PROTOCOL_NAME_RE = /^(tcp|udp|icmp|icmpv6|sctp|udplite)$/;

const NAME_RULE = "must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-'";
const NAMESPACED_RULE = "must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-', '/'";
const INTERFACE_RULE = "must be 1-15 characters from a-z, A-Z, 0-9, '.', '_', '-'";
const PORTS_REASON = "protocol does not support ports";

/** All problems with one resource; empty when it is valid. Pure; never throws on odd data. */
export function validateResource(resource: Resource): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  switch (resource.kind) {
    case "node":
      _node(resource, out);
      break;
    case "hostEndpoint":
      _hostEndpoint(resource, out);
      break;
    case "policy":
      _policy(resource, out);
      break;
    case "profile":
      _profile(resource, out);
      break;
    case "workloadEndpoint":
      _workloadEndpoint(resource, out);
      break;
    case "networkSet":
      _networkSet(resource, out);
      break;
    default:
      out.push({
        path: "kind",
        field: "Kind",
        value: (resource as { kind?: unknown }).kind,
        reason: "unknown resource kind",
      });
  }
  return out;
}

/**
 * calicoctl's rendering of issues: one issue -> `error with field NAME = 'VALUE' (REASON)`;
 * several -> `error with the following fields:` and one `-  NAME = 'VALUE' (REASON)` line
 * each. Values print as Go's `%v` did (lists as `[a b]`, maps as `map[k:v]`); an absent value
 * prints the name alone. Unlike Go, no trailing newline, so callers can embed the text.
 */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  if (issues.length === 0) return "unknown validation error";
  if (issues.length === 1) return `error with field ${formatIssue(issues[0]!)}`;
  return ["error with the following fields:", ...issues.map((i) => `-  ${formatIssue(i)}`)]
    .join("\n");
}

/** One issue without the `error with field` prefix: `NAME = 'VALUE' (REASON)`. */
export function formatIssue(issue: ValidationIssue): string {
  let s = issue.value === undefined || issue.value === null
    ? issue.field
    : `${issue.field} = ${quote(formatGoValue(issue.value), { quote: "'" })}`;
  if (issue.reason) s += ` (${issue.reason})`;
  return s;
}

/** Go `%v`-style text of a value: `[a b]` for lists, `map[k:v]` for maps, `a:b` for ranges. */
export function formatGoValue(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map(formatGoValue).join(" ")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (_isRange(o)) return `${o.min}:${o.max}`;
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${formatGoValue(o[k])}`).join(" ")}]`;
  }
  return String(v);
}

function _isRange(o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  return keys.length === 2 && typeof o.min === "number" && typeof o.max === "number";
}

// ---------------------------------------------------------------------------------------
// Per-kind walks (field order = the Go struct declaration order).

function _node(r: NodeResource, out: ValidationIssue[]): void {
  _regex(out, "metadata.name", "Name", r.metadata?.name, NAME_RE, NAME_RULE);
  const bgp = r.spec?.bgp;
  if (bgp) {
    const path = "spec.bgp";
    const v4 = bgp.ipv4Address, v6 = bgp.ipv6Address;
    if (v4 === undefined && v6 === undefined) {
      out.push({
        path: `${path}.ipv4Address`,
        field: "BGP.IPv4Address",
        value: "",
        reason: "no BGP IP address and subnet specified",
      });
    }
    if (v4 !== undefined && _cidrFamily(v4) !== 4) {
      out.push({
        path: `${path}.ipv4Address`,
        field: "BGP.IPv4Address",
        value: v4,
        reason: "invalid IPv4 address and subnet specified",
      });
    }
    if (v6 !== undefined && _cidrFamily(v6) !== 6) {
      out.push({
        path: `${path}.ipv6Address`,
        field: "BGP.IPv6Address",
        value: v6,
        reason: "invalid IPv6 address and subnet specified",
      });
    }
  }
}

function _hostEndpoint(r: HostEndpointResource, out: ValidationIssue[]): void {
  const m = r.metadata ?? {};
  _regex(out, "metadata.name", "Name", m.name, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  _regex(out, "metadata.node", "Node", m.node, NAME_RE, NAME_RULE);
  _labels(out, "metadata.labels", m.labels);
  const s = r.spec ?? {};
  _interface(out, "spec.interfaceName", s.interfaceName, false);
  (s.expectedIPs ?? []).forEach((ip, i) => {
    if (!parseIp(String(ip))) {
      out.push({
        path: `spec.expectedIPs[${i}]`,
        field: `ExpectedIPs[${i}]`,
        value: ip,
        reason: "invalid IP address",
      });
    }
  });
  _profiles(out, "spec.profiles", s.profiles);
  _endpointPorts(out, "spec.ports", s.ports);
  if (!s.interfaceName && (s.expectedIPs ?? []).length === 0) {
    out.push({
      path: "spec.interfaceName",
      field: "InterfaceName",
      value: s.interfaceName ?? "",
      reason: "no interface or expected IPs have been specified",
    });
  }
}

/** A host endpoint's named ports: a name, a protocol with ports (tcp, udp, sctp), 1-65535. */
function _endpointPorts(
  out: ValidationIssue[],
  path: string,
  ports: readonly EndpointPort[] | undefined,
): void {
  (ports ?? []).forEach((p, i) => {
    const at = `${path}[${i}]`;
    _regex(out, `${at}.name`, "EndpointPort.Name", p?.name, NAME_RE, NAME_RULE);
    if (!endpointPortProtocol(p?.protocol)) {
      out.push({
        path: `${at}.protocol`,
        field: "EndpointPort.Protocol",
        value: p?.protocol,
        reason: "EndpointPort protocol does not support ports",
      });
    }
    if (!(Number.isInteger(p?.port) && p.port >= 1 && p.port <= 65535)) {
      out.push({
        path: `${at}.port`,
        field: "EndpointPort.Port",
        value: p?.port,
        reason: "port number must be between 1 and 65535",
      });
    }
  });
}

/**
 * The protocol a named port is declared for, as `tcp`, `udp` or `sctp` (by name in any case,
 * or number), or undefined for a protocol without ports. Rules match named ports by it.
 */
export function endpointPortProtocol(p: unknown): "tcp" | "udp" | "sctp" | undefined {
  const t = typeof p === "string" ? p.toLowerCase() : p;
  if (t === "tcp" || t === 6) return "tcp";
  if (t === "udp" || t === 17) return "udp";
  if (t === "sctp" || t === 132) return "sctp";
  return undefined;
}

function _policy(r: PolicyResource, out: ValidationIssue[]): void {
  const m = r.metadata ?? {};
  _regex(out, "metadata.name", "Name", m.name, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  const s = r.spec ?? ({} as PolicyResource["spec"]);
  _rules(out, "spec.ingress", s.ingress);
  _rules(out, "spec.egress", s.egress);
  _selector(out, "spec.selector", "Selector", s.selector ?? "");
  const types = s.types ?? [];
  types.forEach((t, i) => {
    if (t !== "ingress" && t !== "egress") {
      out.push({
        path: `spec.types[${i}]`,
        field: `Types[${i}]`,
        value: t,
        reason: "must be ingress or egress",
      });
    }
  });
  // Struct-level PolicySpec checks.
  if (s.doNotTrack && s.preDNAT) {
    out.push({
      path: "spec.preDNAT",
      field: "PolicySpec.PreDNAT",
      value: true,
      reason: "PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec",
    });
  }
  if ((s.doNotTrack || s.preDNAT) && s.applyOnForward === false) {
    out.push({
      path: "spec.applyOnForward",
      field: "PolicySpec.ApplyOnForward",
      value: false,
      reason: "ApplyOnForward must be true if either PreDNAT or DoNotTrack is true",
    });
  }
  if (s.preDNAT && (s.egress ?? []).length > 0) {
    out.push({
      path: "spec.egress",
      field: "PolicySpec.EgressRules",
      value: undefined,
      reason: "PreDNAT PolicySpec cannot have any EgressRules",
    });
  }
  if (s.preDNAT) {
    for (const t of types) {
      if (t === "egress") {
        out.push({
          path: "spec.types",
          field: "PolicySpec.Types",
          value: types,
          reason: "PreDNAT PolicySpec cannot have 'egress' Type",
        });
      }
    }
  }
  const seen = new Set<string>();
  for (const t of types) {
    if (seen.has(t)) {
      out.push({
        path: "spec.types",
        field: "PolicySpec.Types",
        value: types,
        reason: `${quote(t, { quote: "'" })} type specified more than once`,
      });
    }
    seen.add(t);
  }
}

function _profile(r: ProfileResource, out: ValidationIssue[]): void {
  const m = r.metadata ?? {};
  _regex(out, "metadata.name", "Name", m.name, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  (m.tags ?? []).forEach((t, i) => {
    _regex(out, `metadata.tags[${i}]`, `Tags[${i}]`, t, NAME_RE, NAME_RULE);
  });
  _labels(out, "metadata.labels", m.labels);
  const s = r.spec ?? {};
  _rules(out, "spec.ingress", s.ingress);
  _rules(out, "spec.egress", s.egress);
}

function _workloadEndpoint(r: WorkloadEndpointResource, out: ValidationIssue[]): void {
  const m = r.metadata ?? ({} as WorkloadEndpointResource["metadata"]);
  _regex(out, "metadata.name", "Name", m.name, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  _regex(out, "metadata.workload", "Workload", m.workload, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  _regex(
    out,
    "metadata.orchestrator",
    "Orchestrator",
    m.orchestrator,
    NAMESPACED_NAME_RE,
    NAMESPACED_RULE,
  );
  _regex(out, "metadata.node", "Node", m.node, NAME_RE, NAME_RULE);
  _regex(
    out,
    "metadata.activeInstanceID",
    "ActiveInstanceID",
    m.activeInstanceID,
    NAME_RE,
    NAME_RULE,
  );
  _labels(out, "metadata.labels", m.labels);

  const s = r.spec ?? ({} as WorkloadEndpointResource["spec"]);
  const nets = (s.ipNetworks ?? []).map((n) => parseCidr(String(n)));
  (s.ipNATs ?? []).forEach((nat, i) => {
    const a = parseIp(String(nat?.internalIP)), b = parseIp(String(nat?.externalIP));
    if (a?.family !== b?.family) {
      out.push({
        path: `spec.ipNATs[${i}].externalIP`,
        field: "ExternalIP",
        value: nat?.externalIP,
        reason: "mismatched IP versions",
      });
    }
  });
  _profiles(out, "spec.profiles", s.profiles);
  _interface(out, "spec.interfaceName", s.interfaceName, true);
  // Struct-level WorkloadEndpointSpec checks.
  if (nets.some((c) => c === undefined || !isSingleAddress(c))) {
    out.push({
      path: "spec.ipNetworks",
      field: "IPNetworks",
      value: s.ipNetworks,
      reason: "IP network contains multiple addresses",
    });
  }
  if (s.ipv4Gateway !== undefined && parseIp(s.ipv4Gateway)?.family !== 4) {
    out.push({
      path: "spec.ipv4Gateway",
      field: "IPv4Gateway",
      value: s.ipv4Gateway,
      reason: "invalid IPv4 gateway address specified",
    });
  }
  if (s.ipv6Gateway !== undefined && parseIp(s.ipv6Gateway)?.family !== 6) {
    out.push({
      path: "spec.ipv6Gateway",
      field: "IPv6Gateway",
      value: s.ipv6Gateway,
      reason: "invalid IPv6 gateway address specified",
    });
  }
  const nats = s.ipNATs ?? [];
  if (nats.length > 0) {
    const inside = (ip: IpAddress | undefined) =>
      ip !== undefined && nets.some((c) => c !== undefined && cidrContains(c, ip));
    if (!nats.every((nat) => inside(parseIp(String(nat?.internalIP))))) {
      out.push({
        path: "spec.ipNATs",
        field: "IPNATs",
        value: nats.map((n) => `${n?.internalIP}<>${n?.externalIP}`),
        reason: "NAT is not in the endpoint networks",
      });
    }
  }
}

function _networkSet(r: NetworkSetResource, out: ValidationIssue[]): void {
  const m = r.metadata ?? ({} as NetworkSetResource["metadata"]);
  _regex(out, "metadata.name", "Name", m.name, NAMESPACED_NAME_RE, NAMESPACED_RULE);
  _labels(out, "metadata.labels", m.labels);
  const nets = r.spec?.nets;
  if (nets !== undefined && !Array.isArray(nets)) {
    out.push({ path: "spec.nets", field: "Nets", value: nets, reason: "must be a list of CIDRs" });
    return;
  }
  (nets ?? []).forEach((n, i) => {
    if (_cidrFamily(n) === undefined) {
      out.push({ path: `spec.nets[${i}]`, field: `Nets[${i}]`, value: n, reason: "invalid CIDR" });
    }
  });
}

// ---------------------------------------------------------------------------------------
// Rules.

function _rules(out: ValidationIssue[], path: string, rules: readonly Rule[] | undefined): void {
  (rules ?? []).forEach((r, i) => _rule(out, `${path}[${i}]`, r ?? ({} as Rule)));
}

/** The check of each codec a rule's fields use (fields/rule.ts). */
const RULE_CHECKS: Partial<
  Record<Codec, (out: ValidationIssue[], path: string, v: unknown) => void>
> = {
  action: (out, path, v) => {
    if (typeof v !== "string" || !ACTION_RE.test(v)) {
      out.push({
        path,
        field: "Action",
        value: v ?? "",
        reason: "must be one of allow, deny, log, pass",
      });
    }
  },
  ipVersion: (out, path, v) => {
    if (v !== undefined && v !== 4 && v !== 6) {
      out.push({ path, field: "IPVersion", value: v, reason: "must be 4 or 6" });
    }
  },
  protocol: _protocol,
  icmp: (out, path, v) => _icmp(out, path, v as IcmpFields | undefined),
  entity: (out, path, v) => _entity(out, path, (v ?? {}) as EntityRule),
};

/** One check per Rule field in calicoctl's order (the table's), then the struct-level ones. */
function _rule(out: ValidationIssue[], path: string, r: Rule): void {
  for (const f of RULE_FIELDS) {
    const v = (r as unknown as Record<string, unknown>)[f.key];
    // Only an action must be there; the other checks pass an absent value.
    if (v === undefined && f.codec !== "action") continue;
    RULE_CHECKS[f.codec]?.(out, `${path}.${f.key}`, v);
  }
  _portsNeedProtocol(out, path, r);
  _netFamilies(out, path, r);
}

/** Struct-level: ports on either side need a protocol that has ports. */
function _portsNeedProtocol(out: ValidationIssue[], path: string, r: Rule): void {
  if (_supportsPorts(r.protocol)) return;
  const sides: [string, string, EntityRule][] = [
    ["source", "Source", r.source ?? {}],
    ["destination", "Destination", r.destination ?? {}],
  ];
  for (const [key, name, e] of sides) {
    if ((e.ports ?? []).length > 0) {
      out.push({
        path: `${path}.${key}.ports`,
        field: `${name}.Ports`,
        value: e.ports,
        reason: PORTS_REASON,
      });
    }
    if ((e.notPorts ?? []).length > 0) {
      out.push({
        path: `${path}.${key}.notPorts`,
        field: `${name}.NotPorts`,
        value: e.notPorts,
        reason: PORTS_REASON,
      });
    }
  }
}

/** Struct-level: Net and Nets never together; one address family per rule, and the rule's. */
function _netFamilies(out: ValidationIssue[], path: string, r: Rule): void {
  const src = r.source ?? {}, dst = r.destination ?? {};
  const hasNet = [src.net, dst.net, src.notNet, dst.notNet].some((n) => n !== undefined);
  const hasNets = [src.nets, dst.nets, src.notNets, dst.notNets].some((n) => (n ?? []).length);
  if (hasNet && hasNets) {
    out.push({
      path,
      field: "Source/Destination.Net/Nets",
      value: src.nets ?? [],
      reason: "only one of Net and Nets fields allowed",
    });
  }
  let seen4 = false, seen6 = false;
  const scan = (
    key: string,
    field: string,
    single: string | undefined,
    list?: readonly string[],
  ) => {
    const nets = [...(list ?? []), ...(single !== undefined ? [single] : [])];
    const fams = nets.map(_cidrFamily);
    const v4 = fams.includes(4), v6 = fams.includes(6);
    const where = list && list.length ? key + "s" : key;
    if (r.ipVersion !== undefined && ((v4 && r.ipVersion !== 4) || (v6 && r.ipVersion !== 6))) {
      out.push({
        path: `${path}.${where}`,
        field,
        value: nets,
        reason: "rule IP version doesn't match CIDR version",
      });
    }
    if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) {
      out.push({
        path: `${path}.${where}`,
        field,
        value: nets,
        reason: "rule contains both IPv4 and IPv6 CIDRs",
      });
    }
    seen4 ||= v4;
    seen6 ||= v6;
  };
  scan("source.net", "Source.Net(s)", src.net, src.nets);
  scan("source.notNet", "Source.NotNet(s)", src.notNet, src.notNets);
  scan("destination.net", "Destination.Net(s)", dst.net, dst.nets);
  scan("destination.notNet", "Destination.NotNet(s)", dst.notNet, dst.notNets);
}

function _entity(out: ValidationIssue[], path: string, e: EntityRule): void {
  if (e.tag !== undefined && e.tag !== "") {
    _regex(out, `${path}.tag`, "Tag", e.tag, NAME_RE, NAME_RULE);
  }
  for (const key of ["net", "notNet"] as const) {
    const n = e[key];
    if (n !== undefined && _cidrFamily(n) === undefined) {
      out.push({ path: `${path}.${key}`, field: _goName(key), value: n, reason: "invalid CIDR" });
    }
  }
  for (const key of ["nets", "notNets"] as const) {
    (e[key] ?? []).forEach((n, i) => {
      if (_cidrFamily(n) === undefined) {
        out.push({
          path: `${path}.${key}[${i}]`,
          field: `${_goName(key)}[${i}]`,
          value: n,
          reason: "invalid CIDR",
        });
      }
    });
  }
  if (e.selector) _selector(out, `${path}.selector`, "Selector", e.selector);
  _ports(out, `${path}.ports`, e.ports);
  if (e.notTag !== undefined && e.notTag !== "") {
    _regex(out, `${path}.notTag`, "NotTag", e.notTag, NAME_RE, NAME_RULE);
  }
  if (e.notSelector) _selector(out, `${path}.notSelector`, "NotSelector", e.notSelector);
  _ports(out, `${path}.notPorts`, e.notPorts);
}

function _ports(out: ValidationIssue[], path: string, ports: readonly Port[] | undefined): void {
  (ports ?? []).forEach((p, i) => {
    if (typeof p === "string") {
      // A named port (etcd data written by Calico 3 tools; v1 YAML refuses names earlier).
      if (!NAME_RE.test(p)) {
        out.push({ path: `${path}[${i}]`, field: "Port", value: p, reason: "port name invalid" });
      }
      return;
    }
    const min = typeof p === "number" ? p : p?.min;
    const max = typeof p === "number" ? p : p?.max;
    if (typeof min !== "number" || typeof max !== "number") {
      out.push({ path: `${path}[${i}]`, field: "Port", value: p, reason: "port range invalid" });
      return;
    }
    if (min > max) {
      out.push({ path: `${path}[${i}]`, field: "Port", value: max, reason: "port range invalid" });
    }
    if (min < 1 || max < 1 || max > 65535) {
      out.push({
        path: `${path}[${i}]`,
        field: "Port",
        value: max,
        reason: "port range invalid, port number must be between 0 and 65536",
      });
    }
  });
}

function _protocol(out: ValidationIssue[], path: string, p: unknown): void {
  if (p === undefined) return;
  if (typeof p === "number") {
    if (!Number.isInteger(p) || p < 1 || p > 255) {
      out.push({ path, field: "Protocol", value: p, reason: "protocol number invalid" });
    }
    return;
  }
  if (typeof p !== "string" || !PROTOCOL_NAME_RE.test(p)) {
    out.push({ path, field: "Protocol", value: p, reason: "protocol name invalid" });
  }
}

function _icmp(out: ValidationIssue[], path: string, icmp: IcmpFields | undefined): void {
  if (!icmp) return;
  const { type, code } = icmp;
  if (type !== undefined && !(Number.isInteger(type) && type >= 0 && type <= 254)) {
    out.push({ path: `${path}.type`, field: "Type", value: type, reason: "must be 0-254" });
  }
  if (code !== undefined && !(Number.isInteger(code) && code >= 0 && code <= 255)) {
    out.push({ path: `${path}.code`, field: "Code", value: code, reason: "must be 0-255" });
  }
  if (code !== undefined && type === undefined) {
    out.push({
      path: `${path}.code`,
      field: "Code",
      value: code,
      reason: "ICMP code specified without an ICMP type",
    });
  }
}

/** tcp/udp by name or number (6, 17): the only protocols v1 allows ports with. */
function _supportsPorts(p: unknown): boolean {
  return p === "tcp" || p === "udp" || p === 6 || p === 17;
}

// ---------------------------------------------------------------------------------------
// Shared field checks.

function _regex(
  out: ValidationIssue[],
  path: string,
  field: string,
  value: unknown,
  re: RegExp,
  rule: string,
): void {
  // `omitempty`: an empty identifier is the client's business ("insufficient identifiers").
  if (value === undefined || value === null || value === "") return;
  if (typeof value !== "string" || !re.test(value)) {
    out.push({ path, field, value, reason: rule });
  }
}

function _interface(
  out: ValidationIssue[],
  path: string,
  name: string | undefined,
  required: boolean,
): void {
  if (!required && (name === undefined || name === "")) return;
  const v = name ?? "";
  if (!INTERFACE_RE.test(v) || v === "." || v === "..") {
    out.push({ path, field: "InterfaceName", value: v, reason: INTERFACE_RULE });
  }
}

function _profiles(out: ValidationIssue[], path: string, p: readonly string[] | undefined): void {
  (p ?? []).forEach((name, i) => {
    if (typeof name !== "string" || !NAMESPACED_NAME_RE.test(name)) {
      out.push({
        path: `${path}[${i}]`,
        field: `Profiles[${i}]`,
        value: name,
        reason: NAMESPACED_RULE,
      });
    }
  });
}

function _labels(out: ValidationIssue[], path: string, labels: Labels | undefined): void {
  if (!labels) return;
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY_RE.test(k)) {
      out.push({
        path: `${path}.${k}`,
        field: "Labels",
        value: labels,
        reason: `label key ${
          quote(k, { quote: "'" })
        } must be 1-512 characters from a-z, A-Z, 0-9, '.', '_', '/', '-'`,
      });
      return;
    }
    if (typeof v !== "string" || !LABEL_VALUE_RE.test(v)) {
      out.push({
        path: `${path}.${k}`,
        field: "Labels",
        value: labels,
        reason:
          `value ${quote(v, { quote: "'" })} of label ${
            quote(k, { quote: "'" })
          } must be empty or at most 63 characters from ` +
          "a-z, A-Z, 0-9, '.', '_', '-' ending with a letter or digit",
      });
      return;
    }
  }
}

function _selector(out: ValidationIssue[], path: string, field: string, text: string): void {
  try {
    parseSelector(text);
  } catch (e) {
    if (!(e instanceof SelectorSyntaxError)) throw e;
    out.push({ path, field, value: text, reason: e.message });
  }
}

function _cidrFamily(text: unknown): 4 | 6 | undefined {
  return typeof text === "string" ? parseCidr(text)?.ip.family : undefined;
}

function _goName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}
