/**
 * What `hostfence status` shows, worked out from raw etcd keys and values and formatted as
 * a table or JSON. Pure (the clock is a parameter), so the command's output is unit-tested
 * without an etcd.
 */
import { FELIX_HOST_PREFIX, HOST_PREFIX, unescapeName } from "../datastore/keys.ts";
import { tabwriter } from "../model/output_table.ts";
import {
  type EndpointStatus,
  parseEndpointStatus,
  parseStatusReport,
  type StatusReport,
} from "./report.ts";
import { parseWouldDrops, type WouldDropEntry } from "./would_drop.ts";

/**
 * `live`: the lease-bound `status` key exists, so the agent reported within its TTL.
 * `expired`: only `last_reported_status` is left, so the agent stopped reporting.
 * `never`: no report was ever written for this node.
 */
export type HeartbeatState = "live" | "expired" | "never";

/** One host endpoint and what its agent last said about it (`unknown`: nothing). */
export interface EndpointView {
  readonly name: string;
  readonly status: EndpointStatus | "unknown";
}

/** One node's row. */
export interface NodeStatusView {
  readonly node: string;
  readonly heartbeat: HeartbeatState;
  /** The newest readable report: `status` when live, else `last_reported_status`. */
  readonly report?: StatusReport;
  /** Host endpoints of the node (from `/calico/v1`), by name. */
  readonly endpoints: readonly EndpointView[];
  /** PolicyAuditMode's would-drop counts the agent published; absent when audit is off. */
  readonly wouldDrops?: readonly WouldDropEntry[];
}

/**
 * Builds the per-node view from the keys under `/calico/v1/host/` (values not needed) and
 * the keys and values under `/calico/felix/v1/host/`. Nodes: every `/calico/v1/host/<node>/`
 * directory plus every node with a Felix status key; sorted by name. Endpoint status keys
 * whose host endpoint no longer exists are left out (the agent deletes them).
 */
export function buildStatusView(
  hostKeys: Iterable<string>,
  felixValues: Readonly<Record<string, string>>,
): NodeStatusView[] {
  const heps = new Map<string, Set<string>>();
  const nodeOf = (node: string) => {
    let set = heps.get(node);
    if (!set) heps.set(node, set = new Set());
    return set;
  };
  for (const key of hostKeys) {
    if (!key.startsWith(HOST_PREFIX)) continue;
    const parts = key.slice(HOST_PREFIX.length).split("/");
    const node = parts[0];
    if (!node) continue;
    const set = nodeOf(node);
    if (parts.length === 3 && parts[1] === "endpoint" && parts[2]) set.add(unescapeName(parts[2]));
  }
  const status = new Map<string, string>();
  const last = new Map<string, string>();
  const epStatus = new Map<string, Map<string, EndpointStatus | undefined>>();
  const would = new Map<string, WouldDropEntry[]>();
  for (const [key, value] of Object.entries(felixValues)) {
    if (!key.startsWith(FELIX_HOST_PREFIX)) continue;
    const parts = key.slice(FELIX_HOST_PREFIX.length).split("/");
    const node = parts[0];
    if (!node) continue;
    nodeOf(node);
    if (parts.length === 2 && parts[1] === "status") status.set(node, value);
    else if (parts.length === 2 && parts[1] === "last_reported_status") last.set(node, value);
    else if (parts.length === 2 && parts[1] === "would_drop") {
      const w = parseWouldDrops(value);
      if (w !== undefined && w.length > 0) would.set(node, w);
    } else if (parts.length === 3 && parts[1] === "endpoint" && parts[2]) {
      let m = epStatus.get(node);
      if (!m) epStatus.set(node, m = new Map());
      m.set(unescapeName(parts[2]), parseEndpointStatus(value));
    }
  }
  return [...heps.keys()].sort(_compare).map((node) => {
    const live = status.get(node);
    const lastText = last.get(node);
    const heartbeat: HeartbeatState = live !== undefined
      ? "live"
      : lastText !== undefined
      ? "expired"
      : "never";
    const report = (live !== undefined ? parseStatusReport(live) : undefined) ??
      (lastText !== undefined ? parseStatusReport(lastText) : undefined);
    const statuses = epStatus.get(node);
    const endpoints = [...heps.get(node)!].sort(_compare).map((name): EndpointView => ({
      name,
      status: statuses?.get(name) ?? "unknown",
    }));
    const w = would.get(node);
    return {
      node,
      heartbeat,
      ...(report ? { report } : {}),
      endpoints,
      ...(w ? { wouldDrops: w } : {}),
    };
  });
}

function _compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `12s`, `5m3s`, `2h5m`, `3d4h`: whole units, the two largest; negative counts as 0. */
export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

const HEARTBEAT_LABEL: Record<HeartbeatState, string> = {
  live: "live",
  expired: "EXPIRED",
  never: "NEVER",
};

/** Seconds between a report's `time` and `now` (never negative, whatever the clocks say). */
export function reportAgeSecs(report: StatusReport, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(report.time)) / 1000));
}

/**
 * The table: one row per node with its heartbeat state, last report time, the report's age
 * and the uptime it carried, and its host endpoints as `name=status`; aligned like
 * calicoctl's tables. An empty view prints the heading only.
 */
export function formatStatusTable(nodes: readonly NodeStatusView[], now: Date): string {
  const rows: string[][] = [["NODE", "HEARTBEAT", "LAST REPORT", "AGE", "UPTIME", "ENDPOINTS"]];
  for (const n of nodes) {
    rows.push([
      n.node,
      HEARTBEAT_LABEL[n.heartbeat],
      n.report?.time ?? "-",
      n.report ? formatDuration(reportAgeSecs(n.report, now)) : "-",
      n.report ? formatDuration(n.report.uptime) : "-",
      n.endpoints.length === 0
        ? "none"
        : n.endpoints.map((e) => `${e.name}=${e.status}`).join(", "),
    ]);
  }
  return tabwriter(rows) + _wouldDropTable(nodes);
}

/** PolicyAuditMode's section, only when some node reports would-drops. */
function _wouldDropTable(nodes: readonly NodeStatusView[]): string {
  const rows: string[][] = [["NODE", "WOULD DROP", "DIRECTION", "REASON", "PACKETS"]];
  for (const n of nodes) {
    for (const w of n.wouldDrops ?? []) {
      rows.push([n.node, w.by, w.direction, w.reason ?? "deny rule", String(w.packets)]);
    }
  }
  if (rows.length === 1) return "";
  return "\nPolicyAuditMode: packets accepted that policy would have dropped\n" +
    tabwriter(rows);
}

/** The same view as a JSON array (2-space indent, one trailing newline). */
export function formatStatusJson(nodes: readonly NodeStatusView[], now: Date): string {
  const out = nodes.map((n) => ({
    node: n.node,
    heartbeat: n.heartbeat,
    lastReport: n.report?.time ?? null,
    ageSecs: n.report ? reportAgeSecs(n.report, now) : null,
    uptimeSecs: n.report?.uptime ?? null,
    firstUpdate: n.report?.first_update ?? null,
    endpoints: n.endpoints.map((e) => ({ name: e.name, status: e.status })),
    ...(n.wouldDrops ? { wouldDrops: n.wouldDrops } : {}),
  }));
  return JSON.stringify(out, null, 2) + "\n";
}
