/**
 * HostStates written in code: the calculation's output (src/calc/host_state.ts) with every
 * part not given filled in empty, and the configuration a default agent has. The dataplane's
 * and explain's tests, the named scenarios (tests/fixtures/dataplane_scenarios.ts) and the
 * dataplane benchmark build their states with these.
 */
import type {
  DataplaneConfig,
  EndpointPolicies,
  HostState,
  IpSetMembers,
  PolicedInterface,
  ResolvedEntity,
  ResolvedRule,
  RuleSet,
} from "../src/calc/host_state.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../src/config/defaults.ts";

/** An entity with the given fields set and the rest empty. */
export function entity(e: Partial<ResolvedEntity> = {}): ResolvedEntity {
  return {
    nets: e.nets ?? [],
    notNets: e.notNets ?? [],
    ipSets: e.ipSets ?? [],
    notIpSets: e.notIpSets ?? [],
    ports: e.ports ?? [],
    notPorts: e.notPorts ?? [],
  };
}

type RuleInput = Omit<ResolvedRule, "source" | "destination"> & {
  readonly source?: Partial<ResolvedEntity>;
  readonly destination?: Partial<ResolvedEntity>;
};

/** A rule with empty entities filled in. */
export function rule(r: RuleInput): ResolvedRule {
  return { ...r, source: entity(r.source), destination: entity(r.destination) };
}

export function ruleSet(
  ingress: readonly RuleInput[] = [],
  egress: readonly RuleInput[] = [],
): RuleSet {
  return { ingress: ingress.map(rule), egress: egress.map(rule) };
}

type PoliciesInput = {
  untracked?: { ingress?: string[]; egress?: string[] };
  preDnat?: { ingress?: string[] };
  normal?: { ingress?: string[]; egress?: string[] };
  profiles?: string[];
};

/** A policed interface governed by host endpoint `hep`. */
export function iface(name: string, hep: string, p: PoliciesInput = {}): PolicedInterface {
  const pol: EndpointPolicies = {
    untracked: { ingress: p.untracked?.ingress ?? [], egress: p.untracked?.egress ?? [] },
    preDnat: { ingress: p.preDnat?.ingress ?? [] },
    normal: { ingress: p.normal?.ingress ?? [], egress: p.normal?.egress ?? [] },
    profiles: p.profiles ?? [],
  };
  return { iface: name, hostEndpoint: hep, ...pol };
}

/** A HostState with defaults for everything not given (a default agent's configuration). */
export function hostState(s: {
  config?: Partial<DataplaneConfig>;
  interfaces?: PolicedInterface[];
  policies?: Record<string, RuleSet>;
  profiles?: Record<string, RuleSet>;
  ipSets?: Record<string, IpSetMembers>;
}): HostState {
  return {
    config: { ...DEFAULT_DATAPLANE_CONFIG, ...s.config },
    interfaces: s.interfaces ?? [],
    policies: new Map(Object.entries(s.policies ?? {})),
    profiles: new Map(Object.entries(s.profiles ?? {})),
    ipSets: new Map(Object.entries(s.ipSets ?? {})),
  };
}
