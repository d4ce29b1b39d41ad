/** The field table of a network set (hostfence's v1 `networkSet`). See table.ts. */
import type { FieldTable } from "./table.ts";

export const NETWORK_SET_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "labels", codec: "labels", meta: true, backend: "labels" },
  { key: "nets", codec: "cidrs", backend: "nets", required: true, goType: "[]net.IPNet" },
];
