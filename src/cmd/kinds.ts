/**
 * Resource kinds as operators type them on the command line: case-insensitive, singular or
 * plural, with calicoctl's short aliases (`hep`, `pol`, `wep`, ...). Files keep the exact
 * spelling; only command-line arguments go through here. Pure.
 */
import { RESOURCE_KINDS, type ResourceKind } from "../model/resources.ts";

/** Every accepted spelling (lower case) and the kind it names. */
const ALIASES: ReadonlyMap<string, ResourceKind> = new Map<string, ResourceKind>([
  ...["node", "nodes", "no", "nos"].map((a) => [a, "node"] as const),
  ...["hostendpoint", "hostendpoints", "hep", "heps"].map((a) => [a, "hostEndpoint"] as const),
  ...["policy", "policies", "pol", "pols"].map((a) => [a, "policy"] as const),
  // Calico 3's name for the same kind (v3/kinds.ts).
  ...["globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"].map((a) =>
    [a, "policy"] as const
  ),
  ...["profile", "profiles", "pro", "pros"].map((a) => [a, "profile"] as const),
  ...["workloadendpoint", "workloadendpoints", "wep", "weps"].map((a) =>
    [a, "workloadEndpoint"] as const
  ),
]);

/** The kind a command-line argument names, or undefined when it names none. */
export function kindFromArgument(text: string): ResourceKind | undefined {
  return ALIASES.get(text.toLowerCase());
}

/** FelixConfiguration (v3), which is Felix config keys rather than a stored resource. */
const FELIX_CONFIGURATION_ALIASES = new Set([
  "felixconfiguration",
  "felixconfigurations",
  "felixconfig",
  "felixconfigs",
]);

/** Like kindFromArgument, also naming FelixConfiguration (for get and delete). */
export function manifestKindFromArgument(
  text: string,
): ResourceKind | "felixConfiguration" | undefined {
  if (FELIX_CONFIGURATION_ALIASES.has(text.toLowerCase())) return "felixConfiguration";
  return kindFromArgument(text);
}

/** The message for a kind argument that names no kind, listing the valid ones. */
export function unknownKindMessage(text: string): string {
  return `Resource type '${text}' is not supported; valid types are: ${
    RESOURCE_KINDS.join(", ")
  }, felixConfiguration`;
}
