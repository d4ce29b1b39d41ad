/**
 * What every builder needs from the configuration, worked out once per config: the packet
 * marks, the families policed, and the switches that add or remove rules.
 */
import type { DataplaneConfig } from "../calc/host_state.ts";
import { allocateMarks } from "../config/dataplane.ts";

/** Runs of adjacent compilable policies at least this long become set lookups by default. */
export const DEFAULT_COMPILE_MIN_RUN = 4;

export interface BuildContext {
  readonly cfg: DataplaneConfig;
  /** Accept mark A and pass mark P. */
  readonly accept: number;
  readonly pass: number;
  /** Families rendered: [4] or [4, 6] (Ipv6Support). */
  readonly families: readonly (4 | 6)[];
  /** The HostEndpointAllowNDP rule goes into endpoint chains. */
  readonly ndp: boolean;
  /** See DataplaneConfig.compileMinRun; 0 turns compilation off. */
  readonly compileMinRun: number;
}

/**
 * Throws RangeError when the mark mask has fewer than two bits (a config error the caller
 * logs).
 */
export function buildContext(cfg: DataplaneConfig): BuildContext {
  const marks = allocateMarks(cfg.markMask);
  return {
    cfg,
    accept: marks.accept,
    pass: marks.pass,
    families: cfg.ipv6Support ? [4, 6] : [4],
    ndp: cfg.ipv6Support && cfg.hostEndpointAllowNDP,
    compileMinRun: cfg.compileMinRun ?? DEFAULT_COMPILE_MIN_RUN,
  };
}
