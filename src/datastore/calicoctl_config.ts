/**
 * calicoctl's config file (`calicoApiConfig`, YAML or JSON), in its own module so the YAML
 * parser is loaded only when there is such a file to read (the agent never has one).
 */
import { parse as parseYaml } from "yaml";
import { quote } from "../log/quote.ts";
import {
  checkDatastoreType,
  type ConnectionConfig,
  ConnectionConfigError,
  DEFAULT_AUTHORITY,
  parseEndpoints,
  withOptional,
} from "./connection_settings.ts";
import { errorMessage } from "../util/error_message.ts";

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
    fail(errorMessage(e).split("\n")[0] ?? "invalid YAML");
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
  checkDatastoreType(values.datastoreType, `config file ${path}`);
  const endpoints = parseEndpoints(values.endpoints ?? DEFAULT_AUTHORITY);
  return withOptional({ endpoints }, {
    username: values.username,
    password: values.password,
    keyFile: values.keyFile,
    certFile: values.certFile,
    caCertFile: values.caCertFile,
  });
}
