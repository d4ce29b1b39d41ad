/**
 * The change collector: the graph node every other node reports desired-state changes to.
 * It exists because two readers want the same facts in two shapes: the HostState cache wants
 * one generation number bumped once per batch that changed anything, and the dataplane's
 * incremental path wants the keys that changed since it last asked (HostChanges). Nodes call
 * the record methods as they change things; the graph seals a generation at the end of each
 * batch. Private to src/calc.
 */
import type { HostChanges } from "./host_state.ts";
import type { IpSetId, RulesKind } from "./keys.ts";

interface _Pending {
  full: boolean;
  readonly interfaces: Set<string>;
  readonly policies: Set<string>;
  readonly profiles: Set<string>;
  readonly ipSets: Set<IpSetId>;
  readonly members: Map<IpSetId, Map<string, boolean>>;
}

function _none(full: boolean): _Pending {
  return {
    full,
    interfaces: new Set(),
    policies: new Set(),
    profiles: new Set(),
    ipSets: new Set(),
    members: new Map(),
  };
}

/** See the module comment. The first `take()` says `full`, as nothing was taken before. */
export class ChangeCollector {
  #pending = _none(true);
  /** Something in the desired state changed since the last `seal()`. */
  #touched = true;
  #generation = 0;

  /** Bumped by `seal()` once per batch that changed the desired state. */
  get generation(): number {
    return this.#generation;
  }

  /** The desired state changed in a way no key names (e.g. a member hidden in a prefix). */
  touch(): void {
    this.#touched = true;
  }

  /** Everything must be rebuilt (the dataplane config changed). */
  full(): void {
    this.#pending.full = true;
    this.#touched = true;
  }

  /** Interface `iface` became policed, stopped being policed, or its lists changed. */
  interface(iface: string): void {
    this.#pending.interfaces.add(iface);
    this.#touched = true;
  }

  /** An active policy or profile changed, appeared or went away. */
  rules(kind: RulesKind, name: string): void {
    (kind === "policy" ? this.#pending.policies : this.#pending.profiles).add(name);
    this.#touched = true;
  }

  /** IP set `id` appeared or went away (its member changes, if any, no longer matter). */
  ipSet(id: IpSetId, present: boolean): void {
    this.#pending.ipSets.add(id);
    if (!present) this.#pending.members.delete(id);
    this.#touched = true;
  }

  /** An element of IP set `id` appeared or went away. */
  element(id: IpSetId, element: string, present: boolean): void {
    let m = this.#pending.members.get(id);
    if (m === undefined) this.#pending.members.set(id, m = new Map());
    m.set(element, present);
    this.#touched = true;
  }

  /** Ends a batch: a new generation when anything changed in it. */
  seal(): void {
    if (!this.#touched) return;
    this.#touched = false;
    this.#generation++;
  }

  /** The changes since the last call. */
  take(): HostChanges {
    const c = this.#pending;
    this.#pending = _none(false);
    return c;
  }
}
