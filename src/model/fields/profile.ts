/**
 * The field table of a profile (calicoctl v1 `profile`). The backend stores a profile under
 * three keys (rules, tags, labels), which backend_encode.ts writes. See table.ts.
 */
import type { FieldTable } from "./table.ts";
import type { V3Layout } from "./v3.ts";

export const PROFILE_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "tags", codec: "strings", meta: true },
  { key: "labels", codec: "labels", meta: true },
  { key: "ingress", codec: "rules", backend: "inbound_rules" },
  { key: "egress", codec: "rules", backend: "outbound_rules" },
];

/** Calico 3's Profile (see v3.ts): the labels it applies are in `spec`; it has no tags. */
export const PROFILE_V3: V3Layout = {
  metadata: ["name"],
  spec: ["ingress", "egress", ["labelsToApply", "labels"]],
};
