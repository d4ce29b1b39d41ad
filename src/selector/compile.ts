/**
 * Turns a selector tree into one closure. The agent evaluates every selector against every
 * endpoint whose labels change, so evaluation must not re-walk text or switch on node kinds:
 * each node becomes a small function with its label key and literals captured.
 *
 * The closures only ever call `lookup` and branch on what it returns, in a fixed left-to-right
 * short-circuit order; the label index relies on that purity to skip work (see
 * `calc/label_index.ts`).
 */
import type { SelectorNode } from "./ast.ts";

/** Looks a label up on an endpoint; `undefined` when the endpoint does not have it. */
export type LabelLookup = (key: string) => string | undefined;

/** A compiled selector. */
export type Evaluator = (lookup: LabelLookup) => boolean;

/** Sets at least this big are tested with a `Set`; smaller ones by scanning an array. */
const SET_THRESHOLD = 8;

const ALWAYS: Evaluator = () => true;
const NEVER: Evaluator = () => false;

/** Compiles a tree into its evaluator (Calico 2.x's semantics, its selector/parser/ast.go). */
export function compileSelector(node: SelectorNode): Evaluator {
  switch (node.kind) {
    case "all":
      return ALWAYS;
    case "has": {
      const k = node.label;
      return (L) => L(k) !== undefined;
    }
    case "eq": {
      const k = node.label, v = node.value;
      return (L) => L(k) === v;
    }
    case "ne": {
      // A missing label is "not equal" (Calico's code, not its 2.6 docs).
      const k = node.label, v = node.value;
      return (L) => L(k) !== v;
    }
    case "contains": {
      const k = node.label, v = node.value;
      return (L) => L(k)?.includes(v) ?? false;
    }
    case "startsWith": {
      const k = node.label, v = node.value;
      return (L) => L(k)?.startsWith(v) ?? false;
    }
    case "endsWith": {
      const k = node.label, v = node.value;
      return (L) => L(k)?.endsWith(v) ?? false;
    }
    case "in":
      return _member(node.label, node.values, false);
    case "notIn":
      return _member(node.label, node.values, true);
    case "not": {
      const f = compileSelector(node.operand);
      return (L) => !f(L);
    }
    case "and":
      return _junction(node.operands.map(compileSelector), true);
    case "or":
      return _junction(node.operands.map(compileSelector), false);
  }
}

/** `k in {S}` (missing ⇒ false) or, negated, `k not in {S}` (missing ⇒ true). */
function _member(k: string, values: readonly string[], negated: boolean): Evaluator {
  // An empty set's answer does not depend on the label at all: `k in {}` is always false,
  // `k not in {}` always true.
  if (values.length === 0) return negated ? ALWAYS : NEVER;
  if (values.length === 1) {
    const v = values[0] as string;
    return negated ? (L) => L(k) !== v : (L) => L(k) === v;
  }
  if (values.length < SET_THRESHOLD) {
    return negated
      ? (L) => {
        const x = L(k);
        return x === undefined || !values.includes(x);
      }
      : (L) => {
        const x = L(k);
        return x !== undefined && values.includes(x);
      };
  }
  const set = new Set(values);
  return negated
    ? (L) => {
      const x = L(k);
      return x === undefined || !set.has(x);
    }
    : (L) => {
      const x = L(k);
      return x !== undefined && set.has(x);
    };
}

/** Short-circuit `&&` (`isAnd`) or `||` over two or more operands. */
function _junction(fs: readonly Evaluator[], isAnd: boolean): Evaluator {
  if (fs.length === 0) return isAnd ? ALWAYS : NEVER;
  if (fs.length === 2) {
    const a = fs[0] as Evaluator, b = fs[1] as Evaluator;
    return isAnd ? (L) => a(L) && b(L) : (L) => a(L) || b(L);
  }
  return isAnd
    ? (L) => {
      for (const f of fs) if (!f(L)) return false;
      return true;
    }
    : (L) => {
      for (const f of fs) if (f(L)) return true;
      return false;
    };
}
