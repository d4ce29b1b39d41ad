/**
 * HostState -> NftState: the chain layout of spec 5.3/5.4 in one `inet` table, implementing the
 * decision procedure of spec 5.15.
 *
 * Layout (why each piece is there):
 * - Base chains mirror Felix's hooks: `raw-prerouting`/`raw-output` at priority raw (-300,
 *   before conntrack, so `notrack` works), `mangle-prerouting` at mangle (-150, before DNAT at
 *   -100, so pre-DNAT policy sees the original destination), `filter-input/forward/output` at
 *   filter (0). Policy is always accept: an `accept` here only ends our chain, so the host's
 *   own tables still judge the packet, and traffic we do not police is left to them.
 * - Interface dispatch is a verdict map per stage and direction (`iifname vmap @filter-from-hep`),
 *   so adding or removing a host endpoint is one map element; unknown interfaces miss the map
 *   and fall through (no drop).
 * - With Ipv6Support off, each base chain returns IPv6 at once: IPv6 is not policed at all.
 * - Policy and profile chains (`pi-`, `po-`, `pri-`, `pro-`) are shared by every interface and
 *   by whichever stage uses them; a policy belongs to exactly one class (untracked, pre-DNAT,
 *   normal), and its chain holds no hook-specific statement, so no per-table copies are
 *   needed. `notrack` lives in the raw endpoint chains only.
 * - Failsafe chains are shared: `failsafe-in`/`failsafe-out` for filter (mangle reuses
 *   `failsafe-in`, its list is the same inbound dports), `raw-failsafe-in`/`-out` with the
 *   reversed-port extras of spec 5.3.
 * - Workload interfaces (InterfacePrefix): forwarded traffic touching them is accepted before
 *   HEP dispatch; workload->host gets DefaultEndpointToHostAction, preceded by an accept of
 *   established/related packets (Felix's per-workload chains accept those before the default
 *   action, so host-initiated flows to workloads keep working); host->workload is not policed.
 */
import type {
  DataplaneConfig,
  HostState,
  PolicedInterface,
  PortSpec,
  RuleSet,
} from "../calc/host_state.ts";
import { allocateMarks } from "../config/dataplane.ts";
import { addressesOfFamily } from "./_cidr.ts";
import { objectName, quoteComment, quoteIfPrefix } from "./names.ts";
import {
  clearMark,
  markClear,
  markSet,
  portSetText,
  renderRules,
  type RuleContext,
} from "./rules.ts";
import type { ChainOwner, NftChain, NftHook, NftMap, NftSet, NftState } from "./state.ts";

/** Names of the fixed objects, exported for tests and the drift check. */
export const BASE_CHAINS = {
  rawPrerouting: "raw-prerouting",
  rawOutput: "raw-output",
  manglePrerouting: "mangle-prerouting",
  filterInput: "filter-input",
  filterForward: "filter-forward",
  filterOutput: "filter-output",
} as const;

export const DISPATCH_MAPS = {
  rawFrom: "raw-from-hep",
  rawTo: "raw-to-hep",
  mangleFrom: "mangle-from-hep",
  filterFrom: "filter-from-hep",
  filterTo: "filter-to-hep",
} as const;

export const FAILSAFE_CHAINS = {
  filterIn: "failsafe-in",
  filterOut: "failsafe-out",
  rawIn: "raw-failsafe-in",
  rawOut: "raw-failsafe-out",
} as const;

/** Chain names per object (deterministic; odd characters escaped, long names hashed). */
export const chainNames = {
  policyIn: (name: string) => objectName("pi", name),
  policyOut: (name: string) => objectName("po", name),
  profileIn: (name: string) => objectName("pri", name),
  profileOut: (name: string) => objectName("pro", name),
  fromHost: (iface: string) => objectName("fh", iface),
  toHost: (iface: string) => objectName("th", iface),
  rawFromHost: (iface: string) => objectName("raw-fh", iface),
  rawToHost: (iface: string) => objectName("raw-th", iface),
  mangleFromHost: (iface: string) => objectName("mangle-fh", iface),
  set: (id: string, family: 4 | 6) => objectName(family === 4 ? "s4" : "s6", id),
};

const NDP_TYPES = "{ 133, 134, 135, 136 }";

/**
 * Builds the desired table. Throws RangeError when the mark mask has fewer than two bits and
 * TypeError for an interface name nft cannot quote (both are config errors the caller logs).
 */
export function buildNftState(host: HostState): NftState {
  const cfg = host.config;
  const marks = allocateMarks(cfg.markMask);
  const A = marks.accept;
  const P = marks.pass;
  const families: (4 | 6)[] = cfg.ipv6Support ? [4, 6] : [4];
  const ndp = cfg.ipv6Support && cfg.hostEndpointAllowNDP;

  const sets = new Map<string, NftSet>();
  const ensureSet = (id: string, fam: 4 | 6): string => {
    const name = chainNames.set(id, fam);
    if (!sets.has(name)) {
      const members = host.ipSets.get(id);
      sets.set(name, {
        name,
        type: fam === 4 ? "ipv4_addr" : "ipv6_addr",
        ipSet: id,
        elements: addressesOfFamily(fam === 4 ? members?.v4 ?? [] : members?.v6 ?? [], fam),
      });
    }
    return name;
  };
  for (const id of [...host.ipSets.keys()].sort()) for (const f of families) ensureSet(id, f);

  const ctx: RuleContext = {
    accept: A,
    pass: P,
    logPrefix: cfg.logPrefix,
    families,
    setName: ensureSet,
  };

  const chains = new Map<string, NftChain>();
  const add = (name: string, comment: string, owner: ChainOwner, rules: string[]) => {
    chains.set(name, { name, comment, owner, rules });
  };

  // Failsafe chains (spec 5.3, 5.7): terminal accepts that no policy can override.
  add(FAILSAFE_CHAINS.filterIn, "failsafe inbound ports (filter, mangle)", {
    kind: "failsafe",
    stage: "filter",
    direction: "ingress",
  }, failsafeRules(cfg.failsafeInbound, "dport", "failsafe in"));
  add(FAILSAFE_CHAINS.filterOut, "failsafe outbound ports (filter)", {
    kind: "failsafe",
    stage: "filter",
    direction: "egress",
  }, failsafeRules(cfg.failsafeOutbound, "dport", "failsafe out"));
  add(FAILSAFE_CHAINS.rawIn, "failsafe inbound dports and outbound sports (raw)", {
    kind: "failsafe",
    stage: "raw",
    direction: "ingress",
  }, [
    ...failsafeRules(cfg.failsafeInbound, "dport", "failsafe in"),
    ...failsafeRules(cfg.failsafeOutbound, "sport", "failsafe in (reply to outbound)"),
  ]);
  add(FAILSAFE_CHAINS.rawOut, "failsafe outbound dports and inbound sports (raw)", {
    kind: "failsafe",
    stage: "raw",
    direction: "egress",
  }, [
    ...failsafeRules(cfg.failsafeOutbound, "dport", "failsafe out"),
    ...failsafeRules(cfg.failsafeInbound, "sport", "failsafe out (reply to inbound)"),
  ]);

  // Policy and profile chains, for every policy/profile some interface uses, sorted by name.
  const policyIn = new Set<string>();
  const policyOut = new Set<string>();
  const profiles = new Set<string>();
  for (const i of host.interfaces) {
    for (const p of [...i.untracked.ingress, ...i.preDnat.ingress, ...i.normal.ingress]) {
      policyIn.add(p);
    }
    for (const p of [...i.untracked.egress, ...i.normal.egress]) policyOut.add(p);
    for (const p of i.profiles) profiles.add(p);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  const ruleSetOf = (m: ReadonlyMap<string, RuleSet>, name: string, missing: RuleSet) =>
    m.get(name) ?? missing;
  const EMPTY: RuleSet = { ingress: [], egress: [] };
  for (const name of sorted(policyIn)) {
    const label = { kind: "policy", name, direction: "ingress" } as const;
    add(
      chainNames.policyIn(name),
      `policy ${name} ingress`,
      label,
      renderRules(ruleSetOf(host.policies, name, EMPTY).ingress, label, ctx),
    );
  }
  for (const name of sorted(policyOut)) {
    const label = { kind: "policy", name, direction: "egress" } as const;
    add(
      chainNames.policyOut(name),
      `policy ${name} egress`,
      label,
      renderRules(ruleSetOf(host.policies, name, EMPTY).egress, label, ctx),
    );
  }
  // A profile the calculation did not supply is treated like an unknown one: deny-all.
  const DENY: RuleSet = {
    ingress: [{ action: "deny", source: NONE, destination: NONE }],
    egress: [{ action: "deny", source: NONE, destination: NONE }],
  };
  for (const name of sorted(profiles)) {
    const rs = ruleSetOf(host.profiles, name, DENY);
    const li = { kind: "profile", name, direction: "ingress" } as const;
    const lo = { kind: "profile", name, direction: "egress" } as const;
    add(
      chainNames.profileIn(name),
      `profile ${name} inbound`,
      li,
      renderRules(rs.ingress, li, ctx),
    );
    add(
      chainNames.profileOut(name),
      `profile ${name} outbound`,
      lo,
      renderRules(rs.egress, lo, ctx),
    );
  }

  // Per-endpoint chains and dispatch map elements.
  const rawFrom = new Map<string, string>();
  const rawTo = new Map<string, string>();
  const mangleFrom = new Map<string, string>();
  const filterFrom = new Map<string, string>();
  const filterTo = new Map<string, string>();
  const ifaces = [...host.interfaces].sort((
    a,
    b,
  ) => (a.iface < b.iface ? -1 : a.iface > b.iface ? 1 : 0));
  for (const i of ifaces) {
    const ep = (
      stage: "raw" | "mangle" | "filter",
      direction: "ingress" | "egress",
    ): ChainOwner => ({
      kind: "endpoint",
      stage,
      direction,
      iface: i.iface,
      hostEndpoint: i.hostEndpoint,
    });
    const opts = { A, P, ndp, cfg };
    /** Adds one endpoint chain and its dispatch-map entry. */
    const endpoint = (
      name: string,
      what: string,
      stage: "raw" | "mangle" | "filter",
      direction: "ingress" | "egress",
      rules: string[],
      dispatch: Map<string, string>,
    ) => {
      add(
        name,
        `${what} of ${i.iface} (host endpoint ${i.hostEndpoint})`,
        ep(stage, direction),
        rules,
      );
      dispatch.set(i.iface, name);
    };
    // Raw and mangle chains exist only for endpoints with policy of that class (spec 5.8, 5.9).
    if (i.untracked.ingress.length > 0) {
      endpoint(
        chainNames.rawFromHost(i.iface),
        "untracked ingress",
        "raw",
        "ingress",
        rawChain(i.untracked.ingress.map(chainNames.policyIn), FAILSAFE_CHAINS.rawIn, opts),
        rawFrom,
      );
    }
    if (i.untracked.egress.length > 0) {
      endpoint(
        chainNames.rawToHost(i.iface),
        "untracked egress",
        "raw",
        "egress",
        rawChain(i.untracked.egress.map(chainNames.policyOut), FAILSAFE_CHAINS.rawOut, opts),
        rawTo,
      );
    }
    if (i.preDnat.ingress.length > 0) {
      endpoint(
        chainNames.mangleFromHost(i.iface),
        "pre-DNAT ingress",
        "mangle",
        "ingress",
        mangleChain(i.preDnat.ingress.map(chainNames.policyIn), opts),
        mangleFrom,
      );
    }
    const ingressRules = filterChain(i, "ingress", opts);
    endpoint(
      chainNames.fromHost(i.iface),
      "ingress",
      "filter",
      "ingress",
      ingressRules,
      filterFrom,
    );
    const egressRules = filterChain(i, "egress", opts);
    endpoint(chainNames.toHost(i.iface), "egress", "filter", "egress", egressRules, filterTo);
  }

  const maps = new Map<string, NftMap>();
  for (
    const [name, elements] of [
      [DISPATCH_MAPS.rawFrom, rawFrom],
      [DISPATCH_MAPS.rawTo, rawTo],
      [DISPATCH_MAPS.mangleFrom, mangleFrom],
      [DISPATCH_MAPS.filterFrom, filterFrom],
      [DISPATCH_MAPS.filterTo, filterTo],
    ] as const
  ) {
    maps.set(name, { name, elements });
  }

  // Base chains.
  const mask = cfg.markMask >>> 0;
  const v6Off = cfg.ipv6Support ? [] : ['meta nfproto ipv6 return comment "Ipv6Support is off"'];
  const wl = cfg.interfacePrefixes.map(quoteIfPrefix);
  const acceptOnA = `${markSet(A)} accept comment "accepted by an earlier stage"`;
  const base = (name: string, hook: NftHook, comment: string, rules: string[]) => {
    chains.set(name, { name, hook, comment, owner: { kind: "static" }, rules });
  };
  base(BASE_CHAINS.rawPrerouting, { hook: "prerouting", priority: "raw" }, "untracked ingress", [
    ...v6Off,
    clearMark(mask),
    ...wl.map((w) => `iifname ${w} return comment "workload interface"`),
    `iifname vmap @${DISPATCH_MAPS.rawFrom}`,
    `${markSet(A)} accept comment "allowed by untracked policy"`,
  ]);
  base(BASE_CHAINS.rawOutput, { hook: "output", priority: "raw" }, "untracked egress", [
    ...v6Off,
    clearMark(mask),
    `oifname vmap @${DISPATCH_MAPS.rawTo}`,
    `${markSet(A)} accept comment "allowed by untracked policy"`,
  ]);
  base(
    BASE_CHAINS.manglePrerouting,
    { hook: "prerouting", priority: "mangle" },
    "pre-DNAT ingress",
    [
      ...v6Off,
      "ct state established,related accept",
      acceptOnA,
      ...wl.map((w) => `iifname ${w} accept comment "workload interface"`),
      `iifname vmap @${DISPATCH_MAPS.mangleFrom}`,
      `${markSet(A)} accept comment "allowed by pre-DNAT policy"`,
    ],
  );
  const toHost = {
    DROP: `counter drop comment "DefaultEndpointToHostAction DROP"`,
    ACCEPT: `counter accept comment "DefaultEndpointToHostAction ACCEPT"`,
    RETURN: `return comment "DefaultEndpointToHostAction RETURN"`,
  }[cfg.defaultEndpointToHostAction];
  base(BASE_CHAINS.filterInput, { hook: "input", priority: "filter" }, "host endpoint ingress", [
    ...v6Off,
    acceptOnA,
    ...wl.flatMap((w) => [
      `iifname ${w} ct state established,related accept comment "workload to host, reply"`,
      // Felix's cali-wl-to-host allows these before the default action: without them a
      // workload cannot resolve its gateway's IPv6 address or take part in MLD.
      ...(cfg.ipv6Support
        ? [
          `iifname ${w} icmpv6 type { 130, 131, 132, 133, 135, 136 } accept comment "workload to host, ICMPv6 ND/MLD"`,
        ]
        : []),
      `iifname ${w} ${toHost}`,
    ]),
    clearMark(mask),
    `iifname vmap @${DISPATCH_MAPS.filterFrom}`,
    `${markSet(A)} accept comment "allowed by policy"`,
  ]);
  base(
    BASE_CHAINS.filterForward,
    { hook: "forward", priority: "filter" },
    "host endpoint forward",
    [
      ...v6Off,
      ...wl.flatMap((w) => [
        `iifname ${w} accept comment "from workload: not host endpoint policy"`,
        `oifname ${w} accept comment "to workload: not host endpoint policy"`,
      ]),
      `${clearMark((mask & ~A) >>> 0)} comment "keep the accept mark of raw and mangle"`,
      `${markClear(A)} iifname vmap @${DISPATCH_MAPS.filterFrom}`,
      `oifname vmap @${DISPATCH_MAPS.filterTo}`,
      `${markSet(A)} accept comment "allowed by policy"`,
    ],
  );
  base(BASE_CHAINS.filterOutput, { hook: "output", priority: "filter" }, "host endpoint egress", [
    ...v6Off,
    acceptOnA,
    ...wl.map((w) => `oifname ${w} return comment "host to workload: not policed"`),
    clearMark(mask),
    `oifname vmap @${DISPATCH_MAPS.filterTo}`,
    `${markSet(A)} accept comment "allowed by policy"`,
  ]);

  return { sets, maps, chains };
}

const NONE = { nets: [], notNets: [], ipSets: [], notIpSets: [], ports: [], notPorts: [] };

interface ChainOpts {
  readonly A: number;
  readonly P: number;
  readonly ndp: boolean;
  readonly cfg: DataplaneConfig;
}

function ndpRule(): string {
  return `icmpv6 type ${NDP_TYPES} counter accept comment "HostEndpointAllowNDP"`;
}

/**
 * Clears A (and P when there are policies), then jumps to each policy while P is clear and
 * returns once one set A: steps 4-9 of spec 5.4, shared by all stages.
 */
function policyJumps(policyChains: readonly string[], o: ChainOpts, afterAllow: string): string[] {
  if (policyChains.length === 0) return [clearMark(o.A)];
  return [
    clearMark((o.A | o.P) >>> 0),
    ...policyChains.flatMap((
      c,
    ) => [`${markClear(o.P)} jump ${c}`, `${markSet(o.A)} ${afterAllow}`]),
  ];
}

/** Untracked chain (spec 5.4, 5.8): failsafe, policies; allow = notrack + A; no default drop. */
function rawChain(policyChains: readonly string[], failsafe: string, o: ChainOpts): string[] {
  return [
    ...(o.ndp ? [ndpRule()] : []),
    `jump ${failsafe}`,
    ...policyJumps(policyChains, o, "notrack return"),
  ];
}

/** Pre-DNAT chain (spec 5.4, 5.9): invalid drop, failsafe-in, policies; no default drop. */
function mangleChain(policyChains: readonly string[], o: ChainOpts): string[] {
  return [
    ...(o.ndp ? [ndpRule()] : []),
    ...(o.cfg.disableConntrackInvalidCheck ? [] : ["ct state invalid drop"]),
    `jump ${FAILSAFE_CHAINS.filterIn}`,
    ...policyJumps(policyChains, o, "return"),
  ];
}

/** Normal chain (spec 5.4 steps 1-14). */
function filterChain(i: PolicedInterface, dir: "ingress" | "egress", o: ChainOpts): string[] {
  const pols = (dir === "ingress" ? i.normal.ingress : i.normal.egress).map(
    dir === "ingress" ? chainNames.policyIn : chainNames.policyOut,
  );
  const profs = i.profiles.map(dir === "ingress" ? chainNames.profileIn : chainNames.profileOut);
  const d = dir === "ingress" ? "ingress" : "egress";
  return [
    "ct state established,related accept",
    ...(o.ndp ? [ndpRule()] : []),
    ...(o.cfg.disableConntrackInvalidCheck ? [] : ["ct state invalid drop"]),
    `jump ${dir === "ingress" ? FAILSAFE_CHAINS.filterIn : FAILSAFE_CHAINS.filterOut}`,
    ...policyJumps(pols, o, "return"),
    ...(pols.length > 0
      ? [
        `${markClear(o.P)} counter drop comment ${
          quoteComment(`${i.iface} ${d}: no policy allowed`)
        }`,
      ]
      : []),
    ...profs.flatMap((c) => [`jump ${c}`, `${markSet(o.A)} return`]),
    `counter drop comment ${
      quoteComment(`${i.iface} ${d}: ${profs.length > 0 ? "no profile allowed" : "default drop"}`)
    }`,
  ];
}

function failsafeRules(
  list: readonly PortSpec[],
  field: "dport" | "sport",
  comment: string,
): string[] {
  const out: string[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    const ports = list.filter((p) => p.protocol === proto).map((p) => p.port);
    if (ports.length === 0) continue;
    out.push(
      `${proto} ${field} ${portSetText(ports)} counter accept comment ${quoteComment(comment)}`,
    );
  }
  return out;
}
