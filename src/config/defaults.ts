/**
 * The configuration of an agent whose Felix parameters are all unset: each parameter's default
 * from the table in params.ts, projected as the agent projects a resolved configuration. Tests
 * and benchmarks build their host states on it, so they program what a default agent would.
 */
import { type DataplaneConfig, toDataplaneConfig } from "./dataplane.ts";
import { type FelixConfig, PARAM_LIST } from "./params.ts";

/** The dataplane's parameters of a default agent (IPv6 on, NDP allowed, mask 0xff000000). */
export const DEFAULT_DATAPLANE_CONFIG: DataplaneConfig = toDataplaneConfig(
  Object.fromEntries(PARAM_LIST.map((p) => [p.field, p.default])) as unknown as FelixConfig,
);
