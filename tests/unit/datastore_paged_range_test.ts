/** The pure parts of paged reading: range ends, and reading gRPC's "too large" refusal. */
import assert from "node:assert/strict";
import {
  describeBytes,
  isMessageTooLarge,
  prefixEnd,
  tooLargeSizes,
} from "../../src/datastore/paged_range.ts";

Deno.test("prefixEnd is the prefix with its last byte below 0xff incremented", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(text(prefixEnd("/calico/v1/")), "/calico/v10");
  assert.equal(text(prefixEnd("a")), "b");
  assert.deepEqual([...prefixEnd("")], [0]);
});

Deno.test("gRPC's 'message larger than max' is recognised and its sizes read", () => {
  const e = new Error(
    "8 RESOURCE_EXHAUSTED: Received message larger than max (5242972 vs 4194304)",
  );
  assert.ok(isMessageTooLarge(e));
  assert.deepEqual(tooLargeSizes(e), { bytes: 5242972, limit: 4194304 });
  assert.equal(describeBytes(5242972), "5.0 MiB (5242972 bytes)");
  assert.equal(describeBytes(undefined), "an unknown size");
  // RESOURCE_EXHAUSTED also means a server refusing keepalive pings: not "too large".
  assert.ok(!isMessageTooLarge(new Error("8 RESOURCE_EXHAUSTED: Bandwidth exhausted")));
  assert.deepEqual(tooLargeSizes(new Error("14 UNAVAILABLE")), {});
});
