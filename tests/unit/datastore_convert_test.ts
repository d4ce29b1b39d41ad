/** One etcd key/value → the agent's ModelUpdate, with Felix's validation filter (bad = missing). */
import assert from "node:assert/strict";
import { convertKeyValue, isAgentKey } from "../../src/datastore/convert.ts";

const HEP = "/calico/v1/host/h1/endpoint/eth0";

Deno.test("keys the agent uses convert; others are ignored", () => {
  assert.ok(isAgentKey("/calico/v1/Ready"));
  assert.ok(isAgentKey(HEP));
  assert.ok(!isAgentKey("/calico/v1/host/h1/metadata"));
  assert.ok(!isAgentKey("/calico/v1/ipam/v4/pool/x"));
  assert.equal(convertKeyValue("/calico/v1/host/h1/bird_ip", "198.18.0.1"), undefined);
  assert.deepEqual(convertKeyValue("/calico/v1/Ready", "true"), {
    update: { type: "ready", value: true },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/Ready", "yes"), {
    update: { type: "ready", value: false },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/Ready", null), {
    update: { type: "ready", value: false },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/config/LogSeverityScreen", "DEBUG"), {
    update: { type: "config", name: "LogSeverityScreen", value: "DEBUG" },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/host/h1/config/X", null), {
    update: { type: "config", node: "h1", name: "X", value: null },
  });
});

Deno.test("valid objects convert to resources", () => {
  assert.deepEqual(convertKeyValue(HEP, '{"name":"eth0","profile_ids":["p1"]}'), {
    update: {
      type: "hostEndpoint",
      node: "h1",
      name: "eth0",
      value: {
        kind: "hostEndpoint",
        metadata: { name: "eth0", node: "h1" },
        spec: { interfaceName: "eth0", profiles: ["p1"] },
      },
    },
  });
  const pol = convertKeyValue(
    "/calico/v1/policy/tier/default/policy/ns%2fp",
    '{"selector":"","inbound_rules":[{"action":"next-tier"}]}',
  );
  assert.equal(pol?.warning, undefined);
  assert.deepEqual(pol?.update, {
    type: "policy",
    name: "ns/p",
    value: {
      kind: "policy",
      metadata: { name: "ns/p" },
      spec: { selector: "", ingress: [{ action: "pass" }], types: ["ingress", "egress"] },
    },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/policy/profile/p/tags", '["a","b"]'), {
    update: { type: "profileTags", name: "p", value: ["a", "b"] },
  });
  assert.deepEqual(convertKeyValue("/calico/v1/policy/profile/p/labels", '{"k":"v"}'), {
    update: { type: "profileLabels", name: "p", value: { k: "v" } },
  });
  const wep = convertKeyValue(
    "/calico/v1/host/h1/workload/k8s/ns%2fpod/endpoint/eth0",
    '{"state":"active","name":"cali1","ipv4_nets":["198.18.1.1/32"],"profile_ids":[]}',
  );
  assert.equal(wep?.warning, undefined);
  assert.equal(wep?.update.type, "workloadEndpoint");
  assert.equal((wep?.update as { id: string }).id, "h1/k8s/ns/pod/eth0");
});

Deno.test("unparseable values become null with a 'Failed to parse value' warning", () => {
  const c = convertKeyValue(HEP, "{oops");
  assert.deepEqual(c?.update, { type: "hostEndpoint", node: "h1", name: "eth0", value: null });
  assert.match(c!.warning!, /^Failed to parse value for \/calico\/v1\/host\/h1\/endpoint\/eth0: /);
  assert.ok(c!.warning!.endsWith("; '{oops'"));
  const typed = convertKeyValue(HEP, '{"name":7}');
  assert.match(typed!.warning!, /Failed to parse value for .*field 'name' must be a string/);
  const tags = convertKeyValue("/calico/v1/policy/profile/p/tags", '{"a":1}');
  assert.deepEqual(tags?.update, { type: "profileTags", name: "p", value: null });
  assert.match(tags!.warning!, /^Failed to parse value for \/calico\/v1\/policy\/profile\/p\/tags/);
});

Deno.test("invalid objects become null with a 'Validation failed' warning", async (t) => {
  await t.step("a host endpoint needs a name or expected IPs", () => {
    const c = convertKeyValue(HEP, '{"labels":{"a":"b"}}');
    assert.equal(c?.update.type, "hostEndpoint");
    assert.equal((c?.update as { value: unknown }).value, null);
    assert.equal(
      c?.warning,
      `Validation failed for host endpoint ${HEP}, treating as missing: ` +
        `'name' or 'expected_ipvX_addrs' must be present; '{"labels":{"a":"b"}}'`,
    );
  });
  await t.step("host endpoint profile ids may not contain '/'", () => {
    const c = convertKeyValue(HEP, '{"name":"eth0","profile_ids":["ns/x"]}');
    assert.equal((c?.update as { value: unknown }).value, null);
    assert.match(c!.warning!, /^Validation failed for host endpoint .*ns\/x/);
  });
  await t.step("an unknown rule action", () => {
    const c = convertKeyValue(
      "/calico/v1/policy/tier/default/policy/p",
      '{"selector":"","inbound_rules":[{"action":"jump"}]}',
    );
    assert.deepEqual(c?.update, { type: "policy", name: "p", value: null });
    assert.match(c!.warning!, /^Validation failed for policy .*, treating as missing: .*jump/);
  });
  await t.step("a selector that does not parse (via the model validator)", () => {
    const c = convertKeyValue("/calico/v1/policy/tier/default/policy/p", '{"selector":"has("}');
    assert.deepEqual(c?.update, { type: "policy", name: "p", value: null });
    assert.match(c!.warning!, /^Validation failed for policy /);
  });
  await t.step("a bad label value (via the model validator)", () => {
    const c = convertKeyValue(HEP, '{"name":"eth0","labels":{"a":"-bad-"}}');
    assert.equal((c?.update as { value: unknown }).value, null);
    assert.match(c!.warning!, /^Validation failed for host endpoint /);
  });
  await t.step("a workload endpoint without an interface name", () => {
    const c = convertKeyValue("/calico/v1/host/h1/workload/o/w/endpoint/e", '{"state":"active"}');
    assert.deepEqual(c?.update, { type: "workloadEndpoint", id: "h1/o/w/e", value: null });
    assert.match(c!.warning!, /^Validation failed for workload endpoint /);
  });
  await t.step("profile tags must match the name rule", () => {
    const c = convertKeyValue("/calico/v1/policy/profile/p/tags", '["ok","not ok"]');
    assert.deepEqual(c?.update, { type: "profileTags", name: "p", value: null });
    assert.match(c!.warning!, /^Validation failed for profile tags /);
  });
});
