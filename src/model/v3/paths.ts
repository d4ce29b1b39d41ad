/**
 * Field paths of the internal (v1) model as the v3 document spells them, so a validation
 * problem found on the mapped resource points at the v3 text the operator wrote. Pure.
 */
import type { V3Kind } from "./kinds.ts";

const MOVED: Partial<Record<V3Kind, readonly (readonly [string, string])[]>> = {
  HostEndpoint: [["metadata.node", "spec.node"]],
  Profile: [["metadata.labels", "spec.labelsToApply"]],
};

/** `metadata.node` of a HostEndpoint is `spec.node` in v3, and so on; others unchanged. */
export function v3FieldPath(kind: V3Kind, v1Path: string): string {
  for (const [from, to] of MOVED[kind] ?? []) {
    if (v1Path === from || v1Path.startsWith(from + ".") || v1Path.startsWith(from + "[")) {
      return to + v1Path.slice(from.length);
    }
  }
  return v1Path;
}
