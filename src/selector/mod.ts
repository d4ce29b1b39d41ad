/**
 * Calico label selectors (Calico 2.x's selector language plus hostfence's additions): parsing,
 * canonical text, unique ids and compiled evaluation. The pieces live in `tokenizer.ts`,
 * `parser.ts`, `canonical.ts`, `compile.ts` and `unique_id.ts`; effective labels are in
 * `labels.ts`.
 */
import { canonicalText } from "./canonical.ts";
import { compileSelector, type LabelLookup } from "./compile.ts";
import { parseSelectorAst } from "./parser.ts";
import { selectorUniqueId } from "./unique_id.ts";

export { SelectorSyntaxError } from "./errors.ts";

export type { LabelLookup } from "./compile.ts";

/** A parsed selector. */
export interface Selector {
  /** The canonical text. */
  readonly canonical: string;
  /** `"s:" + base64url_nopad(SHA-224("s:" + canonical))`, the IP-set id. */
  readonly uniqueId: string;
  evaluate(labels: LabelLookup): boolean;
}

/**
 * Parses a selector; throws SelectorSyntaxError and nothing else on bad input. The result is
 * immutable and its `evaluate` is a compiled closure, cheap to call for many endpoints.
 */
export function parseSelector(text: string): Selector {
  const node = parseSelectorAst(text);
  const canonical = canonicalText(node);
  return Object.freeze({
    canonical,
    uniqueId: selectorUniqueId(canonical),
    evaluate: compileSelector(node),
  });
}
