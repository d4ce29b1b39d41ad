/**
 * The policy resolver (Felix's policy resolver with its policy-selector label index): for
 * each local host endpoint, the policies whose selector matches it and, from those and its
 * profiles, its sorted policy lists. It exists because a policy's selector or order changes
 * one policy at a time while the lists are per endpoint: a label index over the local host
 * endpoints re-evaluates only the (selector, endpoint) pairs an update can affect, each
 * endpoint keeps its matching set, and only endpoints whose set or whose members' order
 * changed have their lists re-sorted, at `flush()`. Private to src/calc.
 */
import { sameList } from "../util/same_list.ts";
import type { EndpointPolicies } from "./host_state.ts";
import type { HepName, SelectorId } from "./keys.ts";
import { LabelIndex, type LabelIndexStats, type LabelMap } from "./label_index.ts";
import { placePolicies, type PolicyPlacement, sameEndpointPolicies } from "./policy_order.ts";
import type { ResolvedRules } from "./resolve_rules.ts";
import type { CompiledPolicy } from "./rule_compiler.ts";
import { addTo, removeFrom } from "./_multimap.ts";

interface _Hep {
  profiles: readonly string[];
  /** Names of the policies whose selector matches this endpoint. */
  readonly policies: Set<string>;
  lists: EndpointPolicies | undefined;
}

/** Work counters of this node. */
export interface PolicyResolverStats {
  readonly index: LabelIndexStats;
  /** Times a local host endpoint's sorted policy lists were recomputed. */
  readonly listRecomputes: number;
}

/** See the module comment. */
export class PolicyResolver {
  readonly #policies = new Map<string, CompiledPolicy>();
  readonly #bySelector = new Map<SelectorId, Set<string>>();
  readonly #index: LabelIndex;
  readonly #heps = new Map<HepName, _Hep>();
  /** Endpoints whose lists must be recomputed at the next flush. */
  readonly #dirty = new Set<HepName>();
  /** An endpoint went since the last flush. */
  #removed = false;
  #listRecomputes = 0;

  constructor() {
    this.#index = new LabelIndex({
      onMatch: (sel, hep) => this.#match(sel, hep, true),
      onUnmatch: (sel, hep) => this.#match(sel, hep, false),
    });
  }

  /** Adds, replaces (`next`) or removes (undefined) policy `name`. */
  updatePolicy(name: string, next: CompiledPolicy | undefined): void {
    const old = this.#policies.get(name);
    if (!old && !next) return;
    if (next) this.#policies.set(name, next);
    else this.#policies.delete(name);
    const oldSel = old?.selector.uniqueId;
    const newSel = next?.selector.uniqueId;
    if (oldSel !== newSel) {
      if (oldSel !== undefined) this.#dropSelectorUser(oldSel, name);
      if (next) this.#addSelectorUser(next, name);
    } else if (old && next && !_samePlacement(old.placement, next.placement)) {
      for (const hep of this.#index.matching(newSel!)) this.#dirty.add(hep);
    }
  }

  /** Adds or updates local host endpoint `name`. */
  updateHep(name: HepName, profiles: readonly string[], labels: LabelMap): void {
    const hep = this.#heps.get(name);
    if (!hep) {
      this.#heps.set(name, { profiles, policies: new Set(), lists: undefined });
      this.#dirty.add(name);
    } else {
      if (!sameList(hep.profiles, profiles)) this.#dirty.add(name);
      hep.profiles = profiles;
    }
    this.#index.updateItem(name, labels);
  }

  /** Local host endpoint `name`'s labels changed. */
  relabelHep(name: HepName, labels: LabelMap): void {
    this.#index.updateItem(name, labels);
  }

  /** Removes local host endpoint `name`. */
  deleteHep(name: HepName): void {
    this.#index.deleteItem(name);
    this.#heps.delete(name);
    this.#dirty.delete(name);
    this.#removed = true;
  }

  /** Recomputes the lists of endpoints that need it; true when any endpoint's lists changed. */
  flush(): boolean {
    let changed = this.#removed;
    this.#removed = false;
    for (const name of this.#dirty) {
      const hep = this.#heps.get(name);
      if (!hep) continue;
      this.#listRecomputes++;
      const lists = placePolicies(
        [...hep.policies].map((p) => this.#policies.get(p)!.placement),
        hep.profiles,
      );
      if (!hep.lists || !sameEndpointPolicies(hep.lists, lists)) {
        hep.lists = lists;
        changed = true;
      }
    }
    this.#dirty.clear();
    return changed;
  }

  /** Sorted lists of a local host endpoint (after `flush()`). */
  lists(hep: HepName): EndpointPolicies {
    return this.#heps.get(hep)!.lists!;
  }

  /** Resolved rules of a known policy. */
  rules(policy: string): ResolvedRules {
    return this.#policies.get(policy)!.rules;
  }

  /** Local host endpoints the policy's selector currently matches, sorted. */
  endpoints(policy: string): string[] {
    const p = this.#policies.get(policy);
    return p ? [...this.#index.matching(p.selector.uniqueId)].sort() : [];
  }

  stats(): PolicyResolverStats {
    return { index: this.#index.stats(), listRecomputes: this.#listRecomputes };
  }

  #dropSelectorUser(sel: SelectorId, name: string) {
    for (const hep of this.#index.matching(sel)) {
      this.#heps.get(hep)!.policies.delete(name);
      this.#dirty.add(hep);
    }
    removeFrom(this.#bySelector, sel, name);
    if (!this.#bySelector.has(sel)) this.#index.deleteSelector(sel);
  }

  #addSelectorUser(policy: CompiledPolicy, name: string) {
    const sel = policy.selector.uniqueId;
    addTo(this.#bySelector, sel, name);
    if (this.#index.hasSelector(sel)) {
      for (const hep of this.#index.matching(sel)) {
        this.#heps.get(hep)!.policies.add(name);
        this.#dirty.add(hep);
      }
    } else {
      // Reports matches through #match, which now sees this policy.
      this.#index.addSelector(policy.selector);
    }
  }

  #match(selectorId: SelectorId, hepName: HepName, match: boolean) {
    const hep = this.#heps.get(hepName);
    const names = this.#bySelector.get(selectorId);
    if (!hep || !names) return;
    for (const n of names) {
      if (match) hep.policies.add(n);
      else hep.policies.delete(n);
    }
    this.#dirty.add(hepName);
  }
}

function _samePlacement(a: PolicyPlacement, b: PolicyPlacement): boolean {
  return a.order === b.order && a.doNotTrack === b.doNotTrack && a.preDNAT === b.preDNAT &&
    sameList(a.types ?? [], b.types ?? []);
}
