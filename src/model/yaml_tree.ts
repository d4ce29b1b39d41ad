/**
 * The decoder's view (decode.ts TreeView) of one document of the `yaml` package: the slow,
 * positioned path of input.ts. Apart from decode.ts so that decoding through the fast parser
 * (input_fast.ts) loads no `yaml` package.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type YAMLMap, type YAMLSeq } from "yaml";
import type { TreeView } from "./decode.ts";
import { resolveAlias } from "./yaml_aliases.ts";

/** The view over one document of the `yaml` package. */
export function yamlTreeView(doc: Document): TreeView {
  return {
    deref(node) {
      let n = node;
      if (isAlias(n)) n = resolveAlias(n, doc) ?? null;
      if (n === undefined || n === null) return null;
      if (isScalar(n) && n.value === null) return null;
      return n;
    },
    isMap: (n) => isMap(n),
    isSeq: (n) => isSeq(n),
    isScalar: (n) => isScalar(n),
    pairs: (n) => (n as YAMLMap).items,
    items: (n) => (n as YAMLSeq).items,
    value: (n) => (n as { value: unknown }).value,
    text: (n) => _scalarText(n as { value: unknown; source?: string }),
  };
}

/** A scalar as text: strings as they are, other plain scalars as written in the file. */
function _scalarText(n: { value: unknown; source?: string }): string {
  if (typeof n.value === "string") return n.value;
  if (typeof n.source === "string" && n.source !== "") return n.source;
  return String(n.value);
}
