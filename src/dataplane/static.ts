/**
 * The objects that depend on configuration only: failsafe chains, the dispatch maps and the
 * base chains hooked into the kernel. They change only with a config change (a full rebuild).
 *
 * - Base chains mirror Felix's hooks: `raw-prerouting`/`raw-output` at priority raw (-300,
 *   before conntrack, so `notrack` works), `mangle-prerouting` at mangle (-150, before DNAT at
 *   -100, so pre-DNAT policy sees the original destination), `filter-input/forward/output` at
 *   filter (0). Policy is always accept: an `accept` here only ends our chain, so the host's
 *   own tables still judge the packet, and traffic we do not police is left to them.
 * - Interface dispatch is a verdict map per stage and direction (`iifname vmap @filter-from-hep`),
 *   so adding or removing a host endpoint is one map element; unknown interfaces miss the map
 *   and fall through (no drop).
 * - With Ipv6Support off, each base chain returns IPv6 at once: IPv6 is not policed at all.
 * - Failsafe chains are shared: `failsafe-in`/`failsafe-out` for filter (mangle reuses
 *   `failsafe-in`, its list is the same inbound dports), `raw-failsafe-in`/`-out` with the
 *   reversed-port extras Felix adds there (the same ports as source ports, for replies).
 * - Workload interfaces (InterfacePrefix): forwarded traffic touching them is accepted before
 *   HEP dispatch; workload->host gets DefaultEndpointToHostAction, preceded by an accept of
 *   established/related packets (Felix's per-workload chains accept those before the default
 *   action, so host-initiated flows to workloads keep working); host->workload is not policed.
 */
import type { PortSpec } from "../calc/host_state.ts";
import type { BuildContext } from "./context.ts";
import { quoteIfPrefix } from "./names.ts";
import { portIntervals } from "./policy.ts";
import {
  ACCEPT,
  clearMarkBits,
  COUNTER,
  DROP,
  markIsClear,
  markIsSet,
  type Match,
  type NftRule,
  RETURN,
  rule,
  type Statement,
} from "./rule.ts";
import type { NftChain, NftDirection, NftHook, NftStage } from "./state.ts";

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

/** The failsafe chains: terminal accepts that no policy can override. */
export function failsafeChains(ctx: BuildContext): NftChain[] {
  const cfg = ctx.cfg;
  const owner = (stage: NftStage, direction: NftDirection) =>
    ({ kind: "failsafe", stage, direction }) as const;
  return [
    {
      name: FAILSAFE_CHAINS.filterIn,
      comment: "failsafe inbound ports (filter, mangle)",
      owner: owner("filter", "ingress"),
      rules: failsafeRules(cfg.failsafeInbound, "d", "failsafe in", "ingress"),
    },
    {
      name: FAILSAFE_CHAINS.filterOut,
      comment: "failsafe outbound ports (filter)",
      owner: owner("filter", "egress"),
      rules: failsafeRules(cfg.failsafeOutbound, "d", "failsafe out", "egress"),
    },
    {
      name: FAILSAFE_CHAINS.rawIn,
      comment: "failsafe inbound dports and outbound sports (raw)",
      owner: owner("raw", "ingress"),
      rules: [
        ...failsafeRules(cfg.failsafeInbound, "d", "failsafe in", "ingress"),
        ...failsafeRules(cfg.failsafeOutbound, "s", "failsafe in (reply to outbound)", "ingress"),
      ],
    },
    {
      name: FAILSAFE_CHAINS.rawOut,
      comment: "failsafe outbound dports and inbound sports (raw)",
      owner: owner("raw", "egress"),
      rules: [
        ...failsafeRules(cfg.failsafeOutbound, "d", "failsafe out", "egress"),
        ...failsafeRules(cfg.failsafeInbound, "s", "failsafe out (reply to inbound)", "egress"),
      ],
    },
  ];
}

function failsafeRules(
  list: readonly PortSpec[],
  side: "s" | "d",
  comment: string,
  direction: NftDirection,
): NftRule[] {
  const out: NftRule[] = [];
  for (const proto of ["tcp", "udp"] as const) {
    const ports = list.filter((p) => p.protocol === proto).map((p) => p.port);
    if (ports.length === 0) continue;
    out.push(rule(
      [{ kind: "ports", via: proto, side, ranges: portIntervals(ports), negate: false }],
      [COUNTER],
      ACCEPT,
      comment,
      { kind: "failsafe", direction },
    ));
  }
  return out;
}

/** The empty dispatch maps' names, in render order. */
export const DISPATCH_ORDER: readonly string[] = [
  DISPATCH_MAPS.rawFrom,
  DISPATCH_MAPS.rawTo,
  DISPATCH_MAPS.mangleFrom,
  DISPATCH_MAPS.filterFrom,
  DISPATCH_MAPS.filterTo,
];

/**
 * The base chains, in render order. Long on purpose: one entry per hook, kept together so the
 * whole hook layout reads as one table beside the module comment that explains it.
 */
export function baseChains(ctx: BuildContext): NftChain[] {
  const cfg = ctx.cfg;
  const A = ctx.accept;
  const mask = cfg.markMask >>> 0;
  const v6Off: NftRule[] = cfg.ipv6Support
    ? []
    : [rule([{ kind: "nfproto", family: 6 }], [], RETURN, "Ipv6Support is off")];
  const wl = cfg.interfacePrefixes.map(quoteIfPrefix);
  const iif = (quoted: string): Match => ({ kind: "ifname", dir: "in", quoted });
  const oif = (quoted: string): Match => ({ kind: "ifname", dir: "out", quoted });
  const clearAll = rule([], [clearMarkBits(mask)]);
  const acceptOnA = rule([markIsSet(A)], [], ACCEPT, "accepted by an earlier stage");
  const allowedBy = (what: string) => rule([markIsSet(A)], [], ACCEPT, `allowed by ${what}`);
  const dispatch = (dir: "in" | "out", map: string, match: Match[] = []) =>
    rule(match, [], { kind: "vmap", dir, map });
  const toHost: { statements: Statement[]; verdict: NftRule["verdict"] } = {
    DROP: { statements: [COUNTER], verdict: DROP },
    ACCEPT: { statements: [COUNTER], verdict: ACCEPT },
    RETURN: { statements: [], verdict: RETURN },
  }[cfg.defaultEndpointToHostAction];
  const established: Match = { kind: "ctState", states: ["established", "related"] };
  const base = (name: string, hook: NftHook, comment: string, rules: NftRule[]): NftChain => ({
    name,
    hook,
    comment,
    owner: { kind: "static" },
    rules,
  });
  return [
    base(BASE_CHAINS.rawPrerouting, { hook: "prerouting", priority: "raw" }, "untracked ingress", [
      ...v6Off,
      clearAll,
      ...wl.map((w) => rule([iif(w)], [], RETURN, "workload interface")),
      dispatch("in", DISPATCH_MAPS.rawFrom),
      allowedBy("untracked policy"),
    ]),
    base(BASE_CHAINS.rawOutput, { hook: "output", priority: "raw" }, "untracked egress", [
      ...v6Off,
      clearAll,
      dispatch("out", DISPATCH_MAPS.rawTo),
      allowedBy("untracked policy"),
    ]),
    base(
      BASE_CHAINS.manglePrerouting,
      { hook: "prerouting", priority: "mangle" },
      "pre-DNAT ingress",
      [
        ...v6Off,
        rule([established], [], ACCEPT),
        acceptOnA,
        ...wl.map((w) => rule([iif(w)], [], ACCEPT, "workload interface")),
        dispatch("in", DISPATCH_MAPS.mangleFrom),
        allowedBy("pre-DNAT policy"),
      ],
    ),
    base(BASE_CHAINS.filterInput, { hook: "input", priority: "filter" }, "host endpoint ingress", [
      ...v6Off,
      acceptOnA,
      ...wl.flatMap((w) => [
        rule([iif(w), established], [], ACCEPT, "workload to host, reply"),
        // Felix's cali-wl-to-host allows these before the default action: without them a
        // workload cannot resolve its gateway's IPv6 address or take part in MLD.
        ...(cfg.ipv6Support
          ? [
            rule(
              [iif(w), { kind: "icmpType", family: 6, types: [130, 131, 132, 133, 135, 136] }],
              [],
              ACCEPT,
              "workload to host, ICMPv6 ND/MLD",
            ),
          ]
          : []),
        rule(
          [iif(w)],
          toHost.statements,
          toHost.verdict,
          `DefaultEndpointToHostAction ${cfg.defaultEndpointToHostAction}`,
        ),
      ]),
      clearAll,
      dispatch("in", DISPATCH_MAPS.filterFrom),
      allowedBy("policy"),
    ]),
    base(
      BASE_CHAINS.filterForward,
      { hook: "forward", priority: "filter" },
      "host endpoint forward",
      [
        ...v6Off,
        ...wl.flatMap((w) => [
          rule([iif(w)], [], ACCEPT, "from workload: not host endpoint policy"),
          rule([oif(w)], [], ACCEPT, "to workload: not host endpoint policy"),
        ]),
        rule([], [clearMarkBits(mask & ~A)], undefined, "keep the accept mark of raw and mangle"),
        dispatch("in", DISPATCH_MAPS.filterFrom, [markIsClear(A)]),
        dispatch("out", DISPATCH_MAPS.filterTo),
        allowedBy("policy"),
      ],
    ),
    base(BASE_CHAINS.filterOutput, { hook: "output", priority: "filter" }, "host endpoint egress", [
      ...v6Off,
      acceptOnA,
      ...wl.map((w) => rule([oif(w)], [], RETURN, "host to workload: not policed")),
      clearAll,
      dispatch("out", DISPATCH_MAPS.filterTo),
      allowedBy("policy"),
    ]),
  ];
}
