/**
 * Field paths of the internal (v1) model as the v3 document spells them, so a validation
 * problem found on the mapped resource points at the v3 text the operator wrote. Pure.
 */
import type { V3Kind } from "./kinds.ts";
import { V3_MODEL_KINDS, v3MovedPaths } from "./layouts.ts";

/** `metadata.node` of a HostEndpoint is `spec.node` in v3, and so on; others unchanged. */
export function v3FieldPath(kind: V3Kind, v1Path: string): string {
  if (kind === "FelixConfiguration") return v1Path;
  for (const [from, to] of v3MovedPaths(V3_MODEL_KINDS[kind])) {
    if (v1Path === from || v1Path.startsWith(from + ".") || v1Path.startsWith(from + "[")) {
      return to + v1Path.slice(from.length);
    }
  }
  return v1Path;
}
