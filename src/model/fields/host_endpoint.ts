/**
 * The field table of a host endpoint (calicoctl v1 `hostEndpoint`, libcalico-go's backend
 * `model.HostEndpoint`). Rows are in the backend JSON's key order, which within `metadata`
 * and within `spec` is also the v1 API struct's order. See table.ts.
 */
import type { FieldTable } from "./table.ts";
import type { V3Layout } from "./v3.ts";

/** A named port (libcalico-go's `model.EndpointPort`; the same keys in every form). */
export const ENDPOINT_PORT_FIELDS: FieldTable = [
  { key: "name", codec: "string", always: true },
  { key: "protocol", codec: "protocol", always: true },
  { key: "port", codec: "int", always: true, goType: "uint16" },
];

export const HOST_ENDPOINT_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "node", codec: "string", meta: true, required: true },
  { key: "interfaceName", codec: "string", backend: "name" },
  {
    key: "expectedIPs",
    codec: "ips",
    backendByFamily: ["expected_ipv4_addrs", "expected_ipv6_addrs"],
  },
  { key: "labels", codec: "labels", meta: true, backend: "labels" },
  { key: "profiles", codec: "strings", backend: "profile_ids" },
  // Calico 3's named ports: printed as stored, but v1 input refuses them as calicoctl v1 did.
  {
    key: "ports",
    codec: "structs",
    v1: "print",
    backend: "ports",
    fields: ENDPOINT_PORT_FIELDS,
    goType: "EndpointPort",
  },
];

/** Calico 3's HostEndpoint: its `node` is in `spec`; the rest as in v1 (see v3.ts). */
export const HOST_ENDPOINT_V3: V3Layout = {
  metadata: ["name", "labels"],
  spec: ["node", "interfaceName", "expectedIPs", "profiles", "ports"],
};
