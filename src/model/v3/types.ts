/**
 * What a v3 manifest decodes to: the internal (v1) model's resources, a network set, or a
 * FelixConfiguration, which hostfence keeps as Felix config keys rather than as a resource.
 */
import { type NetworkSetResource, type Resource, RESOURCE_KINDS } from "../resources.ts";

/**
 * A v3 FelixConfiguration as the Felix parameters it sets. `metadata.name` is `default`
 * (global keys under /calico/v1/config/) or `node.<host>` (that host's config keys).
 */
export interface FelixConfigurationResource {
  readonly kind: "felixConfiguration";
  readonly metadata: { readonly name: string };
  /** Canonical Felix parameter name (params.ts) -> its value as stored in etcd. */
  readonly spec: { readonly values: Readonly<Record<string, string>> };
}

/** Everything a manifest file can hold. */
export type ManifestResource = Resource | NetworkSetResource | FelixConfigurationResource;

/**
 * Whether a decoded manifest resource is one of the internal model's resource kinds (those
 * the datastore stores), by RESOURCE_KINDS: network sets count once the model lists them.
 */
export function isModelResource(r: ManifestResource): r is Resource {
  return (RESOURCE_KINDS as readonly string[]).includes(r.kind);
}

/** The node a FelixConfiguration name scopes to: undefined for `default`. */
export function felixConfigNode(name: string): string | undefined {
  return name.startsWith("node.") ? name.slice(5) : undefined;
}
