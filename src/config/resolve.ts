/**
 * Turns every source of Felix configuration into one `FelixConfig`:
 * command-line flags > `FELIX_*` environment > INI file > etcd per-host > etcd global > default.
 * Pure: the caller hands in the raw text of each source; this returns the config or the one line
 * explaining why there is none, plus the warnings and notes to log. The agent calls it again
 * whenever etcd config changes and applies the difference live (`changedParams`).
 */
import type { Severity } from "../log/logger.ts";
import { IniSyntaxError, parseIni } from "./ini.ts";
import {
  type FelixConfig,
  lookupParam,
  PARAM_LIST,
  type ParamField,
  type ParamSpec,
  paramSpec,
} from "./params.ts";
import { ConfigValueError, type ParseContext } from "./types.ts";
import { quote } from "../log/quote.ts";

/** Everything `resolveConfig` reads; all plain data except the optional file check. */
export interface ConfigInputs {
  /** Command-line values by parameter name (any case; kebab-case also accepted). */
  readonly flags: ReadonlyMap<string, string>;
  /** The process environment; only `FELIX_*` variables (prefix in any case) are read. */
  readonly env: Readonly<Record<string, string>>;
  /** INI text, when a config file was read. */
  readonly fileText?: string;
  /** Path of that file, for messages; defaults to `/etc/calico/felix.cfg`. */
  readonly filePath?: string;
  /** `/calico/v1/config/<Name>` values by name. */
  readonly datastoreGlobal: ReadonlyMap<string, string>;
  /** `/calico/v1/host/<FelixHostname>/config/<Name>` values by name. */
  readonly datastoreHost: ReadonlyMap<string, string>;
  /** The OS host name (fallback `$HOSTNAME`): FelixHostname's default. */
  readonly detectedHostname: string;
  /** Existence check for `file(must-exist)` parameters; skipped when absent. */
  readonly fileExists?: (path: string) => boolean;
}

/** A message below warning level (unused iptables params, empty values). */
export interface ConfigNote {
  readonly severity: Extract<Severity, "DEBUG" | "INFO">;
  readonly message: string;
}

/** What `resolveConfig` returns: exactly one of `config` and `fatal` is set. */
export interface ConfigResolution {
  readonly config?: FelixConfig;
  /** One line naming the parameter, the source and the value. */
  readonly fatal?: string;
  readonly warnings: string[];
  readonly notes: ConfigNote[];
  /** Canonical parameter name -> where its value came from (`default` when nowhere). */
  readonly sources: Map<string, string>;
}

/** Default INI path (Felix's). */
export const DEFAULT_CONFIG_FILE = "/etc/calico/felix.cfg";

type SourceRank = 0 | 1 | 2 | 3 | 4;
const DATASTORE_RANK = 3;

interface RawValue {
  readonly value: string;
  /** Human description, e.g. `environment variable FELIX_LOGFILEPATH`. */
  readonly source: string;
  /** 0 = command line ... 4 = datastore global; lower wins. */
  readonly rank: SourceRank;
}

interface Collector {
  readonly warnings: string[];
  readonly notes: ConfigNote[];
  /** Canonical field -> values found, highest priority first. */
  readonly byField: Map<ParamField, RawValue[]>;
}

/** Records one raw (name, value) pair from a source, applying the name-level rules. */
function offer(
  c: Collector,
  rawName: string,
  rawValue: string,
  source: string,
  rank: SourceRank,
  seenInSource: Map<ParamField, string>,
): void {
  const hit = lookupParam(rank === 0 ? rawName.replace(/-/g, "") : rawName);
  if (hit.kind === "unknown") {
    c.warnings.push(`Ignoring unknown config param. name="${rawName}" source=${source}`);
    return;
  }
  if (hit.kind === "ignored") {
    c.notes.push({
      severity: "DEBUG",
      message: `Ignoring config param ${hit.param.name} from ${source}: ${hit.param.reason}`,
    });
    return;
  }
  const spec = hit.spec;
  if (spec.localOnly && rank >= DATASTORE_RANK) {
    c.warnings.push(
      `Ignoring local-only config param ${spec.name} from ${source}: ` +
        `set it on the command line, in the environment or in the config file`,
    );
    return;
  }
  const value = rawValue.trim();
  if (value === "") {
    c.notes.push({
      severity: "INFO",
      message: `Ignoring empty value for ${spec.name} from ${source} (use "none" to clear it)`,
    });
    return;
  }
  const list = c.byField.get(hit.field) ?? [];
  const earlier = seenInSource.get(hit.field);
  if (earlier !== undefined) {
    // Same source twice (INI duplicate, case variants, alias and canonical): the later wins.
    c.warnings.push(
      `${spec.name} is set more than once: ${source} replaces ${earlier}`,
    );
    const idx = list.findIndex((r) => r.source === earlier);
    if (idx >= 0) list.splice(idx, 1);
  }
  seenInSource.set(hit.field, source);
  // Keep the list ordered by rank; within a rank only one entry survives.
  list.push({ value, source, rank });
  list.sort((a, b) => a.rank - b.rank);
  c.byField.set(hit.field, list);
}

/** Sorted so map-order differences between runs never change which duplicate wins. */
function sortedEntries(m: ReadonlyMap<string, string>): [string, string][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

type Parsed = { ok: true; value: unknown } | { ok: false; reason: string };

function parseValue(spec: ParamSpec<unknown>, value: string, ctx: ParseContext): Parsed {
  if (value.toLowerCase() === "none") {
    return spec.nonZero
      ? { ok: false, reason: `${spec.name} cannot be none` }
      : { ok: true, value: spec.type.zero };
  }
  try {
    return { ok: true, value: spec.type.parse(value, ctx) };
  } catch (e) {
    if (e instanceof ConfigValueError) return { ok: false, reason: e.message };
    throw e;
  }
}

function invalidLine(spec: ParamSpec<unknown>, raw: RawValue, reason: string): string {
  return `Invalid value for ${spec.name} from ${raw.source}: ${quote(raw.value)}: ${reason}`;
}

function collectLocal(c: Collector, inputs: ConfigInputs): string | undefined {
  let seen = new Map<ParamField, string>();
  for (const [name, value] of inputs.flags) offer(c, name, value, "command line", 0, seen);

  seen = new Map();
  const envKeys = Object.keys(inputs.env).sort();
  for (const key of envKeys) {
    if (!/^felix_/i.test(key) || key.length <= 6) continue;
    offer(
      c,
      key.slice(6).toLowerCase(),
      inputs.env[key] ?? "",
      `environment variable ${key}`,
      1,
      seen,
    );
  }

  if (inputs.fileText !== undefined) {
    const path = inputs.filePath ?? DEFAULT_CONFIG_FILE;
    let entries;
    try {
      entries = parseIni(inputs.fileText, path);
    } catch (e) {
      if (e instanceof IniSyntaxError) return e.message;
      throw e;
    }
    seen = new Map();
    for (const en of entries) {
      offer(c, en.key, en.value, `config file ${path} line ${en.line}`, 2, seen);
    }
  }
  return undefined;
}

/**
 * Resolves the configuration. Never throws for bad input: a die-on-fail parameter with a bad
 * value, a malformed INI file, a missing host name or an unsupported datastore make `fatal`
 * one line; other bad values fall back to their default with a warning. Long on purpose: it is
 * the precedence procedure in order (local sources, per-host keys, global keys, then one pass
 * over the parameter table), read top to bottom.
 */
export function resolveConfig(inputs: ConfigInputs): ConfigResolution {
  const c: Collector = { warnings: [], notes: [], byField: new Map() };
  const sources = new Map<string, string>();
  const ctx: ParseContext = inputs.fileExists ? { fileExists: inputs.fileExists } : {};
  const fail = (fatal: string): ConfigResolution => ({
    fatal,
    warnings: c.warnings,
    notes: c.notes,
    sources,
  });

  const iniError = collectLocal(c, inputs);
  if (iniError !== undefined) return fail(iniError);

  // The per-host keys are named after the host, which only local sources can set.
  let hostname = inputs.detectedHostname;
  const hostSpec = paramSpec("FelixHostname");
  const localHost = c.byField.get("felixHostname")?.[0];
  if (hostSpec && localHost) {
    const p = parseValue(hostSpec, localHost.value, ctx);
    if (p.ok) hostname = p.value as string;
  }

  let seen = new Map<ParamField, string>();
  for (const [name, value] of sortedEntries(inputs.datastoreHost)) {
    const key = `/calico/v1/host/${hostname}/config/${name}`;
    offer(c, name, value, `datastore (per-host) key ${key}`, 3, seen);
  }
  seen = new Map();
  for (const [name, value] of sortedEntries(inputs.datastoreGlobal)) {
    offer(c, name, value, `datastore (global) key /calico/v1/config/${name}`, 4, seen);
  }

  const values: Partial<Record<ParamField, unknown>> = {};
  let fatal: string | undefined;
  for (const spec of PARAM_LIST) {
    const found = c.byField.get(spec.field) ?? [];
    const [winner, ...overridden] = found;
    for (const loser of overridden) {
      const p = parseValue(spec, loser.value, ctx);
      if (!p.ok) {
        c.warnings.push(
          `${invalidLine(spec, loser, p.reason)} (ignored: overridden by ${winner?.source})`,
        );
      }
    }
    if (!winner) {
      if (spec.field === "felixHostname") {
        const p = parseValue(spec, inputs.detectedHostname || "none", ctx);
        if (!p.ok) {
          fatal ??= `FelixHostname is not set and the OS host name ` +
            `${quote(inputs.detectedHostname)} cannot be used: ${p.reason}`;
          continue;
        }
        values[spec.field] = p.value;
        sources.set(spec.name, "default (OS host name)");
        continue;
      }
      values[spec.field] = spec.default;
      sources.set(spec.name, "default");
      continue;
    }
    const p = parseValue(spec, winner.value, ctx);
    if (p.ok) {
      values[spec.field] = p.value;
      sources.set(spec.name, winner.source);
    } else if (spec.dieOnFail) {
      fatal ??= invalidLine(spec, winner, p.reason);
    } else {
      c.warnings.push(
        `Replacing invalid value with default ${JSON.stringify(spec.type.format(spec.default))}: ` +
          invalidLine(spec, winner, p.reason),
      );
      values[spec.field] = spec.default;
      sources.set(spec.name, `default (invalid value from ${winner.source})`);
    }
  }
  if (fatal !== undefined) return fail(fatal);

  const config = values as unknown as FelixConfig;
  const problem = crossCheck(config, sources);
  if (problem !== undefined) return fail(problem);
  if (config.usageReportingEnabled) {
    c.notes.push({
      severity: "DEBUG",
      message: "UsageReportingEnabled is ignored: hostfence never reports usage",
    });
  }
  return { config, warnings: c.warnings, notes: c.notes, sources };
}

/** Checks that span parameters (Felix's `Validate`), each as one line. */
function crossCheck(cfg: FelixConfig, sources: ReadonlyMap<string, string>): string | undefined {
  if (cfg.datastoreType !== "etcdv2" && cfg.datastoreType !== "local") {
    return `Unsupported value for DatastoreType from ${sources.get("DatastoreType")}: ` +
      `${quote(cfg.datastoreType)}: hostfence supports etcdv2 and local only`;
  }
  if (cfg.datastoreType === "local") return undefined;
  if (cfg.etcdEndpoints.length === 0 && (cfg.etcdAddr === "" || cfg.etcdScheme === "")) {
    return "No etcd location configured: set EtcdEndpoints (or EtcdScheme and EtcdAddr)";
  }
  if ((cfg.etcdKeyFile === "") !== (cfg.etcdCertFile === "")) {
    return "EtcdKeyFile and EtcdCertFile must be set together " +
      `(EtcdKeyFile from ${sources.get("EtcdKeyFile")}, ` +
      `EtcdCertFile from ${sources.get("EtcdCertFile")})`;
  }
  return undefined;
}

/** The etcd URLs to connect to: EtcdEndpoints, else `EtcdScheme://EtcdAddr`, as Felix does. */
export function etcdEndpointsOf(cfg: FelixConfig): string[] {
  return cfg.etcdEndpoints.length > 0
    ? [...cfg.etcdEndpoints]
    : [`${cfg.etcdScheme}://${cfg.etcdAddr}`];
}

/**
 * Canonical names of the parameters whose values differ between two configs, in table order.
 * The agent uses it after re-resolving on an etcd config change to apply only what moved.
 */
export function changedParams(before: FelixConfig, after: FelixConfig): string[] {
  return PARAM_LIST
    .filter((p) => JSON.stringify(before[p.field]) !== JSON.stringify(after[p.field]))
    .map((p) => p.name);
}

/** A parameter's value printed the way an operator would write it. */
export function formatParam(param: string, cfg: FelixConfig): string {
  const spec = paramSpec(param);
  if (!spec) throw new RangeError(`Unknown config param ${JSON.stringify(param)}`);
  return spec.type.format(cfg[spec.field]);
}

/**
 * The start-up line for one parameter:
 * `Parameter FelixHostname (Felix compute host hostname) has value 'h1' read from default`.
 * Throws `RangeError` for a name that is not a hostfence parameter.
 */
export function describeSource(
  param: string,
  resolved: { readonly config: FelixConfig; readonly sources: ReadonlyMap<string, string> },
): string {
  const spec = paramSpec(param);
  if (!spec) throw new RangeError(`Unknown config param ${JSON.stringify(param)}`);
  const value = spec.type.format(resolved.config[spec.field]);
  const source = resolved.sources.get(spec.name) ?? "default";
  return `Parameter ${spec.name} (${spec.description}) has value ${
    quote(value, { quote: "'" })
  } read from ${source}`;
}

/** Start-up lines for every parameter, in table order. */
export function describeConfig(
  resolved: { readonly config: FelixConfig; readonly sources: ReadonlyMap<string, string> },
): string[] {
  return PARAM_LIST.map((p) => describeSource(p.name, resolved));
}
