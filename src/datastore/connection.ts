/**
 * Where the datastore is and how to talk to it: calicoctl's connection settings (flags, the
 * `calicoApiConfig` file, `ETCD_*`/`CALICO_ETCD_*` environment variables) resolved into one
 * ConnectionConfig, and an etcd v3 client built from it that fails fast instead of hanging.
 * `ETCD_TRANSPORT` (hostfence's own) picks the client: `http` (etcd's JSON gateway, default)
 * or `grpc` (npm:etcd3, for `etcd grpc-proxy`, which serves no gateway).
 */
import { Buffer } from "node:buffer";
import { type EtcdClient, prefixEnd } from "./etcd_client.ts";
import {
  type ConnectionConfig,
  ConnectionConfigError,
  connectionFromEnv,
  type ConnectionOptions,
  DEFAULT_CONFIG_PATH,
  parseEndpoints,
  type TlsMaterial,
} from "./connection_settings.ts";
import { firstLine } from "./connection_errors.ts";
import { type HttpClientOptions, HttpEtcdClient } from "./etcd_http.ts";
import { LazyEtcdClient } from "./lazy_client.ts";
import { checkCertificates, checkPrivateKey, keyMatchesCertificate } from "./tls_files.ts";
import { errorMessage } from "../util/error_message.ts";

// The settings and the failure vocabulary live in their own modules (the config file reader
// and the gRPC client import those without this builder); callers find them here too.
export * from "./connection_settings.ts";
export * from "./connection_errors.ts";

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
        `it for the http transport (${firstLine(errorMessage(e))}); reissue it as an ` +
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
