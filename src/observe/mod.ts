/**
 * Observability of the agent: health endpoints (`/liveness`, `/readiness`) and Prometheus
 * metrics (`/metrics`). Pure request handlers over a MetricsSource, an ActivityRecorder that
 * watches the agent's loop from outside, counter attribution from the nft table, and the
 * servers as a thin edge.
 */
export {
  ActivityRecorder,
  type ActivityRecorderOptions,
  type ActivitySnapshot,
} from "./activity.ts";
export {
  attributeCounters,
  cachedReader,
  type CounterReading,
  type EndpointDropCounter,
  nftCounterReader,
  NO_COUNTERS,
  type PolicyClass,
  type PolicyCounter,
} from "./counter_metrics.ts";
export {
  type Bucket,
  CONTENT_TYPE,
  encodeText,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  type HistogramSample,
  type Labels,
  type MetricFamily,
  type Sample,
} from "./exposition.ts";
export {
  type Check,
  checkLiveness,
  checkReadiness,
  DEFAULT_STUCK_AFTER_MS,
  healthHandler,
  type HealthOptions,
  type HealthSource,
} from "./health.ts";
export { APPLY_TIME_BUCKETS, Histogram } from "./histogram.ts";
export {
  agentMetricsSource,
  type AgentMetricsSourceOptions,
  collectMetrics,
  metricsHandler,
  type MetricsHandlerOptions,
  type MetricsSource,
  type ProcessStats,
  processStats,
  resyncState,
} from "./metrics.ts";
export {
  type HttpServer,
  type HttpServerOptions,
  ObserveServers,
  type ObserveServersOptions,
  type ObserveSettings,
  startHttpServer,
} from "./server.ts";
