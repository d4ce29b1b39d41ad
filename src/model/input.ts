/**
 * Reading resources from calicoctl-style YAML/JSON files: parse every document,
 * expand sequences and `...List` kinds, decode each resource strictly, then validate each.
 * Every failure becomes a ResourceInputError whose message keeps calicoctl's own wording
 * (so operators can grep it) and adds where it is: file, line:column, resource and field.
 */
import { type Document, LineCounter, parseAllDocuments } from "yaml";
import type { Resource, SourcePosition } from "./resources.ts";
import {
  DecodeFailure,
  listResourceItems,
  type ResourceItem,
  UnknownResourceType,
} from "./decode.ts";
import { yamlTreeView } from "./yaml_tree.ts";
import { formatIssue, formatIssues } from "./validate.ts";
import { nodeAtPath, positionOf } from "./yaml_positions.ts";
import { aliasOverLimit, MAX_ALIAS_NODES } from "./yaml_aliases.ts";
import { onlyItem } from "./fast_yaml.ts";
import {
  type DecodedManifest,
  decodeFast,
  decodeManifestItem,
  manifestIssues,
  v3KindOfItem,
} from "./input_fast.ts";
import { clip, quote } from "../log/quote.ts";
import { isV3Kind, type V3Kind } from "./v3/kinds.ts";
import { v3FieldPath } from "./v3/paths.ts";
import { isModelResource, type ManifestResource } from "./v3/types.ts";

export interface LocatedResource {
  readonly resource: Resource;
  readonly position: SourcePosition;
}

/** A resource of a manifest file: v1 or v3 (which may also be a FelixConfiguration). */
export interface LocatedManifest extends DecodedManifest {
  readonly position: SourcePosition;
}

/** A v1 field path as the item's own document spells it. */
function _itemPath(item: ResourceItem, path: string): string {
  return isV3Kind(item.envelope.apiVersion, item.kind)
    ? v3FieldPath(item.kind as V3Kind, path)
    : path;
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
 * Resources come back in file order; empty documents are skipped, so a file with none
 * gives `[]`. Missing identifiers (`metadata.name`, `metadata.node`, ...) are not errors
 * here: they decode as `""` and the datastore reports `insufficient identifiers`.
 * Throws ResourceInputError on the first problem: YAML syntax, unknown kind/apiVersion,
 * unknown field or wrong type (checked for every resource first), then validation.
 */
export function parseResources(text: string, source: string): LocatedResource[] {
  return _onlyModel(parseManifests(text, source), source);
}

/** The resources of the internal model; a FelixConfiguration (v3) is refused here. */
function _onlyModel(all: LocatedManifest[], source: string): LocatedResource[] {
  const other = all.findIndex((l) => !isModelResource(l.resource));
  if (other >= 0) {
    const { resource, position, v3Kind } = all[other]!;
    throw new ResourceInputError(
      `${
        _where(source, position.line ? position as { line: number; column: number } : undefined)
      }: ` +
        `${v3Kind ?? resource.kind} ${quote(resource.metadata.name)} cannot be used here ` +
        "(it is not a policy resource: FelixConfiguration is written by the CLI as Felix " +
        "config keys)",
      position,
      { kind: resource.kind, name: resource.metadata.name },
    );
  }
  return all as LocatedResource[];
}

/**
 * parseResources for the CLI: also FelixConfiguration (v3), which is not a resource of the
 * internal model.
 */
export function parseManifests(text: string, source: string): LocatedManifest[] {
  const fast = decodeFast(text);
  if (Array.isArray(fast)) return _locatedLazily(fast, text, source);
  return parseManifestsAfterFast(text, source, fast?.failedItem);
}

/**
 * parseManifests once decodeFast (input_fast.ts) did not succeed: the `yaml` package's tree,
 * so that every error has its line and column; `failedItem` is the top-level item at fault
 * that decodeFast named, if any. For the CLI, which runs decodeFast first without loading
 * this module and its `yaml` package.
 */
export function parseManifestsAfterFast(
  text: string,
  source: string,
  failedItem: number | undefined,
): LocatedManifest[] {
  if (failedItem !== undefined && text.length >= ONLY_ITEM_MIN_CHARS) {
    // Locate the error in the one item at fault, not the whole (maybe large) file.
    const reduced = onlyItem(text, failedItem);
    if (reduced !== undefined) {
      try {
        _parseWithPositions(reduced, source);
      } catch (e) {
        if (e instanceof ResourceInputError) throw e;
      }
    }
  }
  return _parseWithPositions(text, source);
}

/**
 * From this size on, an error found by the fast path in one item of a list is located by
 * parsing that item alone with positions (see onlyItem). Below it the whole file is parsed
 * with positions, which also reports a YAML syntax error that js-yaml let through in another
 * item before the error in this one; in a large file that first error may come second.
 */
const ONLY_ITEM_MIN_CHARS = 64 * 1024;

/** decodeFast's resources, whose positions are found (by the `yaml` path) only if asked for. */
function _locatedLazily(
  decoded: readonly DecodedManifest[],
  text: string,
  source: string,
): LocatedManifest[] {
  let located: LocatedManifest[] | undefined;
  return decoded.map((d, i) => ({
    ...d,
    get position() {
      located ??= _parseWithPositions(text, source);
      return located[i]!.position;
    },
  }));
}

/**
 * parseResources on the `yaml` package's document tree: slower and larger, but every error
 * gets its line and column. Exported for tests and the benchmark, which compare the paths.
 */
export function parseResourcesWithPositions(text: string, source: string): LocatedResource[] {
  return _onlyModel(_parseWithPositions(text, source), source);
}

/** parseResourcesWithPositions of every manifest resource (parseManifests' slow path). */
function _parseWithPositions(text: string, source: string): LocatedManifest[] {
  const lc = new LineCounter();
  const docs: Document.Parsed[] = Array.from(
    parseAllDocuments(text, { lineCounter: lc, prettyErrors: false }),
  );
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lc.linePos(err.pos[0]);
      throw new ResourceInputError(
        `${source}:${line}:${col}: YAML syntax error: ${_firstLine(err.message)}`,
        { source, line, column: col },
      );
    }
    const alias = aliasOverLimit(doc);
    if (alias) {
      const pos = positionOf(alias, lc);
      throw new ResourceInputError(
        `${_where(source, pos)}: YAML alias limit exceeded: aliases stand for more than ` +
          `${MAX_ALIAS_NODES} nodes (at alias *${clip(alias.source, 40)}); write the values out ` +
          "or use fewer aliases",
        _position(source, pos),
      );
    }
  }

  const decoded: { item: ResourceItem; doc: Document.Parsed; resource: ManifestResource }[] = [];
  for (const doc of docs) {
    let items: ResourceItem[];
    const view = yamlTreeView(doc);
    try {
      items = listResourceItems(doc.contents, view);
    } catch (e) {
      throw _wrapDecode(e, source, lc, undefined);
    }
    for (const item of items) {
      try {
        decoded.push({ item, doc, resource: decodeManifestItem(item, view) });
      } catch (e) {
        throw _wrapDecode(e, source, lc, item);
      }
    }
  }

  return decoded.map(({ item, doc, resource }) => {
    const issues = manifestIssues(resource).map((i) => ({ ...i, path: _itemPath(item, i.path) }));
    if (issues.length) {
      const first = issues[0]!;
      const at = (path: string) => positionOf(nodeAtPath(item.node, path, doc), lc);
      const pos = at(first.path) ?? positionOf(item.node, lc);
      const ident = _describe(item.kind, resource.metadata.name);
      let text: string;
      if (issues.length === 1) {
        text = `${_where(source, pos)}: ${ident} ${first.path}: ${formatIssues(issues)}`;
      } else {
        const lines = issues.map((i) => {
          const p = at(i.path);
          const loc = p ? `, line ${p.line}:${p.column}` : "";
          return `-  ${formatIssue(i)} [${i.path}${loc}]`;
        });
        text = `${_where(source, pos)}: ${ident}: error with the following fields:\n` +
          lines.join("\n");
      }
      throw new ResourceInputError(
        text,
        _position(source, pos),
        _ident(item.kind, resource.metadata.name),
        first.path,
      );
    }
    return {
      resource,
      position: _position(source, positionOf(item.node, lc)),
      ...v3KindOfItem(item),
    };
  });
}

function _wrapDecode(
  e: unknown,
  source: string,
  lc: LineCounter,
  item: ResourceItem | undefined,
): unknown {
  if (e instanceof UnknownResourceType) {
    const pos = positionOf(e.node, lc);
    return new ResourceInputError(
      `${_where(source, pos)}: ${e.message}`,
      _position(source, pos),
      { kind: e.envelope.kind, ...(e.envelope.name ? { name: e.envelope.name } : {}) },
    );
  }
  if (e instanceof DecodeFailure) {
    const pos = positionOf(e.node, lc) ?? (item ? positionOf(item.node, lc) : undefined);
    const ident = item ? `${_describe(item.kind, item.envelope.name)} ` : "";
    const field = e.path ? `${e.path}: ` : "";
    return new ResourceInputError(
      `${_where(source, pos)}: ${ident}${field}${e.message}`,
      _position(source, pos),
      item ? _ident(item.kind, item.envelope.name) : undefined,
      e.path || undefined,
    );
  }
  return e;
}

function _where(source: string, pos: { line: number; column: number } | undefined): string {
  return pos ? `${source}:${pos.line}:${pos.column}` : source;
}

function _position(
  source: string,
  pos: { line: number; column: number } | undefined,
): SourcePosition {
  return pos ? { source, line: pos.line, column: pos.column } : { source };
}

function _describe(kind: string, name: string | undefined): string {
  return name ? `${kind} ${quote(name)}` : kind;
}

function _ident(kind: string, name: string | undefined): { kind: string; name?: string } {
  return name ? { kind, name } : { kind };
}

function _firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
