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
import type { FailsafePort } from "../calc/host_state.ts";
import { cidrsOfFamily } from "./_cidr.ts";
import type { BuildContext } from "./context.ts";
import { quoteIfPrefix } from "./names.ts";
import { portIntervals } from "./policy.ts";
import {
  ACCEPT,
  clearMarkBits,
  COUNTER,
  DROP,
  goto,
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
  /** Not hooked: filter-input's `goto` for workload interfaces (one test per packet, not three). */
  workloadToHost: "wl-to-host",
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

/**
 * The failsafe chains: terminal accepts that no policy can override. An entry with a net
 * (Calico 3's `tcp:198.18.0.0/24:22`) accepts only from that net (inbound list) or to it
 * (outbound list), and its replies only the other way round.
 */
export function failsafeChains(ctx: BuildContext): NftChain[] {
  const cfg = ctx.cfg;
  const owner = (stage: NftStage, direction: NftDirection) =>
    ({ kind: "failsafe", stage, direction }) as const;
  const inbound = (ports: "s" | "d", comment: string, direction: NftDirection) =>
    failsafeRules(ctx, cfg.failsafeInbound, ports, ports === "d" ? "s" : "d", comment, direction);
  const outbound = (ports: "s" | "d", comment: string, direction: NftDirection) =>
    failsafeRules(ctx, cfg.failsafeOutbound, ports, ports, comment, direction);
  return [
    {
      name: FAILSAFE_CHAINS.filterIn,
      comment: "failsafe inbound ports (filter, mangle)",
      owner: owner("filter", "ingress"),
      rules: inbound("d", "failsafe in", "ingress"),
    },
    {
      name: FAILSAFE_CHAINS.filterOut,
      comment: "failsafe outbound ports (filter)",
      owner: owner("filter", "egress"),
      rules: outbound("d", "failsafe out", "egress"),
    },
    {
      name: FAILSAFE_CHAINS.rawIn,
      comment: "failsafe inbound dports and outbound sports (raw)",
      owner: owner("raw", "ingress"),
      rules: [
        ...inbound("d", "failsafe in", "ingress"),
        ...outbound("s", "failsafe in (reply to outbound)", "ingress"),
      ],
    },
    {
      name: FAILSAFE_CHAINS.rawOut,
      comment: "failsafe outbound dports and inbound sports (raw)",
      owner: owner("raw", "egress"),
      rules: [
        ...outbound("d", "failsafe out", "egress"),
        ...inbound("s", "failsafe out (reply to inbound)", "egress"),
      ],
    },
  ];
}

/**
 * One accept per protocol for the entries without a net (a port set), then one per protocol
 * and net, in the order the nets first appear. `portSide` is where the listed port sits in the
 * packet, `netSide` where the net's address does. A net of a family the table does not police
 * (IPv6 with Ipv6Support off) gives no rule.
 */
function failsafeRules(
  ctx: BuildContext,
  list: readonly FailsafePort[],
  portSide: "s" | "d",
  netSide: "s" | "d",
  comment: string,
  direction: NftDirection,
): NftRule[] {
  const out: NftRule[] = [];
  const accept = (match: Match[]) =>
    rule(match, [COUNTER], ACCEPT, comment, { kind: "failsafe", direction });
  const portsMatch = (proto: "tcp" | "udp", ports: number[]): Match => ({
    kind: "ports",
    via: proto,
    side: portSide,
    ranges: portIntervals(ports),
    negate: false,
  });
  const nets = [...new Set(list.flatMap((p) => p.net === undefined ? [] : [p.net]))];
  for (const proto of ["tcp", "udp"] as const) {
    const ports = list.filter((p) => p.protocol === proto && p.net === undefined)
      .map((p) => p.port);
    if (ports.length > 0) out.push(accept([portsMatch(proto, ports)]));
  }
  for (const proto of ["tcp", "udp"] as const) {
    for (const net of nets) {
      const family = net.includes(":") ? 6 : 4;
      if (!ctx.families.includes(family)) continue;
      const ports = list.filter((p) => p.protocol === proto && p.net === net).map((p) => p.port);
      if (ports.length === 0) continue;
      const cidrs = cidrsOfFamily([net], family);
      out.push(accept([
        { kind: "addrs", family, side: netSide, cidrs, negate: false },
        portsMatch(proto, ports),
      ]));
    }
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
 * Which optional stages some endpoint uses (its dispatch map has an entry). A stage nothing
 * uses is not hooked at all: every hook costs each packet a chain walk, and the untracked and
 * pre-DNAT stages are rare, so a host without them pays only for the filter hooks.
 */
export interface StageUse {
  /** `raw-prerouting`: some endpoint has untracked ingress policy. */
  readonly rawIn: boolean;
  /** `raw-output`: some endpoint has untracked egress policy. */
  readonly rawOut: boolean;
  /** `mangle-prerouting`: some endpoint has pre-DNAT policy. */
  readonly mangleIn: boolean;
}

/** Every optional stage hooked (hand-built states and tests that want the whole layout). */
export const ALL_STAGES: StageUse = { rawIn: true, rawOut: true, mangleIn: true };

/** The stages the dispatch maps call for: a stage is hooked while its map has an entry. */
export function stageUse(mapSize: (map: string) => number): StageUse {
  return {
    rawIn: mapSize(DISPATCH_MAPS.rawFrom) > 0,
    rawOut: mapSize(DISPATCH_MAPS.rawTo) > 0,
    mangleIn: mapSize(DISPATCH_MAPS.mangleFrom) > 0,
  };
}

/**
 * The base chains, in render order. Long on purpose: one entry per hook, kept together so the
 * whole hook layout reads as one table beside the module comment that explains it.
 *
 * The accept mark A is set only by the untracked and pre-DNAT stages; where neither is
 * hooked, the filter chains neither test nor keep it, and clear every mark bit themselves (the
 * raw stage no longer does it for them), so a stray bit from elsewhere never passes a packet.
 */
export function baseChains(ctx: BuildContext, use: StageUse = ALL_STAGES): NftChain[] {
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
  // Felix's cali-wl-to-host allows ICMPv6 ND/MLD before the default action: without it a
  // workload cannot resolve its gateway's IPv6 address or take part in MLD.
  const workloadToHost: NftChain = {
    name: BASE_CHAINS.workloadToHost,
    comment: "workload to host",
    owner: { kind: "static" },
    rules: [
      rule([established], [], ACCEPT, "workload to host, reply"),
      ...(cfg.ipv6Support
        ? [
          rule(
            [{ kind: "icmpType", family: 6, types: [130, 131, 132, 133, 135, 136] }],
            [],
            ACCEPT,
            "workload to host, ICMPv6 ND/MLD",
          ),
        ]
        : []),
      rule(
        [],
        toHost.statements,
        toHost.verdict,
        `DefaultEndpointToHostAction ${cfg.defaultEndpointToHostAction}`,
      ),
    ],
  };
  const earlyIn = use.rawIn || use.mangleIn;
  const chains: (NftChain | false)[] = [
    wl.length > 0 && workloadToHost,
    use.rawIn &&
    base(BASE_CHAINS.rawPrerouting, { hook: "prerouting", priority: "raw" }, "untracked ingress", [
      ...v6Off,
      clearAll,
      ...wl.map((w) => rule([iif(w)], [], RETURN, "workload interface")),
      dispatch("in", DISPATCH_MAPS.rawFrom),
      allowedBy("untracked policy"),
    ]),
    use.rawOut &&
    base(BASE_CHAINS.rawOutput, { hook: "output", priority: "raw" }, "untracked egress", [
      ...v6Off,
      clearAll,
      dispatch("out", DISPATCH_MAPS.rawTo),
      allowedBy("untracked policy"),
    ]),
    use.mangleIn && base(
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
      ...(earlyIn ? [acceptOnA] : []),
      ...wl.map((w) => rule([iif(w)], [], goto(BASE_CHAINS.workloadToHost), "workload interface")),
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
        ...(earlyIn
          ? [
            rule(
              [],
              [clearMarkBits(mask & ~A)],
              undefined,
              "keep the accept mark of raw and mangle",
            ),
            dispatch("in", DISPATCH_MAPS.filterFrom, [markIsClear(A)]),
          ]
          : [clearAll, dispatch("in", DISPATCH_MAPS.filterFrom)]),
        dispatch("out", DISPATCH_MAPS.filterTo),
        allowedBy("policy"),
      ],
    ),
    base(BASE_CHAINS.filterOutput, { hook: "output", priority: "filter" }, "host endpoint egress", [
      ...v6Off,
      ...(use.rawOut ? [acceptOnA] : []),
      ...wl.map((w) => rule([oif(w)], [], RETURN, "host to workload: not policed")),
      clearAll,
      dispatch("out", DISPATCH_MAPS.filterTo),
      allowedBy("policy"),
    ]),
  ];
  return chains.filter((c): c is NftChain => c !== false);
}
