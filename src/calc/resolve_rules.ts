/**
 * Rule resolution: datastore rules become dataplane rules with every selector and
 * tag replaced by an IP-set id, so the dataplane never parses selectors. Everything else is
 * kept as data; the dataplane filters by IP family.
 */
import type { EntityRule, Rule } from "../model/resources.ts";
import type { Selector } from "../selector/mod.ts";
import type { ResolvedEntity, ResolvedRule, RuleSet } from "./host_state.ts";

/** Where rule resolution gets parsed selectors from (the graph passes a caching one). */
export interface SelectorSource {
  /** Parses selector text; throws SelectorSyntaxError on bad text. */
  selector(text: string): Selector;
  /** The selector a `tag: T` stands for, `has(T)`; throws on a bad tag. */
  tag(tag: string): Selector;
}

/** A resolved rule set plus the selectors its rules need as IP sets. */
export interface ResolvedRules {
  readonly ruleSet: RuleSet;
  /** Every selector used by a rule (positive or negated), by unique id. */
  readonly selectors: ReadonlyMap<string, Selector>;
}

const EMPTY_ENTITY: ResolvedEntity = {
  nets: [],
  notNets: [],
  ipSets: [],
  notIpSets: [],
  ports: [],
  notPorts: [],
};

/** The rule set standing in for an unknown or invalid profile: drop in both directions. */
export const DENY_ALL: RuleSet = Object.freeze({
  ingress: Object.freeze([
    Object.freeze({ action: "deny", source: EMPTY_ENTITY, destination: EMPTY_ENTITY }),
  ]),
  egress: Object.freeze([
    Object.freeze({ action: "deny", source: EMPTY_ENTITY, destination: EMPTY_ENTITY }),
  ]),
}) as RuleSet;

/**
 * Resolves the two rule lists of a policy or profile. Throws (SelectorSyntaxError from the
 * source) when a rule's selector or tag does not parse, so the caller can treat the whole
 * policy or profile as invalid.
 */
export function resolveRules(
  ingress: readonly Rule[],
  egress: readonly Rule[],
  src: SelectorSource,
): ResolvedRules {
  const selectors = new Map<string, Selector>();
  return {
    ruleSet: {
      ingress: ingress.map((r) => resolveRule(r, src, selectors)),
      egress: egress.map((r) => resolveRule(r, src, selectors)),
    },
    selectors,
  };
}

/**
 * Resolves one rule. `ipVersion` is implied by `protocol: icmp` (4) and `icmpv6` (6) when
 * absent, because an ICMP type match means nothing in the other family (FLX rule_convert).
 * Selectors used are added to `used`.
 */
export function resolveRule(
  rule: Rule,
  src: SelectorSource,
  used: Map<string, Selector>,
): ResolvedRule {
  const ipVersion = rule.ipVersion ??
    (rule.protocol === "icmp" ? 4 : rule.protocol === "icmpv6" ? 6 : undefined);
  return {
    action: rule.action,
    ...(ipVersion === undefined ? {} : { ipVersion }),
    ...(rule.protocol === undefined ? {} : { protocol: rule.protocol }),
    ...(rule.notProtocol === undefined ? {} : { notProtocol: rule.notProtocol }),
    ...(rule.icmp === undefined ? {} : { icmp: rule.icmp }),
    ...(rule.notICMP === undefined ? {} : { notICMP: rule.notICMP }),
    source: resolveEntity(rule.source, src, used),
    destination: resolveEntity(rule.destination, src, used),
  };
}

/**
 * Resolves one side of a rule: `net` is merged in front of `nets` (duplicates dropped),
 * `selector` and `tag` each become a set that must match (AND), their negations sets that
 * must not.
 */
export function resolveEntity(
  e: EntityRule | undefined,
  src: SelectorSource,
  used: Map<string, Selector>,
): ResolvedEntity {
  if (e === undefined) return EMPTY_ENTITY;
  const sets = (selector: string | undefined, tag: string | undefined): string[] => {
    const out: string[] = [];
    const add = (s: Selector) => {
      used.set(s.uniqueId, s);
      if (!out.includes(s.uniqueId)) out.push(s.uniqueId);
    };
    if (selector !== undefined) add(src.selector(selector));
    if (tag !== undefined) add(src.tag(tag));
    return out;
  };
  return {
    nets: _merge(e.net, e.nets),
    notNets: _merge(e.notNet, e.notNets),
    ipSets: sets(e.selector, e.tag),
    notIpSets: sets(e.notSelector, e.notTag),
    ports: e.ports ?? [],
    notPorts: e.notPorts ?? [],
  };
}

function _merge(one: string | undefined, many: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const n of [...(one === undefined ? [] : [one]), ...(many ?? [])]) {
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
