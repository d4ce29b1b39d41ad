/**
 * The IP-set member calculator (Felix's IP-set member calculator): keeps the members of every
 * IP set an active rule uses. It exists because the datastore is cluster-wide (every host's
 * endpoints and every network set feed the sets) while updates arrive one object at a time:
 * - a label index over every item matches the sets' selectors incrementally;
 * - each set keeps a refcount per member, so a member several items contribute stays until
 *   the last one goes, and a change touches one entry;
 * - a plain set holding a prefix hands out its disjoint form (DisjointMembers), and reports
 *   that form's differences, so the dataplane's element adds and deletes stay exact;
 * - a named-port set collects `ADDR . PROTO . PORT` triples instead of addresses.
 * Sets live while some active policy or profile uses them (`ref`/`unref`).
 * Private to src/calc.
 */
import type { Selector } from "../selector/mod.ts";
import type { IpSetMembers } from "./host_state.ts";
import { sortIps, sortMembers, sortNamedPortMembers } from "./_addr.ts";
import { DisjointMembers, type ElementReport } from "./disjoint_members.ts";
import { LabelIndex, type LabelIndexStats, type LabelMap } from "./label_index.ts";
import { addTo, removeFrom } from "./_multimap.ts";
import type { EndpointKey, IpSetId, SelectorId } from "./keys.ts";
import type { ChangeCollector } from "./change_collector.ts";
import type { NamedPortSetSpec } from "./resolve_rules.ts";
import {
  membersOf,
  type MemberSource,
  type PortFilter,
  sameMemberSource,
} from "./member_source.ts";

/** An IP set in use. */
interface _IpSet {
  readonly selector: Selector;
  /** Set for a named-port set: members are the matching items' triples for this port. */
  readonly port: PortFilter | undefined;
  /** Active policies/profiles using it. */
  refs: number;
  /** Canonical member text -> number of items contributing it. */
  readonly members: Map<string, number>;
  /**
   * Its elements: the members, less those inside a network set's prefix. Undefined for a
   * named-port set, whose members are its elements (network sets never join one).
   */
  readonly disjoint: DisjointMembers | undefined;
  /** Records an element change of this set with the change collector. */
  readonly report: ElementReport;
  view: IpSetMembers | undefined;
}

/** Work counters of this node. */
export interface IpSetMemberStats {
  readonly index: LabelIndexStats;
  /** Member refcount changes (one per item member per set). */
  readonly memberUpdates: number;
}

/** See the module comment. */
export class IpSetMemberCalculator {
  readonly #index: LabelIndex;
  readonly #sets = new Map<IpSetId, _IpSet>();
  /** Selector -> ids of the sets (plain and named-port) built on it. */
  readonly #setsBySelector = new Map<SelectorId, Set<IpSetId>>();
  readonly #items = new Map<EndpointKey, MemberSource>();
  #memberUpdates = 0;

  constructor(private readonly changes: ChangeCollector) {
    this.#index = new LabelIndex({
      onMatch: (sel, key) => this.#match(sel, key as EndpointKey, 1),
      onUnmatch: (sel, key) => this.#match(sel, key as EndpointKey, -1),
    });
  }

  /**
   * Adds or replaces item `key`: sets already matching it swap its old members for the new
   * ones, then its labels decide which sets match it from now on.
   */
  updateItem(key: EndpointKey, src: MemberSource, labels: LabelMap): void {
    const old = this.#items.get(key);
    this.#items.set(key, src);
    if (old && !sameMemberSource(old, src)) this.#swapMembers(key, old, src);
    this.#index.updateItem(key, labels);
  }

  /** The item's labels changed (a profile it inherits from was edited). */
  relabelItem(key: EndpointKey, labels: LabelMap): void {
    this.#index.updateItem(key, labels);
  }

  /** Removes item `key` and its members from every set. */
  deleteItem(key: EndpointKey): void {
    this.#index.deleteItem(key);
    this.#items.delete(key);
  }

  /** Counts a user of set `id` (on `selector`, for `namedPort` if given), creating it on first use. */
  ref(id: IpSetId, selector: Selector, namedPort?: NamedPortSetSpec): void {
    const existing = this.#sets.get(id);
    if (existing) {
      existing.refs++;
      return;
    }
    const set: _IpSet = {
      selector,
      port: namedPort === undefined
        ? undefined
        : { name: namedPort.name, protocol: namedPort.protocol },
      refs: 1,
      members: new Map(),
      // Named-port members are never prefixes: network sets declare no ports.
      disjoint: namedPort === undefined ? new DisjointMembers() : undefined,
      report: (element, present) => this.changes.element(id, element, present),
      view: undefined,
    };
    this.#sets.set(id, set);
    this.changes.ipSet(id, true);
    const selId = selector.uniqueId;
    const shared = this.#setsBySelector.has(selId);
    addTo(this.#setsBySelector, selId, id);
    if (!shared) {
      // Reports every match through #match, which now sees this set.
      this.#index.addSelector(selector);
      return;
    }
    // Another set already uses the selector: its matches are known, count them in.
    for (const key of this.#index.matching(selId)) {
      for (const m of membersOf(this.#items.get(key as EndpointKey)!, set.port)) {
        this.#bump(set, m, 1);
      }
    }
  }

  /** Drops a user of set `id`; the last one drops the set. */
  unref(id: IpSetId): void {
    const set = this.#sets.get(id)!;
    if (--set.refs > 0) return;
    // Dropped from the maps first so the index's unmatch reports find nothing to count down.
    this.#sets.delete(id);
    this.changes.ipSet(id, false);
    const selId = set.selector.uniqueId;
    removeFrom(this.#setsBySelector, selId, id);
    if (!this.#setsBySelector.has(selId)) this.#index.deleteSelector(selId);
  }

  /** Ids of the sets in use, sorted. */
  ids(): IpSetId[] {
    return [...this.#sets.keys()].sort();
  }

  /** Members of set `id`, if it is in use. */
  members(id: IpSetId): IpSetMembers | undefined {
    const set = this.#sets.get(id);
    if (set === undefined) return undefined;
    return set.view ??= _membersView(set);
  }

  stats(): IpSetMemberStats {
    return { index: this.#index.stats(), memberUpdates: this.#memberUpdates };
  }

  #swapMembers(key: EndpointKey, old: MemberSource, src: MemberSource) {
    // Sets of texts: a network set may list thousands of nets.
    const oldTexts = new Set(old.ips.map((a) => a.text));
    const newTexts = new Set(src.ips.map((a) => a.text));
    const gone = old.ips.filter((a) => !newTexts.has(a.text));
    const added = src.ips.filter((a) => !oldTexts.has(a.text));
    for (const selId of this.#index.matchesOf(key)) {
      for (const setId of this.#setsBySelector.get(selId) ?? []) {
        const set = this.#sets.get(setId)!;
        if (set.port === undefined) {
          // New ones first: a network set edited from a /16 to its two /17s then never
          // uncovers (and re-covers) the addresses inside, which would be two element
          // changes each.
          for (const a of added) this.#bump(set, a.text, 1);
          for (const a of gone) this.#bump(set, a.text, -1);
          continue;
        }
        // A named-port set: few triples (an item's addresses times its ports of a name).
        const before = membersOf(old, set.port);
        const after = membersOf(src, set.port);
        for (const m of before) if (!after.includes(m)) this.#bump(set, m, -1);
        for (const m of after) if (!before.includes(m)) this.#bump(set, m, 1);
      }
    }
  }

  #match(selectorId: SelectorId, key: EndpointKey, delta: 1 | -1) {
    const ids = this.#setsBySelector.get(selectorId);
    const src = this.#items.get(key);
    if (!ids || !src) return;
    for (const id of ids) {
      const set = this.#sets.get(id)!;
      for (const m of membersOf(src, set.port)) this.#bump(set, m, delta);
    }
  }

  #bump(set: _IpSet, member: string, delta: 1 | -1) {
    this.#memberUpdates++;
    const n = (set.members.get(member) ?? 0) + delta;
    if (n > 0) set.members.set(member, n);
    else set.members.delete(member);
    if (n === 0 || (n === 1 && delta === 1)) {
      set.view = undefined;
      this.changes.touch();
      if (set.disjoint === undefined) set.report(member, n > 0);
      else set.disjoint.change(member, n > 0, set.members, set.report);
    }
  }
}

/**
 * A snapshot of a set's members, sorted only when read: the incremental path never reads it,
 * and sorting thousands of addresses on every member change would be most of a change's cost.
 */
function _membersView(set: _IpSet): IpSetMembers {
  const elements = set.disjoint?.elements;
  const all = [...(elements ?? set.members.keys())];
  const sort = set.port !== undefined
    ? sortNamedPortMembers
    : elements === undefined
    ? sortIps
    : sortMembers;
  let v4: string[] | undefined;
  let v6: string[] | undefined;
  return {
    get v4() {
      return v4 ??= sort(all.filter((m) => !m.includes(":")));
    },
    get v6() {
      return v6 ??= sort(all.filter((m) => m.includes(":")));
    },
  };
}
