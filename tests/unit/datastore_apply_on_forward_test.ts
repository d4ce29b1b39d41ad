/**
 * applyOnForward in the policy's etcd JSON: stored as `apply_on_forward` only when a v3 policy
 * set it (true or false), so v1-written policies keep their exact JSON, and read back as set.
 */
import assert from "node:assert/strict";
import { encodePolicy } from "../../src/datastore/backend_encode.ts";
import { decodePolicy } from "../../src/datastore/backend_decode.ts";
import type { PolicyResource } from "../../src/model/resources.ts";

const base: PolicyResource = {
  kind: "policy",
  metadata: { name: "p" },
  spec: { selector: "all()", ingress: [{ action: "allow" }] },
};

Deno.test("apply_on_forward is stored only when set, and read back", () => {
  assert.equal(
    encodePolicy(base),
    '{"inbound_rules":[{"action":"allow"}],"selector":"all()","types":["ingress"]}',
  );
  for (const value of [true, false]) {
    const p: PolicyResource = { ...base, spec: { ...base.spec, applyOnForward: value } };
    const text = encodePolicy(p);
    assert.equal(JSON.parse(text).apply_on_forward, value);
    assert.equal(decodePolicy("p", text).spec.applyOnForward, value);
  }
  assert.equal(decodePolicy("p", encodePolicy(base)).spec.applyOnForward, undefined);
});
