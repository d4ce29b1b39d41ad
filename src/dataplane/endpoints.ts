/**
 * Per-endpoint objects: for one policed interface, its chains for each stage and direction,
 * the compiled sets of its policy runs, and its dispatch-map entries. Everything an
 * endpoint needs is built here from its policy lists alone, so a change to one endpoint or one
 * of its policies rebuilds just this.
 */
import type { PolicedInterface, RuleSet } from "../calc/host_state.ts";
import { type CompiledElement, compiledSetName, compilePolicy, placeRun } from "./compile.ts";
import { auditing, auditStatements, auditTail } from "./audit.ts";
import type { BuildContext } from "./context.ts";
import { objectName } from "./names.ts";
import { policyNames } from "./policy.ts";
import {
  ACCEPT,
  clearMarkBits,
  COUNTER,
  DROP,
  jump,
  markIsClear,
  markIsSet,
  type Match,
  type NftRule,
  RETURN,
  rule,
  type RuleOwner,
  setMarkBits,
  type Statement,
} from "./rule.ts";
import { DISPATCH_MAPS, FAILSAFE_CHAINS } from "./static.ts";
import type { NftChain, NftDirection, NftSet, NftStage } from "./state.ts";
import { sameList } from "../util/same_list.ts";

/** Chain names of an endpoint's objects. */
export const endpointNames = {
  fromHost: (iface: string) => objectName("fh", iface),
  toHost: (iface: string) => objectName("th", iface),
  rawFromHost: (iface: string) => objectName("raw-fh", iface),
  rawToHost: (iface: string) => objectName("raw-th", iface),
  mangleFromHost: (iface: string) => objectName("mangle-fh", iface),
};

/** Everything one endpoint contributes to the table. */
export interface EndpointObjects {
  readonly chains: readonly NftChain[];
  /** Compiled sets of its policy runs. */
  readonly sets: readonly NftSet[];
  /** Dispatch entries: map name -> this endpoint's chain in it. */
  readonly dispatch: ReadonlyMap<string, string>;
  /** Policies whose ingress / egress chain some rule here jumps to; profiles likewise. */
  readonly policyIn: readonly string[];
  readonly policyOut: readonly string[];
  readonly profiles: readonly string[];
  /** Each compiled run by its first set's name prefix, so the next build can reuse it. */
  readonly runs: ReadonlyMap<string, CompiledRun>;
}

/**
 * A compiled run as built: the policies and rule sets it was made from, and what it became.
 * A later build whose run has the same members with the same (immutable) rule sets reuses
 * it instead of compiling again, so a change elsewhere on the endpoint costs nothing here.
 */
export interface CompiledRun {
  readonly action: "allow" | "deny";
  /** Built under PolicyAuditMode: a deny run counts and logs instead of dropping. */
  readonly audit: boolean;
  readonly members: readonly string[];
  readonly rules: readonly (RuleSet | undefined)[];
  readonly sets: readonly NftSet[];
  readonly lookups: readonly NftRule[];
  /** Members whose rules are not all lookups: jumped to after the lookups. */
  readonly jumped: readonly string[];
}

/** Looks up a policy's or profile's rules (undefined: unknown). */
export type RulesOf = (name: string) => RuleSet | undefined;

const NO_RULES: RuleSet = { ingress: [], egress: [] };

const NDP_RULE = rule(
  [{ kind: "icmpType", family: 6, types: [133, 134, 135, 136] }],
  [COUNTER],
  ACCEPT,
  "HostEndpointAllowNDP",
);
const ESTABLISHED = rule(
  [{ kind: "ctState", states: ["established", "related"] }],
  [],
  ACCEPT,
);
const INVALID = rule([{ kind: "ctState", states: ["invalid"] }], [], DROP);

/**
 * The chains an endpoint gets before the filter stage, in render order: one for each class
 * and direction it has policy of (untracked in raw, pre-DNAT in mangle), each starting with
 * the failsafe jump of its stage.
 */
const EARLY_STAGES: readonly {
  readonly what: string;
  readonly stage: NftStage;
  readonly direction: NftDirection;
  readonly policies: (i: PolicedInterface) => readonly string[];
  readonly chain: (iface: string) => string;
  readonly map: string;
  readonly failsafe: string;
  /** Drops conntrack-invalid packets first (mangle runs after conntrack, raw before it). */
  readonly dropInvalid: boolean;
}[] = [
  {
    what: "untracked ingress",
    stage: "raw",
    direction: "ingress",
    policies: (i) => i.untracked.ingress,
    chain: endpointNames.rawFromHost,
    map: DISPATCH_MAPS.rawFrom,
    failsafe: FAILSAFE_CHAINS.rawIn,
    dropInvalid: false,
  },
  {
    what: "untracked egress",
    stage: "raw",
    direction: "egress",
    policies: (i) => i.untracked.egress,
    chain: endpointNames.rawToHost,
    map: DISPATCH_MAPS.rawTo,
    failsafe: FAILSAFE_CHAINS.rawOut,
    dropInvalid: false,
  },
  {
    what: "pre-DNAT ingress",
    stage: "mangle",
    direction: "ingress",
    policies: (i) => i.preDnat.ingress,
    chain: endpointNames.mangleFromHost,
    map: DISPATCH_MAPS.mangleFrom,
    failsafe: FAILSAFE_CHAINS.filterIn,
    dropInvalid: true,
  },
];

/**
 * Builds one endpoint's objects: the chains of EARLY_STAGES it has policy for, then its two
 * filter chains, each entered in its stage's dispatch map.
 */
export function endpointObjects(
  i: PolicedInterface,
  policyRules: RulesOf,
  ctx: BuildContext,
  previous?: EndpointObjects,
): EndpointObjects {
  const chains: NftChain[] = [];
  const runs = new Map<string, CompiledRun>();
  const sets: NftSet[] = [];
  const dispatch = new Map<string, string>();
  const policyIn = new Set<string>();
  const policyOut = new Set<string>();
  const add = (
    name: string,
    what: string,
    stage: NftStage,
    direction: NftDirection,
    map: string,
    rules: NftRule[],
  ) => {
    chains.push({
      name,
      comment: `${what} of ${i.iface} (host endpoint ${i.hostEndpoint})`,
      owner: { kind: "endpoint", stage, direction, iface: i.iface, hostEndpoint: i.hostEndpoint },
      rules,
    });
    dispatch.set(map, name);
  };
  const section = (names: readonly string[], dir: NftDirection, stage: NftStage, chain: string) => {
    const s = policySection(names, dir, stage, chain, policyRules, ctx, previous?.runs, runs);
    sets.push(...s.sets);
    for (const n of s.jumps) (dir === "ingress" ? policyIn : policyOut).add(n);
    return s.rules;
  };
  const ndp = ctx.ndp ? [NDP_RULE] : [];
  const invalid = ctx.cfg.disableConntrackInvalidCheck ? [] : [INVALID];

  for (const e of EARLY_STAGES) {
    const pols = e.policies(i);
    if (pols.length === 0) continue;
    const name = e.chain(i.iface);
    add(name, e.what, e.stage, e.direction, e.map, [
      ...ndp,
      ...(e.dropInvalid ? invalid : []),
      rule([], [], jump(e.failsafe)),
      ...section(pols, e.direction, e.stage, name),
    ]);
  }
  for (const dir of ["ingress", "egress"] as const) {
    const name = dir === "ingress"
      ? endpointNames.fromHost(i.iface)
      : endpointNames.toHost(i.iface);
    const pols = dir === "ingress" ? i.normal.ingress : i.normal.egress;
    add(
      name,
      dir,
      "filter",
      dir,
      dir === "ingress" ? DISPATCH_MAPS.filterFrom : DISPATCH_MAPS.filterTo,
      filterChainRules(i, dir, section(pols, dir, "filter", name), ctx, policyRules),
    );
  }
  return {
    chains,
    sets,
    dispatch,
    policyIn: [...policyIn],
    policyOut: [...policyOut],
    profiles: i.profiles,
    runs,
  };
}

/**
 * A normal (filter) endpoint chain, in Felix's order (rules/endpoints.go): conntrack, NDP,
 * invalid, failsafe, then the policies (`policies`, built by policySection), the drop when
 * policies applied and none allowed, the profiles, and the final drop.
 */
function filterChainRules(
  i: PolicedInterface,
  dir: NftDirection,
  policies: readonly NftRule[],
  ctx: BuildContext,
  policyRules: RulesOf,
): NftRule[] {
  const profs = i.profiles.map(dir === "ingress" ? policyNames.profileIn : policyNames.profileOut);
  const pols = dir === "ingress" ? i.normal.ingress : i.normal.egress;
  const drop = (reason: "no policy allowed" | "no profile allowed" | "default drop") => ({
    kind: "endpointDrop" as const,
    iface: i.iface,
    hostEndpoint: i.hostEndpoint,
    direction: dir,
    reason,
  });
  const profileReason = profs.length > 0 ? "no profile allowed" : "default drop";
  // Calico 3: when policies select the endpoint in this direction but none applies on the
  // forward path (applyOnForward: false on every one), forwarded packets are allowed in this
  // direction (the other endpoint's chain still judges them). An endpoint without any policy
  // keeps v1's profiles-then-drop on the forward path too, so v1 data behaves as it always did.
  const onlyLocal = pols.length > 0 && pols.every((n) => policyRules(n)?.notOnForward);
  return [
    ESTABLISHED,
    ...(ctx.ndp ? [NDP_RULE] : []),
    ...(ctx.cfg.disableConntrackInvalidCheck ? [] : [INVALID]),
    rule([], [], jump(dir === "ingress" ? FAILSAFE_CHAINS.filterIn : FAILSAFE_CHAINS.filterOut)),
    ...policies,
    ...(pols.length > 0
      ? endpointDrop(
        [...(onlyLocal ? [notForwarded(dir)] : []), markIsClear(ctx.pass)],
        `${i.iface} ${dir}: no policy allowed`,
        drop("no policy allowed"),
        ctx,
      )
      : []),
    ...(onlyLocal
      ? [
        rule(
          [forwarded(dir)],
          [setMarkBits(ctx.accept)],
          RETURN,
          `${i.iface} ${dir}: no policy applies on the forward path`,
        ),
      ]
      : []),
    ...profs.flatMap((c) => [rule([], [], jump(c)), rule([markIsSet(ctx.accept)], [], RETURN)]),
    ...endpointDrop([], `${i.iface} ${dir}: ${profileReason}`, drop(profileReason), ctx),
  ];
}

/**
 * Matches packets that are not being forwarded, in an endpoint chain of direction `dir`: the
 * forward hook runs the ingress chain of the input interface and the egress chain of the
 * output one, and only there are both devices set (the kernel reads a missing one's index as 0).
 */
function notForwarded(dir: NftDirection): Match {
  return { kind: "noDevice", dir: dir === "ingress" ? "out" : "in" };
}

/** The opposite of notForwarded: both devices set, i.e. the forward hook. */
function forwarded(dir: NftDirection): Match {
  return { kind: "noDevice", dir: dir === "ingress" ? "out" : "in", negate: true };
}

/** An endpoint's counted drop, or under PolicyAuditMode its counted, logged would-drop. */
function endpointDrop(
  match: Match[],
  comment: string,
  owner: Extract<RuleOwner, { kind: "endpointDrop" }>,
  ctx: BuildContext,
): NftRule[] {
  if (!auditing(ctx)) return [rule(match, [COUNTER], DROP, comment, owner)];
  return [
    rule(match, auditStatements(ctx), undefined, comment, { ...owner, audit: true }),
    ...auditTail(ctx, comment),
  ];
}

/**
 * The policy part of an endpoint chain (Felix's rules/endpoints.go) for one ordered policy list,
 * shared by all stages: clear A (and P when there are policies), then for each policy, while P is
 * clear, jump to it and return once it set A. Runs of policies of one action (compile.ts) become
 * set lookups instead; a run built before with the same members and rule sets is reused as it is.
 */
function policySection(
  names: readonly string[],
  dir: NftDirection,
  stage: NftStage,
  chain: string,
  policyRules: RulesOf,
  ctx: BuildContext,
  previousRuns: ReadonlyMap<string, CompiledRun> | undefined,
  runsOut: Map<string, CompiledRun>,
): { rules: NftRule[]; sets: NftSet[]; jumps: string[] } {
  const A = ctx.accept;
  const P = ctx.pass;
  if (names.length === 0) return { rules: [rule([], [clearMarkBits(A)])], sets: [], jumps: [] };
  const rules: NftRule[] = [rule([], [clearMarkBits(A | P)])];
  const sets: NftSet[] = [];
  const jumps: string[] = [];
  const chainOf = dir === "ingress" ? policyNames.policyIn : policyNames.policyOut;
  const afterJump: NftRule = stage === "raw"
    ? rule([markIsSet(A)], [{ kind: "notrack" }], RETURN)
    : rule([markIsSet(A)], [], RETURN);
  const emitJumps = (members: readonly string[]) => {
    for (const n of members) {
      const local = stage === "filter" && policyRules(n)?.notOnForward ? [notForwarded(dir)] : [];
      rules.push(rule([...local, markIsClear(P)], [], jump(chainOf(n))), afterJump);
      jumps.push(n);
    }
  };
  let run = 0;
  for (const seg of groupRuns(names, dir, policyRules, ctx)) {
    if (seg.action === undefined) {
      emitJumps(seg.members);
      continue;
    }
    const index = run++;
    const key = compiledSetName(chain, index, "", 0);
    const ruleSets = seg.members.map(policyRules);
    const prev = previousRuns?.get(key);
    const built = prev !== undefined && prev.action === seg.action &&
        prev.audit === auditing(ctx) && sameList(prev.members, seg.members) &&
        sameList(prev.rules, ruleSets)
      ? prev
      : compileRun(seg.members, ruleSets, seg.action, {
        dir,
        stage,
        ctx,
        setName: (shape, copy) => compiledSetName(chain, index, shape, copy),
      });
    runsOut.set(key, built);
    sets.push(...built.sets);
    rules.push(...built.lookups);
    emitJumps(built.jumped);
  }
  return { rules, sets, jumps };
}

/** A stretch of a policy list: a run to compile (with its action) or policies to jump to. */
interface _Segment {
  readonly members: readonly string[];
  readonly action?: "allow" | "deny";
}

/**
 * Splits an ordered policy list into maximal runs of policies whose rules all take one action
 * (a policy without rules in this direction joins any run). Runs shorter than
 * NftablesCompileMinRun, and policies of mixed action, are left as jumps; a run of policies
 * without rules decides nothing and is left out.
 */
function groupRuns(
  names: readonly string[],
  dir: NftDirection,
  policyRules: RulesOf,
  ctx: BuildContext,
): _Segment[] {
  if (ctx.compileMinRun === 0) return [{ members: names }];
  const out: _Segment[] = [];
  let members: string[] = [];
  let action: "allow" | "deny" | undefined;
  const close = () => {
    if (members.length === 0) return;
    if (members.length < ctx.compileMinRun) out.push({ members });
    else if (action !== undefined) out.push({ members, action });
    members = [];
    action = undefined;
  };
  for (const n of names) {
    // A policy kept off the forward path is a conditional jump, never part of a set lookup.
    const rs = policyRules(n);
    const c = rs?.notOnForward ? undefined : compilePolicy(n, rs ?? NO_RULES, dir, ctx);
    if (c === undefined) {
      close();
      out.push({ members: [n] });
      continue;
    }
    if (c.action !== "none" && action !== undefined && c.action !== action) close();
    members.push(n);
    if (c.action !== "none") action = c.action;
  }
  close();
  return out;
}

/** Compiles one run: its members' elements placed into sets, one lookup rule per set. */
function compileRun(
  members: readonly string[],
  ruleSets: readonly (RuleSet | undefined)[],
  action: "allow" | "deny",
  o: {
    readonly dir: NftDirection;
    readonly stage: NftStage;
    readonly ctx: BuildContext;
    readonly setName: (shape: string, copy: number) => string;
  },
): CompiledRun {
  const { accept: A, pass: P } = o.ctx;
  const audit = auditing(o.ctx);
  const allowed: Statement[] = o.stage === "raw"
    ? [setMarkBits(A), { kind: "notrack" }]
    : [setMarkBits(A)];
  const elements: CompiledElement[] = [];
  const jumped: string[] = [];
  members.forEach((n, k) => {
    const c = compilePolicy(n, ruleSets[k] ?? NO_RULES, o.dir, o.ctx)!;
    if (c.elements === undefined) jumped.push(n);
    else elements.push(...c.elements);
  });
  const sets: NftSet[] = [];
  const lookups: NftRule[] = [];
  for (const rs of placeRun(elements, o.setName)) {
    sets.push({
      name: rs.name,
      type: rs.shape.type,
      elements: new Set(rs.owners.keys()),
      owners: rs.owners,
      ...(rs.interval ? { interval: true } : {}),
    });
    const lookup: Match = { kind: "lookup", keys: rs.shape.keys, set: rs.name };
    if (action === "allow") lookups.push(rule([markIsClear(P), lookup], allowed, RETURN));
    else if (!audit) lookups.push(rule([markIsClear(P), lookup], [], DROP));
    else {
      // The set's elements count per policy rule; the log names the run.
      lookups.push(
        rule([markIsClear(P), lookup], auditStatements(o.ctx, false)),
        ...auditTail(o.ctx, `${o.dir} policies ${members.join(", ")}`),
      );
    }
  }
  return { action, audit, members, rules: ruleSets, sets, lookups, jumped };
}
