/**
 * Field validation of resources (spec 1.2 with the 0' changes).
 * CONTRACT STUB: the model module owner replaces the bodies; the signatures stay.
 */
import type { Resource } from "./resources.ts";

/** One failed check, in calicoctl's terms: `error with field NAME = 'VALUE' (REASON)`. */
export interface ValidationIssue {
  /** Path inside the resource, e.g. `spec.ingress[0].destination.ports`. */
  readonly path: string;
  /** calicoctl's field name, e.g. `InterfaceName`, `Protocol`. */
  readonly field: string;
  readonly value: unknown;
  readonly reason: string;
}

/** All problems with one resource; empty when it is valid. Pure. */
export function validateResource(_resource: Resource): ValidationIssue[] {
  throw new Error("unimplemented");
}

/** calicoctl's rendering of issues (`error with field ...` / `error with the following fields:`). */
export function formatIssues(_issues: readonly ValidationIssue[]): string {
  throw new Error("unimplemented");
}
