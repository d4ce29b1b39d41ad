/**
 * Value types of Felix configuration parameters: one small parser per syntax.
 * Each parser turns raw text into a typed value or throws a `ConfigValueError` whose message says
 * what was wrong, so the resolver can name the parameter, the source and the value around it.
 * Pure: existence checks on files go through a callback the caller passes in.
 */
import {
  type FailsafePort,
  FailsafeSyntaxError,
  formatFailsafePorts,
  parseFailsafePorts,
} from "./failsafe.ts";
import type { Severity } from "../log/logger.ts";

/** A raw value that does not fit its parameter's syntax; the message is the reason only. */
export class ConfigValueError extends Error {
  override name = "ConfigValueError";
}

/** What a parser may need from the outside world; absent members mean "do not check". */
export interface ParseContext {
  /** True when `path` names an existing file; only used by `file(must-exist)` parameters. */
  readonly fileExists?: (path: string) => boolean;
}

/** How one parameter's text is parsed, printed and zeroed (`none`). */
export interface ParamType<T> {
  /** Short syntax name shown in help and errors, e.g. `port-list`. */
  readonly syntax: string;
  /** Parses trimmed, non-empty text that is not `none`; throws `ConfigValueError`. */
  parse(raw: string, ctx: ParseContext): T;
  /** The value `none` selects: the type's zero value. */
  readonly zero: T;
  /** Prints a value the way an operator would type it (start-up log lines, help defaults). */
  format(value: T): string;
}

function fail(reason: string): never {
  throw new ConfigValueError(reason);
}

const BOOL_TRUE = new Set(["true", "1", "yes", "y", "t"]);
const BOOL_FALSE = new Set(["false", "0", "no", "n", "f"]);

/** Felix booleans: `true,1,yes,y,t` / `false,0,no,n,f` in any case. */
export const boolType: ParamType<boolean> = {
  syntax: "bool",
  parse(raw) {
    const v = raw.toLowerCase();
    if (BOOL_TRUE.has(v)) return true;
    if (BOOL_FALSE.has(v)) return false;
    return fail("must be a boolean (true, 1, yes, y, t, false, 0, no, n, f)");
  },
  zero: false,
  format: (v) => String(v),
};

/** Decimal integers within `[min, max]`; a sign is allowed, nothing else. */
export function intType(
  min: number,
  max: number,
  syntax = `int(${min}..${max})`,
): ParamType<number> {
  return {
    syntax,
    parse(raw) {
      if (!/^[+-]?\d+$/.test(raw)) return fail("must be a whole number");
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        return fail(`must be between ${min} and ${max}`);
      }
      return n;
    },
    zero: 0,
    format: (v) => String(v),
  };
}

/** A TCP/UDP port number, 0-65535. */
export const portType: ParamType<number> = intType(0, 65535, "port");

/** Durations in seconds; fractions allowed (`0.5`), negative and non-finite values are not. */
export const secondsType: ParamType<number> = {
  syntax: "seconds",
  parse(raw) {
    if (!/^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) {
      return fail("must be a non-negative number of seconds");
    }
    const n = Number(raw);
    if (!Number.isFinite(n)) return fail("must be a finite number of seconds");
    return n;
  },
  zero: 0,
  format: (v) => String(v),
};

/** Free text; kept exactly as given (after the resolver's trimming). */
export const stringType: ParamType<string> = {
  syntax: "string",
  parse: (raw) => raw,
  zero: "",
  format: (v) => v,
};

/**
 * One of a fixed set of words, matched case-insensitively and returned in its canonical
 * spelling (the one in `choices`), so later code compares exact strings.
 */
export function oneOfType<C extends string>(choices: readonly C[]): ParamType<C | ""> {
  const byLower = new Map(choices.map((c) => [c.toLowerCase(), c] as const));
  return {
    syntax: `oneof(${choices.join(",")})`,
    parse(raw) {
      const hit = byLower.get(raw.toLowerCase());
      return hit ?? fail(`must be one of ${choices.join(", ")}`);
    },
    zero: "",
    format: (v) => v,
  };
}

const SEVERITIES: readonly Severity[] = ["DEBUG", "INFO", "WARNING", "ERROR", "FATAL"];

/**
 * A log sink threshold. `none` (the zero value, `null`) switches the sink off. `CRITICAL`,
 * listed by old docs, is refused like any other unknown word.
 */
export const severityType: ParamType<Severity | null> = {
  syntax: `oneof(${SEVERITIES.join(",")})`,
  parse(raw) {
    const up = raw.toUpperCase();
    const hit = SEVERITIES.find((s) => s === up);
    return hit ?? fail(`must be one of ${SEVERITIES.join(", ")} (or none)`);
  },
  zero: null,
  format: (v) => v ?? "none",
};

const HOSTNAME_RE = /^[a-zA-Z0-9_.-]+$/;

/** Felix host names: letters, digits, `_`, `.`, `-` (they appear in etcd keys unescaped). */
export const hostnameType: ParamType<string> = {
  syntax: "hostname",
  parse(raw) {
    return HOSTNAME_RE.test(raw)
      ? raw
      : fail("must contain only letters, digits, '_', '.' and '-'");
  },
  zero: "",
  format: (v) => v,
};

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_NAME_RE =
  /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const IPV6_RE = /^[0-9a-fA-F:.]+$/;

function isHost(h: string): boolean {
  if (h.startsWith("[") && h.endsWith("]")) {
    const inner = h.slice(1, -1);
    return inner.includes(":") && IPV6_RE.test(inner);
  }
  return IPV4_RE.test(h) || DNS_NAME_RE.test(h);
}

/** An address to listen on: an IPv4 address, a bracket-less IPv6 address or a DNS name. */
export const listenHostType: ParamType<string> = {
  syntax: "host",
  parse(raw) {
    if (raw.includes(":")) {
      return IPV6_RE.test(raw) ? raw : fail("must be an IP address or host name");
    }
    return isHost(raw) ? raw : fail("must be an IP address or host name");
  },
  zero: "",
  format: (v) => v,
};

function checkPortText(p: string): number {
  if (!/^\d{1,5}$/.test(p)) return fail(`port "${p}" must be a number`);
  const n = Number(p);
  if (n > 65535) return fail(`port ${n} must be in the range 0-65535`);
  return n;
}

/** `host:port` (EtcdAddr); an IPv6 host goes in brackets. */
export const authorityType: ParamType<string> = {
  syntax: "host:port",
  parse(raw) {
    const m = /^(.*):([^:\]]*)$/.exec(raw);
    if (!m || m[1] === undefined || m[2] === undefined || m[1] === "") {
      return fail("must be host:port");
    }
    if (!isHost(m[1])) return fail(`host "${m[1]}" is not an IP address or host name`);
    checkPortText(m[2]);
    return raw;
  },
  zero: "",
  format: (v) => v,
};

const ENDPOINT_RE = /^(https?):\/\/(\[[^\]]*\]|[^:/?#@[\]]*)(?::([^/?#]*))?\/?$/i;

/**
 * Comma list of etcd endpoints, each `http(s)://host:port`. A user, path, query or fragment
 * is refused (etcd clients would silently drop them), the port is required (a URL default of
 * 80/443 is never where etcd listens) and all endpoints must share one scheme. A trailing `/` is
 * dropped. Endpoints come back as `scheme://host:port` with the scheme lower-cased.
 */
export const endpointListType: ParamType<readonly string[]> = {
  syntax: "endpoint-list",
  parse(raw) {
    const out: string[] = [];
    let scheme: string | undefined;
    for (const part of raw.split(",")) {
      const ep = part.trim();
      if (ep === "") continue;
      if (ep.includes("@")) return fail(`endpoint "${ep}" must not contain user information`);
      const m = ENDPOINT_RE.exec(ep);
      if (!m || m[1] === undefined || m[2] === undefined) {
        if (/^https?:\/\/[^/?#]*[/?#]./i.test(ep)) {
          return fail(`endpoint "${ep}" must not contain a path, query or fragment`);
        }
        return fail(`endpoint "${ep}" must be http://host:port or https://host:port`);
      }
      const s = m[1].toLowerCase();
      if (!isHost(m[2])) return fail(`endpoint "${ep}" has an invalid host "${m[2]}"`);
      if (m[3] === undefined || m[3] === "") return fail(`endpoint "${ep}" must include a port`);
      const port = checkPortText(m[3]);
      if (scheme !== undefined && s !== scheme) {
        return fail("all endpoints must use the same scheme (http or https)");
      }
      scheme = s;
      out.push(`${s}://${m[2]}:${port}`);
    }
    if (out.length === 0) return fail("must list at least one endpoint (or be none)");
    return out;
  },
  zero: [],
  format: (v) => v.join(","),
};

const IFACE_PREFIX_RE = /^[a-zA-Z0-9_-]{1,15}$/;

/** InterfacePrefix: comma list of prefixes, each `[a-zA-Z0-9_-]{1,15}`. */
export const ifaceListType: ParamType<readonly string[]> = {
  syntax: "iface-list",
  parse(raw) {
    const items = raw.split(",").map((s) => s.trim());
    for (const item of items) {
      if (!IFACE_PREFIX_RE.test(item)) {
        return fail(
          item === ""
            ? "must not contain an empty prefix"
            : `prefix "${item}" must be 1-15 of letters, digits, '_' and '-'`,
        );
      }
    }
    return items;
  },
  zero: [],
  format: (v) => v.join(","),
};

/**
 * Felix failsafe port lists (failsafe.ts has the syntax): `proto:port`, a bare `port` (tcp) or
 * Calico 3's `proto:net:port` (`tcp:[2001:db8::/32]:22` for IPv6), comma separated, spaces
 * trimmed, empty items skipped, exact duplicates dropped (first wins).
 */
export const portListType: ParamType<readonly FailsafePort[]> = {
  syntax: "port-list",
  parse(raw) {
    try {
      return parseFailsafePorts(raw);
    } catch (err) {
      if (err instanceof FailsafeSyntaxError) return fail(err.message);
      throw err;
    }
  },
  zero: [],
  format: formatFailsafePorts,
};

/**
 * A file path. It must be absolute (a relative path would depend on the agent's working
 * directory). With `mustExist` the file is checked through `ctx.fileExists` when one is given.
 */
export function fileType(mustExist: boolean): ParamType<string> {
  return {
    syntax: mustExist ? "file(must-exist)" : "file",
    parse(raw, ctx) {
      if (!raw.startsWith("/")) return fail("must be an absolute path");
      if (raw.includes("\0")) return fail("must not contain a NUL character");
      if (mustExist && ctx.fileExists && !ctx.fileExists(raw)) {
        return fail("file does not exist");
      }
      return raw;
    },
    zero: "",
    format: (v) => v === "" ? "none" : v,
  };
}

/** Counts the set bits of a 32-bit value. */
export function bitCount(n: number): number {
  let v = n >>> 0;
  let c = 0;
  while (v !== 0) {
    c += v & 1;
    v >>>= 1;
  }
  return c;
}

/**
 * IptablesMarkMask: a 32-bit unsigned integer in decimal, `0x` hex or `0o`/leading-`0` octal,
 * with at least two bits set (the accept and pass marks need one bit each).
 */
export const markMaskType: ParamType<number> = {
  syntax: "mark-bitmask",
  parse(raw) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(raw)) n = parseInt(raw.slice(2), 16);
    else if (/^0[oO][0-7]+$/.test(raw)) n = parseInt(raw.slice(2), 8);
    else if (/^0[0-7]+$/.test(raw)) n = parseInt(raw.slice(1), 8);
    else if (/^\d+$/.test(raw)) n = Number(raw);
    else return fail("must be a 32-bit number (decimal or 0x hex)");
    if (!Number.isSafeInteger(n) || n > 0xffffffff) return fail("must fit in 32 bits");
    if (bitCount(n) < 2) return fail("must have at least 2 bits set");
    return n;
  },
  zero: 0,
  format: (v) => "0x" + (v >>> 0).toString(16).padStart(8, "0"),
};
