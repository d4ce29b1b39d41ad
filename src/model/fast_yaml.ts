/**
 * The fast way to read a resource file: js-yaml builds plain values in one recursive pass
 * (tens of MB/s, against about 1.5 MB/s and 130 times the input in memory for the `yaml`
 * package's document tree with positions, issue 10). It keeps just enough for the decoder
 * to behave exactly as on the `yaml` tree: numbers, booleans and nulls keep the text they
 * were written as (also as map keys). Maps are plain objects, which order their keys as the
 * decoder's own output objects do, so nothing the decoder returns changes. It knows no
 * positions, so anything unusual (an alias, a tag, a directive, a complex key, any parse
 * error) makes it give up, and the caller falls back to the `yaml` path, which also reports
 * every error with its line and column. Pure.
 */
import jsyaml from "js-yaml";
import type { TreeView } from "./decode.ts";
import type { YamlNode } from "./yaml_positions.ts";

/** A YAML null, boolean or number, with the text it was written as. */
export class YamlLiteral {
  constructor(readonly value: null | boolean | number, readonly source: string) {}
  /**
   * js-yaml makes map keys strings with String(key): a literal key keeps its text, and a
   * null key reads "" (as the decoder reads a null key of the `yaml` tree).
   */
  toString(): string {
    return this.value === null ? "" : this.source;
  }
  /** Tells js-yaml this is no plain object (whose keys it would replace by "[object Object]"). */
  get [Symbol.toStringTag](): string {
    return "YamlLiteral";
  }
}

/** Gave up: the input needs the `yaml` path (positions, aliases, tags, or an error). */
class GiveUp extends Error {}

// YAML 1.2 core schema, exactly as the `yaml` package resolves plain scalars.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const OCT = /^0o[0-7]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** A js-yaml implicit scalar type making a YamlLiteral of text that matches `test`. */
function _literalType(tag: string, test: RegExp, value: (s: string) => YamlLiteral["value"]) {
  return new jsyaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: "scalar",
    resolve: (s: string | null) => s !== null && test.test(s),
    construct: (s: string | null) => new YamlLiteral(value(s ?? ""), s ?? ""),
  });
}

const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    _literalType("null", NULL, () => null),
    _literalType("bool", BOOL, (s) => s[0] === "t" || s[0] === "T"),
    _literalType("int", OCT, (s) => parseInt(s.slice(2), 8)),
    _literalType("int", INT, (s) => parseInt(s, 10)),
    _literalType("int", HEX, (s) => parseInt(s.slice(2), 16)),
    _literalType(
      "float",
      NAN_INF,
      (s) => s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? -Infinity : Infinity,
    ),
    _literalType("float", FLOAT, (s) => parseFloat(s)),
  ],
});

/**
 * Texts the fast parser must not take: directives (`%YAML 1.1` changes the schema), the
 * core tags (`!!int`) and verbatim tags (local tags `!x` make js-yaml fail anyway), and
 * explicit (`? `) or collection keys, and `:#` (js-yaml reads `"key":#x` as a comment where
 * the `yaml` package finds an error). Matches inside strings only cost the fast path.
 */
const UNUSUAL = /^%|!!|!<|:#|^[ \t-]*\?(?:[ \t]|$)|[\]}][ \t]*:(?:[ \t\r\n]|$)/m;

/**
 * Gives up at the first alias: js-yaml shares the anchored value, and aliases of aliases
 * would make the decoder's walk exponential. An alias is the one node that closes with no
 * kind and a value (every other node sets its kind).
 */
function _noAliases(event: string, state: { kind: string | null; result: unknown }): void {
  if (event === "close" && state.kind === null && state.result !== null) {
    throw new GiveUp("alias");
  }
}

/**
 * Every document of `text` as plain values (maps as plain objects, sequences as arrays,
 * strings, YamlLiteral), or undefined when the fast parser gives up (see the module doc).
 */
export function fastParseDocuments(text: string): YamlNode[] | undefined {
  if (UNUSUAL.test(text)) return undefined;
  try {
    return jsyaml.loadAll(text, null, { schema: SCHEMA, listener: _noAliases }) as YamlNode[];
  } catch {
    return undefined;
  }
}

/**
 * For a text that is one YAML document holding a sequence (block, as `get -o yaml` prints,
 * or flow, as JSON): where each item's text starts and ends ([start, end) offsets, leading
 * and trailing blanks left out). Undefined for any other shape. Used on errors, to parse
 * only the item at fault with positions (see input.ts), which keeps finding an error in a
 * large file fast and small.
 */
export function sequenceItemSpans(text: string): [number, number][] | undefined {
  // The items are the nodes at depth 2, or 3 where js-yaml wraps the root (flow style).
  const byDepth: [number, number][][] = [[], [], [], []];
  const open: [number, number][] = [];
  let docs: unknown[];
  try {
    docs = jsyaml.loadAll(text, null, {
      schema: SCHEMA,
      listener: (event: string, state: { position: number }) => {
        if (event === "open") {
          const span: [number, number] = [state.position, -1];
          byDepth[open.length + 1]?.push(span);
          open.push(span);
        } else {
          open.pop()![1] = state.position;
        }
      },
    });
  } catch {
    return undefined;
  }
  const root = docs[0];
  if (docs.length !== 1 || !Array.isArray(root)) return undefined;
  const spans = [byDepth[2]!, byDepth[3]!].find((s) => s.length === root.length);
  if (spans === undefined) return undefined;
  let prevEnd = 0;
  for (const span of spans) {
    let [from, to] = span;
    // Skip the blanks and comments js-yaml reads as part of the node on either side.
    for (;;) {
      while (from < to && /\s/.test(text[from]!)) from++;
      if (text[from] !== "#") break;
      const nl = text.indexOf("\n", from);
      from = nl < 0 ? to : nl + 1;
    }
    while (to > from && /\s/.test(text[to - 1]!)) to--;
    if (to < 0 || from < prevEnd) return undefined;
    span[0] = from;
    span[1] = to;
    prevEnd = to;
  }
  return spans;
}

/**
 * `text` with every item of its top-level sequence but `keep` turned into `~` (null, which
 * decodes to nothing), keeping only their line breaks: the kept item's lines, and its
 * columns, stay where they were, so errors found in it read exactly as in the whole file,
 * while the text to parse shrinks to about one line per item. Undefined when the text is
 * not one sequence.
 */
export function onlyItem(text: string, keep: number): string | undefined {
  const spans = sequenceItemSpans(text);
  if (spans === undefined || keep >= spans.length) return undefined;
  // Left of the kept item on its first line, blanked text becomes spaces (columns kept).
  const keepFrom = spans[keep]![0];
  const keepLine = text.lastIndexOf("\n", keepFrom) + 1;
  const parts: string[] = [];
  let at = 0;
  spans.forEach(([from, to], j) => {
    if (j === keep || to <= from) return;
    parts.push(text.slice(at, from), "~");
    if (j < keep && to > keepLine) {
      const cut = Math.max(from + 1, keepLine);
      parts.push(
        text.slice(from + 1, cut).replace(/[^\n\r]+/g, ""),
        text.slice(cut, to).replace(/[^\n\r]/g, " "),
      );
    } else {
      parts.push(text.slice(from + 1, to).replace(/[^\n\r]+/g, ""));
    }
    at = to;
  });
  parts.push(text.slice(at));
  return parts.join("");
}

function _isMap(n: YamlNode): boolean {
  return typeof n === "object" && n !== null && !Array.isArray(n) && !(n instanceof YamlLiteral);
}

/** The decoder's view of fastParseDocuments' values. */
export const plainTreeView: TreeView = {
  deref(n) {
    if (n === undefined || n === null) return null;
    if (n instanceof YamlLiteral && n.value === null) return null;
    return n;
  },
  isMap: _isMap,
  isSeq: (n) => Array.isArray(n),
  isScalar: (n) => typeof n === "string" || n instanceof YamlLiteral,
  pairs: (n) => {
    const o = n as Record<string, YamlNode>;
    return Object.keys(o).map((key) => {
      // js-yaml turns an empty key into "null", the `yaml` tree into a null key: let it say.
      if (key === "null") throw new GiveUp("empty or 'null' key");
      return { key, value: o[key] };
    });
  },
  items: (n) => n as YamlNode[],
  value: (n) => (n instanceof YamlLiteral ? n.value : n),
  text: (n) => (n instanceof YamlLiteral ? n.source || String(n.value) : String(n)),
};
