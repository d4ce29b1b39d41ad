/**
 * calicoctl's connection settings as data: the ConnectionConfig every client is built from,
 * the endpoint list syntax, and the `ETCD_*`/`CALICO_ETCD_*` environment. Pure (the
 * environment is passed in); the config file reader (calicoctl_config.ts) and the client
 * builder (connection.ts) both stand on it.
 */
import type { Buffer } from "node:buffer";
import { ETCD_TRANSPORTS, type EtcdTransport } from "./etcd_client.ts";

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
