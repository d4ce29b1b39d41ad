/**
 * The fast way to read a resource file (issue 10): plain values from fast_yaml.ts through the
 * same decoder and validation as input.ts's `yaml` path, without positions. input.ts falls
 * back to that path whenever this one does not succeed, so every error still gets its line
 * and column. Apart from input.ts so that the CLI, which reads a valid file here, does not load
 * the `yaml` package (README "CLI start-up").
 */
import {
  decodeResourceItem,
  listResourceItems,
  type ResourceItem,
  type TreeView,
} from "./decode.ts";
import { fastParseDocuments, plainTreeView } from "./fast_yaml.ts";
import { validateResource, type ValidationIssue } from "./validate.ts";
import { decodeV3Item } from "./v3/decode.ts";
import { isV3Kind, type V3Kind } from "./v3/kinds.ts";
import { isModelResource, type ManifestResource } from "./v3/types.ts";

/** A decoded resource of a manifest file: v1 or v3 (which may also be a FelixConfiguration). */
export interface DecodedManifest {
  readonly resource: ManifestResource;
  /** The kind as a projectcalico.org/v3 document wrote it (for calicoctl v3's messages). */
  readonly v3Kind?: V3Kind;
}

/** `{ v3Kind }` for an item of a v3 document, else nothing. */
export function v3KindOfItem(item: ResourceItem): { v3Kind?: V3Kind } {
  return isV3Kind(item.envelope.apiVersion, item.kind) ? { v3Kind: item.kind as V3Kind } : {};
}

/** v1 items through the v1 decoder, projectcalico.org/v3 items through v3/decode.ts. */
export function decodeManifestItem(item: ResourceItem, view: TreeView): ManifestResource {
  return isV3Kind(item.envelope.apiVersion, item.kind)
    ? decodeV3Item(item, view)
    : decodeResourceItem(item, view);
}

/** Validation problems of a resource of the model (a FelixConfiguration has none here). */
export function manifestIssues(r: ManifestResource): ValidationIssue[] {
  return isModelResource(r) ? validateResource(r) : [];
}

/**
 * Every resource of `text`, decoded and valid, in file order; otherwise undefined, or the
 * index of the top-level item at fault when the file is one sequence, so that input.ts's
 * `parseManifestsAfterFast` reports the problem.
 */
export function decodeFast(text: string): DecodedManifest[] | { failedItem?: number } | undefined {
  const docs = fastParseDocuments(text);
  if (docs === undefined) return undefined;
  // Each top-level item of a single sequence separately, to know which one is at fault.
  const tops = docs.length === 1 && Array.isArray(docs[0]) ? docs[0] as unknown[] : docs;
  // In the order of the positions path, so the item at fault is the one it would report:
  // every item's kind first, then every item's fields, then validation.
  const items: ResourceItem[] = [];
  const from: number[] = [];
  const resources: ManifestResource[] = [];
  let top = 0;
  try {
    for (; top < tops.length; top++) {
      for (const item of listResourceItems(tops[top], plainTreeView)) {
        items.push(item);
        from.push(top);
      }
    }
    for (const item of items) resources.push(decodeManifestItem(item, plainTreeView));
  } catch {
    if (tops === docs) return undefined;
    // Listing failed at `top`, or decoding at the item after the last resource decoded.
    return { failedItem: top < tops.length ? top : from[resources.length]! };
  }
  const bad = resources.findIndex((r) => manifestIssues(r).length > 0);
  if (bad >= 0) return tops === docs ? undefined : { failedItem: from[bad]! };
  return resources.map((resource, i) => ({ resource, ...v3KindOfItem(items[i]!) }));
}
