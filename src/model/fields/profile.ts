/**
 * The field table of a profile (calicoctl v1 `profile`). The backend stores a profile under
 * three keys (rules, tags, labels), which backend_encode.ts writes. See table.ts.
 */
import type { FieldTable } from "./table.ts";

export const PROFILE_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "tags", codec: "strings", meta: true },
  { key: "labels", codec: "labels", meta: true },
  { key: "ingress", codec: "rules", backend: "inbound_rules" },
  { key: "egress", codec: "rules", backend: "outbound_rules" },
];
