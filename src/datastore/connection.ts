/**
 * Where the datastore is and how to talk to it: calicoctl's connection settings (flags, the
 * `calicoApiConfig` file, `ETCD_*`/`CALICO_ETCD_*` environment variables) resolved into one
 * ConnectionConfig, and an etcd v3 client built from it that fails fast instead of hanging.
 * `ETCD_TRANSPORT` (hostfence's own) picks the client: `http` (etcd's JSON gateway, default)
 * or `grpc` (npm:etcd3, for `etcd grpc-proxy`, which serves no gateway).
 */
import { Buffer } from "node:buffer";
import { DatastoreUnavailableError } from "./store.ts";
import {
  ETCD_TRANSPORTS,
  type EtcdClient,
  type EtcdTransport,
  EtcdUnavailableError,
  prefixEnd,
} from "./etcd_client.ts";
import { type HttpClientOptions, HttpEtcdClient } from "./etcd_http.ts";
import { LazyEtcdClient } from "./lazy_client.ts";
import { checkCertificates, checkPrivateKey, keyMatchesCertificate } from "./tls_files.ts";
import { errorMessage } from "../util/error_message.ts";

/** Everything needed to reach etcd. Endpoints always carry their scheme. */
export interface ConnectionConfig {
  readonly endpoints: readonly string[];
  readonly username?: string;
  readonly password?: string;
  readonly keyFile?: string;
  readonly certFile?: string;
  readonly caCertFile?: string;
  /** Which client talks to etcd; absent = `http`. */
  readonly transport?: EtcdTransport;
}

/** The TLS material read from the configured files (PEM bytes). */
export interface TlsMaterial {
  readonly rootCertificate: Buffer;
  readonly privateKey?: Buffer;
  readonly certChain?: Buffer;
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

/** etcd's address when nothing names one (calicoctl's default). */
export const DEFAULT_AUTHORITY = "127.0.0.1:2379";
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
  checkDatastoreType(datastoreType, "environment variable DATASTORE_TYPE");
  const scheme = _envValue(env, "ETCD_SCHEME") ?? DEFAULT_SCHEME;
  const endpointsText = _envValue(env, "ETCD_ENDPOINTS");
  const endpoints = endpointsText !== undefined
    ? parseEndpoints(endpointsText, scheme)
    : parseEndpoints(_envValue(env, "ETCD_AUTHORITY") ?? DEFAULT_AUTHORITY, scheme);
  return withOptional({ endpoints }, {
    transport: parseTransport(
      _envValue(env, "ETCD_TRANSPORT"),
      "environment variable ETCD_TRANSPORT",
    ),
    username: _envValue(env, "ETCD_USERNAME"),
    password: _envValue(env, "ETCD_PASSWORD"),
    keyFile: _envValue(env, "ETCD_KEY_FILE"),
    certFile: _envValue(env, "ETCD_CERT_FILE"),
    caCertFile: _envValue(env, "ETCD_CA_CERT_FILE"),
  });
}

/** `base` plus each of `optional` that is set (exactOptionalPropertyTypes-friendly). */
export function withOptional(
  base: { endpoints: readonly string[] },
  extra: Record<string, string | undefined>,
): ConnectionConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as unknown as ConnectionConfig;
}

/** `http`/`grpc` (case-insensitive), undefined when unset; ConnectionConfigError otherwise. */
export function parseTransport(
  value: string | undefined,
  where: string,
): EtcdTransport | undefined {
  if (value === undefined) return undefined;
  const t = value.toLowerCase();
  if ((ETCD_TRANSPORTS as readonly string[]).includes(t)) return t as EtcdTransport;
  throw new ConnectionConfigError(
    `Invalid etcd transport '${value}' in ${where}: use ${ETCD_TRANSPORTS.join(" or ")}`,
  );
}

/** Throws ConnectionConfigError unless the datastore type is one hostfence speaks. */
export function checkDatastoreType(value: string | undefined, where: string) {
  if (value === undefined || value === "etcdv2" || value === "etcdv3") return;
  throw new ConnectionConfigError(
    `Unsupported datastore type '${value}' in ${where}: hostfence only supports etcd`,
  );
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
  // The YAML parser is loaded only when there is a file to read: the agent never needs it.
  base = text !== undefined
    ? (await import("./calicoctl_config.ts")).parseCalicoctlConfig(text, path)
    : connectionFromEnv(env);
  if (opts.endpoints !== undefined) base = { ...base, endpoints: parseEndpoints(opts.endpoints) };
  return base;
}

/** How long one unary etcd call may take before it counts as "cannot connect". */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

export interface ClientOptions {
  /** Deadline for each unary call; default DEFAULT_CALL_TIMEOUT_MS. */
  readonly callTimeoutMs?: number;
}

/**
 * Builds the etcd client for `conn` on its transport (the JSON gateway unless `grpc` is
 * asked for): TLS and password auth from the config, a deadline on every unary call and no
 * hidden retries beyond endpoint failover, so an unreachable etcd fails within the deadline.
 * Reads and checks the TLS files now; throws ConnectionConfigError naming a file it cannot use.
 */
export function createEtcdClient(conn: ConnectionConfig, opts: ClientOptions = {}): EtcdClient {
  const timeout = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const tls = readTlsCredentials(conn);
  // gRPC and protobuf load only here: the default path never imports etcd3.
  const grpc = () =>
    new LazyEtcdClient(
      "grpc",
      import("./etcd_grpc.ts").then((m) => new m.GrpcEtcdClient(conn, tls, timeout, prefixEnd)),
    );
  if (conn.transport === "grpc") return grpc();
  const pem = (b: Uint8Array | undefined) => b === undefined ? undefined : decoder.decode(b);
  const options: HttpClientOptions = { endpoints: conn.endpoints, callTimeoutMs: timeout };
  const extra: Record<string, string | undefined> = {
    caCert: pem(tls?.rootCertificate),
    cert: pem(tls?.certChain),
    key: pem(tls?.privateKey),
    username: conn.username,
    password: conn.password,
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) (options as unknown as Record<string, string>)[k] = v;
  }
  try {
    return new HttpEtcdClient(options);
  } catch (e) {
    // Deno's TLS (rustls) refuses some certificates OpenSSL and gRPC take, such as an X.509
    // v1 client certificate (`openssl x509 -req` without extensions). Unless HTTP was asked
    // for by name, such a file is used through the gRPC client instead.
    if (conn.transport === undefined) return grpc();
    throw new ConnectionConfigError(
      `Invalid etcd certificate file ${conn.certFile ?? conn.caCertFile}: Deno's TLS refuses ` +
        `it for the http transport (${_firstLine(errorMessage(e))}); reissue it as an ` +
        "X.509 v3 certificate or use the grpc transport",
    );
  }
}

const decoder = new TextDecoder();

/** The TLS material, or undefined when no TLS file is configured. */
export function readTlsCredentials(conn: ConnectionConfig): TlsMaterial | undefined {
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
        `Cannot read etcd ${what} file ${path}: ${errorMessage(e)}`,
      );
    }
  };
  const refuse = (what: string, path: string, problem: string): never => {
    throw new ConnectionConfigError(`Invalid etcd ${what} file ${path}: ${problem}`);
  };
  const out: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } = {
    // grpc falls back to the system roots when no CA is given.
    rootCertificate: undefined as unknown as Buffer,
  };
  if (conn.caCertFile !== undefined) {
    out.rootCertificate = read(conn.caCertFile, "CA certificate");
    const ca = checkCertificates(out.rootCertificate);
    if ("problem" in ca) refuse("CA certificate", conn.caCertFile, ca.problem);
  }
  if (conn.keyFile !== undefined && conn.certFile !== undefined) {
    out.privateKey = read(conn.keyFile, "key");
    out.certChain = read(conn.certFile, "certificate");
    const key = checkPrivateKey(out.privateKey);
    if ("problem" in key) return refuse("key", conn.keyFile, key.problem);
    const cert = checkCertificates(out.certChain);
    if ("problem" in cert) return refuse("certificate", conn.certFile, cert.problem);
    if (!keyMatchesCertificate(cert.certs[0]!, key.key)) {
      refuse(
        "key",
        conn.keyFile,
        `it is not the private key of the certificate in ${conn.certFile}`,
      );
    }
  }
  return out;
}

/** True for the errors that mean "etcd is not reachable" rather than "etcd said no". */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof EtcdUnavailableError) return true;
  const name = e.constructor?.name ?? e.name;
  return name === "GRPCUnavailableError" || name === "GRPCDeadlineExceededError" ||
    name === "GRPCCancelledError" || name === "EtcdWatchStreamEnded" ||
    name === "GRPCInternalError" ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established/.test(e.message);
}

/** Short reason for a connection failure, e.g. `connection refused`. */
export function connectionFailureReason(e: unknown): string {
  const msg = errorMessage(e);
  if (/ECONNREFUSED|connection refused/i.test(msg)) return "connection refused";
  if (/DEADLINE_EXCEEDED|deadline|timed out/i.test(msg)) return "timed out";
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|dns error/.test(msg)) return "host not found";
  if (/EHOSTUNREACH|ENETUNREACH|no route to host|network is unreachable/i.test(msg)) {
    return "host unreachable";
  }
  const blocked = /Requests to port (\d+) are blocked/.exec(msg);
  if (blocked) {
    return `Deno's fetch refuses port ${blocked[1]} (a blocked port); use another port or ` +
      "ETCD_TRANSPORT=grpc";
  }
  if (/certificate|SSL|TLS|handshake/i.test(msg)) {
    return `TLS error (${_firstLine(msg.replace(/^.*client error \(Connect\): /, ""))})`;
  }
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
