/**
 * Per-endpoint objects: for one policed interface, its chains for each stage and direction
 * (spec 5.4), the compiled sets of its policy runs, and its dispatch-map entries. Everything an
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
  /** Built under PolicyAuditMode (its deny lookups log and accept). */
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

/** Builds one endpoint's objects. Raw and mangle chains exist only for endpoints with policy of that class (spec 5.8, 5.9). */
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

  if (i.untracked.ingress.length > 0) {
    const name = endpointNames.rawFromHost(i.iface);
    add(name, "untracked ingress", "raw", "ingress", DISPATCH_MAPS.rawFrom, [
      ...ndp,
      rule([], [], jump(FAILSAFE_CHAINS.rawIn)),
      ...section(i.untracked.ingress, "ingress", "raw", name),
    ]);
  }
  if (i.untracked.egress.length > 0) {
    const name = endpointNames.rawToHost(i.iface);
    add(name, "untracked egress", "raw", "egress", DISPATCH_MAPS.rawTo, [
      ...ndp,
      rule([], [], jump(FAILSAFE_CHAINS.rawOut)),
      ...section(i.untracked.egress, "egress", "raw", name),
    ]);
  }
  if (i.preDnat.ingress.length > 0) {
    const name = endpointNames.mangleFromHost(i.iface);
    add(name, "pre-DNAT ingress", "mangle", "ingress", DISPATCH_MAPS.mangleFrom, [
      ...ndp,
      ...invalid,
      rule([], [], jump(FAILSAFE_CHAINS.filterIn)),
      ...section(i.preDnat.ingress, "ingress", "mangle", name),
    ]);
  }
  for (const dir of ["ingress", "egress"] as const) {
    const name = dir === "ingress"
      ? endpointNames.fromHost(i.iface)
      : endpointNames.toHost(i.iface);
    const pols = dir === "ingress" ? i.normal.ingress : i.normal.egress;
    const profs = i.profiles.map(
      dir === "ingress" ? policyNames.profileIn : policyNames.profileOut,
    );
    const dropOwner = (reason: "no policy allowed" | "no profile allowed" | "default drop") =>
      ({
        kind: "endpointDrop",
        iface: i.iface,
        hostEndpoint: i.hostEndpoint,
        direction: dir,
        reason,
      }) as const;
    const profileReason = profs.length > 0 ? "no profile allowed" : "default drop";
    add(
      name,
      dir,
      "filter",
      dir,
      dir === "ingress" ? DISPATCH_MAPS.filterFrom : DISPATCH_MAPS.filterTo,
      [
        ESTABLISHED,
        ...ndp,
        ...invalid,
        rule(
          [],
          [],
          jump(dir === "ingress" ? FAILSAFE_CHAINS.filterIn : FAILSAFE_CHAINS.filterOut),
        ),
        ...section(pols, dir, "filter", name),
        ...(pols.length > 0
          ? endpointDrop(
            [markIsClear(ctx.pass)],
            `${i.iface} ${dir}: no policy allowed`,
            dropOwner("no policy allowed"),
            ctx,
          )
          : []),
        ...profs.flatMap((c) => [
          rule([], [], jump(c)),
          rule([markIsSet(ctx.accept)], [], RETURN),
        ]),
        ...endpointDrop([], `${i.iface} ${dir}: ${profileReason}`, dropOwner(profileReason), ctx),
      ],
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
 * Steps 4-9 of spec 5.4 for one ordered policy list, shared by all stages: clear A (and P
 * when there are policies), then for each policy, while P is clear, jump to it and return once
 * it set A. Runs of compilable policies (compile.ts) become set lookups instead.
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
  const audit = auditing(ctx);
  if (names.length === 0) return { rules: [rule([], [clearMarkBits(A)])], sets: [], jumps: [] };
  const rules: NftRule[] = [rule([], [clearMarkBits(A | P)])];
  const sets: NftSet[] = [];
  const jumps: string[] = [];
  const chainOf = dir === "ingress" ? policyNames.policyIn : policyNames.policyOut;
  const allowed: Statement[] = stage === "raw"
    ? [setMarkBits(A), { kind: "notrack" }]
    : [setMarkBits(A)];
  const afterJump: NftRule = stage === "raw"
    ? rule([markIsSet(A)], [{ kind: "notrack" }], RETURN)
    : rule([markIsSet(A)], [], RETURN);
  let runs = 0;

  const emitJumps = (members: readonly string[]) => {
    for (const n of members) {
      rules.push(rule([markIsClear(P)], [], jump(chainOf(n))), afterJump);
      jumps.push(n);
    }
  };
  const emitRun = (members: readonly string[], action: "allow" | "deny") => {
    const run = runs++;
    const key = compiledSetName(chain, run, "", 0);
    const ruleSets = members.map(policyRules);
    const prev = previousRuns?.get(key);
    const built = prev !== undefined && prev.action === action && prev.audit === audit &&
        _sameList(prev.members, members) && _sameList(prev.rules, ruleSets)
      ? prev
      : compileRun(
        members,
        ruleSets,
        action,
        (shape, copy) => compiledSetName(chain, run, shape, copy),
      );
    runsOut.set(key, built);
    sets.push(...built.sets);
    rules.push(...built.lookups);
    emitJumps(built.jumped);
  };
  const compileRun = (
    members: readonly string[],
    ruleSets: readonly (RuleSet | undefined)[],
    action: "allow" | "deny",
    setName: (shape: string, copy: number) => string,
  ): CompiledRun => {
    const elements: CompiledElement[] = [];
    const jumped: string[] = [];
    members.forEach((n, k) => {
      const c = compilePolicy(n, ruleSets[k] ?? NO_RULES, dir, ctx)!;
      if (c.elements === undefined) jumped.push(n);
      else elements.push(...c.elements);
    });
    const runSets: NftSet[] = [];
    const lookups: NftRule[] = [];
    for (const rs of placeRun(elements, setName)) {
      runSets.push({
        name: rs.name,
        type: rs.shape.type,
        elements: new Set(rs.owners.keys()),
        owners: rs.owners,
      });
      const lookup: Match = { kind: "lookup", keys: rs.shape.keys, set: rs.name };
      if (action === "allow") lookups.push(rule([markIsClear(P), lookup], allowed, RETURN));
      else if (!audit) lookups.push(rule([markIsClear(P), lookup], [], DROP));
      else {
        // The set's elements count per policy rule; the log names the run.
        lookups.push(
          rule([markIsClear(P), lookup], auditStatements(ctx, false)),
          ...auditTail(ctx, `${dir} policies ${members.join(", ")}`),
        );
      }
    }
    return { action, audit, members, rules: ruleSets, sets: runSets, lookups, jumped };
  };

  // Group into maximal runs of policies whose rules all take one action; `none` joins any run.
  let members: string[] = [];
  let action: "allow" | "deny" | undefined;
  const close = () => {
    if (members.length === 0) return;
    if (ctx.compileMinRun === 0 || members.length < ctx.compileMinRun) emitJumps(members);
    // A run of policies without rules in this direction decides nothing: it is left out.
    else if (action !== undefined) emitRun(members, action);
    members = [];
    action = undefined;
  };
  for (const n of names) {
    const c = ctx.compileMinRun > 0
      ? compilePolicy(n, policyRules(n) ?? NO_RULES, dir, ctx)
      : undefined;
    if (c === undefined) {
      close();
      emitJumps([n]);
      continue;
    }
    if (c.action !== "none" && action !== undefined && c.action !== action) close();
    members.push(n);
    if (c.action !== "none") action = c.action;
  }
  close();
  return { rules, sets, jumps };
}

function _sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
