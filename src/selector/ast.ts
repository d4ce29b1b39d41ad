/**
 * The parsed form of a selector. Canonical text, unique id and the compiled evaluator are all
 * derived from this one tree, so they cannot disagree about what a selector means.
 */

/** Comparisons of one label against one literal string. */
export type ValueOp = "eq" | "ne" | "contains" | "startsWith" | "endsWith";

/** Comparisons of one label against a set of literal strings. */
export type SetOp = "in" | "notIn";

/** One node of a parsed selector. */
export type SelectorNode =
  | { readonly kind: "all" }
  | { readonly kind: "has"; readonly label: string }
  | { readonly kind: ValueOp; readonly label: string; readonly value: string }
  /** `values` is sorted in code-point (= UTF-8 byte) order and free of duplicates. */
  | { readonly kind: SetOp; readonly label: string; readonly values: readonly string[] }
  | { readonly kind: "not"; readonly operand: SelectorNode }
  /** Always two or more operands; a lone operand is the operand itself. */
  | { readonly kind: "and" | "or"; readonly operands: readonly SelectorNode[] };

/** The node every empty or whitespace-only selector parses to. */
export const ALL_NODE: SelectorNode = Object.freeze({ kind: "all" });

/**
 * Negates a node. A negated negation unwraps instead of nesting, so `!(!has(a))` and
 * `!!has(a)` give the same tree; without this the canonical text `!!has(a)` would re-parse
 * (leading `!`s collapse by parity) to a different tree and canonical forms would not be
 * fixed points.
 */
export function negate(node: SelectorNode): SelectorNode {
  return node.kind === "not" ? node.operand : { kind: "not", operand: node };
}

/**
 * Orders strings by code point, which is the byte order of their UTF-8 encodings and so the
 * order Calico's Go `sort.Strings` gives; plain `<` compares UTF-16 units and disagrees when
 * a surrogate pair meets a character in U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return _rank(x) - _rank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000..U+FFFF, matching code-point order. */
function _rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Sorts and de-duplicates set literal values (as Calico's canonical form does). */
export function normaliseSet(values: readonly string[]): readonly string[] {
  const sorted = [...values].sort(compareCodePoints);
  return sorted.filter((v, i) => i === 0 || v !== sorted[i - 1]);
}
