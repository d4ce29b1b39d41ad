/**
 * The Calico v3 (`apiVersion: projectcalico.org/v3`) kinds hostfence reads and how each maps
 * to the internal (v1) model. A leaf module with no imports, so the v1 decoder can dispatch
 * on it without an import cycle.
 */

export const V3_API_VERSION = "projectcalico.org/v3";

/** The v3 kinds hostfence accepts, spelled as in Calico 3 files. */
export type V3Kind =
  | "HostEndpoint"
  | "GlobalNetworkPolicy"
  | "GlobalNetworkSet"
  | "Profile"
  | "Node"
  | "FelixConfiguration";

export const V3_KINDS: readonly V3Kind[] = [
  "HostEndpoint",
  "GlobalNetworkPolicy",
  "GlobalNetworkSet",
  "Profile",
  "Node",
  "FelixConfiguration",
];

/** `kind: List` holds v3 items of any of the kinds above. */
export const V3_LIST_KIND = "List";

/** Whether an envelope names a v3 kind we read. */
export function isV3Kind(apiVersion: string, kind: string): kind is V3Kind {
  return apiVersion === V3_API_VERSION && (V3_KINDS as readonly string[]).includes(kind);
}

/** The item kind of a `<Kind>List` (e.g. GlobalNetworkPolicyList), `"*"` for `List`. */
export function v3ListItemKind(apiVersion: string, kind: string): V3Kind | "*" | undefined {
  if (apiVersion !== V3_API_VERSION) return undefined;
  if (kind === V3_LIST_KIND) return "*";
  const item = kind.endsWith("List") ? kind.slice(0, -4) : "";
  return isV3Kind(apiVersion, item) ? item : undefined;
}
