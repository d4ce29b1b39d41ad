/**
 * Canonical selector text. Two selectors with the same canonical text are the same
 * selector: policies share one label-index entry and rules share one IP set (its id is a hash
 * of this text), so the rendering must be exactly stable.
 */
import type { SelectorNode } from "./ast.ts";

/**
 * Renders a tree: `all()`, `has(k)`, `k == "v"`, `k != "v"`, `k in {"a", "b"}`,
 * `k not in {...}`, and for hostfence's operators `k contains "s"`, `k starts with "s"`,
 * `k ends with "s"`; `!` prefixes with no space; every `&&`/`||` group in parentheses.
 */
export function canonicalText(node: SelectorNode): string {
  switch (node.kind) {
    case "all":
      return "all()";
    case "has":
      return `has(${node.label})`;
    case "eq":
      return `${node.label} == ${quoteValue(node.value)}`;
    case "ne":
      return `${node.label} != ${quoteValue(node.value)}`;
    case "contains":
      return `${node.label} contains ${quoteValue(node.value)}`;
    case "startsWith":
      return `${node.label} starts with ${quoteValue(node.value)}`;
    case "endsWith":
      return `${node.label} ends with ${quoteValue(node.value)}`;
    case "in":
      return `${node.label} in {${node.values.map(quoteValue).join(", ")}}`;
    case "notIn":
      return `${node.label} not in {${node.values.map(quoteValue).join(", ")}}`;
    case "not":
      return "!" + canonicalText(node.operand);
    case "and":
      return "(" + node.operands.map(canonicalText).join(" && ") + ")";
    case "or":
      return "(" + node.operands.map(canonicalText).join(" || ") + ")";
  }
}

/** Double quotes unless the value contains one; strings have no escapes to fall back on. */
export function quoteValue(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}
