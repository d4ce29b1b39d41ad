/**
 * `GET /metrics`: the agent's state as Prometheus metrics (PrometheusMetricsEnabled).
 * Every scrape builds the families afresh from a MetricsSource, so there is no registry to
 * keep in step with the agent. Names follow Felix's where Felix had one, with `felix_`
 * replaced by `hostfence_` (`felix_resync_state` -> `hostfence_resync_state`,
 * `felix_int_dataplane_apply_time_seconds` -> `hostfence_dataplane_apply_time_seconds`,
 * `felix_active_local_policies` -> `hostfence_active_local_policies`), and counters end in
 * `_total` as Prometheus now expects.
 */
import process from "node:process";
import type { AgentStatus } from "../agent/agent.ts";
import type { HostState } from "../calc/host_state.ts";
import type { ActivityRecorder, ActivitySnapshot } from "./activity.ts";
import {
  cachedReader,
  type CounterReading,
  type EndpointDropCounter,
  type PolicyCounter,
  type WouldDropCounter,
} from "./counter_metrics.ts";
import {
  CONTENT_TYPE,
  encodeText,
  type Labels,
  type MetricFamily,
  type Sample,
} from "./exposition.ts";
import { textResponse } from "./health.ts";
import { errorMessage } from "../util/error_message.ts";

/** Process figures; any field the platform cannot supply is left out. */
export interface ProcessStats {
  readonly startTimeSeconds?: number;
  readonly residentMemoryBytes?: number;
  readonly heapUsedBytes?: number;
  readonly cpuSecondsTotal?: number;
  readonly openFds?: number;
}

/** Everything a scrape reads. The agent provides one (agentMetricsSource); tests pass fakes. */
export interface MetricsSource {
  status(): AgentStatus;
  activity(): ActivitySnapshot;
  /** Per-policy and per-endpoint counters now; may throw (the scrape then reports an error). */
  counters(): Promise<CounterReading>;
  /** Process figures; absent = none reported. */
  process?(): ProcessStats;
}

/** Datastore sync state as Felix numbered it: 1 wait-for-datastore, 2 resyncing, 3 in sync. */
export function resyncState(status: AgentStatus): 1 | 2 | 3 {
  if (!status.ready) return 1;
  return status.inSync ? 3 : 2;
}

/**
 * The metric families for one scrape. A failed counter read does not fail the scrape: the
 * per-policy families are then empty and `hostfence_counter_read_errors_total` (kept by the
 * caller across scrapes and passed in as `counterErrors`) says so.
 */
export async function collectMetrics(
  source: MetricsSource,
  counterErrors = { count: 0 },
): Promise<MetricFamily[]> {
  const status = source.status();
  const act = source.activity();
  let counters: CounterReading | undefined;
  try {
    counters = await source.counters();
  } catch {
    counters = undefined;
    counterErrors.count++;
  }
  return [
    ..._syncFamilies(status, act),
    ..._dataplaneFamilies(status, act),
    ..._programmedFamilies(act.programmed),
    ..._counterFamilies(counters),
    _counter(
      "hostfence_counter_read_errors_total",
      "Scrapes where the nftables counters could not be read.",
      counterErrors.count,
    ),
    ..._processFamilies(source.process?.() ?? {}),
  ];
}

function _gauge(name: string, help: string, value: number | undefined): MetricFamily {
  return { name, help, type: "gauge", samples: value === undefined ? [] : [{ value }] };
}

function _counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "counter", samples: [{ value }] };
}

/** One sample per map entry, labelled `label`, in key order. */
function _byLabel(label: string, m: ReadonlyMap<string, number>): Sample[] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, value]) => ({
    labels: { [label]: k },
    value,
  }));
}

/** Where the agent stands with the datastore. */
function _syncFamilies(status: AgentStatus, act: ActivitySnapshot): MetricFamily[] {
  return [
    _gauge(
      "hostfence_resync_state",
      "Datastore sync state: 1 waiting for the datastore to be ready, 2 resync in progress, " +
        "3 in sync.",
      resyncState(status),
    ),
    _gauge(
      "hostfence_datastore_ready",
      "1 when the datastore's /calico/v1/Ready flag is true.",
      status.ready ? 1 : 0,
    ),
    _gauge(
      "hostfence_datastore_in_sync",
      "1 once the first complete datastore snapshot has been received.",
      status.inSync ? 1 : 0,
    ),
    _gauge(
      "hostfence_dataplane_programmed",
      "1 once the first full state has been programmed into nftables.",
      status.programmed ? 1 : 0,
    ),
    _counter(
      "hostfence_resyncs_started_total",
      "Complete datastore snapshots received: the first plus one per resync.",
      act.resyncs,
    ),
    {
      name: "hostfence_calc_graph_updates_processed_total",
      help: "Datastore updates passed to the calculation, by type.",
      type: "counter",
      samples: _byLabel("type", act.updates),
    },
  ];
}

/** What the agent did to nftables: revisions, applies, refreshes and repairs. */
function _dataplaneFamilies(status: AgentStatus, act: ActivitySnapshot): MetricFamily[] {
  return [
    _gauge(
      "hostfence_datastore_revision",
      "etcd revision of the last datastore update received.",
      status.revision,
    ),
    _gauge(
      "hostfence_dataplane_applied_revision",
      "Datastore revision that the programmed nftables state reflects.",
      status.appliedRevision,
    ),
    _counter(
      "hostfence_dataplane_applies_total",
      "nft transactions that changed the table.",
      status.applies,
    ),
    _counter(
      "hostfence_dataplane_failures_total",
      "nft transactions that failed (the previous rules stayed in force).",
      status.applyFailures,
    ),
    {
      name: "hostfence_dataplane_apply_time_seconds",
      help: "Time to program one change into nftables (applies that ran nft).",
      type: "histogram",
      samples: [act.applyTime],
    },
    _gauge(
      "hostfence_dataplane_last_apply_success_timestamp_seconds",
      "Unix time of the last successful apply (absent before the first).",
      status.lastSuccessAt === undefined ? undefined : status.lastSuccessAt.getTime() / 1000,
    ),
    _counter(
      "hostfence_dataplane_refreshes_total",
      "Periodic drift checks of the nftables table.",
      act.refreshes,
    ),
    _counter(
      "hostfence_dataplane_refresh_failures_total",
      "Drift checks that failed with an error.",
      act.refreshFailures,
    ),
    {
      name: "hostfence_dataplane_repairs_total",
      help: "Times the table was found missing or changed and was reprogrammed, by reason.",
      type: "counter",
      samples: _byLabel("reason", act.repairs),
    },
  ];
}

/** The size of the programmed state. */
function _programmedFamilies(host: HostState | undefined): MetricFamily[] {
  const members = { v4: 0, v6: 0 };
  for (const s of host?.ipSets.values() ?? []) {
    members.v4 += s.v4.length;
    members.v6 += s.v6.length;
  }
  return [
    _gauge(
      "hostfence_active_local_endpoints",
      "Interfaces policed for a local host endpoint in the programmed state.",
      host?.interfaces.length ?? 0,
    ),
    _gauge(
      "hostfence_active_local_policies",
      "Policies applied to local host endpoints in the programmed state.",
      host?.policies.size ?? 0,
    ),
    _gauge(
      "hostfence_active_local_profiles",
      "Profiles applied to local host endpoints in the programmed state.",
      host?.profiles.size ?? 0,
    ),
    _gauge(
      "hostfence_ipsets_active",
      "IP sets (one per selector or tag used in rules) in the programmed state.",
      host?.ipSets.size ?? 0,
    ),
    {
      name: "hostfence_ipset_members",
      help: "Addresses across all IP sets in the programmed state, by family.",
      type: "gauge",
      samples: [
        { labels: { family: "ipv4" }, value: members.v4 },
        { labels: { family: "ipv6" }, value: members.v6 },
      ],
    },
  ];
}

function _counterFamilies(c: CounterReading | undefined): MetricFamily[] {
  const pol = c?.policies ?? [];
  const drop = c?.endpointDrops ?? [];
  return [
    _counterOf(
      "hostfence_policy_packets_total",
      "Packets matched by an allow, deny or pass rule of a policy or profile (class " +
        "profile). Resets when the policy's rules change.",
      pol.map((p) => [_policyLabels(p), p.packets]),
    ),
    _counterOf(
      "hostfence_policy_bytes_total",
      "Bytes matched by an allow, deny or pass rule of a policy or profile.",
      pol.map((p) => [_policyLabels(p), p.bytes]),
    ),
    _counterOf(
      "hostfence_endpoint_dropped_packets_total",
      "Packets a policed interface dropped because no policy or profile allowed them " +
        "(default deny). Resets when the endpoint's chain is rewritten.",
      drop.map((d) => [_endpointLabels(d), d.packets]),
    ),
    _counterOf(
      "hostfence_endpoint_dropped_bytes_total",
      "Bytes a policed interface dropped by default deny.",
      drop.map((d) => [_endpointLabels(d), d.bytes]),
    ),
    ..._wouldDropFamilies(c?.wouldDrops ?? []),
  ];
}

/** PolicyAuditMode's families; none while audit mode is off (nothing is audited). */
function _wouldDropFamilies(would: readonly WouldDropCounter[]): MetricFamily[] {
  if (would.length === 0) return [];
  const pol = would.filter((w) => w.by === "policy");
  const ep = would.filter((w) => w.by === "endpoint");
  return [
    _counterOf(
      "hostfence_policy_would_drop_packets_total",
      "PolicyAuditMode: packets a deny rule of this policy or profile (class profile) " +
        "would have dropped; they were accepted.",
      pol.map((p) => [_policyLabels(p), p.packets]),
    ),
    _counterOf(
      "hostfence_endpoint_would_drop_packets_total",
      "PolicyAuditMode: packets a policed interface would have dropped because no " +
        "policy or profile allowed them (reason); they were accepted.",
      ep.map((d) => [{ ..._endpointLabels(d), reason: d.reason }, d.packets]),
    ),
  ];
}

/** A counter family with one sample per (labels, value) pair, in the order given. */
function _counterOf(
  name: string,
  help: string,
  samples: readonly (readonly [Labels, number])[],
): MetricFamily {
  return {
    name,
    help,
    type: "counter",
    samples: samples.map(([labels, value]) => ({ labels, value })),
  };
}

/** The labels of a policy's (or profile's) counters. */
function _policyLabels(p: PolicyCounter): Labels {
  return { policy: p.policy, direction: p.direction, class: p.class };
}

/** The labels of an endpoint's drop counters. */
function _endpointLabels(d: EndpointDropCounter): Labels {
  return { interface: d.iface, host_endpoint: d.hostEndpoint, direction: d.direction };
}

function _processFamilies(p: ProcessStats): MetricFamily[] {
  const out: MetricFamily[] = [];
  const add = (name: string, help: string, type: "gauge" | "counter", v: number | undefined) => {
    if (v !== undefined) out.push({ name, help, type, samples: [{ value: v }] });
  };
  add(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    "counter",
    p.cpuSecondsTotal,
  );
  add("process_open_fds", "Number of open file descriptors.", "gauge", p.openFds);
  add(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
    "gauge",
    p.residentMemoryBytes,
  );
  add(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    "gauge",
    p.startTimeSeconds,
  );
  add("hostfence_heap_used_bytes", "JavaScript heap in use, in bytes.", "gauge", p.heapUsedBytes);
  return out;
}

/** Linux clock ticks per second for /proc times (USER_HZ, 100 on every mainstream arch). */
const USER_HZ = 100;

/** This process's figures, from Deno and /proc; fields that cannot be read are left out. */
export function processStats(): ProcessStats {
  const out: { -readonly [K in keyof ProcessStats]: ProcessStats[K] } = {
    startTimeSeconds: performance.timeOrigin / 1000,
  };
  try {
    const m = Deno.memoryUsage();
    out.residentMemoryBytes = m.rss;
    out.heapUsedBytes = m.heapUsed;
  } catch { /* not available */ }
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    if (Number.isFinite(utime) && Number.isFinite(stime)) {
      out.cpuSecondsTotal = (utime + stime) / USER_HZ;
    }
  } catch {
    const u = process.cpuUsage();
    out.cpuSecondsTotal = (u.user + u.system) / 1e6;
  }
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    out.openFds = n;
  } catch { /* not Linux */ }
  return out;
}

/** Options of the metrics handler. */
export interface MetricsHandlerOptions {
  /** Called when building a scrape fails unexpectedly (the client gets a 500). */
  readonly onError?: (err: unknown) => void;
}

/** The request handler for the metrics server: `GET /metrics`; 404 elsewhere, 405 for POST. */
export function metricsHandler(
  source: MetricsSource,
  opts: MetricsHandlerOptions = {},
): (req: Request) => Promise<Response> {
  const counterErrors = { count: 0 };
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (path !== "/metrics") return textResponse(404, "Not found: use /metrics\n", req);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(405, "Method not allowed\n", req, { allow: "GET, HEAD" });
    }
    let body: string;
    try {
      body = encodeText(await collectMetrics(source, counterErrors));
    } catch (err) {
      opts.onError?.(err);
      return textResponse(500, `Cannot collect metrics: ${errorMessage(err)}\n`, req);
    }
    return new Response(req.method === "HEAD" ? null : body, {
      status: 200,
      headers: { "content-type": CONTENT_TYPE, "cache-control": "no-store" },
    });
  };
}

/** What agentMetricsSource needs. */
export interface AgentMetricsSourceOptions {
  readonly agent: { status(): AgentStatus };
  readonly recorder: ActivityRecorder;
  /** Reads the counters (e.g. nftCounterReader); cached for `counterCacheMs`. */
  readonly counters: () => Promise<CounterReading>;
  /** Default 1000 ms: scrapes closer together than this share one nft listing. */
  readonly counterCacheMs?: number;
}

/** The MetricsSource (and HealthSource) of a running agent. */
export function agentMetricsSource(opts: AgentMetricsSourceOptions): MetricsSource {
  const counters = cachedReader(opts.counters, opts.counterCacheMs ?? 1000);
  return {
    status: () => opts.agent.status(),
    activity: () => opts.recorder.snapshot(),
    counters,
    process: processStats,
  };
}
