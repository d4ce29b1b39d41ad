/**
 * One nft rule as plain typed data: what it matches, what it does, which verdict ends it, and
 * who it belongs to. The builders (static.ts, policy.ts, endpoints.ts) make these; rule_text.ts
 * prints them at the edge; counters and a future `explain` read the owner instead of parsing
 * comments. Every field is data, so two rules are equal exactly when their texts are.
 */

/** IP family of a family-specific match. */
export type Family = 4 | 6;

/** Which address or port of the packet a match reads: source or destination. */
export type Side = "s" | "d";

/** One closed port interval (`lo === hi` for a single port). */
export type PortRange = readonly [lo: number, hi: number];

/** A conjunct of a rule's match, in the order it is printed. */
export type Match =
  /** `meta nfproto ipv4|ipv6`. */
  | { readonly kind: "nfproto"; readonly family: Family }
  /** `meta l4proto P`, `meta l4proto { ... }` or `meta l4proto != P` (protocols as nft text). */
  | { readonly kind: "l4proto"; readonly protocols: readonly string[]; readonly negate: boolean }
  /**
   * `th dport 80`, `tcp dport { 22, 80 }`, `th sport != 53`: `via` is the header the port is
   * read from (`th` after an l4proto match, `tcp`/`udp` where the header names the protocol).
   */
  | {
    readonly kind: "ports";
    readonly via: "th" | "tcp" | "udp";
    readonly side: Side;
    readonly ranges: readonly PortRange[];
    readonly negate: boolean;
  }
  /** `ip saddr 198.18.0.0/24`, `ip6 daddr != { ... }` (CIDRs already normalised for nft). */
  | {
    readonly kind: "addrs";
    readonly family: Family;
    readonly side: Side;
    readonly cidrs: readonly string[];
    readonly negate: boolean;
  }
  /** `ip saddr @s4-...`: membership of a named set of addresses. */
  | {
    readonly kind: "addrSet";
    readonly family: Family;
    readonly side: Side;
    readonly set: string;
    readonly negate: boolean;
  }
  /** `icmp type 8`, `icmpv6 type { 133, 134 }`. */
  | { readonly kind: "icmpType"; readonly family: Family; readonly types: readonly number[] }
  /** `icmp code 0`. */
  | { readonly kind: "icmpCode"; readonly family: Family; readonly code: number }
  /** Not (type and code): `icmp type != 3` or `icmp type . icmp code != { 3 . 4 }`. */
  | {
    readonly kind: "notIcmp";
    readonly family: Family;
    readonly type: number;
    readonly code?: number;
  }
  /** `ct state established,related`. */
  | { readonly kind: "ctState"; readonly states: readonly string[] }
  /** `meta mark & M == M` (`set`) or `meta mark & M == 0`. */
  | { readonly kind: "mark"; readonly bits: number; readonly set: boolean }
  /** `iifname "eth0"` / `oifname "cali*"` (`name` already quoted for nft). */
  | { readonly kind: "ifname"; readonly dir: "in" | "out"; readonly quoted: string }
  /**
   * `ip daddr . meta l4proto . th dport @n4-...` (or `!=`): the packet's address, protocol and
   * port on one side, looked up in a named-port set (`ADDR . PROTO . PORT` elements).
   */
  | {
    readonly kind: "namedPort";
    readonly family: Family;
    readonly side: Side;
    readonly set: string;
    readonly negate: boolean;
  }
  /** `iif 0` / `oif 0`: the packet has no input (output) device, i.e. it is not forwarded. */
  /** `iif 0` / `oif 0` (`!= 0` with `negate`): the packet has no input (output) device. */
  | { readonly kind: "noDevice"; readonly dir: "in" | "out"; readonly negate?: boolean }
  /** `meta l4proto . th dport @c-...`: one lookup in a compiled set (compile.ts). */
  | { readonly kind: "lookup"; readonly keys: readonly LookupKey[]; readonly set: string };

/** One field of a concatenated lookup key, in key order. */
export type LookupKey =
  | { readonly field: "l4proto" }
  | { readonly field: "addr"; readonly family: Family; readonly side: Side }
  | { readonly field: "port"; readonly side: Side };

/** What a rule does before its verdict, in order. */
export type Statement =
  | { readonly kind: "counter" }
  /** `meta mark set meta mark | BITS`. */
  | { readonly kind: "markOr"; readonly bits: number }
  /** `meta mark set meta mark & KEEP`. */
  | { readonly kind: "markAnd"; readonly keep: number }
  | { readonly kind: "notrack" }
  /** `log prefix "..."` (prefix already quoted). */
  | { readonly kind: "log"; readonly quotedPrefix: string }
  /**
   * `limit rate N/UNIT`: the rest of the rule runs for at most N packets per unit; past it
   * the rule stops there (as if it had not matched), so put it after the statements that
   * must always run.
   */
  | { readonly kind: "limit"; readonly rate: number; readonly per: "second" | "minute" };

/** How a rule ends; absent when evaluation goes on with the next rule. */
export type Verdict =
  | { readonly kind: "accept" }
  | { readonly kind: "drop" }
  | { readonly kind: "return" }
  | { readonly kind: "jump"; readonly chain: string }
  /** `goto CHAIN`: that chain's end or `return` ends the calling chain too. */
  | { readonly kind: "goto"; readonly chain: string }
  /** `iifname vmap @MAP` / `oifname vmap @MAP`: the interface dispatch. */
  | { readonly kind: "vmap"; readonly dir: "in" | "out"; readonly map: string };

/**
 * Who a rule (or a compiled set element) stands for: counters are summed per owner, and
 * `explain` names it. Rules without an owner (marks, dispatch, conntrack) count for no one.
 */
export type RuleOwner =
  /**
   * Rule `rule` (1-based) of a policy's or profile's rule list in one direction. `audit`: a
   * deny rule under PolicyAuditMode, whose packets are would-drops (counted, then accepted).
   */
  | {
    readonly kind: "policy" | "profile";
    readonly name: string;
    readonly direction: "ingress" | "egress";
    readonly rule: number;
    readonly audit?: true;
  }
  /** The drop at the end of an endpoint's filter chain. */
  | {
    readonly kind: "endpointDrop";
    readonly iface: string;
    readonly hostEndpoint: string;
    readonly direction: "ingress" | "egress";
    readonly reason: "no policy allowed" | "no profile allowed" | "default drop";
    /** Under PolicyAuditMode: counted as a would-drop and accepted. */
    readonly audit?: true;
  }
  /** A failsafe port accept. */
  | { readonly kind: "failsafe"; readonly direction: "ingress" | "egress" };

export interface NftRule {
  readonly match: readonly Match[];
  readonly statements: readonly Statement[];
  readonly verdict?: Verdict;
  /** Text for people reading `nft list`; never parsed back. */
  readonly comment?: string;
  readonly owner?: RuleOwner;
}

/** Builds a rule; absent parts stay absent (so equal rules are structurally equal). */
export function rule(
  match: readonly Match[],
  statements: readonly Statement[],
  verdict?: Verdict,
  comment?: string,
  owner?: RuleOwner,
): NftRule {
  return {
    match,
    statements,
    ...(verdict === undefined ? {} : { verdict }),
    ...(comment === undefined ? {} : { comment }),
    ...(owner === undefined ? {} : { owner }),
  };
}

export const COUNTER: Statement = { kind: "counter" };
export const ACCEPT: Verdict = { kind: "accept" };
export const DROP: Verdict = { kind: "drop" };
export const RETURN: Verdict = { kind: "return" };

/** `jump CHAIN`. */
export function jump(chain: string): Verdict {
  return { kind: "jump", chain };
}

/** `goto CHAIN`. */
export function goto(chain: string): Verdict {
  return { kind: "goto", chain };
}

/** Matches packets carrying all of `bits`. */
export function markIsSet(bits: number): Match {
  return { kind: "mark", bits, set: true };
}

/** Matches packets carrying none of `bits`. */
export function markIsClear(bits: number): Match {
  return { kind: "mark", bits, set: false };
}

/** Sets `bits` on the packet mark. */
export function setMarkBits(bits: number): Statement {
  return { kind: "markOr", bits };
}

/** Clears `bits` from the packet mark. */
export function clearMarkBits(bits: number): Statement {
  return { kind: "markAnd", keep: ~bits >>> 0 };
}
