/**
 * Why a packet is allowed or dropped on a node: the interpreter (dataplane/evaluate.ts) runs
 * the packet through the very NftState the agent would program, and this module turns its
 * trace into the stages of the decision procedure (untracked, pre-DNAT, failsafe, normal
 * policies, profiles, default) using chain and rule owners (and compiled set element owners),
 * so no policy semantics are re-implemented here: only names are attached to what the
 * interpreter saw. A reply is run through the same interpreter as an established packet to
 * say whether conntrack accepts it first. Pure: the CLI reads etcd and prints.
 */
import type { HostState, PolicedInterface, ResolvedRule } from "../calc/host_state.ts";
import { evaluate, type Evaluation, type Packet, type TraceStep } from "../dataplane/evaluate.ts";
import type { RuleOwner } from "../dataplane/rule.ts";
import { ruleText } from "../dataplane/rule_text.ts";
import type { NftChain, NftState } from "../dataplane/state.ts";
import { describeRule } from "./describe.ts";

export type StageName =
  | "untracked"
  | "pre-DNAT"
  | "conntrack"
  | "failsafe"
  | "normal policies"
  | "profiles"
  | "default";

/** One stage's outcome for one endpoint and direction. */
export interface StageResult {
  readonly stage: StageName;
  /** `none`: the endpoint has nothing in this stage; `no match`: nothing in it decided. */
  readonly result: "ALLOW" | "DROP" | "PASS" | "no match" | "none" | "not reached";
  readonly text: string;
  readonly owner?: RuleOwner;
}

/** The stages one policed interface applied in one direction. */
export interface EndpointExplanation {
  readonly direction: "ingress" | "egress";
  readonly iface: string;
  /** Absent when the interface is not a host endpoint interface of the node. */
  readonly hostEndpoint?: string;
  readonly stages: readonly StageResult[];
}

export interface Explanation {
  readonly node: string;
  readonly packet: Packet;
  readonly verdict: "ALLOW" | "DROP";
  /** The one line that says what decided. */
  readonly decision: string;
  readonly owner?: RuleOwner;
  readonly endpoints: readonly EndpointExplanation[];
  /** What happens to a reply (absent for ICMP other than echo). */
  readonly reply?: {
    readonly packet: Packet;
    readonly verdict: "ALLOW" | "DROP";
    readonly byConntrack: boolean;
    readonly text: string;
  };
  /** Every base chain run, with the rules that matched, as nft text. */
  readonly chains: readonly {
    readonly chain: string;
    readonly verdict: "accept" | "drop";
    readonly rules: readonly { chain: string; rule: number; text: string }[];
  }[];
}

const PROTO_NAMES: Record<number, string> = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };

/** `tcp 198.18.0.20:40000 -> 198.18.1.1:22 in eth0` and the like. */
export function packetText(p: Packet): string {
  const proto = PROTO_NAMES[p.protocol] ?? `protocol ${p.protocol}`;
  const at = (a: string, port?: number) =>
    port === undefined ? a : p.family === 6 ? `[${a}]:${port}` : `${a}:${port}`;
  const icmp = p.icmpType === undefined
    ? ""
    : ` type ${p.icmpType}${p.icmpCode === undefined ? "" : ` code ${p.icmpCode}`}`;
  const where = p.path === "input"
    ? `in ${p.iif} to the host`
    : p.path === "output"
    ? `from the host out ${p.oif}`
    : `forwarded in ${p.iif} out ${p.oif}`;
  return `${proto}${icmp} ${at(p.src, p.sport)} -> ${at(p.dst, p.dport)} ${where}`;
}

/** The reply a peer would send (undefined when the packet has none, e.g. ICMP errors). */
export function replyOf(p: Packet): Packet | undefined {
  let icmp: { icmpType?: number; icmpCode?: number } = {};
  if (p.protocol === 1 || p.protocol === 58) {
    const reply = p.protocol === 1 ? { 8: 0 }[p.icmpType ?? -1] : { 128: 129 }[p.icmpType ?? -1];
    if (reply === undefined) return undefined;
    icmp = { icmpType: reply, icmpCode: 0 };
  }
  const path = p.path === "input" ? "output" : p.path === "output" ? "input" : "forward";
  return {
    path,
    ...(p.oif !== undefined ? { iif: p.oif } : {}),
    ...(p.iif !== undefined ? { oif: p.iif } : {}),
    family: p.family,
    src: p.dst,
    dst: p.src,
    protocol: p.protocol,
    ...(p.dport !== undefined ? { sport: p.dport } : {}),
    ...(p.sport !== undefined ? { dport: p.sport } : {}),
    ...icmp,
  };
}

/** Explains `packet` on `node` whose calculated state is `host` and table `state`. */
export function explain(
  node: string,
  host: HostState,
  state: NftState,
  packet: Packet,
): Explanation {
  const ev = evaluate(state, packet);
  const t = new _Tracer(host, state, ev, packet);
  const endpoints = t.endpoints(packet);
  const verdict = ev.verdict === "accept" ? "ALLOW" : "DROP";
  const decided = t.decision(endpoints, packet);
  let reply: Explanation["reply"];
  const rp = replyOf(packet);
  if (rp !== undefined && ev.verdict === "accept") {
    const tracked = ev.ct !== "untracked";
    const rpacket: Packet = { ...rp, ct: tracked ? "established" : "new" };
    const rev = evaluate(state, rpacket);
    const ctStep = rev.hooks.flatMap((h) => h.steps).find((s) =>
      s.outcome === "accept" && s.rule.match.some((m) => m.kind === "ctState")
    );
    const byConntrack = tracked && ctStep !== undefined;
    const rt = new _Tracer(host, state, rev, rpacket);
    const rendpoints = rt.endpoints(rpacket);
    const rverdict = rev.verdict === "accept" ? "ALLOW" : "DROP";
    reply = {
      packet: rpacket,
      verdict: rverdict,
      byConntrack,
      text: byConntrack
        ? `the reply (${packetText(rp)}) is accepted by conntrack first ` +
          `(established/related accept in ${ctStep!.chain})`
        : `the reply (${packetText(rp)})${tracked ? "" : " is untracked (no conntrack accept)"}: ${
          rt.decision(rendpoints, rpacket).text
        }`,
    };
  }
  return {
    node,
    packet,
    verdict,
    decision: decided.text,
    ...(decided.owner ? { owner: decided.owner } : {}),
    endpoints,
    ...(reply ? { reply } : {}),
    chains: ev.hooks.map((h) => ({
      chain: h.chain,
      verdict: h.verdict,
      rules: h.steps.map((s) => ({
        chain: s.chain,
        rule: s.index + 1,
        text: ruleText(s.rule) +
          (s.element ? ` (element ${s.element.text} of ${s.element.set})` : ""),
      })),
    })),
  };
}

/** Stage order in the text output; conntrack appears only when it decided. */
const STAGE_ORDER: readonly StageName[] = [
  "untracked",
  "pre-DNAT",
  "conntrack",
  "failsafe",
  "normal policies",
  "profiles",
  "default",
];

/** Reads stages out of one evaluation's trace. */
class _Tracer {
  readonly #ifaces: Map<string, PolicedInterface>;
  /** Steps inside each endpoint chain visit, by the endpoint chain's name. */
  readonly #visits = new Map<string, TraceStep[]>();
  /** Endpoint chains the trace entered. */
  readonly #entered = new Set<string>();
  /** The step that ended the packet's path, if a rule did. */
  readonly #last?: TraceStep;

  constructor(
    readonly host: HostState,
    readonly state: NftState,
    readonly ev: Evaluation,
    readonly packet: Packet,
  ) {
    this.#ifaces = new Map(host.interfaces.map((i) => [i.iface, i]));
    let visit: TraceStep[] | undefined;
    for (const h of ev.hooks) {
      for (const s of h.steps) {
        const chain = state.chains.get(s.chain);
        if (chain?.hook !== undefined) visit = undefined;
        else visit?.push(s);
        const entered = s.entered === undefined ? undefined : state.chains.get(s.entered);
        if (entered?.owner.kind === "endpoint") {
          visit = [];
          this.#visits.set(entered.name, visit);
          this.#entered.add(entered.name);
        }
      }
    }
    const lastHook = ev.hooks[ev.hooks.length - 1];
    const last = lastHook?.steps[lastHook.steps.length - 1];
    if (last !== undefined) this.#last = last;
  }

  /** The endpoint chain of `iface` for a stage and direction, if the table has one. */
  #chainOf(iface: string, stage: "raw" | "mangle" | "filter", dir: "ingress" | "egress") {
    for (const c of this.state.chains.values()) {
      const o = c.owner;
      if (o.kind === "endpoint" && o.iface === iface && o.stage === stage && o.direction === dir) {
        return c;
      }
    }
    return undefined;
  }

  endpoints(p: Packet): EndpointExplanation[] {
    const out: EndpointExplanation[] = [];
    if (p.iif !== undefined) out.push(this.#endpoint(p.iif, "ingress", p));
    if (p.oif !== undefined) out.push(this.#endpoint(p.oif, "egress", p));
    return out;
  }

  /**
   * One endpoint's stages. Whether a stage was reached is read from the trace (its endpoint
   * chain was entered or not), never inferred: a failsafe accept in raw or mangle, for one,
   * ends only that base chain, and the filter stage still sees the packet.
   */
  #endpoint(iface: string, dir: "ingress" | "egress", p: Packet): EndpointExplanation {
    const pi = this.#ifaces.get(iface);
    if (pi === undefined) return { direction: dir, iface, stages: [] };
    const stages: StageResult[] = [];
    // raw-output runs for packets the host sends; forwarded packets meet raw on ingress only.
    if (dir === "ingress" || p.path === "output") stages.push(this.#stage(pi, "raw", dir));
    if (dir === "ingress") stages.push(this.#stage(pi, "mangle", dir));
    stages.push(...this.#filter(pi, dir));
    return { direction: dir, iface, hostEndpoint: pi.hostEndpoint, stages };
  }

  #stage(pi: PolicedInterface, stage: "raw" | "mangle", dir: "ingress" | "egress"): StageResult {
    const name: StageName = stage === "raw" ? "untracked" : "pre-DNAT";
    const chain = this.#chainOf(pi.iface, stage, dir);
    if (chain === undefined) {
      const text = `no ${name} policy applies to host endpoint ${pi.hostEndpoint}`;
      return { stage: name, result: "none", text };
    }
    const steps = this.#visits.get(chain.name);
    if (steps === undefined) return { stage: name, result: "not reached", text: "not reached" };
    const d = this.#decide(steps);
    if (d === undefined) {
      const pols = stage === "raw"
        ? (dir === "ingress" ? pi.untracked.ingress : pi.untracked.egress)
        : pi.preDnat.ingress;
      return {
        stage: name,
        result: "no match",
        text: `no ${name} policy decided (${pols.join(", ")}); on to the next stage`,
      };
    }
    if (d.stage === "failsafe") {
      // Ends this base chain only; the packet goes on to the later stages.
      return { ...d, stage: name, text: `${d.text}; on to the next stage` };
    }
    return { ...d, stage: name };
  }

  #filter(pi: PolicedInterface, dir: "ingress" | "egress"): StageResult[] {
    const chain = this.#chainOf(pi.iface, "filter", dir)!;
    const steps = this.#visits.get(chain.name);
    const pols = dir === "ingress" ? pi.normal.ingress : pi.normal.egress;
    const stages = new Map<StageName, StageResult>();
    const set = (s: StageResult) => stages.set(s.stage, s);
    const reached = steps !== undefined;
    // Decisions in order; a pass goes on to the profiles.
    const decisions = this.#decisions(steps ?? []);
    let i = 0;
    for (; i < decisions.length; i++) {
      set(decisions[i]!);
      if (decisions[i]!.result !== "PASS") break;
    }
    const last = decisions[Math.min(i, decisions.length - 1)];
    const lastIdx = last === undefined ? -1 : STAGE_ORDER.indexOf(last.stage);
    const out: StageResult[] = [];
    for (
      const name of ["conntrack", "failsafe", "normal policies", "profiles", "default"] as const
    ) {
      const got = stages.get(name);
      if (got !== undefined) {
        out.push(got);
        continue;
      }
      if (name === "conntrack") continue;
      if (!reached || (lastIdx >= 0 && STAGE_ORDER.indexOf(name) > lastIdx)) {
        out.push({ stage: name, result: "not reached", text: "not reached" });
        continue;
      }
      const none = (text: string) => out.push({ stage: name, result: "none", text });
      const noMatch = (text: string) => out.push({ stage: name, result: "no match", text });
      if (name === "failsafe") noMatch("no failsafe port matched");
      else if (name === "normal policies") {
        if (pols.length === 0) none(`no policy applies to host endpoint ${pi.hostEndpoint}`);
        else noMatch(`no policy decided (${pols.join(", ")})`);
      } else if (name === "profiles") {
        if (pi.profiles.length === 0) none("no profiles");
        else if (pols.length > 0 && !stages.has("normal policies")) {
          out.push({
            stage: name,
            result: "not reached",
            text: "not reached: policies apply and none passed to the profiles",
          });
        } else noMatch(`no profile decided (${pi.profiles.join(", ")})`);
      }
    }
    return out;
  }

  /** Every decision in an endpoint filter visit, in order (pass decisions do not end it). */
  #decisions(steps: readonly TraceStep[]): StageResult[] {
    const out: StageResult[] = [];
    for (const s of steps) {
      const d = this.#stepDecision(s);
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  #decide(steps: readonly TraceStep[]): StageResult | undefined {
    return this.#decisions(steps).find((d) => d.result !== "PASS");
  }

  /** What one matched rule decided, if anything, named by its owner. */
  #stepDecision(s: TraceStep): StageResult | undefined {
    const owner = s.element?.owner ?? s.rule.owner;
    if (owner === undefined) return _unownedDecision(s, this.state.chains.get(s.chain));
    if (owner.kind !== "failsafe" && owner.audit === true) return _auditDecision(owner);
    switch (owner.kind) {
      case "failsafe":
        return s.outcome === "accept" ? this.#failsafeDecision(s, owner) : undefined;
      case "policy":
      case "profile":
        return this.#ruleDecision(s, owner);
      case "endpointDrop":
        return _endpointDropDecision(owner);
    }
  }

  /** A failsafe port accepted the packet: which port, and which parameter opened it. */
  #failsafeDecision(
    s: TraceStep,
    owner: Extract<RuleOwner, { kind: "failsafe" }>,
  ): StageResult {
    const m = s.rule.match.find((x) => x.kind === "ports");
    const side = m?.kind === "ports" && m.side === "s" ? "source" : "destination";
    const param = owner.direction === "ingress"
      ? (side === "destination" ? "FailsafeInboundHostPorts" : "FailsafeOutboundHostPorts")
      : (side === "destination" ? "FailsafeOutboundHostPorts" : "FailsafeInboundHostPorts");
    const p = this.packet;
    const port = `${PROTO_NAMES[p.protocol]}/${side === "destination" ? p.dport : p.sport}`;
    const what = side === "destination" ? param : `replies of ${param}`;
    // Calico 3's form with a net: say which network the failsafe is limited to.
    const a = s.rule.match.find((x) => x.kind === "addrs");
    const net = a?.kind === "addrs"
      ? ` ${a.side === "s" ? "from" : "to"} ${a.cidrs.join(", ")}`
      : "";
    return {
      stage: "failsafe",
      result: "ALLOW",
      text: `ALLOW by failsafe ${owner.direction === "ingress" ? "inbound" : "outbound"} ` +
        `port ${port}${net} (${what})`,
      owner,
    };
  }

  /** A policy or profile rule matched: what it did, in the words of the rule. */
  #ruleDecision(
    s: TraceStep,
    owner: Extract<RuleOwner, { kind: "policy" | "profile" }>,
  ): StageResult | undefined {
    const r = this.#resolved(owner);
    const action = r?.action;
    const result = s.outcome === "drop"
      ? "DROP"
      : action === "pass"
      ? "PASS"
      : action === "allow" || s.outcome === "return"
      ? "ALLOW"
      : undefined;
    if (result === undefined) return undefined;
    const what = `${owner.kind} ${owner.name} rule ${owner.rule} (${owner.direction}: ${
      r ? describeRule(r) : "rule not in the calculation"
    })`;
    return {
      stage: owner.kind === "policy" ? "normal policies" : "profiles",
      result,
      text: result === "PASS" ? `PASS by ${what}: on to the profiles` : `${result} by ${what}`,
      owner,
    };
  }

  #resolved(o: Extract<RuleOwner, { kind: "policy" | "profile" }>): ResolvedRule | undefined {
    const rs = o.kind === "policy"
      ? this.host.policies.get(o.name)
      : this.host.profiles.get(o.name);
    return (o.direction === "ingress" ? rs?.ingress : rs?.egress)?.[o.rule - 1];
  }

  /** The one line saying what decided the packet. */
  decision(
    endpoints: readonly EndpointExplanation[],
    p: Packet,
  ): { text: string; owner?: RuleOwner } {
    const verdict = this.ev.verdict === "accept" ? "ALLOW" : "DROP";
    // The deciding stage: the first drop; else the last allow (raw and mangle failsafe
    // accepts are followed by the filter stage's own decision).
    let found: StageResult | undefined;
    for (const e of endpoints) {
      const drop = e.stages.find((s) => s.result === "DROP");
      if (drop !== undefined) {
        found = drop;
        break;
      }
      const allows = e.stages.filter((s) => s.result === "ALLOW");
      if (allows.length > 0) found = allows[allows.length - 1];
    }
    if (found !== undefined && found.result === verdict) {
      return { text: found.text, ...(found.owner ? { owner: found.owner } : {}) };
    }
    const policed = endpoints.filter((e) => e.hostEndpoint !== undefined);
    const last = this.#last;
    const baseChain: NftChain | undefined = last ? this.state.chains.get(last.chain) : undefined;
    if (
      last !== undefined && baseChain?.owner.kind === "static" &&
      ["accept", "drop", "return"].includes(last.outcome)
    ) {
      const why = last.rule.comment ?? ruleText(last.rule);
      if (!(last.rule.match.some((m) => m.kind === "mark") && policed.length > 0)) {
        return { text: `${verdict} by ${last.chain} rule ${last.index + 1} (${why})` };
      }
    }
    if (policed.length === 0) {
      const names = [p.iif, p.oif].filter((x) => x !== undefined).join(", ");
      return {
        text: `${verdict}: ${names} ${
          names.includes(",")
            ? "are not host endpoint interfaces"
            : "is not a host endpoint interface"
        } of this node; hostfence leaves the packet to the host's other rules`,
      };
    }
    return { text: `${verdict} by ${endpoints.map((e) => e.iface).join(" and ")} policy` };
  }
}

/** The text form: the packet, each endpoint's stages in order, the verdict and the reply. */
export function formatExplanation(x: Explanation): string {
  const lines: string[] = [];
  const fam = x.packet.family === 4 ? "IPv4" : "IPv6";
  lines.push(`Packet: ${packetText(x.packet)} (${fam}, new connection) on node ${x.node}`);
  for (const e of x.endpoints) {
    if (e.hostEndpoint === undefined) {
      lines.push(`${e.direction} ${e.iface}: not a host endpoint interface (not policed)`);
      continue;
    }
    lines.push(`${e.direction} ${e.iface} (host endpoint ${e.hostEndpoint}):`);
    for (const s of e.stages) lines.push(`  ${s.stage.padEnd(16)} ${s.text}`);
  }
  lines.push(`Verdict: ${x.decision}`);
  if (x.reply !== undefined) lines.push(`Reply: ${x.reply.text}`);
  return lines.join("\n") + "\n";
}

/** A rule with no owner decides only in an endpoint chain: conntrack and neighbour discovery. */
function _unownedDecision(s: TraceStep, chain: NftChain | undefined): StageResult | undefined {
  if (chain?.owner.kind !== "endpoint") return undefined;
  if (s.outcome === "accept" && s.rule.match.some((m) => m.kind === "ctState")) {
    return {
      stage: "conntrack",
      result: "ALLOW",
      text: "ALLOW by conntrack: established/related",
    };
  }
  if (s.outcome === "drop" && s.rule.match.some((m) => m.kind === "ctState")) {
    return {
      stage: "conntrack",
      result: "DROP",
      text: "DROP by conntrack: invalid (DisableConntrackInvalidCheck is false)",
    };
  }
  if (s.outcome === "accept" && s.rule.match.some((m) => m.kind === "icmpType")) {
    return {
      stage: "conntrack",
      result: "ALLOW",
      text: "ALLOW: ICMPv6 neighbour discovery (HostEndpointAllowNDP)",
    };
  }
  return undefined;
}

/** PolicyAuditMode: the rule counts and logs what it would drop, then lets it through. */
function _auditDecision(owner: Exclude<RuleOwner, { kind: "failsafe" }>): StageResult {
  const what = owner.kind === "endpointDrop"
    ? `${owner.reason} (host endpoint ${owner.hostEndpoint})`
    : `${owner.kind} ${owner.name} rule ${owner.rule}`;
  return {
    stage: owner.kind === "endpointDrop"
      ? "default"
      : owner.kind === "policy"
      ? "normal policies"
      : "profiles",
    result: "ALLOW",
    text: `ALLOW under PolicyAuditMode, which counts and logs it: would DROP by ${what}`,
    owner,
  };
}

/** The end of an endpoint chain: which default drop it was. */
function _endpointDropDecision(owner: Extract<RuleOwner, { kind: "endpointDrop" }>): StageResult {
  const text = owner.reason === "no policy allowed"
    ? `DROP: no policy allowed it (end of the policies of host endpoint ${owner.hostEndpoint})`
    : owner.reason === "no profile allowed"
    ? `DROP: no policy or profile allowed it (end of the profiles of host endpoint ${owner.hostEndpoint})`
    : `DROP: no policy or profile allowed it (default drop for host endpoint ${owner.hostEndpoint})`;
  return { stage: "default", result: "DROP", text, owner };
}
