/**
 * An incremental "which selectors match which items" index (Felix's label index and IP-set member
 * calculator). Items are endpoints with their effective labels; selectors come from policies or
 * IP-set rules. Callers are told about every (selector, item) pair that starts or stops matching,
 * so they can keep per-policy endpoint sets and IP-set refcounts without ever re-running every
 * selector against every endpoint.
 *
 * Why it can skip work soundly: evaluating a selector is a deterministic walk that looks up
 * label keys one by one and branches on what it finds. Two label maps that agree on every key
 * the walk looked up give the same walk and the same answer. So the index remembers, per
 * selector, every key any of its evaluations ever looked up (`keysSeen`, only ever grows), and:
 * - when an item's labels change, only selectors that have looked at one of the changed keys
 *   can change their answer for that item;
 * - a new item is treated as a change from the empty label map: selectors that never looked
 *   at any of its keys answer what they answer for "no labels" (computed once per selector);
 * - a new selector is evaluated once against "no labels"; only items carrying one of the keys
 *   that evaluation looked at can answer differently, the rest answer the same.
 * This needs selectors to be pure functions of the lookups they make, which they are.
 */
import type { Selector } from "../selector/mod.ts";
import { addTo, removeFrom } from "./_multimap.ts";

/** A label map with cheap lookups; the index never mutates one it was given. */
export type LabelMap = ReadonlyMap<string, string>;

/** Receives match changes; called synchronously inside the index's methods. */
export interface MatchListener {
  onMatch(selectorId: string, itemId: string): void;
  onUnmatch(selectorId: string, itemId: string): void;
}

/** Work counters, so tests and benchmarks can check that updates stay local. */
export interface LabelIndexStats {
  /** Selector evaluations performed since construction. */
  readonly evaluations: number;
  readonly items: number;
  readonly selectors: number;
}

interface _Item {
  labels: LabelMap;
  /** Ids of selectors currently matching this item; absent while none (most items). */
  matches: Set<string> | undefined;
}

interface _Sel {
  readonly selector: Selector;
  /** Every key any evaluation of this selector has looked up. */
  readonly keysSeen: Set<string>;
  /** The answer for an item with no labels at all. */
  readonly matchesEmpty: boolean;
  readonly matched: Set<string>;
}

const EMPTY_SET: ReadonlySet<string> = new Set();
const EMPTY_LABELS: LabelMap = new Map();

/** See the module comment. Selector ids are the selectors' unique ids. */
export class LabelIndex {
  readonly #items = new Map<string, _Item>();
  readonly #itemsByKey = new Map<string, Set<string>>();
  readonly #sels = new Map<string, _Sel>();
  readonly #selsByKey = new Map<string, Set<string>>();
  /** Selectors that match an item with no labels (e.g. `all()`, `!has(x)`). */
  readonly #matchEmpty = new Set<string>();
  #evaluations = 0;

  constructor(private readonly listener: MatchListener) {}

  /** Counters for tests and benchmarks. */
  stats(): LabelIndexStats {
    return { evaluations: this.#evaluations, items: this.#items.size, selectors: this.#sels.size };
  }

  /** Items the selector currently matches (live view; do not mutate). */
  matching(selectorId: string): ReadonlySet<string> {
    return this.#sels.get(selectorId)?.matched ?? EMPTY_SET;
  }

  /** Selectors currently matching the item (live view; do not mutate). */
  matchesOf(itemId: string): ReadonlySet<string> {
    return this.#items.get(itemId)?.matches ?? EMPTY_SET;
  }

  hasSelector(selectorId: string): boolean {
    return this.#sels.has(selectorId);
  }

  /** Adds or relabels an item; re-evaluates only selectors that looked at a changed key. */
  updateItem(itemId: string, labels: LabelMap): void {
    const old = this.#items.get(itemId);
    const oldLabels = old?.labels ?? EMPTY_LABELS;
    const changed: string[] = [];
    for (const [k, v] of labels) if (oldLabels.get(k) !== v) changed.push(k);
    for (const k of oldLabels.keys()) if (!labels.has(k)) changed.push(k);
    const item: _Item = old ?? { labels, matches: undefined };
    item.labels = labels;
    if (!old) {
      this.#items.set(itemId, item);
    } else if (changed.length === 0) {
      return;
    }
    for (const k of changed) {
      const had = oldLabels.has(k);
      const has = labels.has(k);
      if (had && !has) removeFrom(this.#itemsByKey, k, itemId);
      if (!had && has) addTo(this.#itemsByKey, k, itemId);
    }
    // Most endpoints carry keys no selector looked at (and none at start, before any
    // selector): no set to allocate then.
    let candidates: Set<string> | undefined;
    for (const k of changed) {
      const sels = this.#selsByKey.get(k);
      if (sels) { for (const s of sels) (candidates ??= new Set()).add(s); }
    }
    if (!old) {
      // Selectors that never looked at any of the item's keys answer as for "no labels".
      for (const s of this.#matchEmpty) {
        if (!candidates?.has(s)) this.#set(s, itemId, item, true);
      }
    }
    if (candidates === undefined) return;
    for (const s of candidates) {
      const sel = this.#sels.get(s)!;
      this.#set(s, itemId, item, this.#evaluate(s, sel, labels));
    }
  }

  /** Removes an item, reporting an unmatch for every selector that matched it. */
  deleteItem(itemId: string): void {
    const item = this.#items.get(itemId);
    if (!item) return;
    for (const k of item.labels.keys()) removeFrom(this.#itemsByKey, k, itemId);
    for (const s of [...(item.matches ?? [])]) this.#set(s, itemId, item, false);
    this.#items.delete(itemId);
  }

  /** Adds a selector (no-op when its id is present) and reports the items it matches. */
  addSelector(selector: Selector): void {
    const id = selector.uniqueId;
    if (this.#sels.has(id)) return;
    const emptyKeys: string[] = [];
    this.#evaluations++;
    const matchesEmpty = selector.evaluate((k) => {
      emptyKeys.push(k);
      return undefined;
    });
    const sel: _Sel = {
      selector,
      keysSeen: new Set(),
      matchesEmpty,
      matched: new Set(),
    };
    this.#sels.set(id, sel);
    for (const k of emptyKeys) this.#seeKey(id, sel, k);
    if (matchesEmpty) this.#matchEmpty.add(id);
    const candidates = new Set<string>();
    for (const k of emptyKeys) {
      const items = this.#itemsByKey.get(k);
      if (items) { for (const i of items) candidates.add(i); }
    }
    if (matchesEmpty) {
      for (const [itemId, item] of this.#items) {
        if (!candidates.has(itemId)) this.#set(id, itemId, item, true);
      }
    }
    for (const itemId of candidates) {
      const item = this.#items.get(itemId)!;
      this.#set(id, itemId, item, this.#evaluate(id, sel, item.labels));
    }
  }

  /** Removes a selector, reporting an unmatch for every item it matched. */
  deleteSelector(selectorId: string): void {
    const sel = this.#sels.get(selectorId);
    if (!sel) return;
    for (const itemId of [...sel.matched]) {
      this.#set(selectorId, itemId, this.#items.get(itemId)!, false);
    }
    for (const k of sel.keysSeen) removeFrom(this.#selsByKey, k, selectorId);
    this.#matchEmpty.delete(selectorId);
    this.#sels.delete(selectorId);
  }

  #evaluate(id: string, sel: _Sel, labels: LabelMap): boolean {
    this.#evaluations++;
    return sel.selector.evaluate((k) => {
      if (!sel.keysSeen.has(k)) this.#seeKey(id, sel, k);
      return labels.get(k);
    });
  }

  #seeKey(id: string, sel: _Sel, k: string) {
    sel.keysSeen.add(k);
    addTo(this.#selsByKey, k, id);
  }

  #set(selectorId: string, itemId: string, item: _Item, match: boolean) {
    const sel = this.#sels.get(selectorId)!;
    if (match === sel.matched.has(itemId)) return;
    if (match) {
      sel.matched.add(itemId);
      (item.matches ??= new Set()).add(selectorId);
      this.listener.onMatch(selectorId, itemId);
    } else {
      sel.matched.delete(itemId);
      item.matches?.delete(selectorId);
      if (item.matches?.size === 0) item.matches = undefined;
      this.listener.onUnmatch(selectorId, itemId);
    }
  }
}
