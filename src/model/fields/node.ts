/**
 * The field table of a node (calicoctl v1 `node`), and NODE_KEYS: the several etcd keys the
 * backend keeps a node in, and which field each holds. See table.ts.
 */
import { type FieldTable, inBackendOrder } from "./table.ts";

/** v1.NodeBGPSpec. */
export const NODE_BGP_FIELDS: FieldTable = [
  { key: "asNumber", codec: "asNumber" },
  { key: "ipv4Address", codec: "cidr" },
  { key: "ipv6Address", codec: "cidr" },
];

/** v1.OrchRef. */
export const ORCH_REF_FIELDS: FieldTable = [
  { key: "nodeName", codec: "string", backend: "nodeName" },
  { key: "orchestrator", codec: "string", required: true, always: true, backend: "orchestrator" },
];

export const NODE_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "bgp", codec: "struct", fields: NODE_BGP_FIELDS, goType: "NodeBGPSpec" },
  { key: "orchRefs", codec: "structs", fields: ORCH_REF_FIELDS, goType: "OrchRef" },
];

/** One etcd key of a node: a constant, or (part of) one field's value. */
export interface NodeKey {
  /** `host/<k>` is `/calico/v1/host/<node>/<k>`, `bgp/<k>` is `/calico/bgp/v1/host/<node>/<k>`. */
  readonly key: string;
  readonly constant?: string;
  /** The field (a path into the spec, `bgp.ipv4Address`). */
  readonly field?: string;
  /**
   * What of it the key holds: a CIDR's `address` (`198.18.0.1`) or `network`
   * (`198.18.0.0/24`, which gives the prefix back on read), the value as `text`, or a list
   * as `json`.
   */
  readonly as?: "address" | "network" | "text" | "json";
  /** Written empty when the field is unset (otherwise the key is deleted). */
  readonly always?: true;
  /** `false`: written for others only (BIRD's `bird_ip`), not read back. */
  readonly read?: false;
  /** For `json`: the items' rows in their stored key order. */
  readonly fields?: FieldTable;
}

/**
 * Where calicoctl v1 kept a node: every key a write puts, or deletes when the field is unset.
 * Within each directory the keys are written in this order and the fields read in the order
 * of their first key (ipv4Address, ipv6Address, asNumber, orchRefs).
 */
export const NODE_KEYS: readonly NodeKey[] = [
  { key: "host/metadata", constant: "{}" },
  { key: "host/bird_ip", field: "bgp.ipv4Address", as: "address", read: false },
  { key: "bgp/ip_addr_v4", field: "bgp.ipv4Address", as: "address", always: true },
  { key: "bgp/ip_addr_v6", field: "bgp.ipv6Address", as: "address", always: true },
  { key: "bgp/network_v4", field: "bgp.ipv4Address", as: "network" },
  { key: "bgp/network_v6", field: "bgp.ipv6Address", as: "network" },
  { key: "bgp/as_num", field: "bgp.asNumber", as: "text" },
  {
    key: "host/orchestrator_refs",
    field: "orchRefs",
    as: "json",
    // libcalico-go's model.OrchRef declares orchestrator first.
    fields: inBackendOrder(ORCH_REF_FIELDS, ["orchestrator", "nodeName"]),
  },
];
