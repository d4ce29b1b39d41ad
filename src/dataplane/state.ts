/**
 * The desired content of our nft table as plain typed data. The builders make it from the
 * calculation's host state, rule_text.ts and render.ts print it, the differ compares objects
 * by name, and counters and the drift check read it. Rules are typed (rule.ts), so what a rule
 * is for is data, not something recovered from its text.
 */
import type { NftRule, RuleOwner } from "./rule.ts";

export type { NftRule, RuleOwner } from "./rule.ts";

/** Where a base chain hooks in; priorities mirror the iptables tables Felix used. */
export interface NftHook {
  readonly hook: "prerouting" | "input" | "forward" | "output";
  /** `raw` = -300 (before conntrack), `mangle` = -150 (before DNAT), `filter` = 0. */
  readonly priority: "raw" | "mangle" | "filter";
}

/** Which stage of the decision procedure a per-endpoint chain belongs to. */
export type NftStage = "raw" | "mangle" | "filter";
export type NftDirection = "ingress" | "egress";

/** What a chain is for (metrics label chains with it; the differ does not look at it). */
export type ChainOwner =
  | { readonly kind: "static" }
  | { readonly kind: "failsafe"; readonly stage: NftStage; readonly direction: NftDirection }
  | {
    readonly kind: "endpoint";
    readonly stage: NftStage;
    readonly direction: NftDirection;
    readonly iface: string;
    readonly hostEndpoint: string;
  }
  | {
    readonly kind: "policy" | "profile";
    readonly name: string;
    readonly direction: NftDirection;
  };

export interface NftChain {
  readonly name: string;
  /** Present for base chains (policy is always accept: we never change the host's default). */
  readonly hook?: NftHook;
  readonly comment: string;
  readonly owner: ChainOwner;
  readonly rules: readonly NftRule[];
}

/**
 * A named set. Two kinds: the members of one selector's IP set for one family (`ipSet` set,
 * addresses, and prefixes from network sets, which make it an interval set), and a compiled set (`compiled` set): the match keys of a run of
 * policies, one concatenated interval element per rule conjunct, each with its own counter.
 */
export interface NftSet {
  readonly name: string;
  /** nft type: `ipv4_addr`, `ipv6_addr`, or a concatenation like `inet_proto . inet_service`. */
  readonly type: string;
  /** The IP-set id (selector unique id) this set holds; absent for compiled sets. */
  readonly ipSet?: string;
  /**
   * Element texts. IP sets hold canonical addresses and prefixes, disjoint (rendered sorted);
   * compiled sets keep order.
   */
  readonly elements: ReadonlySet<string>;
  /** For compiled sets: which rule each element stands for (counters, explain). */
  readonly owners?: ReadonlyMap<string, RuleOwner>;
  /** Elements are ranges or prefixes (`flags interval`). */
  readonly interval?: boolean;
}

/** A verdict map from interface name to `jump <chain>`: the interface dispatch. */
export interface NftMap {
  readonly name: string;
  /** Interface name -> target chain name. */
  readonly elements: ReadonlyMap<string, string>;
}

/**
 * The whole table. Render order is fixed by render.ts (sets, regular chains, maps, base
 * chains), so every reference points backwards in the text.
 */
export interface NftState {
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly maps: ReadonlyMap<string, NftMap>;
  readonly chains: ReadonlyMap<string, NftChain>;
}
