/**
 * YAML aliases (`*name`), resolved once per document and bounded. The `yaml` package's own
 * `Alias.resolve` walks the whole document on every call, which made a file of N aliases
 * take O(N²) time (issue 10: 20k aliases in 200 KB ran for over 20 s); and aliases of
 * aliases can make a small file expand exponentially. Here every alias is mapped to its
 * anchor in one walk, and the number of nodes reachable through aliases is capped, with the
 * alias that crosses the cap reported. Pure.
 */
import { type Alias, type Document, isAlias, isCollection, isPair, type Node, visit } from "yaml";

/**
 * How many nodes, in total, aliases may stand for in one document (an alias of a rule with
 * four fields counts about nine). Real resource files use a handful of aliases at most.
 */
export const MAX_ALIAS_NODES = 10_000;

const targetsByDoc = new WeakMap<Document, Map<Alias, Node>>();

/**
 * Every alias of `doc` mapped to the node it names: the last node anchored with that name
 * before the alias, in document order (YAML's rule, and `Alias.resolve`'s). Computed once
 * per document.
 */
export function aliasTargets(doc: Document): Map<Alias, Node> {
  let targets = targetsByDoc.get(doc);
  if (targets) return targets;
  targets = new Map();
  const anchors = new Map<string, Node>();
  const found = targets;
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const t = anchors.get(node.source);
        if (t) found.set(node, t);
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  targetsByDoc.set(doc, targets);
  return targets;
}

/** The node an alias names (undefined for an unknown anchor). */
export function resolveAlias(alias: Alias, doc: Document): Node | undefined {
  return aliasTargets(doc).get(alias);
}

/**
 * The first alias at which the nodes reached through aliases pass `limit` (counting each
 * alias as the size of what it names, aliases inside it expanded), or undefined when the
 * document stays within it. An alias inside the node it names (a cycle) is over any limit.
 */
export function aliasOverLimit(doc: Document, limit = MAX_ALIAS_NODES): Alias | undefined {
  const targets = aliasTargets(doc);
  if (targets.size === 0) return undefined;
  const sizes = new Map<Node, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const t = targets.get(node);
      return t ? size(t) : 1;
    }
    if (isPair(node)) return size(node.key) + size(node.value);
    if (!isCollection(node)) return node === null || node === undefined ? 0 : 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, Infinity); // reached again while counting itself: a cycle
    let n = 1;
    for (const item of node.items) {
      n += size(item);
      if (n > limit) break;
    }
    sizes.set(node, n);
    return n;
  };
  let total = 0;
  for (const alias of targets.keys()) {
    total += size(alias);
    if (total > limit) return alias;
  }
  return undefined;
}
