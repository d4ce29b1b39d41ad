/**
 * Reading resources from calicoctl-style YAML/JSON files.
 * CONTRACT STUB: the model module owner replaces the bodies; the signatures stay.
 */
import type { Resource, SourcePosition } from "./resources.ts";

export interface LocatedResource {
  readonly resource: Resource;
  readonly position: SourcePosition;
}

/**
 * Bad input: names the file, line and column, the resource (kind and name) and the field
 * path, and says what is wrong. `message` is the complete operator-facing text.
 */
export class ResourceInputError extends Error {
  constructor(
    message: string,
    readonly position: SourcePosition,
    readonly resource?: { readonly kind: string; readonly name?: string },
    readonly field?: string,
  ) {
    super(message);
    this.name = "ResourceInputError";
  }
}

/**
 * Decodes every resource in `text` (one object, a sequence, a `...List` kind, or `---`
 * documents), strictly, and validates each. `source` names the file (`<stdin>` for `-f -`).
 * Throws ResourceInputError on the first problem.
 */
export function parseResources(_text: string, _source: string): LocatedResource[] {
  throw new Error("unimplemented");
}
