/**
 * Status reporting: the agent's heartbeat and endpoint statuses in etcd, and
 * the `hostfence status` command that reads them back.
 */
export {
  endpointStatusPrefix,
  EndpointStatusReporter,
  type EndpointStatusStats,
  type EndpointStatusStore,
  etcdEndpointStatusStore,
  RESYNC_DELAY_MULTIPLE,
} from "./endpoint_status.ts";
export {
  DEFAULT_FIRST_REPORT_DELAY_MS,
  EtcdHeartbeatStore,
  HeartbeatReporter,
  type HeartbeatStore,
  type HeartbeatTiming,
} from "./heartbeat.ts";
export {
  encodeEndpointStatus,
  encodeStatusReport,
  type EndpointStatus,
  formatReportTime,
  parseEndpointStatus,
  parseStatusReport,
  type StatusReport,
  statusReport,
} from "./report.ts";
export {
  type EndpointStatusSource,
  type ReportingConfig,
  StatusReporting,
  type StatusReportingOptions,
} from "./reporting.ts";
export {
  buildStatusView,
  formatDuration,
  formatStatusJson,
  formatStatusTable,
  type HeartbeatState,
  type NodeStatusView,
} from "./status_view.ts";
