/**
 * The calculation stage's public surface: the graph the agent feeds, and the HostState
 * contract it produces for the dataplane.
 */
export {
  type CalcStats,
  CalculationGraph,
  type CalculationGraphOptions,
  type EndpointStatus,
  type InterfaceInfo,
} from "./graph.ts";
export type * from "./host_state.ts";
export { DENY_ALL } from "./resolve_rules.ts";
export { isWorkloadInterface } from "./resolve_interfaces.ts";
