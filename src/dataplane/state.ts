/**
 * The desired content of our nft table as plain typed data. The builder (build.ts) makes it
 * from a HostState, the renderer (render.ts) prints it, the differ compares two of them, and
 * the drift check fingerprints it. Rules are kept as rendered text: one string is exactly one
 * nft rule, which is all the differ needs (a chain whose rule list changed is rewritten).
 */

/** Where a base chain hooks in; priorities mirror the iptables tables Felix used. */
export interface NftHook {
  readonly hook: "prerouting" | "input" | "forward" | "output";
  /** `raw` = -300 (before conntrack), `mangle` = -150 (before DNAT), `filter` = 0. */
  readonly priority: "raw" | "mangle" | "filter";
}

/** Which stage of the decision procedure (spec 5.15) a per-endpoint chain belongs to. */
export type NftStage = "raw" | "mangle" | "filter";
export type NftDirection = "ingress" | "egress";

/** What a chain is for; lets counters be attributed to policies without parsing comments. */
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
  /** Rule texts as they follow `add rule inet hostfence <chain> `. */
  readonly rules: readonly string[];
}

/** A named set of single addresses: the members of one selector's IP set for one family. */
export interface NftSet {
  readonly name: string;
  readonly type: "ipv4_addr" | "ipv6_addr";
  /** The IP-set id (selector unique id) this set holds. */
  readonly ipSet: string;
  /** Canonical addresses, sorted. */
  readonly elements: readonly string[];
}

/** A verdict map from interface name to `jump <chain>`: the interface dispatch. */
export interface NftMap {
  readonly name: string;
  /** Interface name -> target chain name, sorted by interface name. */
  readonly elements: ReadonlyMap<string, string>;
}

/**
 * The whole table. Map iteration order is the render order: sets first, then regular chains
 * (leaves first), maps, base chains, so every reference points backwards in the text.
 */
export interface NftState {
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly maps: ReadonlyMap<string, NftMap>;
  readonly chains: ReadonlyMap<string, NftChain>;
}
