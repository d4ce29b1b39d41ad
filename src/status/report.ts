/**
 * The JSON Felix writes under `/calico/felix/v1/host/<h>/`: the process
 * heartbeat `{"time","uptime","first_update"}` and the endpoint status `{"status"}`. Pure, so
 * the writer (the agent) and the reader (`hostfence status`) agree on one definition.
 */

import type { EndpointStatus } from "../calc/mod.ts";

export type { EndpointStatus };

/** One heartbeat, as stored in `status` and `last_reported_status`. */
export interface StatusReport {
  /** UTC, RFC 3339, whole seconds: `2017-10-01T12:00:00Z`. */
  readonly time: string;
  /** Seconds since the agent started. */
  readonly uptime: number;
  /** True until the first heartbeat was written successfully. */
  readonly first_update: boolean;
}

/** `2017-10-01T12:00:00Z`: RFC 3339 in UTC with whole seconds, as Go's time.RFC3339 prints UTC. */
export function formatReportTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** The heartbeat value for `now`, `uptimeSecs` and whether a write has succeeded before. */
export function statusReport(now: Date, uptimeSecs: number, firstUpdate: boolean): StatusReport {
  return { time: formatReportTime(now), uptime: uptimeSecs, first_update: firstUpdate };
}

/** The heartbeat's JSON text, keys in Felix's order. */
export function encodeStatusReport(report: StatusReport): string {
  return JSON.stringify({
    time: report.time,
    uptime: report.uptime,
    first_update: report.first_update,
  });
}

/**
 * Reads a heartbeat value; `undefined` when it is not JSON of that shape (another tool's
 * value, or a partial write), so a reader shows "unreadable" instead of failing.
 */
export function parseStatusReport(text: string): StatusReport | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.time !== "string" || Number.isNaN(Date.parse(o.time))) return undefined;
  const uptime = typeof o.uptime === "number" && Number.isFinite(o.uptime) ? o.uptime : 0;
  return { time: o.time, uptime, first_update: o.first_update === true };
}

const STATUSES: ReadonlySet<string> = new Set(["up", "down", "error"]);

/** `{"status":"up"}` */
export function encodeEndpointStatus(status: EndpointStatus): string {
  return JSON.stringify({ status });
}

/** Reads an endpoint status value; `undefined` when it is not one of up/down/error. */
export function parseEndpointStatus(text: string): EndpointStatus | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const s = (v as Record<string, unknown>).status;
    return typeof s === "string" && STATUSES.has(s) ? s as EndpointStatus : undefined;
  } catch {
    return undefined;
  }
}
