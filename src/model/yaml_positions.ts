/**
 * Finding YAML nodes by resource path and turning them into line/column, so every input
 * error can point at the text an operator has to fix. Pure helpers over the `yaml` package's
 * document tree.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter } from "yaml";
import { resolveAlias } from "./yaml_aliases.ts";

/** A YAML node (or pair key) as the `yaml` package gives it to us. */
export type YamlNode = unknown;

/** 1-based line and column of a node's first character, or undefined without a range. */
export function positionOf(
  node: YamlNode,
  lc: LineCounter,
): { line: number; column: number } | undefined {
  const range = (node as { range?: readonly number[] } | null)?.range;
  if (!range || typeof range[0] !== "number") return undefined;
  const { line, col } = lc.linePos(range[0]);
  return { line, column: col };
}

/** Follows an alias to its anchored node; other nodes are returned unchanged. */
export function deref(node: YamlNode, doc: Document): YamlNode {
  if (isAlias(node)) return resolveAlias(node, doc) ?? node;
  return node;
}

/** Splits `spec.ingress[0].destination.ports` into `["spec","ingress",0,"destination","ports"]`. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    if (part === "") continue;
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/**
 * The node at `path` under `root`, or the nearest existing ancestor when the path runs out
 * (a missing field is reported at its parent). For a map entry the value node is returned,
 * or the key node when the value is empty (so `interfaceName:` points at the key).
 */
export function nodeAtPath(root: YamlNode, path: string, doc: Document): YamlNode {
  let cur = deref(root, doc);
  for (const step of splitPath(path)) {
    if (typeof step === "number") {
      if (!isSeq(cur)) return cur;
      const item = cur.items[step];
      if (item === undefined) return cur;
      cur = deref(item, doc);
      continue;
    }
    if (!isMap(cur)) return cur;
    const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === step);
    if (!pair) return cur;
    const value = deref(pair.value, doc);
    const hasRange = (value as { range?: unknown } | null)?.range !== undefined;
    cur = value !== null && hasRange ? value : pair.key;
  }
  return cur;
}
