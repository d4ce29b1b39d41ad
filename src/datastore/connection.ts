/**
 * Where the datastore is and how to talk to it: calicoctl's connection settings (flags, the
 * `calicoApiConfig` file, `ETCD_*`/`CALICO_ETCD_*` environment variables) resolved into one
 * ConnectionConfig, and an etcd v3 client built from it that fails fast instead of hanging.
 */
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { Etcd3, type IOptions } from "etcd3";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { DatastoreUnavailableError } from "./store.ts";
import { quote } from "../log/quote.ts";

/** Everything needed to reach etcd. Endpoints always carry their scheme. */
export interface ConnectionConfig {
  readonly endpoints: readonly string[];
  readonly username?: string;
  readonly password?: string;
  readonly keyFile?: string;
  readonly certFile?: string;
  readonly caCertFile?: string;
}

/** A connection setting that cannot be used (bad file, bad endpoint list). */
export class ConnectionConfigError extends Error {
  override name = "ConnectionConfigError";
}

/** calicoctl's default `-c/--config` path. */
export const DEFAULT_CONFIG_PATH = "/etc/calico/calicoctl.cfg";

export interface ConnectionOptions {
  /** `--etcd-endpoints`: a comma list; wins over the file and the environment. */
  readonly endpoints?: string;
  /** `-c/--config` as given by the operator; unreadable is then an error. */
  readonly configFile?: string;
  /** Path tried when `configFile` is absent; unreadable means "use the environment". */
  readonly defaultConfigFile?: string;
  /** Environment lookup; defaults to `Deno.env.get`. */
  readonly env?: (name: string) => string | undefined;
}

const DEFAULT_AUTHORITY = "127.0.0.1:2379";
const DEFAULT_SCHEME = "http";

/** Splits a comma list of endpoints, adding `http://` where no scheme was given. */
export function parseEndpoints(text: string, scheme = DEFAULT_SCHEME): string[] {
  const out: string[] = [];
  for (const raw of text.split(",")) {
    const e = raw.trim().replace(/\/+$/, "");
    if (e === "") continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) {
      if (!/^https?:\/\//i.test(e)) {
        throw new ConnectionConfigError(
          `Invalid etcd endpoint '${e}': only http:// and https:// are supported`,
        );
      }
      out.push(e);
    } else {
      out.push(`${scheme}://${e}`);
    }
  }
  if (out.length === 0) throw new ConnectionConfigError(`Invalid etcd endpoint list '${text}'`);
  return out;
}

/** calicoctl/libcalico-go env lookup: `CALICO_<NAME>` wins, the bare name is the fallback. */
function _envValue(env: (n: string) => string | undefined, name: string): string | undefined {
  // An empty variable counts as unset, so `CALICO_ETCD_ENDPOINTS=` does not hide ETCD_ENDPOINTS.
  const nonEmpty = (v: string | undefined) => v === undefined || v === "" ? undefined : v;
  return nonEmpty(env(`CALICO_${name}`)) ?? nonEmpty(env(name));
}

/** The connection settings in the environment, with calicoctl's defaults. */
export function connectionFromEnv(env: (name: string) => string | undefined): ConnectionConfig {
  const datastoreType = _envValue(env, "DATASTORE_TYPE");
  _checkDatastoreType(datastoreType, "environment variable DATASTORE_TYPE");
  const scheme = _envValue(env, "ETCD_SCHEME") ?? DEFAULT_SCHEME;
  const endpointsText = _envValue(env, "ETCD_ENDPOINTS");
  const endpoints = endpointsText !== undefined
    ? parseEndpoints(endpointsText, scheme)
    : parseEndpoints(_envValue(env, "ETCD_AUTHORITY") ?? DEFAULT_AUTHORITY, scheme);
  return _withOptional({ endpoints }, {
    username: _envValue(env, "ETCD_USERNAME"),
    password: _envValue(env, "ETCD_PASSWORD"),
    keyFile: _envValue(env, "ETCD_KEY_FILE"),
    certFile: _envValue(env, "ETCD_CERT_FILE"),
    caCertFile: _envValue(env, "ETCD_CA_CERT_FILE"),
  });
}

function _withOptional(
  base: { endpoints: readonly string[] },
  extra: Record<string, string | undefined>,
): ConnectionConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as unknown as ConnectionConfig;
}

function _checkDatastoreType(value: string | undefined, where: string) {
  if (value === undefined || value === "etcdv2" || value === "etcdv3") return;
  throw new ConnectionConfigError(
    `Unsupported datastore type '${value}' in ${where}: hostfence only supports etcd`,
  );
}

const SPEC_FIELDS: Record<string, keyof ConnectionConfig | "datastoreType" | "endpoints"> = {
  datastoreType: "datastoreType",
  etcdEndpoints: "endpoints",
  etcdUsername: "username",
  etcdPassword: "password",
  etcdKeyFile: "keyFile",
  etcdCertFile: "certFile",
  etcdCACertFile: "caCertFile",
};

/**
 * Decodes a calicoctl `calicoApiConfig` document (YAML or JSON) strictly: unknown fields
 * and wrong types are errors naming the field. Throws ConnectionConfigError.
 */
export function parseCalicoctlConfig(text: string, path: string): ConnectionConfig {
  const fail = (what: string): never => {
    throw new ConnectionConfigError(`Error parsing config file ${path}: ${what}`);
  };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail((e as Error).message.split("\n")[0] ?? "invalid YAML");
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) fail("expected a calicoApiConfig object");
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (!["apiVersion", "kind", "metadata", "spec"].includes(k)) fail(`unknown field '${k}'`);
  }
  if (top.apiVersion !== undefined && top.apiVersion !== "v1") {
    fail(`apiVersion must be 'v1', got '${String(top.apiVersion)}'`);
  }
  if (top.kind !== undefined && top.kind !== "calicoApiConfig") {
    fail(`kind must be 'calicoApiConfig', got '${String(top.kind)}'`);
  }
  if (
    top.metadata !== undefined && top.metadata !== null &&
    (typeof top.metadata !== "object" || Array.isArray(top.metadata) ||
      Object.keys(top.metadata).length > 0)
  ) {
    fail("metadata must be an empty object");
  }
  const spec = top.spec ?? {};
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    fail("spec must be an object");
  }
  const values: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(spec as Record<string, unknown>)) {
    const target = SPEC_FIELDS[k];
    if (target === undefined) fail(`unknown field 'spec.${k}'`);
    if (v === null || v === undefined) continue;
    if (typeof v !== "string") fail(`field 'spec.${k}' must be a string, got ${quote(v)}`);
    values[target as string] = v === "" ? undefined : v as string;
  }
  _checkDatastoreType(values.datastoreType, `config file ${path}`);
  const endpoints = parseEndpoints(values.endpoints ?? DEFAULT_AUTHORITY);
  return _withOptional({ endpoints }, {
    username: values.username,
    password: values.password,
    keyFile: values.keyFile,
    certFile: values.certFile,
    caCertFile: values.caCertFile,
  });
}

/**
 * Resolves the connection the way calicoctl does: the config file when it can be read
 * (an explicitly given one must be readable: `Error reading config file: <path>`), else the
 * environment; `--etcd-endpoints` then overrides the endpoints. Throws ConnectionConfigError.
 */
export async function resolveConnectionConfig(
  opts: ConnectionOptions = {},
): Promise<ConnectionConfig> {
  const env = opts.env ?? ((n: string) => Deno.env.get(n));
  let base: ConnectionConfig | undefined;
  const path = opts.configFile ?? opts.defaultConfigFile ?? DEFAULT_CONFIG_PATH;
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    if (opts.configFile !== undefined) {
      throw new ConnectionConfigError(`Error reading config file: ${path}`);
    }
  }
  base = text !== undefined ? parseCalicoctlConfig(text, path) : connectionFromEnv(env);
  if (opts.endpoints !== undefined) base = { ...base, endpoints: parseEndpoints(opts.endpoints) };
  return base;
}

/** How long one unary etcd call may take before it counts as "cannot connect". */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type Policy = NonNullable<FaultHandling["global"]>;

/**
 * A pass-through fault policy. etcd3's defaults retry three times and open a 5 s circuit
 * breaker after failures, which turns an etcd restart into seconds of instant failures;
 * our callers do their own retrying, so each call goes straight to the wire.
 */
const _noopPolicy = {
  execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) {
    return Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal }));
  },
  onSuccess: () => ({ dispose() {} }),
  onFailure: () => ({ dispose() {} }),
} as unknown as Policy;

/**
 * etcd3 re-dials a broken watch stream after a backoff timer that is never cleared on close.
 * A zero delay keeps that timer from outliving the client (and tests' sanitizers happy);
 * the syncer cancels its watcher on disconnect and does its own backoff.
 */
const _immediateBackoff = {
  duration: 0,
  next() {
    return _immediateBackoff;
  },
} as unknown as NonNullable<FaultHandling["watchBackoff"]>;

export interface ClientOptions {
  /** Deadline for each unary call; default DEFAULT_CALL_TIMEOUT_MS. */
  readonly callTimeoutMs?: number;
}

/**
 * Builds an etcd3 client for `conn`: TLS and password auth from the config, a deadline on
 * every unary call and no hidden retries, so an unreachable etcd fails within the deadline.
 * Reads the TLS files now; throws ConnectionConfigError naming a file it cannot read.
 */
export function createEtcdClient(conn: ConnectionConfig, opts: ClientOptions = {}): Etcd3 {
  const timeout = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const options: IOptions = {
    hosts: [...conn.endpoints],
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + timeout },
    faultHandling: {
      host: () => _noopPolicy,
      global: _noopPolicy,
      watchBackoff: _immediateBackoff,
    },
  };
  const tls = readTlsCredentials(conn);
  if (tls) options.credentials = tls;
  if (conn.username !== undefined) {
    options.auth = {
      username: conn.username,
      password: conn.password ?? "",
      callOptions: { deadline: Date.now() + timeout },
    };
  }
  const client = new Etcd3(options);
  if (tls) _verifyIpEndpoints(client, tls);
  return client;
}

/** An SNI name for endpoints given as IP addresses; never looked up, only sent. */
const _IP_SNI_NAME = "etcd.hostfence.invalid";

/**
 * Deno's TLS refuses an IP address as the SNI server name, which grpc-js sends for an
 * endpoint such as `https://198.18.0.1:2379`. For those hosts only, send a placeholder name
 * instead and verify the certificate against the endpoint's IP address ourselves, so the
 * check is exactly as strict as before. Hosts given by name are left untouched.
 */
function _verifyIpEndpoints(
  client: Etcd3,
  tls: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer },
) {
  type PoolHost = {
    host: string;
    channelCredentials: unknown;
    channelOptions: Record<string, unknown> | undefined;
  };
  const hosts = (client as unknown as { pool: { hosts: PoolHost[] } }).pool.hosts;
  for (const h of hosts) {
    const name = h.host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (!isIP(name)) continue;
    h.channelCredentials = grpcCredentials.createSsl(
      tls.rootCertificate ?? null,
      tls.privateKey ?? null,
      tls.certChain ?? null,
      {
        checkServerIdentity: (_sni: string, cert: PeerCertificate) =>
          checkServerIdentity(name, cert),
      },
    );
    h.channelOptions = {
      ...(h.channelOptions ?? {}),
      "grpc.ssl_target_name_override": _IP_SNI_NAME,
    };
  }
}

/** The TLS material etcd3 wants, or undefined when no TLS file is configured. */
export function readTlsCredentials(
  conn: ConnectionConfig,
): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } | undefined {
  if (conn.caCertFile === undefined && conn.certFile === undefined && conn.keyFile === undefined) {
    return undefined;
  }
  if ((conn.certFile === undefined) !== (conn.keyFile === undefined)) {
    throw new ConnectionConfigError(
      "Both an etcd client certificate and key file are needed for TLS client authentication " +
        `(certificate: ${conn.certFile ?? "unset"}, key: ${conn.keyFile ?? "unset"})`,
    );
  }
  const read = (path: string, what: string) => {
    try {
      return Buffer.from(Deno.readFileSync(path));
    } catch (e) {
      throw new ConnectionConfigError(
        `Cannot read etcd ${what} file ${path}: ${(e as Error).message}`,
      );
    }
  };
  const out: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } = {
    // grpc falls back to the system roots when no CA is given.
    rootCertificate: conn.caCertFile !== undefined
      ? read(conn.caCertFile, "CA certificate")
      : (undefined as unknown as Buffer),
  };
  if (conn.keyFile !== undefined) out.privateKey = read(conn.keyFile, "key");
  if (conn.certFile !== undefined) out.certChain = read(conn.certFile, "certificate");
  return out;
}

/** True for the errors that mean "etcd is not reachable" rather than "etcd said no". */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const name = e.constructor?.name ?? e.name;
  return name === "GRPCUnavailableError" || name === "GRPCDeadlineExceededError" ||
    name === "GRPCCancelledError" || name === "EtcdWatchStreamEnded" ||
    name === "GRPCInternalError" ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established/.test(e.message);
}

/** Short reason for a connection failure, e.g. `connection refused`. */
export function connectionFailureReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/ECONNREFUSED/.test(msg)) return "connection refused";
  if (/DEADLINE_EXCEEDED|deadline/i.test(msg)) return "timed out";
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/.test(msg)) return "host not found";
  if (/EHOSTUNREACH|ENETUNREACH/.test(msg)) return "host unreachable";
  if (/certificate|SSL|TLS|handshake/i.test(msg)) return `TLS error (${_firstLine(msg)})`;
  return _firstLine(msg.replace(/^\d+ [A-Z_]+: /, ""));
}

function _firstLine(s: string): string {
  return (s.split("\n")[0] ?? s).trim();
}

/** `Cannot connect to etcd at http://127.0.0.1:1: connection refused` */
export function unavailableError(conn: ConnectionConfig, e: unknown): DatastoreUnavailableError {
  return new DatastoreUnavailableError(
    `Cannot connect to etcd at ${conn.endpoints.join(",")}: ${connectionFailureReason(e)}`,
  );
}
