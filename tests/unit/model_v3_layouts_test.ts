/**
 * The v3 layouts of the field tables (fields/v3.ts, v3/layouts.ts): every row of a kind has
 * its v3 field but those v3 lacks, the fields v3 keeps elsewhere or names otherwise are the
 * ones the README's mapping table names, and a layout naming a row the table lacks fails at
 * once instead of dropping the field.
 */
import assert from "node:assert/strict";
import { RESOURCE_KINDS } from "../../src/model/resources.ts";
import { v3Slots } from "../../src/model/fields/v3.ts";
import { POLICY_FIELDS } from "../../src/model/fields/policy.ts";
import {
  V3_MODEL_KINDS,
  v3MovedPaths,
  v3ResourceKindOf,
  v3SlotsOf,
} from "../../src/model/v3/layouts.ts";
import { v3FieldPath } from "../../src/model/v3/paths.ts";

Deno.test("each v3 kind maps to one model kind and back", () => {
  for (const [v3, model] of Object.entries(V3_MODEL_KINDS)) {
    assert.equal(v3ResourceKindOf(model), v3);
  }
  assert.equal(v3ResourceKindOf("workloadEndpoint"), undefined);
});

Deno.test("every row has a v3 field but a profile's tags", () => {
  for (const kind of RESOURCE_KINDS) {
    if (kind === "workloadEndpoint") continue;
    const missing = v3SlotsOf(kind).missing.map((f) => f.key);
    assert.deepEqual(missing, kind === "profile" ? ["tags"] : [], kind);
  }
});

Deno.test("v3 keeps a host endpoint's node and a profile's labels elsewhere", () => {
  const moved = Object.fromEntries(RESOURCE_KINDS.map((k) => [k, v3MovedPaths(k)]));
  assert.deepEqual(moved, {
    node: [],
    hostEndpoint: [["metadata.node", "spec.node"]],
    policy: [],
    profile: [["metadata.labels", "spec.labelsToApply"]],
    workloadEndpoint: [],
    networkSet: [],
  });
  assert.equal(v3FieldPath("HostEndpoint", "metadata.node"), "spec.node");
  assert.equal(v3FieldPath("Profile", "metadata.labels.a"), "spec.labelsToApply.a");
  assert.equal(v3FieldPath("Profile", "metadata.labelsX"), "metadata.labelsX");
  assert.equal(v3FieldPath("GlobalNetworkPolicy", "spec.selector"), "spec.selector");
  assert.equal(v3FieldPath("FelixConfiguration", "metadata.name"), "metadata.name");
});

Deno.test("a layout naming a row the table lacks fails", () => {
  assert.throws(
    () => v3Slots(POLICY_FIELDS, { metadata: ["name"], spec: ["order", "tier"] }),
    /v3 layout names tier, which the table does not have/,
  );
});
