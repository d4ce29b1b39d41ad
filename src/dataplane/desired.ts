/**
 * The desired table, kept object by object so a change costs what it touches. Built whole
 * once (start-up, config change, repair), then updated from the calculation's change report:
 * a changed policy rebuilds its chains and the endpoints that list it, a changed interface its
 * endpoint objects, an IP-set member one element. Every update returns what it touched, with
 * each touched object's previous version, which is all the planner (plan.ts) needs.
 */
import {
  type HostChanges,
  type HostState,
  type HostStateSource,
  type HostView,
  type IpSetMembers,
  isNamedPortSet,
  type PolicedInterface,
} from "../calc/host_state.ts";
import {
  addressesOfFamily,
  cidrsOfFamily,
  namedPortElementsOfFamily,
  namedPortSetType,
} from "./_cidr.ts";
import { type BuildContext, buildContext } from "./context.ts";
import { type EndpointObjects, endpointObjects } from "./endpoints.ts";
import { policyChain, policyNames, profileChains } from "./policy.ts";
import {
  BASE_CHAINS,
  baseChains,
  DISPATCH_ORDER,
  failsafeChains,
  type StageUse,
  stageUse,
} from "./static.ts";
import type { NftChain, NftMap, NftSet, NftState } from "./state.ts";

/** What one update touched: names with their previous value (undefined: did not exist). */
export interface TableChanges {
  readonly chains: Map<string, NftChain | undefined>;
  /** Sets created, removed or replaced whole (compiled sets, IP sets coming and going). */
  readonly sets: Map<string, NftSet | undefined>;
  /** Elements added to / removed from IP sets that stayed. */
  readonly elements: Map<string, { readonly add: Set<string>; readonly del: Set<string> }>;
  /** Dispatch entries: map -> interface -> previous target chain. */
  readonly dispatch: Map<string, Map<string, string | undefined>>;
}

/** A change report that says nothing changed. */
export function noTableChanges(): TableChanges {
  return { chains: new Map(), sets: new Map(), elements: new Map(), dispatch: new Map() };
}

interface _Endpoint {
  readonly pi: PolicedInterface;
  readonly objects: EndpointObjects;
}

/** A HostState read through the HostView interface (for whole builds). */
export function viewOf(host: HostState): HostView {
  return {
    config: host.config,
    interface: (name) => host.interfaces.find((i) => i.iface === name),
    policy: (name) => host.policies.get(name),
    profile: (name) => host.profiles.get(name),
    ipSet: (id) => host.ipSets.get(id),
  };
}

/**
 * A source that always hands over `host` whole (its changes always say `full`): for callers
 * that have a HostState rather than a running calculation (tests, `render`).
 */
export function fixedSource(host: HostState): HostStateSource {
  return {
    hostState: () => host,
    view: () => viewOf(host),
    takeChanges: () => ({
      full: true,
      interfaces: new Set(),
      policies: new Set(),
      profiles: new Set(),
      ipSets: new Set(),
      members: new Map(),
    }),
  };
}

export class DesiredTable {
  readonly ctx: BuildContext;
  readonly #chains = new Map<string, NftChain>();
  readonly #sets = new Map<string, NftSet>();
  /** IP-set members per set name, mutated in place (sets of thousands change by one). */
  readonly #members = new Map<string, Set<string>>();
  /** IP-set name -> how many of its members are prefixes (it is an interval set while > 0). */
  readonly #prefixCounts = new Map<string, number>();
  readonly #maps = new Map<string, Map<string, string>>();
  readonly #endpoints = new Map<string, _Endpoint>();
  /** Policy / profile name -> interfaces listing it, to find the endpoints a change touches. */
  readonly #policyUsers = new Map<string, Set<string>>();
  /** Jumps into policy chains (`i:NAME`, `o:NAME`) and profiles, counted over endpoints. */
  readonly #policyRefs = new Map<string, number>();
  readonly #profileRefs = new Map<string, number>();
  readonly #state: NftState;
  /** The optional stages the base chains now hook (follows the dispatch maps). */
  #stages: StageUse | undefined;

  private constructor(ctx: BuildContext) {
    this.ctx = ctx;
    const maps = new Map<string, NftMap>();
    for (const name of DISPATCH_ORDER) {
      const elements = new Map<string, string>();
      this.#maps.set(name, elements);
      maps.set(name, { name, elements });
    }
    this.#state = { sets: this.#sets, maps, chains: this.#chains };
  }

  /**
   * The whole table for `host`. Throws RangeError when the mark mask has fewer than two bits
   * and TypeError for an interface name nft cannot quote (config errors the caller logs).
   */
  static build(host: HostState): DesiredTable {
    const t = new DesiredTable(buildContext(host.config));
    const view = viewOf(host);
    const ignored = noTableChanges();
    for (const c of failsafeChains(t.ctx)) t.#chains.set(c.name, c);
    for (const id of [...host.ipSets.keys()].sort()) t.#addIpSet(id, host.ipSets.get(id), ignored);
    for (const i of host.interfaces) t.#setEndpoint(i.iface, i, view, ignored);
    t.#syncBaseChains(ignored);
    t.#addMissingSets();
    return t;
  }

  /** The current desired state (live: it changes with every update). */
  get state(): NftState {
    return this.#state;
  }

  /**
   * Applies a change report (not a full one: the caller rebuilds for those) and returns what
   * it touched. Throws TypeError for an interface name nft cannot quote.
   */
  update(view: HostView, changes: HostChanges): TableChanges {
    const out = noTableChanges();
    for (const id of changes.ipSets) {
      const members = view.ipSet(id);
      if (members === undefined) this.#removeIpSet(id, out);
      else this.#addIpSet(id, members, out);
    }
    for (const [id, delta] of changes.members) {
      if (!changes.ipSets.has(id)) this.#updateMembers(id, delta, out);
    }
    const ifaces = new Set(changes.interfaces);
    for (const p of changes.policies) for (const i of this.#policyUsers.get(p) ?? []) ifaces.add(i);
    for (const i of ifaces) this.#setEndpoint(i, view.interface(i), view, out);
    if (ifaces.size > 0) this.#syncBaseChains(out);
    for (const p of changes.policies) {
      if (this.#policyRefs.has(`i:${p}`)) {
        this.#putChain(policyChain(p, "ingress", view.policy(p), this.ctx), out);
      }
      if (this.#policyRefs.has(`o:${p}`)) {
        this.#putChain(policyChain(p, "egress", view.policy(p), this.ctx), out);
      }
    }
    for (const p of changes.profiles) {
      if (this.#profileRefs.has(p)) {
        for (const c of profileChains(p, view.profile(p), this.ctx)) this.#putChain(c, out);
      }
    }
    return out;
  }

  /** Hooks a stage when its first endpoint appears and unhooks it when its last one goes. */
  #syncBaseChains(out: TableChanges) {
    const use = stageUse((map) => this.#maps.get(map)?.size ?? 0);
    const was = this.#stages;
    if (
      was !== undefined && was.rawIn === use.rawIn && was.rawOut === use.rawOut &&
      was.mangleIn === use.mangleIn
    ) return;
    this.#stages = use;
    const next = baseChains(this.ctx, use);
    const keep = new Set(next.map((c) => c.name));
    for (const name of Object.values(BASE_CHAINS)) {
      if (!keep.has(name) && this.#chains.has(name)) this.#dropChain(name, out);
    }
    for (const c of next) this.#putChain(c, out);
  }

  #putChain(c: NftChain, out: TableChanges) {
    _put(this.#chains, out.chains, c);
  }

  #dropChain(name: string, out: TableChanges) {
    _drop(this.#chains, out.chains, name);
  }

  #putSet(s: NftSet, out: TableChanges) {
    _put(this.#sets, out.sets, s);
  }

  #dropSet(name: string, out: TableChanges) {
    _drop(this.#sets, out.sets, name);
    this.#members.delete(name);
    this.#prefixCounts.delete(name);
  }

  /**
   * A selector's set for each family. It is an interval set exactly while it holds a prefix
   * (a network set's net): hashed sets are cheaper to change, and nft refuses a prefix in
   * one. The calculation hands members over disjoint, as an interval set needs.
   */
  #addIpSet(id: string, members: IpSetMembers | undefined, out: TableChanges) {
    const named = isNamedPortSet(id);
    for (const fam of this.ctx.families) {
      const name = policyNames.set(id, fam);
      const list = fam === 4 ? members?.v4 ?? [] : members?.v6 ?? [];
      if (named) {
        // Named-port members are address triples, never prefixes (network sets have no ports).
        const elements = new Set(namedPortElementsOfFamily(list, fam));
        this.#members.set(name, elements);
        this.#putSet({ name, type: namedPortSetType(fam), ipSet: id, elements }, out);
        continue;
      }
      const interval = list.some(_isPrefix);
      const elements = new Set(interval ? cidrsOfFamily(list, fam) : addressesOfFamily(list, fam));
      this.#members.set(name, elements);
      let prefixes = 0;
      if (interval) { for (const e of elements) if (_isPrefix(e)) prefixes++; }
      this.#prefixCounts.set(name, prefixes);
      this.#putSet(_ipSet(name, fam, id, elements, interval), out);
    }
  }

  #removeIpSet(id: string, out: TableChanges) {
    for (const fam of this.ctx.families) {
      const name = policyNames.set(id, fam);
      if (this.#sets.has(name)) this.#dropSet(name, out);
    }
  }

  #updateMembers(id: string, delta: ReadonlyMap<string, boolean>, out: TableChanges) {
    const named = isNamedPortSet(id);
    const prefixed = new Set<string>();
    for (const [addr, present] of delta) {
      const fam = addr.includes(":") ? 6 : 4;
      const name = policyNames.set(id, fam);
      const members = this.#members.get(name);
      if (members === undefined) continue; // a family we do not render
      const prefix = !named && _isPrefix(addr);
      const text = named ? namedPortElementsOfFamily([addr], fam)[0] : _elementText(addr, fam);
      if (text === undefined || members.has(text) === present) continue;
      let e = out.elements.get(name);
      if (e === undefined) out.elements.set(name, e = { add: new Set(), del: new Set() });
      if (present) {
        members.add(text);
        if (!e.del.delete(text)) e.add.add(text);
      } else {
        members.delete(text);
        if (!e.add.delete(text)) e.del.add(text);
      }
      if (prefix) {
        this.#prefixCounts.set(name, (this.#prefixCounts.get(name) ?? 0) + (present ? 1 : -1));
        prefixed.add(name);
      }
    }
    // A set that gained its first prefix or lost its last one changes kind (the planner
    // programs the whole table for that; nft cannot change a set's flags in place).
    for (const name of prefixed) {
      const set = this.#sets.get(name);
      const members = this.#members.get(name);
      if (set === undefined || members === undefined) continue;
      const interval = (this.#prefixCounts.get(name) ?? 0) > 0;
      if (interval === (set.interval ?? false)) continue;
      const fam = set.type === "ipv4_addr" ? 4 : 6;
      this.#putSet(_ipSet(name, fam, id, members, interval), out);
    }
  }

  /** Replaces (or removes, with `pi` undefined) one interface's endpoint objects. */
  #setEndpoint(iface: string, pi: PolicedInterface | undefined, view: HostView, out: TableChanges) {
    const old = this.#endpoints.get(iface);
    const next = pi === undefined
      ? undefined
      : endpointObjects(pi, (n) => view.policy(n), this.ctx, old?.objects);
    const keep = new Set(next?.chains.map((c) => c.name));
    for (const c of old?.objects.chains ?? []) if (!keep.has(c.name)) this.#dropChain(c.name, out);
    for (const c of next?.chains ?? []) this.#putChain(c, out);
    const keepSets = new Set(next?.sets.map((s) => s.name));
    for (const s of old?.objects.sets ?? []) if (!keepSets.has(s.name)) this.#dropSet(s.name, out);
    for (const s of next?.sets ?? []) this.#putSet(s, out);
    for (const map of DISPATCH_ORDER) {
      const was = old?.objects.dispatch.get(map);
      const now = next?.dispatch.get(map);
      if (was === now) continue;
      let m = out.dispatch.get(map);
      if (m === undefined) out.dispatch.set(map, m = new Map());
      if (!m.has(iface)) m.set(iface, was);
      if (now === undefined) this.#maps.get(map)!.delete(iface);
      else this.#maps.get(map)!.set(iface, now);
    }
    if (old !== undefined) {
      for (const n of _listed(old.pi)) _removeFrom(this.#policyUsers, n, iface);
    }
    if (next === undefined || pi === undefined) this.#endpoints.delete(iface);
    else {
      this.#endpoints.set(iface, { pi, objects: next });
      for (const n of _listed(pi)) _addTo(this.#policyUsers, n, iface);
    }
    // New references first, so a chain both versions use is never dropped and re-made.
    for (const n of next?.policyIn ?? []) this.#refPolicy("i", n, view, out);
    for (const n of next?.policyOut ?? []) this.#refPolicy("o", n, view, out);
    for (const n of next?.profiles ?? []) this.#refProfile(n, view, out);
    for (const n of old?.objects.policyIn ?? []) this.#unrefPolicy("i", n, out);
    for (const n of old?.objects.policyOut ?? []) this.#unrefPolicy("o", n, out);
    for (const n of old?.objects.profiles ?? []) this.#unrefProfile(n, out);
  }

  #refPolicy(dir: "i" | "o", name: string, view: HostView, out: TableChanges) {
    const key = `${dir}:${name}`;
    const n = this.#policyRefs.get(key) ?? 0;
    this.#policyRefs.set(key, n + 1);
    if (n > 0) return;
    this.#putChain(
      policyChain(name, dir === "i" ? "ingress" : "egress", view.policy(name), this.ctx),
      out,
    );
  }

  #unrefPolicy(dir: "i" | "o", name: string, out: TableChanges) {
    const key = `${dir}:${name}`;
    const n = (this.#policyRefs.get(key) ?? 1) - 1;
    if (n > 0) {
      this.#policyRefs.set(key, n);
      return;
    }
    this.#policyRefs.delete(key);
    this.#dropChain(dir === "i" ? policyNames.policyIn(name) : policyNames.policyOut(name), out);
  }

  #refProfile(name: string, view: HostView, out: TableChanges) {
    const n = this.#profileRefs.get(name) ?? 0;
    this.#profileRefs.set(name, n + 1);
    if (n > 0) return;
    for (const c of profileChains(name, view.profile(name), this.ctx)) this.#putChain(c, out);
  }

  #unrefProfile(name: string, out: TableChanges) {
    const n = (this.#profileRefs.get(name) ?? 1) - 1;
    if (n > 0) {
      this.#profileRefs.set(name, n);
      return;
    }
    this.#profileRefs.delete(name);
    this.#dropChain(policyNames.profileIn(name), out);
    this.#dropChain(policyNames.profileOut(name), out);
  }

  /** Empty sets for set references nothing supplied (a hand-built state), so nft accepts them. */
  #addMissingSets() {
    for (const c of this.#chains.values()) {
      for (const r of c.rules) {
        for (const m of r.match) {
          if ((m.kind !== "addrSet" && m.kind !== "namedPort") || this.#sets.has(m.set)) continue;
          const elements = new Set<string>();
          this.#members.set(m.set, elements);
          this.#sets.set(m.set, {
            name: m.set,
            type: m.kind === "namedPort"
              ? namedPortSetType(m.family)
              : m.family === 4
              ? "ipv4_addr"
              : "ipv6_addr",
            elements,
          });
        }
      }
    }
  }
}

const _elementTexts = new Map<string, string | undefined>();

/** An IP-set member as its element text (canonical, host bits cleared); cached per text. */
function _elementText(member: string, fam: 4 | 6): string | undefined {
  if (_elementTexts.has(member)) return _elementTexts.get(member);
  const text = _isPrefix(member)
    ? cidrsOfFamily([member], fam)[0]
    : addressesOfFamily([member], fam)[0];
  if (_elementTexts.size >= 100_000) _elementTexts.clear();
  _elementTexts.set(member, text);
  return text;
}

function _isPrefix(member: string): boolean {
  return member.includes("/");
}

function _ipSet(
  name: string,
  fam: 4 | 6,
  id: string,
  elements: ReadonlySet<string>,
  interval: boolean,
): NftSet {
  return {
    name,
    type: fam === 4 ? "ipv4_addr" : "ipv6_addr",
    ipSet: id,
    elements,
    ...(interval ? { interval: true } : {}),
  };
}

/** Every policy and profile name an interface lists. */
function _listed(pi: PolicedInterface): string[] {
  return [
    ...pi.untracked.ingress,
    ...pi.untracked.egress,
    ...pi.preDnat.ingress,
    ...pi.normal.ingress,
    ...pi.normal.egress,
  ];
}

/** Puts `o` in `current`; `changed` keeps what stood under its name before the first change. */
function _put<V extends { readonly name: string }>(
  current: Map<string, V>,
  changed: Map<string, V | undefined>,
  o: V,
) {
  if (!changed.has(o.name)) changed.set(o.name, current.get(o.name));
  current.set(o.name, o);
}

/** Removes `name` from `current`, recorded in `changed` as _put does. */
function _drop<V>(current: Map<string, V>, changed: Map<string, V | undefined>, name: string) {
  if (!changed.has(name)) changed.set(name, current.get(name));
  current.delete(name);
}

function _addTo(m: Map<string, Set<string>>, k: string, v: string) {
  let s = m.get(k);
  if (s === undefined) m.set(k, s = new Set());
  s.add(v);
}

function _removeFrom(m: Map<string, Set<string>>, k: string, v: string) {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
