/**
 * FelixConfiguration (v3) in the datastore: not a stored resource but the Felix config keys
 * it owns (v3/felix_config.ts), global for `default` and per host for `node.<host>`. A
 * FelixConfiguration "exists" when one of its keys is set; writing one sets its keys and
 * unsets the others it owns, as a whole-resource write does.
 */
import { AlreadyExistsError, NotExistError, type ResourceStore } from "../datastore/store.ts";
import { FELIX_PARAMS } from "../model/v3/felix_config.ts";
import { felixConfigNode, type FelixConfigurationResource } from "../model/v3/types.ts";
import type { Change } from "./lockout_guard.ts";

/** The stored FelixConfiguration `name`, or undefined when none of its keys is set. */
export async function readFelixConfiguration(
  store: ResourceStore,
  name: string,
): Promise<FelixConfigurationResource | undefined> {
  const node = felixConfigNode(name);
  const values: Record<string, string> = {};
  for (const param of FELIX_PARAMS) {
    const v = await store.getFelixConfig(param, node);
    if (v !== undefined) values[param] = v;
  }
  if (Object.keys(values).length === 0) return undefined;
  return { kind: "felixConfiguration", metadata: { name }, spec: { values } };
}

/**
 * FelixConfigurations for `get`: `name` alone, or `default` and `node.<n>` for each node in
 * `nodes`. `default` is always listed (as Calico always has it); others when they exist.
 */
export async function listFelixConfigurations(
  store: ResourceStore,
  name: string | undefined,
  nodes: readonly string[],
): Promise<FelixConfigurationResource[]> {
  const empty = (n: string): FelixConfigurationResource => ({
    kind: "felixConfiguration",
    metadata: { name: n },
    spec: { values: {} },
  });
  if (name !== undefined) {
    const found = await readFelixConfiguration(store, name);
    if (found) return [found];
    return name === "default" ? [empty(name)] : [];
  }
  const out = [(await readFelixConfiguration(store, "default")) ?? empty("default")];
  for (const node of nodes) {
    const found = await readFelixConfiguration(store, `node.${node}`);
    if (found) out.push(found);
  }
  return out;
}

function _label(name: string): string {
  return `FelixConfiguration(name=${name})`;
}

/** create/apply/replace of a FelixConfiguration, with create's and replace's checks. */
export async function writeFelixConfiguration(
  verb: "create" | "apply" | "replace",
  store: ResourceStore,
  r: FelixConfigurationResource,
  skipExists = false,
): Promise<void> {
  const node = felixConfigNode(r.metadata.name);
  if (verb !== "apply") {
    const exists = (await readFelixConfiguration(store, r.metadata.name)) !== undefined;
    if (verb === "create" && exists) {
      if (skipExists) return;
      throw new AlreadyExistsError(`resource already exists: ${_label(r.metadata.name)}`);
    }
    if (verb === "replace" && !exists) {
      throw new NotExistError(`resource does not exist: ${_label(r.metadata.name)}`);
    }
  }
  for (const param of FELIX_PARAMS) {
    await store.setFelixConfig(param, r.spec.values[param] ?? null, node);
  }
}

/** Unsets every key of FelixConfiguration `name`; NotExistError when none is set. */
export async function deleteFelixConfiguration(store: ResourceStore, name: string): Promise<void> {
  if ((await readFelixConfiguration(store, name)) === undefined) {
    throw new NotExistError(`resource does not exist: ${_label(name)}`);
  }
  const node = felixConfigNode(name);
  for (const param of FELIX_PARAMS) await store.setFelixConfig(param, null, node);
}

/** The config changes a write (or, with `values` empty, a delete) makes, for the lockout check. */
export function felixConfigurationChanges(r: FelixConfigurationResource): Change[] {
  const node = felixConfigNode(r.metadata.name);
  return FELIX_PARAMS.map((name) => ({
    kind: "config",
    name,
    ...(node !== undefined ? { node } : {}),
    value: r.spec.values[name] ?? null,
  }));
}
