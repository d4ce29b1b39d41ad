/**
 * The field table of a node (calicoctl v1 `node`; the backend keeps it in several keys,
 * written by backend_encode.ts). See table.ts.
 */
import type { FieldTable } from "./table.ts";

/** v1.NodeBGPSpec. */
export const NODE_BGP_FIELDS: FieldTable = [
  { key: "asNumber", codec: "asNumber" },
  { key: "ipv4Address", codec: "cidr" },
  { key: "ipv6Address", codec: "cidr" },
];

/** v1.OrchRef. */
export const ORCH_REF_FIELDS: FieldTable = [
  { key: "nodeName", codec: "string" },
  { key: "orchestrator", codec: "string", required: true, always: true },
];

export const NODE_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "bgp", codec: "struct", fields: NODE_BGP_FIELDS, goType: "NodeBGPSpec" },
  { key: "orchRefs", codec: "structs", fields: ORCH_REF_FIELDS, goType: "OrchRef" },
];
