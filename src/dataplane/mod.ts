/**
 * The nftables dataplane: HostState -> NftState (build, desired) -> nft text (render, plan) ->
 * one atomic `nft -f -` transaction per change (NftDataplane), plus counters for metrics.
 */
export type {
  ChainOwner,
  NftChain,
  NftDirection,
  NftHook,
  NftMap,
  NftRule,
  NftSet,
  NftStage,
  NftState,
  RuleOwner,
} from "./state.ts";
export { BASE_CHAINS, buildNftState, chainNames, DISPATCH_MAPS, FAILSAFE_CHAINS } from "./build.ts";
export { DesiredTable, fixedSource, type TableChanges } from "./desired.ts";
export { diffStates, planChanges, planUpdate, render } from "./render.ts";
export { ruleText } from "./rule_text.ts";
export { libnftablesRunner, preferredRunner } from "./nft_ffi.ts";
export { objectName, TABLE_FAMILY, TABLE_NAME, TABLE_REF } from "./names.ts";
export {
  type ChainCounter,
  chainCounters,
  parseCounters,
  type RuleCounter,
} from "./nft_counters.ts";
export {
  type ApplyResult,
  commandRunner,
  type CommandRunnerOptions,
  fingerprintListing,
  fingerprintState,
  NftApplyError,
  NftDataplane,
  type NftRunner,
  type RefreshResult,
} from "./nft_dataplane.ts";
