/**
 * The active rules calculator (Felix's active rules calculator): which policies and profiles
 * the policed interfaces use, with their rules, and the IP sets those rules need. It exists
 * because only active rule sets are rendered and only their selectors become IP sets: when
 * the policed lists or an active rule set change, it diffs the wanted set against the active
 * one, reports each rule set that came, went or changed, and moves the IP-set refcounts
 * (counting new users before dropping old ones, so a set both use is kept as is). It also
 * keeps every profile's rules, since a profile named by an endpoint may be defined later.
 * Private to src/calc.
 */
import type { Logger } from "../log/logger.ts";
import { quote } from "../log/quote.ts";
import type { ChangeCollector } from "./change_collector.ts";
import type { PolicedInterface, RuleSet } from "./host_state.ts";
import type { IpSetMemberCalculator } from "./ipset_members.ts";
import type { RulesKey, RulesKind } from "./keys.ts";
import { DENY_ALL, type ResolvedRules } from "./resolve_rules.ts";

const MSG_DUMMY_PROFILE =
  "Profile not known or invalid, generating dummy profile that drops all traffic.";

/** An active rule set: who it is and the rules it was counted with. */
interface _User extends RulesKey {
  rules: ResolvedRules | undefined;
  /** Its place in the wanted list of the last `update()` (the order changes are handled in). */
  rank: number;
}

/** The rule sets the policed interfaces use, in first-use order, and by kind. */
interface _Wanted {
  readonly list: readonly _User[];
  readonly names: Record<RulesKind, ReadonlySet<string>>;
}

/** Where an active policy's rules come from. */
export type PolicyRules = (name: string) => ResolvedRules;

/** See the module comment. */
export class ActiveRulesCalculator {
  /** Every known profile's rules; undefined while absent or invalid (deny-all stand-in). */
  readonly #profileRules = new Map<string, ResolvedRules | undefined>();
  readonly #warned = new Set<string>();
  /** Active rule sets by kind, then name. */
  readonly #active: Record<RulesKind, Map<string, _User>> = {
    policy: new Map(),
    profile: new Map(),
  };
  /** Every active rule set in the order it became active (drops follow it). */
  readonly #order = new Set<_User>();
  /** Active rule sets whose rules changed since the last `update()` or `refresh()`. */
  readonly #changed: Record<RulesKind, Set<string>> = { policy: new Set(), profile: new Set() };
  #dirty = false;

  constructor(
    private readonly log: Logger,
    private readonly sets: IpSetMemberCalculator,
    private readonly changes: ChangeCollector,
    private readonly policyRules: PolicyRules,
  ) {}

  /** True when an active rule set changed since the last `update()`. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Policy `name` changed: the active set must be looked at again if it is active. */
  policyChanged(name: string): void {
    if (!this.#active.policy.has(name)) return;
    this.#dirty = true;
    this.#changed.policy.add(name);
  }

  /** Profile `name`'s rules changed (undefined: absent or invalid). */
  setProfileRules(name: string, rules: ResolvedRules | undefined): void {
    this.#profileRules.set(name, rules);
    if (rules) this.#warned.delete(name);
    if (!this.#active.profile.has(name)) return;
    this.#dirty = true;
    this.#changed.profile.add(name);
  }

  /** Rules of an active policy. */
  policy(name: string): RuleSet | undefined {
    return this.#active.policy.get(name)?.rules?.ruleSet;
  }

  /** Rules of an active profile (deny-all while it has none). */
  profile(name: string): RuleSet | undefined {
    const user = this.#active.profile.get(name);
    return user === undefined ? undefined : user.rules?.ruleSet ?? DENY_ALL;
  }

  /** Every active rule set of `kind`, by name, in name order. */
  ruleSets(kind: RulesKind): Map<string, RuleSet> {
    const out = new Map<string, RuleSet>();
    const active = this.#active[kind];
    for (const name of [...active.keys()].sort()) {
      out.set(name, kind === "policy" ? this.policy(name)! : this.profile(name)!);
    }
    return out;
  }

  /** Makes the active set what `policed` uses. */
  update(policed: readonly PolicedInterface[]): void {
    this.#dirty = false;
    this.#changed.policy.clear();
    this.#changed.profile.clear();
    const wanted = this.#wanted(policed);
    // Count new set users before dropping old ones, so a set both use is kept as is.
    const dropped: ResolvedRules[] = [];
    for (const want of wanted.list) {
      const prev = this.#active[want.kind].get(want.name);
      if (prev) prev.rank = want.rank;
      if (prev && prev.rules === want.rules) continue;
      if (want.rules) this.#refSets(want.rules);
      if (prev) {
        // Updated in place: an active rule set keeps its place in the activation order.
        if (prev.rules) dropped.push(prev.rules);
        prev.rules = want.rules;
      } else {
        this.#active[want.kind].set(want.name, want);
        this.#order.add(want);
      }
      this.changes.rules(want.kind, want.name);
    }
    for (const user of this.#order) {
      if (wanted.names[user.kind].has(user.name)) continue;
      if (user.rules) dropped.push(user.rules);
      this.#order.delete(user);
      this.#active[user.kind].delete(user.name);
      this.changes.rules(user.kind, user.name);
    }
    this.#unrefAll(dropped);
  }

  /**
   * What `update()` does when the policed lists are as they were at the last `update()`:
   * the wanted rule sets are then the active ones, and only those whose rules changed need
   * looking at, in the order `update()` would take them. This keeps a change to one policy
   * from costing a walk over every active policy.
   */
  refresh(): void {
    this.#dirty = false;
    const users: _User[] = [];
    for (const kind of ["policy", "profile"] as const) {
      for (const name of this.#changed[kind]) {
        const user = this.#active[kind].get(name);
        if (user) users.push(user);
      }
      this.#changed[kind].clear();
    }
    users.sort((a, b) => a.rank - b.rank);
    const dropped: ResolvedRules[] = [];
    for (const user of users) {
      const rules = user.kind === "policy"
        ? this.policyRules(user.name)
        : this.#profileFor(user.name);
      if (user.rules === rules) continue;
      if (rules) this.#refSets(rules);
      if (user.rules) dropped.push(user.rules);
      user.rules = rules;
      this.changes.rules(user.kind, user.name);
    }
    this.#unrefAll(dropped);
  }

  #unrefAll(dropped: readonly ResolvedRules[]) {
    for (const rules of dropped) {
      for (const id of rules.selectors.keys()) this.sets.unref(id);
      for (const id of rules.namedPorts.keys()) this.sets.unref(id);
    }
  }

  #refSets(rules: ResolvedRules) {
    for (const sel of rules.selectors.values()) this.sets.ref(sel.uniqueId, sel);
    for (const np of rules.namedPorts.values()) this.sets.ref(np.id, np.selector, np);
  }

  /** The rule sets `policed` uses, each once, interface by interface. */
  #wanted(policed: readonly PolicedInterface[]): _Wanted {
    const list: _User[] = [];
    const names: Record<RulesKind, Set<string>> = { policy: new Set(), profile: new Set() };
    const add = (kind: RulesKind, name: string, rules: () => ResolvedRules | undefined) => {
      if (names[kind].has(name)) return;
      names[kind].add(name);
      list.push({ kind, name, rules: rules(), rank: list.length });
    };
    for (const p of policed) {
      const policies = [
        ...p.untracked.ingress,
        ...p.untracked.egress,
        ...p.preDnat.ingress,
        ...p.normal.ingress,
        ...p.normal.egress,
      ];
      for (const n of policies) add("policy", n, () => this.policyRules(n));
      for (const n of p.profiles) add("profile", n, () => this.#profileFor(n));
    }
    return { list, names };
  }

  #profileFor(name: string): ResolvedRules | undefined {
    const rules = this.#profileRules.get(name);
    if (!rules && !this.#warned.has(name)) {
      this.#warned.add(name);
      this.log.warning(`${MSG_DUMMY_PROFILE} Profile: ${quote(name)}`);
    }
    return rules;
  }
}
