/**
 * The field table of a policy (calicoctl v1 `policy`, libcalico-go's backend `model.Policy`).
 * Rows are in the backend JSON's key order, which within `metadata` and within `spec` is also
 * the v1 API struct's order. See table.ts for what a row says.
 */
import type { FieldTable } from "./table.ts";

export const POLICY_FIELDS: FieldTable = [
  { key: "name", codec: "string", meta: true, required: true },
  { key: "order", codec: "float", backend: "order" },
  { key: "ingress", codec: "rules", backend: "inbound_rules" },
  { key: "egress", codec: "rules", backend: "outbound_rules" },
  { key: "selector", codec: "string", backend: "selector", required: true, always: true },
  { key: "doNotTrack", codec: "flag", backend: "untracked" },
  { key: "preDNAT", codec: "flag", backend: "pre_dnat" },
  // Calico 3's applyOnForward: stored only when written (v3 input), absent from v1.
  { key: "applyOnForward", codec: "bool", v1: false, backend: "apply_on_forward" },
  { key: "annotations", codec: "labels", meta: true, backend: "annotations" },
  { key: "types", codec: "policyTypes", backend: "types" },
];
