/**
 * FelixConfiguration (v3) <-> Felix config keys: which v3 spec fields hostfence honours, the
 * Felix parameter each one sets (params.ts), and how a value is written in v3 (camelCase
 * names, `Drop`/`Accept`/`Return`, Go durations, failsafe ports as `{protocol, port}`) and as
 * stored in etcd (Felix's text: `DROP`, seconds, `tcp:22,udp:68`). Pure.
 */
import { paramSpec } from "../../config/params.ts";
import { ConfigValueError } from "../../config/types.ts";
import { formatGoDuration, parseGoDuration } from "./duration.ts";

/** How a v3 value is written. */
export type FelixForm =
  | "string"
  | "bool"
  | "int"
  | "duration"
  | "ports"
  | "action"
  | "severity";

export interface FelixField {
  /** Canonical Felix parameter name (the etcd key's last segment). */
  readonly param: string;
  readonly form: FelixForm;
}

/**
 * The v3 fields hostfence honours, in Calico's FelixConfigurationSpec order, then hostfence's
 * own parameters (policyAuditMode, nftablesCompileMinRun, hostEndpointAllowNDP). Fields of
 * Calico's spec that are not here (bpfEnabled, ipipEnabled, ...) are refused.
 */
export const FELIX_FIELDS: Readonly<Record<string, FelixField>> = {
  iptablesMarkMask: { param: "IptablesMarkMask", form: "int" },
  iptablesRefreshInterval: { param: "NftablesRefreshInterval", form: "duration" },
  ipv6Support: { param: "Ipv6Support", form: "bool" },
  logFilePath: { param: "LogFilePath", form: "string" },
  logPrefix: { param: "LogPrefix", form: "string" },
  logSeverityFile: { param: "LogSeverityFile", form: "severity" },
  logSeverityScreen: { param: "LogSeverityScreen", form: "severity" },
  logSeveritySys: { param: "LogSeveritySys", form: "severity" },
  interfacePrefix: { param: "InterfacePrefix", form: "string" },
  defaultEndpointToHostAction: { param: "DefaultEndpointToHostAction", form: "action" },
  failsafeInboundHostPorts: { param: "FailsafeInboundHostPorts", form: "ports" },
  failsafeOutboundHostPorts: { param: "FailsafeOutboundHostPorts", form: "ports" },
  reportingInterval: { param: "ReportingIntervalSecs", form: "duration" },
  reportingTTL: { param: "ReportingTTLSecs", form: "duration" },
  endpointReportingEnabled: { param: "EndpointReportingEnabled", form: "bool" },
  endpointReportingDelay: { param: "EndpointReportingDelaySecs", form: "duration" },
  usageReportingEnabled: { param: "UsageReportingEnabled", form: "bool" },
  prometheusMetricsEnabled: { param: "PrometheusMetricsEnabled", form: "bool" },
  prometheusMetricsPort: { param: "PrometheusMetricsPort", form: "int" },
  healthEnabled: { param: "HealthEnabled", form: "bool" },
  healthHost: { param: "HealthHost", form: "string" },
  healthPort: { param: "HealthPort", form: "int" },
  disableConntrackInvalidCheck: { param: "DisableConntrackInvalidCheck", form: "bool" },
  policyAuditMode: { param: "PolicyAuditMode", form: "bool" },
  nftablesCompileMinRun: { param: "NftablesCompileMinRun", form: "int" },
  hostEndpointAllowNDP: { param: "HostEndpointAllowNDP", form: "bool" },
};

/** Every Felix parameter a FelixConfiguration owns (a whole-resource write sets or unsets each). */
export const FELIX_PARAMS: readonly string[] = Object.values(FELIX_FIELDS).map((f) => f.param);

const ACTIONS: Record<string, string> = { Drop: "DROP", Accept: "ACCEPT", Return: "RETURN" };
const SEVERITIES: Record<string, string> = {
  Debug: "DEBUG",
  Info: "INFO",
  Warning: "WARNING",
  Error: "ERROR",
  Fatal: "FATAL",
};

/** One failsafe entry as v3 writes it. */
export interface V3ProtoPort {
  readonly protocol: string;
  readonly port: number;
}

/** A decoded v3 value (before its form is applied). */
export type V3FelixValue = string | number | boolean | readonly V3ProtoPort[];

/**
 * A v3 value of `field` as the text Felix reads from etcd, checked by the parameter's own
 * parser. Throws ConfigValueError with the reason.
 */
export function felixValueToStored(field: FelixField, value: V3FelixValue): string {
  let text: string;
  switch (field.form) {
    case "string":
    case "int":
      text = String(value);
      break;
    case "bool":
      text = value ? "true" : "false";
      break;
    case "duration": {
      const secs = parseGoDuration(String(value));
      if (secs === undefined) {
        throw new ConfigValueError(`must be a duration such as 90s, 1m30s or 500ms`);
      }
      text = String(secs);
      break;
    }
    case "action":
      text = ACTIONS[String(value)] ?? _fail(`must be one of ${Object.keys(ACTIONS).join(", ")}`);
      break;
    case "severity":
      text = SEVERITIES[String(value)] ??
        _fail(`must be one of ${Object.keys(SEVERITIES).join(", ")}`);
      break;
    case "ports": {
      const list = value as readonly V3ProtoPort[];
      text = list.length === 0
        ? "none"
        : list.map((p) => `${p.protocol.toLowerCase()}:${p.port}`).join(",");
      break;
    }
  }
  // The agent's own parser decides what is valid; refuse here what it would refuse.
  const spec = paramSpec(field.param);
  if (spec && text !== "none") spec.type.parse(text, {});
  return text;
}

/**
 * A stored Felix value as its v3 value. Throws ConfigValueError when the stored text has no
 * v3 form (for example `none` for a log severity, or a value the agent would refuse).
 */
export function felixValueFromStored(field: FelixField, text: string): V3FelixValue {
  const spec = paramSpec(field.param)!;
  const raw = text.trim();
  if (raw.toLowerCase() === "none") {
    if (field.form === "ports") return [];
    if (field.form === "string") return raw;
    _fail("'none' has no v3 form");
  }
  const parsed = spec.type.parse(raw, {});
  switch (field.form) {
    case "string":
      return raw;
    case "bool":
      return parsed as boolean;
    case "int":
      return parsed as number;
    case "duration":
      return formatGoDuration(parsed as number);
    case "action":
      return _key(ACTIONS, parsed as string);
    case "severity":
      return _key(SEVERITIES, parsed as string);
    case "ports":
      return (parsed as readonly { protocol: string; port: number }[]).map((p) => ({
        protocol: p.protocol.toUpperCase(),
        port: p.port,
      }));
  }
}

function _key(table: Record<string, string>, value: string): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? _fail("has no v3 form");
}

function _fail(reason: string): never {
  throw new ConfigValueError(reason);
}
