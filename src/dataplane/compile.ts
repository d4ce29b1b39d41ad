/**
 * Compiling runs of policies into set lookups, so a packet's cost does not grow with the
 * number of policies. In an endpoint chain, policies are tried in order and the first rule
 * that matches decides; a run of adjacent policies whose rules all have the same terminal
 * action (all allow, or all deny) decides the same whichever of its rules matches first. Such
 * a run can therefore be replaced by "does any of its rules match?", and when every rule only
 * matches protocol, ports and CIDRs, that question is one lookup in a concatenated interval
 * set (`meta l4proto . ip saddr . th dport @set`) whose elements are the rules' boxes.
 *
 * - One element per rule conjunct (protocol x source CIDR x destination CIDR x ports), each
 *   with its own counter and owner, so per-policy counters survive compilation.
 * - Single keys go into a hashed set; ranges and prefixes into interval sets. nft refuses
 *   overlapping elements in an interval set: an element equal to one already in the run is
 *   dropped (the earlier rule keeps it: it would have matched first); one that partially
 *   overlaps goes into a second interval set of the same shape, looked up after the first.
 * - A policy with no rules in a direction decides nothing and joins any run.
 * - A policy of the run's action whose rules cannot all be lookups (negations, ICMP,
 *   selectors, a rule matching everything, an IP version without CIDRs) keeps its chain and is
 *   jumped to after the run's lookups: within one action, order does not change the verdict.
 * - A policy mixing actions, or with pass or log rules, keeps its chain and ends the run.
 */
import type { ResolvedRule, RuleSet } from "../calc/host_state.ts";
import { type Cidr, networkOf, parseCidr } from "../net/ip.ts";
import { cidrsOfFamily } from "./_cidr.ts";
import type { BuildContext } from "./context.ts";
import { objectName } from "./names.ts";
import { PORT_PROTOCOLS, portIntervals, protoText, ruleFamily } from "./policy.ts";
import type { Family, LookupKey, PortRange, RuleOwner } from "./rule.ts";
import type { NftDirection } from "./state.ts";

/**
 * What a policy contributes to a run: the one action all its rules take in a direction, and
 * their elements when every rule can be a set lookup.
 */
export interface CompiledPolicy {
  /** `none` for a policy without rules in this direction: it joins any run. */
  readonly action: "allow" | "deny" | "none";
  /**
   * Undefined when some rule cannot be a lookup: the policy then keeps its chain, and is
   * jumped to within the run (order inside a run of one action does not matter).
   */
  readonly elements: readonly CompiledElement[] | undefined;
}

/** One element: the set shape it belongs to, its text, its box and the rule it stands for. */
export interface CompiledElement {
  readonly shape: Shape;
  readonly text: string;
  /** Per key field, the closed interval it covers (numbers, or fixed-width hex for addresses). */
  readonly box: readonly (readonly [number | string, number | string])[];
  readonly owner: RuleOwner;
}

/** The fields a compiled set is keyed on, in key order, with a short id for set names. */
export interface Shape {
  readonly id: string;
  readonly keys: readonly LookupKey[];
  /** nft type of the concatenation. */
  readonly type: string;
}

/** A rule's elements past this many (a product of long lists) keep the rule uncompiled. */
const MAX_ELEMENTS_PER_RULE = 256;

const PROTO_NUMBERS: Record<string, number> = { tcp: 6, udp: 17 };

const cache = new WeakMap<BuildContext, WeakMap<RuleSet, Map<string, CompiledPolicy | null>>>();

/**
 * The compiled form of policy `name`'s rules in `direction`, or undefined when its rules do
 * not all take one action (allow or deny). Memoised per context and rule set (rule sets are
 * immutable and shared).
 */
export function compilePolicy(
  name: string,
  rules: RuleSet,
  direction: NftDirection,
  ctx: BuildContext,
): CompiledPolicy | undefined {
  let byRules = cache.get(ctx);
  if (byRules === undefined) cache.set(ctx, byRules = new WeakMap());
  let byKey = byRules.get(rules);
  if (byKey === undefined) byRules.set(rules, byKey = new Map());
  const key = direction === "ingress" ? `i${name}` : `e${name}`;
  let c = byKey.get(key);
  if (c === undefined) {
    c = _compile(name, direction === "ingress" ? rules.ingress : rules.egress, direction, ctx) ??
      null;
    byKey.set(key, c);
  }
  return c ?? undefined;
}

function _compile(
  name: string,
  rules: readonly ResolvedRule[],
  direction: NftDirection,
  ctx: BuildContext,
): CompiledPolicy | undefined {
  if (rules.length === 0) return { action: "none", elements: [] };
  const action = rules[0]!.action;
  if (action !== "allow" && action !== "deny") return undefined;
  let elements: CompiledElement[] | undefined = [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.action !== action) return undefined;
    if (elements === undefined) continue;
    // Under audit a deny's elements count would-drops (its lookup logs and accepts).
    const audit = action === "deny" && ctx.cfg.policyAuditMode === true;
    const owner: RuleOwner = {
      kind: "policy",
      name,
      direction,
      rule: i + 1,
      ...(audit ? { audit: true } : {}),
    };
    const els = ruleElements(r, owner, ctx);
    if (els === undefined) elements = undefined;
    else elements.push(...els);
  }
  return { action, elements };
}

/** Named ports (positive or negated) on one side: their lookups keep the rule in its chain. */
function _named(e: ResolvedRule["source"]): number {
  return (e.namedPorts?.length ?? 0) + (e.notNamedPorts?.length ?? 0);
}

/** The elements of one rule, or undefined when it cannot be a set lookup. */
export function ruleElements(
  r: ResolvedRule,
  owner: RuleOwner,
  ctx: BuildContext,
): CompiledElement[] | undefined {
  const s = r.source;
  const d = r.destination;
  if (
    r.notProtocol !== undefined || r.icmp !== undefined || r.notICMP !== undefined ||
    s.ipSets.length + s.notIpSets.length + d.ipSets.length + d.notIpSets.length > 0 ||
    s.notNets.length + d.notNets.length + s.notPorts.length + d.notPorts.length > 0 ||
    _named(s) + _named(d) > 0
  ) {
    return undefined;
  }
  const hasPorts = s.ports.length + d.ports.length > 0;
  const hasNets = s.nets.length + d.nets.length > 0;
  let protos: readonly string[] = [];
  if (r.protocol !== undefined) {
    protos = [protoText(r.protocol)];
    if (hasPorts && !PORT_PROTOCOLS.includes(protos[0]!)) return undefined;
  } else if (hasPorts) {
    protos = PORT_PROTOCOLS;
  }
  const family = ruleFamily(r);
  if (family !== undefined && !hasNets) return undefined; // would need an nfproto match
  if (protos.length === 0 && !hasNets) return undefined; // matches everything
  const sports = portIntervals(s.ports);
  const dports = portIntervals(d.ports);
  const families: (Family | undefined)[] = hasNets
    ? ctx.families.filter((f) => family === undefined || family === f)
    : [undefined];
  const out: CompiledElement[] = [];
  for (const fam of families) {
    let snets: string[] = [];
    let dnets: string[] = [];
    if (fam !== undefined) {
      snets = cidrsOfFamily(s.nets, fam);
      dnets = cidrsOfFamily(d.nets, fam);
      if ((s.nets.length > 0 && snets.length === 0) || (d.nets.length > 0 && dnets.length === 0)) {
        continue; // this family has none of the rule's CIDRs: the rule is skipped for it
      }
    }
    const shape = shapeOf(
      protos.length > 0,
      fam,
      snets.length > 0,
      dnets.length > 0,
      sports,
      dports,
    );
    const dims: { text: string; box: readonly [number | string, number | string] }[][] = [];
    if (protos.length > 0) dims.push(protos.map((p) => ({ text: p, box: protoBox(p) })));
    if (snets.length > 0) dims.push(snets.map(cidrDim));
    if (dnets.length > 0) dims.push(dnets.map(cidrDim));
    if (sports.length > 0) dims.push(sports.map(portDim));
    if (dports.length > 0) dims.push(dports.map(portDim));
    let count = 1;
    for (const dim of dims) count *= dim.length;
    if (out.length + count > MAX_ELEMENTS_PER_RULE) return undefined;
    for (const combo of product(dims)) {
      out.push({
        shape,
        text: combo.map((c) => c.text).join(" . "),
        box: combo.map((c) => c.box),
        owner,
      });
    }
  }
  return out;
}

function protoBox(p: string): readonly [number, number] {
  const n = PROTO_NUMBERS[p] ?? Number(p);
  return [n, n];
}

function portDim([lo, hi]: PortRange) {
  return { text: lo === hi ? `${lo}` : `${lo}-${hi}`, box: [lo, hi] as const };
}

function cidrDim(text: string) {
  const c = parseCidr(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`)!;
  return { text, box: cidrBounds(c) };
}

/** Lowest and highest address of a CIDR as fixed-width hex, so strings compare numerically. */
function cidrBounds(c: Cidr): readonly [string, string] {
  const net = networkOf(c);
  let lo = "";
  let hi = "";
  for (let i = 0; i < net.ip.bytes.length; i++) {
    const b = net.ip.bytes[i]!;
    const hostBits = Math.max(0, Math.min(8, 8 * (i + 1) - c.prefix));
    const mask = (1 << hostBits) - 1;
    lo += b.toString(16).padStart(2, "0");
    hi += (b | mask).toString(16).padStart(2, "0");
  }
  return [lo, hi];
}

function* product<T>(dims: readonly (readonly T[])[]): Generator<T[]> {
  if (dims.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = dims;
  for (const x of first!) for (const tail of product(rest)) yield [x, ...tail];
}

const shapes = new Map<string, Shape>();

function shapeOf(
  proto: boolean,
  fam: Family | undefined,
  saddr: boolean,
  daddr: boolean,
  sports: readonly PortRange[],
  dports: readonly PortRange[],
): Shape {
  const keys: LookupKey[] = [];
  const types: string[] = [];
  const ids: string[] = [];
  const addrType = fam === 4 ? "ipv4_addr" : "ipv6_addr";
  if (proto) keys.push({ field: "l4proto" }), types.push("inet_proto"), ids.push("p");
  if (saddr) keys.push({ field: "addr", family: fam!, side: "s" }), types.push(addrType);
  if (saddr) ids.push(`s${fam}`);
  if (daddr) keys.push({ field: "addr", family: fam!, side: "d" }), types.push(addrType);
  if (daddr) ids.push(`d${fam}`);
  if (sports.length > 0) keys.push({ field: "port", side: "s" }), types.push("inet_service");
  if (sports.length > 0) ids.push("sp");
  if (dports.length > 0) keys.push({ field: "port", side: "d" }), types.push("inet_service");
  if (dports.length > 0) ids.push("dp");
  const id = ids.join(".");
  let s = shapes.get(id);
  if (s === undefined) shapes.set(id, s = { id, keys, type: types.join(" . ") });
  return s;
}

/** One compiled set of a run: its name, shape and elements with their owners, in order. */
export interface RunSet {
  readonly name: string;
  readonly shape: Shape;
  /** Holds ranges or prefixes (`flags interval`); else every element is a single key. */
  readonly interval: boolean;
  readonly owners: Map<string, RuleOwner>;
}

/**
 * Places a run's elements into sets: per shape in order of first appearance, single-key
 * elements in one hashed set, elements with a range or prefix in the first interval set of
 * their shape where they overlap nothing. Hashed sets are the cheaper lookup, and an interval
 * concatenation is what `nft monitor` 1.0.6 crashes on when it prints many of them, so ranges
 * get interval sets only when there are ranges. `setName(id, copy)` names sets.
 */
export function placeRun(
  elements: Iterable<CompiledElement>,
  setName: (id: string, copy: number) => string,
): RunSet[] {
  const byShape = new Map<string, { points?: _Copy; ranges: _Copy[] }>();
  const order: _Copy[] = [];
  for (const el of elements) {
    let copies = byShape.get(el.shape.id);
    if (copies === undefined) byShape.set(el.shape.id, copies = { ranges: [] });
    if (copies.points?.owners.has(el.text) || copies.ranges.some((c) => c.owners.has(el.text))) {
      continue; // same key: the earlier rule keeps it
    }
    let home: _Copy | undefined;
    if (_isPoint(el)) {
      home = copies.points;
      if (home === undefined) {
        home = copies.points = new _Copy(setName(el.shape.id, 0), el.shape, false);
        order.push(home);
      }
    } else {
      home = copies.ranges.find((c) => !c.overlaps(el));
      if (home === undefined) {
        home = new _Copy(setName(`${el.shape.id}.r`, copies.ranges.length), el.shape, true);
        copies.ranges.push(home);
        order.push(home);
      }
    }
    home.add(el);
  }
  return order.map((c) => ({
    name: c.name,
    shape: c.shape,
    interval: c.interval,
    owners: c.owners,
  }));
}

function _isPoint(el: CompiledElement): boolean {
  return el.box.every(([lo, hi]) => lo === hi);
}

/** The name of compiled set `copy` of shape `shapeId` in run `run` of chain `chain`. */
export function compiledSetName(chain: string, run: number, shapeId: string, copy: number): string {
  return objectName("c", `${chain}.${run}.${shapeId}${copy > 0 ? `.${copy}` : ""}`);
}

/**
 * One set under construction. Overlap checks are bucketed by the exact values of the
 * point-valued leading fields (usually protocol and port), so the common case is a hash lookup
 * and a run of n rules is placed in about n steps rather than n squared.
 */
class _Copy {
  readonly owners = new Map<string, RuleOwner>();
  readonly #buckets = new Map<string, CompiledElement[]>();
  /** Elements whose bucket fields are ranges: checked against everything. */
  readonly #wide: CompiledElement[] = [];

  constructor(readonly name: string, readonly shape: Shape, readonly interval: boolean) {}

  overlaps(el: CompiledElement): boolean {
    const key = _bucketKey(el);
    if (key === undefined) {
      for (const list of this.#buckets.values()) {
        if (list.some((o) => _intersect(o, el))) return true;
      }
    } else if (this.#buckets.get(key)?.some((o) => _intersect(o, el))) {
      return true;
    }
    return this.#wide.some((o) => _intersect(o, el));
  }

  add(el: CompiledElement) {
    this.owners.set(el.text, el.owner);
    const key = _bucketKey(el);
    if (key === undefined) this.#wide.push(el);
    else {
      const list = this.#buckets.get(key);
      if (list === undefined) this.#buckets.set(key, [el]);
      else list.push(el);
    }
  }
}

/** The protocol and port fields' values when every one of them is a single value. */
function _bucketKey(el: CompiledElement): string | undefined {
  let key = "";
  for (let i = 0; i < el.shape.keys.length; i++) {
    if (el.shape.keys[i]!.field === "addr") continue;
    const [lo, hi] = el.box[i]!;
    if (lo !== hi) return undefined;
    key += `${lo},`;
  }
  return key;
}

function _intersect(a: CompiledElement, b: CompiledElement): boolean {
  for (let i = 0; i < a.box.length; i++) {
    const [alo, ahi] = a.box[i]!;
    const [blo, bhi] = b.box[i]!;
    if (ahi < blo || bhi < alo) return false;
  }
  return true;
}
