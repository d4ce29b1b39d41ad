/**
 * Rule resolution: datastore rules become dataplane rules with every selector and
 * tag replaced by an IP-set id, so the dataplane never parses selectors. Everything else is
 * kept as data; the dataplane filters by IP family.
 */
import type { EntityRule, Port, Rule } from "../model/resources.ts";
import type { Selector } from "../selector/mod.ts";
import { makeUniqueId } from "../selector/unique_id.ts";
import { endpointPortProtocol } from "../model/validate.ts";
import type {
  NamedPortRef,
  NumericPort,
  ResolvedEntity,
  ResolvedRule,
  RuleSet,
} from "./host_state.ts";

/** Where rule resolution gets parsed selectors from (the graph passes a caching one). */
export interface SelectorSource {
  /** Parses selector text; throws SelectorSyntaxError on bad text. */
  selector(text: string): Selector;
  /** The selector a `tag: T` stands for, `has(T)`; throws on a bad tag. */
  tag(tag: string): Selector;
}

/** The protocols a named port can be declared for (Felix's named-port IP-set protocols). */
export type NamedPortProtocol = "tcp" | "udp" | "sctp";

/**
 * A named-port IP set (Felix's `IPSetData` with a named port): the (address, protocol, port)
 * triples of the endpoints `selector` matches that declare port `name` for `protocol`.
 */
export interface NamedPortSetSpec {
  readonly id: string;
  readonly selector: Selector;
  readonly name: string;
  readonly protocol: NamedPortProtocol;
}

/** A resolved rule set plus the selectors its rules need as IP sets. */
export interface ResolvedRules {
  readonly ruleSet: RuleSet;
  /** Every selector used by a rule (positive or negated), by unique id. */
  readonly selectors: ReadonlyMap<string, Selector>;
  /** Every named-port set used by a rule, by set id. */
  readonly namedPorts: ReadonlyMap<string, NamedPortSetSpec>;
}

/**
 * The id of a named-port set: content-derived like a selector's (Felix hashes the selector
 * id, protocol and name with prefix `n`), so it is the same on every host and run.
 */
export function namedPortSetId(selector: Selector, protocol: string, name: string): string {
  return makeUniqueId("n", `${selector.uniqueId},${protocol},${name}`);
}

/**
 * The protocol a rule's named ports are looked up for: udp or sctp when the rule says so,
 * else tcp (Felix's default; v1 validation allows ports only with tcp or udp anyway).
 */
export function namedPortProtocol(rule: Rule): NamedPortProtocol {
  return endpointPortProtocol(rule.protocol) ?? "tcp";
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
  const namedPorts = new Map<string, NamedPortSetSpec>();
  return {
    ruleSet: {
      ingress: ingress.map((r) => resolveRule(r, src, selectors, namedPorts)),
      egress: egress.map((r) => resolveRule(r, src, selectors, namedPorts)),
    },
    selectors,
    namedPorts,
  };
}

/**
 * Resolves one rule. `ipVersion` is implied by `protocol: icmp` (4) and `icmpv6` (6) when
 * absent, because an ICMP type match means nothing in the other family (FLX rule_convert).
 * Selectors used are added to `used`, named-port sets to `namedPorts`.
 */
export function resolveRule(
  rule: Rule,
  src: SelectorSource,
  used: Map<string, Selector>,
  namedPorts: Map<string, NamedPortSetSpec> = new Map(),
): ResolvedRule {
  const protocol = namedPortProtocol(rule);
  const ipVersion = rule.ipVersion ??
    (rule.protocol === "icmp" ? 4 : rule.protocol === "icmpv6" ? 6 : undefined);
  return {
    action: rule.action,
    ...(ipVersion === undefined ? {} : { ipVersion }),
    ...(rule.protocol === undefined ? {} : { protocol: rule.protocol }),
    ...(rule.notProtocol === undefined ? {} : { notProtocol: rule.notProtocol }),
    ...(rule.icmp === undefined ? {} : { icmp: rule.icmp }),
    ...(rule.notICMP === undefined ? {} : { notICMP: rule.notICMP }),
    source: resolveEntity(rule.source, src, used, namedPorts, protocol),
    destination: resolveEntity(rule.destination, src, used, namedPorts, protocol),
  };
}

/**
 * Resolves one side of a rule: `net` is merged in front of `nets` (duplicates dropped),
 * `selector` and `tag` each become a set that must match (AND), their negations sets that
 * must not. A port name in `ports` or `notPorts` becomes a named-port set over the endpoints
 * the side's positive selector matches (its tag's when it has no selector, every endpoint when
 * it has neither), for `protocol`, as Felix does; the selector sets still apply as well.
 */
export function resolveEntity(
  e: EntityRule | undefined,
  src: SelectorSource,
  used: Map<string, Selector>,
  usedNamedPorts: Map<string, NamedPortSetSpec> = new Map(),
  protocol: NamedPortProtocol = "tcp",
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
  const ports = _split(e.ports);
  const notPorts = _split(e.notPorts);
  const named = (names: readonly string[]): NamedPortRef[] => {
    if (names.length === 0) return [];
    const sel = e.selector !== undefined
      ? src.selector(e.selector)
      : e.tag !== undefined
      ? src.tag(e.tag)
      : src.selector(ALL);
    const out: NamedPortRef[] = [];
    for (const name of names) {
      const id = namedPortSetId(sel, protocol, name);
      usedNamedPorts.set(id, { id, selector: sel, name, protocol });
      if (!out.some((r) => r.set === id)) out.push({ set: id, name });
    }
    return out;
  };
  const namedPorts = named(ports.names);
  const notNamedPorts = named(notPorts.names);
  return {
    nets: _merge(e.net, e.nets),
    notNets: _merge(e.notNet, e.notNets),
    ipSets: sets(e.selector, e.tag),
    notIpSets: sets(e.notSelector, e.notTag),
    ports: ports.numeric,
    notPorts: notPorts.numeric,
    ...(namedPorts.length === 0 ? {} : { namedPorts }),
    ...(notNamedPorts.length === 0 ? {} : { notNamedPorts }),
  };
}

const ALL = "all()";

/** Splits a port list into numeric ports and ranges, and port names (Felix's split). */
function _split(ports: readonly Port[] | undefined): { numeric: NumericPort[]; names: string[] } {
  const numeric: NumericPort[] = [];
  const names: string[] = [];
  for (const p of ports ?? []) {
    if (typeof p === "string") names.push(p);
    else numeric.push(p);
  }
  return { numeric, names };
}

function _merge(one: string | undefined, many: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const n of [...(one === undefined ? [] : [one]), ...(many ?? [])]) {
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
