/**
 * The slice of configuration the dataplane needs (the `DataplaneConfig` contract in
 * src/calc/host_state.ts) and the packet-mark allocation (README "What the agent programs").
 */
import type { FelixConfig } from "./params.ts";
import type { FailsafePort } from "./failsafe.ts";

export type { FailsafePort, PortSpec } from "./failsafe.ts";

/** Dataplane-relevant Felix parameters, already parsed and defaulted. */
export interface DataplaneConfig {
  /** Workload interface prefixes (InterfacePrefix), e.g. ["cali"]. */
  readonly interfacePrefixes: readonly string[];
  readonly failsafeInbound: readonly FailsafePort[];
  readonly failsafeOutbound: readonly FailsafePort[];
  readonly defaultEndpointToHostAction: "DROP" | "RETURN" | "ACCEPT";
  readonly logPrefix: string;
  readonly disableConntrackInvalidCheck: boolean;
  readonly ipv6Support: boolean;
  /** Allow ICMPv6 neighbour discovery (types 133-136) on host endpoints. */
  readonly hostEndpointAllowNDP: boolean;
  /** Packet-mark bit pool (IptablesMarkMask); the lowest bits become accept, pass, scratch. */
  readonly markMask: number;
  /**
   * NftablesCompileMinRun: a run of at least this many adjacent policies whose rules are all
   * plain allows (or all plain denies) of protocols, ports and CIDRs is compiled into set
   * lookups, so a packet's cost does not grow with the run. 0 turns it off; default 4.
   */
  readonly compileMinRun?: number;
  /**
   * PolicyAuditMode: every drop host-endpoint policy would make (deny rules, "no policy
   * allowed", "no profile allowed", default drop) is counted, logged (rate-limited) and
   * accepted instead. Failsafes and untracked allows are unchanged. Absent = off.
   */
  readonly policyAuditMode?: boolean;
}

/**
 * Projects a resolved config onto what the dataplane renders. `resolveConfig` never returns an
 * empty DefaultEndpointToHostAction (it is non-zero), but a hand-built config might, so that
 * falls back to Felix's default DROP rather than producing an empty verdict.
 */
export function toDataplaneConfig(cfg: FelixConfig): DataplaneConfig {
  return {
    interfacePrefixes: [...cfg.interfacePrefix],
    failsafeInbound: cfg.failsafeInboundHostPorts.map((p) => ({ ...p })),
    failsafeOutbound: cfg.failsafeOutboundHostPorts.map((p) => ({ ...p })),
    defaultEndpointToHostAction: cfg.defaultEndpointToHostAction || "DROP",
    logPrefix: cfg.logPrefix,
    disableConntrackInvalidCheck: cfg.disableConntrackInvalidCheck,
    ipv6Support: cfg.ipv6Support,
    hostEndpointAllowNDP: cfg.hostEndpointAllowNDP,
    markMask: cfg.iptablesMarkMask >>> 0,
    compileMinRun: cfg.nftablesCompileMinRun,
    ...(cfg.policyAuditMode ? { policyAuditMode: true } : {}),
  };
}

/**
 * Parameters that feed `toDataplaneConfig`: when one of them is among `changedParams`, the
 * agent must re-render the nftables table.
 */
export const DATAPLANE_PARAMS: ReadonlySet<string> = new Set([
  "InterfacePrefix",
  "FailsafeInboundHostPorts",
  "FailsafeOutboundHostPorts",
  "DefaultEndpointToHostAction",
  "LogPrefix",
  "DisableConntrackInvalidCheck",
  "Ipv6Support",
  "HostEndpointAllowNDP",
  "IptablesMarkMask",
  "NftablesCompileMinRun",
  "PolicyAuditMode",
]);

/** The packet marks carved out of the mask; scratch marks exist only if bits remain. */
export interface MarkBits {
  /** Set when a packet was accepted by an earlier hook. */
  readonly accept: number;
  /** Set by a `pass` rule to skip to profiles. */
  readonly pass: number;
  readonly scratch0?: number;
  readonly scratch1?: number;
}

/**
 * Allocates Felix's marks from the lowest set bits of `mask`, in order accept, pass, scratch0,
 * scratch1 (default 0xff000000 gives 0x01000000, 0x02000000, 0x04000000, 0x08000000).
 * Throws `RangeError` when fewer than two bits are set.
 */
export function allocateMarks(mask: number): MarkBits {
  const bits: number[] = [];
  for (let i = 0; i < 32 && bits.length < 4; i++) {
    const bit = (1 << i) >>> 0;
    if (((mask >>> 0) & bit) >>> 0 !== 0) bits.push(bit);
  }
  const [accept, pass, scratch0, scratch1] = bits;
  if (accept === undefined || pass === undefined) {
    throw new RangeError(`Mark mask 0x${(mask >>> 0).toString(16)} needs at least 2 bits set`);
  }
  return {
    accept,
    pass,
    ...(scratch0 === undefined ? {} : { scratch0 }),
    ...(scratch1 === undefined ? {} : { scratch1 }),
  };
}
