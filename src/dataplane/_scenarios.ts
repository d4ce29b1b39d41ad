/**
 * Named HostStates shared by the dataplane's unit tests (golden files) and system tests
 * (the same rulesets through the real nft). Each models one behaviour of spec 5 in the
 * smallest state that shows it; addresses come from the documentation ranges
 * 198.18.0.0/15 and 2001:db8::/32. Private to tests.
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
} from "../calc/host_state.ts";

/** Felix defaults (spec 4.2) with IPv6 on and the NDP allowance on. */
export const DEFAULT_CONFIG: DataplaneConfig = {
  interfacePrefixes: ["cali"],
  failsafeInbound: [{ protocol: "tcp", port: 22 }, { protocol: "udp", port: 68 }],
  failsafeOutbound: [
    { protocol: "tcp", port: 2379 },
    { protocol: "tcp", port: 2380 },
    { protocol: "tcp", port: 4001 },
    { protocol: "tcp", port: 7001 },
    { protocol: "udp", port: 53 },
    { protocol: "udp", port: 67 },
  ],
  defaultEndpointToHostAction: "DROP",
  logPrefix: "calico-packet",
  disableConntrackInvalidCheck: false,
  ipv6Support: true,
  hostEndpointAllowNDP: true,
  markMask: 0xff000000,
};

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

/** A HostState with defaults for everything not given. */
export function hostState(s: {
  config?: Partial<DataplaneConfig>;
  interfaces?: PolicedInterface[];
  policies?: Record<string, RuleSet>;
  profiles?: Record<string, RuleSet>;
  ipSets?: Record<string, IpSetMembers>;
}): HostState {
  return {
    config: { ...DEFAULT_CONFIG, ...s.config },
    interfaces: s.interfaces ?? [],
    policies: new Map(Object.entries(s.policies ?? {})),
    profiles: new Map(Object.entries(s.profiles ?? {})),
    ipSets: new Map(Object.entries(s.ipSets ?? {})),
  };
}

/** The seed document's failsafe-replacement policy, with placeholders filled in. */
export const SEED_FAILSAFE = ruleSet(
  [
    {
      action: "allow",
      protocol: "tcp",
      source: { nets: ["198.18.0.0/24"] },
      destination: { ports: [22] },
    },
    { action: "allow", protocol: "icmp", ipVersion: 4 },
  ],
  [
    {
      action: "allow",
      protocol: "tcp",
      destination: { nets: ["198.18.0.10/32"], ports: [2379, 2380, 4001, 7001] },
    },
    { action: "allow", protocol: "udp", destination: { ports: [67] } },
  ],
);

/** The seed document's webserver policy. */
export const SEED_WEBSERVER = ruleSet(
  [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }],
  [{ action: "allow" }],
);

/** Every scenario, by golden file name. */
export const SCENARIOS: Record<string, HostState> = {
  // No host endpoint resolved: base chains and empty dispatch maps only.
  no_interfaces: hostState({}),
  // A HEP with neither policy nor profile: everything but failsafe/established drops (8.3).
  default_drop: hostState({ interfaces: [iface("eth0", "hep0")] }),
  // The seed's failsafe + webserver policies on eth0, both classes normal.
  seed_failsafe_webserver: hostState({
    interfaces: [iface("eth0", "hep0", {
      normal: { ingress: ["failsafe", "webserver"], egress: ["failsafe", "webserver"] },
    })],
    policies: { failsafe: SEED_FAILSAFE, webserver: SEED_WEBSERVER },
  }),
  // The seed's memcached example: symmetric untracked policy on port 11211.
  untracked_memcached: hostState({
    interfaces: [iface("eth0", "hep0", {
      untracked: { ingress: ["memcached"], egress: ["memcached"] },
    })],
    policies: {
      memcached: ruleSet(
        [{ action: "allow", protocol: "tcp", destination: { ports: [11211] } }],
        [{ action: "allow", protocol: "tcp", source: { ports: [11211] } }],
      ),
    },
  }),
  // Pre-DNAT allow of a NodePort-style port from one range, deny of another.
  pre_dnat: hostState({
    interfaces: [iface("eth0", "hep0", { preDnat: { ingress: ["nodeport"] } })],
    policies: {
      nodeport: ruleSet([
        { action: "deny", source: { nets: ["198.19.0.0/16"] } },
        { action: "allow", protocol: "tcp", destination: { ports: [9091] } },
      ]),
    },
  }),
  // A pass rule hands over to the profiles; two profiles in order.
  profile_pass: hostState({
    interfaces: [iface("eth0", "hep0", {
      normal: { ingress: ["ssh-only"] },
      profiles: ["allow-web", "allow-all"],
    })],
    policies: {
      "ssh-only": ruleSet([
        {
          action: "allow",
          protocol: "tcp",
          source: { nets: ["198.18.0.0/24"] },
          destination: { ports: [22] },
        },
        { action: "pass" },
      ]),
    },
    profiles: {
      "allow-web": ruleSet([{
        action: "allow",
        protocol: "tcp",
        destination: { ports: [80, 443] },
      }]),
      "allow-all": ruleSet([{ action: "allow" }], [{ action: "allow" }]),
    },
  }),
  // Selectors become named sets per family; negated selectors too.
  selectors: hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["db-access"] } })],
    policies: {
      "db-access": ruleSet([
        {
          action: "allow",
          protocol: "tcp",
          source: { ipSets: ["s:role-db"] },
          destination: { ports: [5432] },
        },
        { action: "deny", source: { notIpSets: ["s:trusted"] } },
      ]),
    },
    ipSets: {
      "s:role-db": { v4: ["198.18.1.1", "198.18.1.2"], v6: ["2001:db8::1"] },
      "s:trusted": { v4: ["198.18.2.1"], v6: [] },
    },
  }),
  // CIDR lists filtered per family; a rule whose list has no address of a family is skipped there.
  cidr_families: hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["mixed"] } })],
    policies: {
      mixed: ruleSet([
        {
          action: "allow",
          source: { nets: ["198.18.0.0/16", "198.18.5.0/24", "2001:db8:1::/48"] },
        },
        { action: "allow", source: { nets: ["198.19.0.7/24"] } },
        { action: "allow", destination: { nets: ["2001:db8:2::1"] } },
        { action: "deny", source: { notNets: ["198.18.0.0/15"] } },
        { action: "allow", ipVersion: 6, protocol: "udp" },
      ]),
    },
  }),
  // ICMP and ICMPv6 type/code matches and negations.
  icmp: hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["icmp"] } })],
    policies: {
      icmp: ruleSet([
        { action: "allow", protocol: "icmp", ipVersion: 4, icmp: { type: 8 } },
        { action: "allow", protocol: "icmpv6", ipVersion: 6, icmp: { type: 128, code: 0 } },
        { action: "deny", protocol: "icmp", ipVersion: 4, notICMP: { type: 3, code: 1 } },
        { action: "deny", protocol: "icmpv6", ipVersion: 6, notICMP: { type: 1 } },
        { action: "allow", protocol: "icmp" },
      ]),
    },
  }),
  // Port lists with ranges (overlaps merged), notPorts, source ports, numbered protocols.
  ports: hostState({
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["ports"] } })],
    policies: {
      ports: ruleSet([
        {
          action: "allow",
          protocol: "tcp",
          destination: { ports: [80, { min: 8000, max: 8080 }, { min: 8050, max: 8100 }, 443] },
        },
        { action: "allow", protocol: "tcp", destination: { notPorts: [80] } },
        {
          action: "allow",
          protocol: "udp",
          source: { ports: [53] },
          destination: { notPorts: [{ min: 1, max: 1023 }] },
        },
        { action: "allow", protocol: "sctp", destination: { ports: [3868] } },
        { action: "deny", notProtocol: "udp" },
        { action: "allow", protocol: 47 },
      ]),
    },
  }),
  // A log rule continues to the next rule; LogPrefix appears in the prefix.
  log_rule: hostState({
    config: { logPrefix: "hf-web" },
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["logged"] } })],
    policies: {
      logged: ruleSet([
        { action: "log", protocol: "tcp" },
        { action: "allow", protocol: "tcp", destination: { ports: [80] } },
      ]),
    },
  }),
  // DefaultEndpointToHostAction ACCEPT, two workload prefixes.
  endpoint_to_host_accept: hostState({
    config: { defaultEndpointToHostAction: "ACCEPT", interfacePrefixes: ["cali", "tap"] },
    interfaces: [iface("eth0", "hep0")],
  }),
  // DefaultEndpointToHostAction RETURN.
  endpoint_to_host_return: hostState({
    config: { defaultEndpointToHostAction: "RETURN" },
    interfaces: [iface("eth0", "hep0")],
  }),
  // IPv6 off: IPv6 not policed, rules rendered for IPv4 only, no NDP rules; invalid check off.
  ipv6_off: hostState({
    config: { ipv6Support: false, disableConntrackInvalidCheck: true, markMask: 0x000f0000 },
    interfaces: [iface("eth0", "hep0", { normal: { ingress: ["web"] } })],
    policies: {
      web: ruleSet([
        { action: "allow", protocol: "tcp", destination: { ports: [80] } },
        { action: "allow", source: { nets: ["2001:db8::/32"] } },
      ]),
    },
  }),
  // Strict Calico behaviour: no NDP allowance.
  ndp_off: hostState({
    config: { hostEndpointAllowNDP: false },
    interfaces: [iface("eth0", "hep0")],
  }),
  // Names with odd characters: a VLAN interface and policy names with `/`, `.` and `_`.
  odd_names: hostState({
    interfaces: [
      iface("eth0.100", "hep-vlan", {
        normal: { ingress: ["team/web.v1", "a_b"], egress: ["team/web.v1"] },
      }),
      iface("eth1", "hep-1", { normal: { ingress: ["a_b"] }, profiles: ["p/1"] }),
    ],
    policies: {
      "team/web.v1": ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [80] } }], [
        { action: "allow" },
      ]),
      "a_b": ruleSet([{ action: "deny" }]),
    },
    profiles: { "p/1": ruleSet([{ action: "allow" }], []) },
  }),
  // Every class on one endpoint, plus a second endpoint: forward paths in one table.
  all_classes: hostState({
    interfaces: [
      iface("eth0", "hep0", {
        untracked: { ingress: ["u"], egress: ["u"] },
        preDnat: { ingress: ["pd"] },
        normal: { ingress: ["n"], egress: ["n"] },
        profiles: ["prof"],
      }),
      iface("eth1", "hep1", { normal: { egress: ["n"] } }),
    ],
    policies: {
      u: ruleSet([{ action: "allow", protocol: "udp", destination: { ports: [11211] } }], [
        { action: "allow", protocol: "udp", source: { ports: [11211] } },
      ]),
      pd: ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [30080] } }]),
      n: ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [80] } }], [
        { action: "allow", protocol: "tcp", destination: { ports: [80] } },
      ]),
    },
    profiles: { prof: ruleSet([{ action: "allow" }], [{ action: "allow" }]) },
  }),
};
