/**
 * The table of Felix parameters hostfence understands (Felix 2.6's host-endpoint parameters plus
 * hostfence's own, listed in README "Agent configuration"), and the ones it accepts but ignores
 * because they only mean something to Felix's iptables, ipset or OpenStack code. Everything else
 * about configuration (sources, precedence, flags, help) is driven from this table, so adding a
 * parameter is one entry here plus one field.
 */
import type { FailsafePort } from "./failsafe.ts";
import type { Severity } from "../log/logger.ts";
import {
  authorityType,
  boolType,
  endpointListType,
  fileType,
  hostnameType,
  ifaceListType,
  intType,
  listenHostType,
  markMaskType,
  oneOfType,
  type ParamType,
  portListType,
  portType,
  secondsType,
  severityType,
  stringType,
} from "./types.ts";

/**
 * The agent's resolved configuration. Field names are the Felix parameter names with the first
 * letter lower-cased (`FailsafeInboundHostPorts` -> `failsafeInboundHostPorts`); times are in
 * seconds; `none` gives the zero value (empty list/string, 0, false, `null` severity).
 */
export interface FelixConfig {
  readonly datastoreType: "etcdv2" | "local" | "kubernetes" | "";
  /** The directory of YAML resource files read when DatastoreType is `local`. */
  readonly policyDir: string;
  readonly felixHostname: string;
  /** Normalised `scheme://host:port`; when empty, `etcdScheme://etcdAddr` is used. */
  readonly etcdEndpoints: readonly string[];
  readonly etcdAddr: string;
  readonly etcdScheme: "http" | "https" | "";
  readonly etcdKeyFile: string;
  readonly etcdCertFile: string;
  readonly etcdCaFile: string;
  /** The etcd client: `http` (etcd's JSON gateway) or `grpc` (npm:etcd3); `none` = http. */
  readonly etcdTransport: "http" | "grpc" | "";
  readonly interfacePrefix: readonly string[];
  readonly failsafeInboundHostPorts: readonly FailsafePort[];
  readonly failsafeOutboundHostPorts: readonly FailsafePort[];
  readonly defaultEndpointToHostAction: "DROP" | "RETURN" | "ACCEPT" | "";
  readonly iptablesMarkMask: number;
  readonly logPrefix: string;
  readonly disableConntrackInvalidCheck: boolean;
  /** Audit mode: would-be drops by host-endpoint policy are counted, logged and accepted. */
  readonly policyAuditMode: boolean;
  readonly ipv6Support: boolean;
  /** Seconds between re-reads and repairs of our nftables table; 0 disables. */
  readonly nftablesRefreshInterval: number;
  /** Adjacent compilable policies from which a run becomes set lookups; 0 disables. */
  readonly nftablesCompileMinRun: number;
  /** Empty string = file logging off (`none`). */
  readonly logFilePath: string;
  /** `null` = that sink off (`none`). */
  readonly logSeverityFile: Severity | null;
  readonly logSeverityScreen: Severity | null;
  readonly logSeveritySys: Severity | null;
  readonly reportingIntervalSecs: number;
  readonly reportingTTLSecs: number;
  readonly endpointReportingEnabled: boolean;
  readonly endpointReportingDelaySecs: number;
  readonly prometheusMetricsEnabled: boolean;
  readonly prometheusMetricsPort: number;
  readonly healthEnabled: boolean;
  readonly healthPort: number;
  readonly healthHost: string;
  /** Seconds between full re-reads of the datastore as a safety net; 0 disables. */
  readonly resyncIntervalSecs: number;
  readonly hostEndpointAllowNDP: boolean;
  readonly clusterGUID: string;
  readonly clusterType: string;
  readonly calicoVersion: string;
  /** Accepted for compatibility; hostfence never reports usage whatever the value. */
  readonly usageReportingEnabled: boolean;
}

/** One parameter: its Felix name, syntax, default and handling flags. */
export interface ParamSpec<T> {
  /** Canonical Felix spelling, e.g. `FailsafeInboundHostPorts`. */
  readonly name: string;
  /** Other accepted names (matched case-insensitively like the canonical one). */
  readonly aliases?: readonly string[];
  /** A few words for help text and start-up log lines. */
  readonly description: string;
  readonly type: ParamType<T>;
  readonly default: T;
  /** Only honoured from flags, environment and config file; ignored from the datastore. */
  readonly localOnly?: boolean;
  /** A bad value rejects the whole configuration instead of falling back to the default. */
  readonly dieOnFail?: boolean;
  /** `none` (the zero value) is an error. */
  readonly nonZero?: boolean;
}

type ParamTable = { readonly [K in keyof FelixConfig]: ParamSpec<FelixConfig[K]> };

/**
 * Every parameter, in the order help and start-up lines list them. Die-on-fail goes beyond
 * Felix for the etcd location and the host name: silently falling back to another etcd or
 * another host's endpoints would be worse than refusing to start.
 */
export const PARAMS: ParamTable = {
  datastoreType: {
    name: "DatastoreType",
    description: "Datastore type: etcdv2, or local (YAML files in PolicyDir, no etcd)",
    type: oneOfType(["etcdv2", "local", "kubernetes"] as const),
    default: "etcdv2",
    localOnly: true,
    dieOnFail: true,
    nonZero: true,
  },
  policyDir: {
    name: "PolicyDir",
    description: "Directory of resource files (*.yaml, *.yml) read when DatastoreType is local",
    type: fileType(false),
    default: "/etc/hostfence/policy.d",
    localOnly: true,
    dieOnFail: true,
    nonZero: true,
  },
  felixHostname: {
    name: "FelixHostname",
    description: "Felix compute host hostname",
    type: hostnameType,
    default: "",
    localOnly: true,
    dieOnFail: true,
    nonZero: true,
  },
  etcdEndpoints: {
    name: "EtcdEndpoints",
    description: "Comma-separated etcd endpoints (wins over EtcdScheme and EtcdAddr)",
    type: endpointListType,
    default: [],
    localOnly: true,
    dieOnFail: true,
  },
  etcdAddr: {
    name: "EtcdAddr",
    description: "etcd host:port (deprecated: use EtcdEndpoints)",
    type: authorityType,
    default: "127.0.0.1:2379",
    localOnly: true,
    dieOnFail: true,
  },
  etcdScheme: {
    name: "EtcdScheme",
    description: "etcd scheme for EtcdAddr (deprecated: use EtcdEndpoints)",
    type: oneOfType(["http", "https"] as const),
    default: "http",
    localOnly: true,
    dieOnFail: true,
  },
  etcdKeyFile: {
    name: "EtcdKeyFile",
    description: "etcd TLS client key file",
    type: fileType(true),
    default: "",
    localOnly: true,
    dieOnFail: true,
  },
  etcdCertFile: {
    name: "EtcdCertFile",
    description: "etcd TLS client certificate file",
    type: fileType(true),
    default: "",
    localOnly: true,
    dieOnFail: true,
  },
  etcdCaFile: {
    name: "EtcdCaFile",
    description: "etcd TLS CA certificate file",
    type: fileType(true),
    default: "",
    localOnly: true,
    dieOnFail: true,
  },
  etcdTransport: {
    name: "EtcdTransport",
    description: "etcd client: http (JSON gateway) or grpc (for etcd grpc-proxy)",
    type: oneOfType(["http", "grpc"] as const),
    default: "http",
    localOnly: true,
    dieOnFail: true,
  },
  interfacePrefix: {
    name: "InterfacePrefix",
    description: "Workload interface name prefixes; other interfaces are host interfaces",
    type: ifaceListType,
    default: ["cali"],
    dieOnFail: true,
    nonZero: true,
  },
  failsafeInboundHostPorts: {
    name: "FailsafeInboundHostPorts",
    description: "Inbound ports always allowed on host endpoints",
    type: portListType,
    default: [{ protocol: "tcp", port: 22 }, { protocol: "udp", port: 68 }],
    dieOnFail: true,
  },
  failsafeOutboundHostPorts: {
    name: "FailsafeOutboundHostPorts",
    description: "Outbound ports always allowed on host endpoints",
    type: portListType,
    default: [
      { protocol: "tcp", port: 2379 },
      { protocol: "tcp", port: 2380 },
      { protocol: "tcp", port: 4001 },
      { protocol: "tcp", port: 7001 },
      { protocol: "udp", port: 53 },
      { protocol: "udp", port: 67 },
    ],
    dieOnFail: true,
  },
  defaultEndpointToHostAction: {
    name: "DefaultEndpointToHostAction",
    description: "Verdict for workload-to-host traffic after workload egress policy",
    type: oneOfType(["DROP", "RETURN", "ACCEPT"] as const),
    default: "DROP",
    dieOnFail: true,
    nonZero: true,
  },
  iptablesMarkMask: {
    name: "IptablesMarkMask",
    description: "Packet-mark bits hostfence may use",
    type: markMaskType,
    default: 0xff000000,
    dieOnFail: true,
    nonZero: true,
  },
  logPrefix: {
    name: "LogPrefix",
    description: "Prefix of log lines written by the policy log action",
    type: stringType,
    default: "calico-packet",
  },
  disableConntrackInvalidCheck: {
    name: "DisableConntrackInvalidCheck",
    description: "Do not drop conntrack-INVALID packets",
    type: boolType,
    default: false,
  },
  policyAuditMode: {
    name: "PolicyAuditMode",
    description: "Count, log and accept packets host-endpoint policy would drop",
    type: boolType,
    default: false,
  },
  ipv6Support: {
    name: "Ipv6Support",
    description: "Program IPv6 rules too",
    type: boolType,
    default: true,
  },
  nftablesRefreshInterval: {
    name: "NftablesRefreshInterval",
    aliases: ["IptablesRefreshInterval"],
    description: "Seconds between dataplane re-reads and repairs (0 disables)",
    type: secondsType,
    default: 90,
  },
  nftablesCompileMinRun: {
    name: "NftablesCompileMinRun",
    description:
      "Adjacent plain allow (or deny) policies from which they become one set lookup (0 disables)",
    type: intType(0, 1_000_000),
    default: 4,
  },
  logFilePath: {
    name: "LogFilePath",
    description: "Log file (none disables file logging)",
    type: fileType(false),
    default: "/var/log/calico/felix.log",
    dieOnFail: true,
  },
  logSeverityFile: {
    name: "LogSeverityFile",
    description: "Lowest severity written to the log file (none disables)",
    type: severityType,
    default: "INFO",
  },
  logSeverityScreen: {
    name: "LogSeverityScreen",
    description: "Lowest severity written to standard error (none disables)",
    type: severityType,
    default: "INFO",
  },
  logSeveritySys: {
    name: "LogSeveritySys",
    description: "Lowest severity sent to syslog (none disables)",
    type: severityType,
    default: "INFO",
  },
  reportingIntervalSecs: {
    name: "ReportingIntervalSecs",
    description: "Seconds between status heartbeats in etcd (0 disables)",
    type: secondsType,
    default: 30,
  },
  reportingTTLSecs: {
    name: "ReportingTTLSecs",
    description: "Lifetime in seconds of the status heartbeat key",
    type: secondsType,
    default: 90,
  },
  endpointReportingEnabled: {
    name: "EndpointReportingEnabled",
    description: "Write per-endpoint status to etcd",
    type: boolType,
    default: false,
  },
  endpointReportingDelaySecs: {
    name: "EndpointReportingDelaySecs",
    description: "Minimum seconds between endpoint status writes",
    type: secondsType,
    default: 1,
  },
  prometheusMetricsEnabled: {
    name: "PrometheusMetricsEnabled",
    description: "Serve Prometheus metrics over HTTP",
    type: boolType,
    default: false,
  },
  prometheusMetricsPort: {
    name: "PrometheusMetricsPort",
    description: "Port of the Prometheus metrics server",
    type: portType,
    default: 9091,
  },
  healthEnabled: {
    name: "HealthEnabled",
    description: "Serve /liveness and /readiness over HTTP",
    type: boolType,
    default: false,
  },
  healthPort: {
    name: "HealthPort",
    description: "Port of the health server",
    type: portType,
    default: 9099,
  },
  healthHost: {
    name: "HealthHost",
    description: "Address the health server listens on",
    type: listenHostType,
    default: "127.0.0.1",
    nonZero: true,
  },
  resyncIntervalSecs: {
    name: "ResyncIntervalSecs",
    description: "Seconds between full datastore re-reads as a safety net (0 disables)",
    type: secondsType,
    default: 300,
  },
  hostEndpointAllowNDP: {
    name: "HostEndpointAllowNDP",
    description: "Allow IPv6 neighbour discovery (ICMPv6 133-136) on host endpoints",
    type: boolType,
    default: true,
  },
  clusterGUID: {
    name: "ClusterGUID",
    description: "Cluster identifier (informational)",
    type: stringType,
    default: "baddecaf",
  },
  clusterType: {
    name: "ClusterType",
    description: "Cluster type (informational)",
    type: stringType,
    default: "",
  },
  calicoVersion: {
    name: "CalicoVersion",
    description: "Calico version (informational)",
    type: stringType,
    default: "",
  },
  usageReportingEnabled: {
    name: "UsageReportingEnabled",
    description: "Accepted and ignored: hostfence never reports usage",
    type: boolType,
    default: false,
  },
};

/** A Felix parameter hostfence accepts but does not use, and why. */
export interface IgnoredParam {
  readonly name: string;
  readonly reason: string;
}

/**
 * Felix parameters that only steer iptables, ipset, routing, IPIP, OpenStack or Typha code.
 * They are accepted (so existing felix.cfg files and etcd keys do not produce unknown-param
 * warnings) and noted at debug level.
 */
export const IGNORED_PARAMS: readonly IgnoredParam[] = [
  ["IptablesLockFilePath", "iptables only"],
  ["IptablesLockTimeoutSecs", "iptables only"],
  ["IptablesLockProbeIntervalMillis", "iptables only"],
  ["IptablesPostWriteCheckIntervalSecs", "iptables only"],
  ["IptablesFilterAllowAction", "iptables only (nftables verdicts are per table)"],
  ["IptablesAllowAction", "iptables only (nftables verdicts are per table)"],
  ["IptablesMangleAllowAction", "iptables only (nftables verdicts are per table)"],
  ["ChainInsertMode", "iptables only (hostfence uses its own nftables table)"],
  ["IpsetsRefreshInterval", "covered by NftablesRefreshInterval"],
  ["RouteRefreshInterval", "hostfence does not program routes"],
  ["MaxIpsetSize", "nftables sets have no fixed size"],
  ["IpInIpEnabled", "IPIP is not supported by hostfence"],
  ["IpInIpMtu", "IPIP is not supported by hostfence"],
  ["IpInIpTunnelAddr", "IPIP is not supported by hostfence"],
  ["MetadataAddr", "OpenStack only"],
  ["MetadataPort", "OpenStack only"],
  ["PrometheusGoMetricsEnabled", "Go runtime only"],
  ["PrometheusProcessMetricsEnabled", "Go runtime only"],
  ["DebugMemoryProfilePath", "Go runtime only"],
  ["DebugCPUProfilePath", "Go runtime only"],
  ["DebugDisableLogDropping", "Go runtime only"],
  ["NetlinkTimeoutSecs", "Go runtime only"],
  ["TyphaAddr", "Kubernetes only"],
  ["TyphaK8sServiceName", "Kubernetes only"],
  ["TyphaK8sNamespace", "Kubernetes only"],
  ["TyphaTimeout", "Kubernetes only"],
  ["KubeNodePortRanges", "Kubernetes only"],
].map(([name, reason]) => ({ name: name as string, reason: reason as string }));

/** A field of `FelixConfig`. */
export type ParamField = keyof FelixConfig;

/** Every parameter spec in table order, each with its `FelixConfig` field. */
export const PARAM_LIST: readonly (ParamSpec<unknown> & { readonly field: ParamField })[] =
  (Object.keys(PARAMS) as ParamField[]).map((field) => ({
    ...(PARAMS[field] as ParamSpec<unknown>),
    field,
  }));

/** What a (case-insensitive) name refers to. */
export type NameLookup =
  | { readonly kind: "param"; readonly field: ParamField; readonly spec: ParamSpec<unknown> }
  | { readonly kind: "ignored"; readonly param: IgnoredParam }
  | { readonly kind: "unknown" };

const BY_LOWER = new Map<string, NameLookup>();
for (const p of PARAM_LIST) {
  const hit: NameLookup = { kind: "param", field: p.field, spec: p };
  BY_LOWER.set(p.name.toLowerCase(), hit);
  for (const a of p.aliases ?? []) BY_LOWER.set(a.toLowerCase(), hit);
}
for (const ig of IGNORED_PARAMS) {
  BY_LOWER.set(ig.name.toLowerCase(), { kind: "ignored", param: ig });
}

/** Looks a parameter name up, ignoring case; aliases resolve to their canonical parameter. */
export function lookupParam(name: string): NameLookup {
  return BY_LOWER.get(name.toLowerCase()) ?? { kind: "unknown" };
}

/** The spec of a parameter by canonical name (any case); undefined for unknown or ignored. */
export function paramSpec(name: string): (ParamSpec<unknown> & { field: ParamField }) | undefined {
  const hit = lookupParam(name);
  return hit.kind === "param" ? { ...hit.spec, field: hit.field } : undefined;
}

/**
 * Felix name to command-line flag name: `FailsafeInboundHostPorts` ->
 * `failsafe-inbound-host-ports`, `Ipv6Support` -> `ipv6-support`, `ReportingTTLSecs` ->
 * `reporting-ttl-secs`.
 */
export function kebabName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

/** The environment variable Felix reads a parameter from, e.g. `FELIX_LOGFILEPATH`. */
export function envName(name: string): string {
  return "FELIX_" + name.toUpperCase();
}
