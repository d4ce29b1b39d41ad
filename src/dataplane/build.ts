/**
 * HostState -> NftState in one go: Felix's chain layout in one `inet` table (README "What the
 * agent programs"). The pieces are built by what they build
 * (static.ts: failsafe and base chains; policy.ts: policy and profile chains; endpoints.ts:
 * endpoint chains and compiled runs) and kept object by object in desired.ts, which also
 * updates them one change at a time.
 */
import type { HostState } from "../calc/host_state.ts";
import { DesiredTable } from "./desired.ts";
import { endpointNames } from "./endpoints.ts";
import { policyNames } from "./policy.ts";
import type { NftState } from "./state.ts";

export { BASE_CHAINS, DISPATCH_MAPS, FAILSAFE_CHAINS } from "./static.ts";

/** Chain and set names per object (deterministic; odd characters escaped, long names hashed). */
export const chainNames = { ...policyNames, ...endpointNames };

/**
 * Builds the desired table. Throws RangeError when the mark mask has fewer than two bits and
 * TypeError for an interface name nft cannot quote (both are config errors the caller logs).
 */
export function buildNftState(host: HostState): NftState {
  return DesiredTable.build(host).state;
}
