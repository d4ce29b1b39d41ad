/**
 * The field table of a policy (calicoctl v1 `policy`, libcalico-go's backend `model.Policy`).
 * Rows are in the backend JSON's key order, which within `metadata` and within `spec` is also
 * the v1 API struct's order. See table.ts for what a row says.
 */
import type { FieldTable } from "./table.ts";
import type { V3Layout } from "./v3.ts";

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

/**
 * Calico 3's GlobalNetworkPolicy (see v3.ts), in its struct's order. Its `tier` has no row:
 * hostfence has one tier (v3/decode.ts).
 */
export const POLICY_V3: V3Layout = {
  metadata: ["name", "annotations"],
  spec: [
    "order",
    "ingress",
    "egress",
    "selector",
    "types",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
  ],
};
