/**
 * The field table of a workload endpoint (calicoctl v1 `workloadEndpoint`, libcalico-go's
 * backend `model.WorkloadEndpoint`). Rows are in the v1 API's order; the backend JSON has an
 * order of its own, WORKLOAD_ENDPOINT_BACKEND_FIELDS below. See table.ts.
 */
import { type FieldTable, inBackendOrder } from "./table.ts";

/** One NAT mapping (v1.IPNAT). */
export const IPNAT_FIELDS: FieldTable = [
  { key: "internalIP", codec: "ip", required: true, always: true, backend: "int_ip" },
  { key: "externalIP", codec: "ip", required: true, always: true, backend: "ext_ip" },
];

export const WORKLOAD_ENDPOINT_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "workload", codec: "string", meta: true, required: true },
  { key: "orchestrator", codec: "string", meta: true, required: true },
  { key: "node", codec: "string", meta: true, required: true },
  {
    key: "activeInstanceID",
    codec: "string",
    meta: true,
    backend: "active_instance_id",
    backendAlways: true,
  },
  { key: "labels", codec: "labels", meta: true, backend: "labels" },
  {
    key: "ipNetworks",
    codec: "cidrs",
    goType: "[]net.IPNet",
    backendByFamily: ["ipv4_nets", "ipv6_nets"],
    backendAlways: true,
  },
  {
    key: "ipNATs",
    codec: "structs",
    fields: IPNAT_FIELDS,
    goType: "IPNAT",
    backendByFamily: ["ipv4_nat", "ipv6_nat"],
  },
  { key: "ipv4Gateway", codec: "ip", backend: "ipv4_gateway" },
  { key: "ipv6Gateway", codec: "ip", backend: "ipv6_gateway" },
  { key: "profiles", codec: "strings", backend: "profile_ids", backendAlways: true },
  { key: "interfaceName", codec: "string", backend: "name", required: true },
  { key: "mac", codec: "mac", backend: "mac", backendAlways: true },
];

/**
 * The backend JSON's key order (libcalico-go's `model.WorkloadEndpoint` declaration), led by
 * `state`, which calicoctl always stored as "active". Which keys are written when empty is
 * the rows' `backendAlways` (and `required`): state, name, active_instance_id, mac,
 * profile_ids and both net lists.
 */
export const WORKLOAD_ENDPOINT_BACKEND_FIELDS: FieldTable = inBackendOrder(
  WORKLOAD_ENDPOINT_FIELDS,
  [
    { key: "state", codec: "string", backend: "state", constant: "active" },
    "interfaceName",
    "activeInstanceID",
    "mac",
    "profiles",
    "ipNetworks",
    "ipNATs",
    "labels",
    "ipv4Gateway",
    "ipv6Gateway",
  ],
);
