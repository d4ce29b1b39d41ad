/**
 * The field table of a network set (hostfence's v1 `networkSet`, libcalico-go's backend
 * `model.NetworkSet`), rows in the backend JSON's key order. See table.ts.
 */
import type { FieldTable } from "./table.ts";

export const NETWORK_SET_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "nets", codec: "cidrs", backend: "nets", required: true, goType: "[]net.IPNet" },
  { key: "labels", codec: "labels", meta: true, backend: "labels" },
];
