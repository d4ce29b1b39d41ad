/**
 * Calico label selectors (spec section 3 plus the 0' additions).
 * CONTRACT STUB: the selector module owner replaces the bodies; the signatures stay.
 */

/** Looks a label up on an endpoint; `undefined` when the endpoint does not have it. */
export type LabelLookup = (key: string) => string | undefined;

/** A parsed selector. */
export interface Selector {
  /** The canonical text (spec 3.3). */
  readonly canonical: string;
  /** `"s:" + base64url_nopad(SHA-224("s:" + canonical))`, the IP-set id. */
  readonly uniqueId: string;
  evaluate(labels: LabelLookup): boolean;
}

/** A selector that does not parse; `position` is the 0-based character offset. */
export class SelectorSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly selector: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "SelectorSyntaxError";
  }
}

/** Parses a selector; throws SelectorSyntaxError and nothing else on bad input. */
export function parseSelector(_text: string): Selector {
  throw new Error("unimplemented");
}
