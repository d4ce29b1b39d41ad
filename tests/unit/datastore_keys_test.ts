/** The v1 key layout, name escaping, key parsing and calicoctl key renderings. */
import assert from "node:assert/strict";
import {
  bgpKey,
  birdIpKey,
  escapeName,
  globalConfigKey,
  hostConfigKey,
  hostEndpointKey,
  missingIdentifier,
  nodeMetadataKey,
  orchRefsKey,
  parseKey,
  policyKey,
  profileKey,
  renderResourceKey,
  unescapeName,
  workloadEndpointKey,
} from "../../src/datastore/keys.ts";

Deno.test("keys follow the libcalico-go v1 layout", () => {
  assert.equal(globalConfigKey("LogSeverityScreen"), "/calico/v1/config/LogSeverityScreen");
  assert.equal(
    hostConfigKey("h1", "LogSeverityScreen"),
    "/calico/v1/host/h1/config/LogSeverityScreen",
  );
  assert.equal(nodeMetadataKey("h1"), "/calico/v1/host/h1/metadata");
  assert.equal(birdIpKey("h1"), "/calico/v1/host/h1/bird_ip");
  assert.equal(orchRefsKey("h1"), "/calico/v1/host/h1/orchestrator_refs");
  assert.equal(bgpKey("h1", "ip_addr_v4"), "/calico/bgp/v1/host/h1/ip_addr_v4");
  assert.equal(hostEndpointKey("h1", "eth0"), "/calico/v1/host/h1/endpoint/eth0");
  assert.equal(
    workloadEndpointKey("h1", "k8s", "ns/pod", "eth0"),
    "/calico/v1/host/h1/workload/k8s/ns%2fpod/endpoint/eth0",
  );
  assert.equal(policyKey("p"), "/calico/v1/policy/tier/default/policy/p");
  assert.equal(profileKey("prof", "rules"), "/calico/v1/policy/profile/prof/rules");
  assert.equal(profileKey("prof", "tags"), "/calico/v1/policy/profile/prof/tags");
  assert.equal(profileKey("prof", "labels"), "/calico/v1/policy/profile/prof/labels");
});

Deno.test("names escape % before / and unescape back", async (t) => {
  await t.step("escaping", () => {
    assert.equal(escapeName("a/b"), "a%2fb");
    assert.equal(escapeName("50%"), "50%25");
    assert.equal(escapeName("a%2fb"), "a%252fb");
    assert.equal(escapeName("ns/x%y/z"), "ns%2fx%25y%2fz");
  });
  await t.step("round trip", () => {
    for (const n of ["a/b", "50%", "a%2fb", "%%//", "plain.name-1_x"]) {
      assert.equal(unescapeName(escapeName(n)), n);
    }
  });
  await t.step("escaped names in keys", () => {
    assert.equal(policyKey("ns/p"), "/calico/v1/policy/tier/default/policy/ns%2fp");
    assert.equal(hostEndpointKey("h1", "a/b%"), "/calico/v1/host/h1/endpoint/a%2fb%25");
    assert.equal(profileKey("ns/p", "tags"), "/calico/v1/policy/profile/ns%2fp/tags");
  });
  await t.step("node and config names are not escaped", () => {
    assert.equal(hostConfigKey("h%1", "A/B"), "/calico/v1/host/h%1/config/A/B");
  });
});

Deno.test("parseKey tells what each key names", () => {
  assert.deepEqual(parseKey("/calico/v1/Ready"), { type: "ready" });
  assert.deepEqual(parseKey("/calico/v1/config/LogSeverityScreen"), {
    type: "config",
    name: "LogSeverityScreen",
  });
  assert.deepEqual(parseKey("/calico/v1/host/h1/config/InterfacePrefix"), {
    type: "config",
    node: "h1",
    name: "InterfacePrefix",
  });
  assert.deepEqual(parseKey("/calico/v1/host/h1/endpoint/a%2fb%25"), {
    type: "hostEndpoint",
    node: "h1",
    name: "a/b%",
  });
  assert.deepEqual(parseKey("/calico/v1/host/h1/workload/k8s/ns%2fpod/endpoint/eth0"), {
    type: "workloadEndpoint",
    node: "h1",
    orchestrator: "k8s",
    workload: "ns/pod",
    name: "eth0",
  });
  assert.deepEqual(parseKey("/calico/v1/policy/tier/default/policy/ns%2fp"), {
    type: "policy",
    name: "ns/p",
  });
  assert.deepEqual(parseKey("/calico/v1/policy/profile/p/rules"), {
    type: "profileRules",
    name: "p",
  });
  assert.deepEqual(parseKey("/calico/v1/policy/profile/p/tags"), {
    type: "profileTags",
    name: "p",
  });
  assert.deepEqual(parseKey("/calico/v1/policy/profile/p/labels"), {
    type: "profileLabels",
    name: "p",
  });
  assert.deepEqual(parseKey("/calico/v1/host/h1/metadata"), { type: "nodeMetadata", node: "h1" });
  assert.deepEqual(parseKey("/calico/v1/host/h1/bird_ip"), { type: "nodeBirdIp", node: "h1" });
  assert.equal(parseKey("/calico/v1/policy/tier/other/policy/p"), null);
  assert.equal(parseKey("/calico/v1/host/h1/endpoint/a/b"), null);
  assert.equal(parseKey("/calico/v1/ipam/v4/pool/10.0.0.0-8"), null);
  assert.equal(parseKey("/calico/felix/v1/host/h1/status"), null);
});

Deno.test("resource keys render as calicoctl prints them", () => {
  assert.equal(renderResourceKey({ kind: "policy", name: "p" }), "Policy(name=p)");
  assert.equal(
    renderResourceKey({ kind: "hostEndpoint", node: "h", name: "n" }),
    "HostEndpoint(node=h, name=n)",
  );
  assert.equal(renderResourceKey({ kind: "profile", name: "pr" }), "ProfileTags(name=pr)");
  assert.equal(renderResourceKey({ kind: "node", name: "h1" }), "Node(name=h1)");
  assert.equal(
    renderResourceKey({
      kind: "workloadEndpoint",
      node: "h",
      orchestrator: "k8s",
      workload: "w",
      name: "e",
    }),
    "WorkloadEndpoint(node=h, orchestrator=k8s, workload=w, name=e)",
  );
});

Deno.test("missing identifiers are found in calicoctl's order", () => {
  assert.equal(missingIdentifier({ kind: "hostEndpoint", name: "n" }), "node");
  assert.equal(missingIdentifier({ kind: "hostEndpoint", node: "h", name: "" }), "name");
  assert.equal(missingIdentifier({ kind: "hostEndpoint", node: "h", name: "n" }), undefined);
  assert.equal(missingIdentifier({ kind: "policy", name: "" }), "name");
  assert.equal(missingIdentifier({ kind: "profile", name: "" }), "name");
  assert.equal(missingIdentifier({ kind: "node", name: "" }), "name");
  assert.equal(missingIdentifier({ kind: "workloadEndpoint", name: "e" }), "node");
  assert.equal(
    missingIdentifier({ kind: "workloadEndpoint", node: "h", name: "e" }),
    "orchestrator",
  );
  assert.equal(
    missingIdentifier({ kind: "workloadEndpoint", node: "h", orchestrator: "o", name: "e" }),
    "workload",
  );
  assert.equal(
    missingIdentifier({
      kind: "workloadEndpoint",
      node: "h",
      orchestrator: "o",
      workload: "w",
      name: "",
    }),
    "name",
  );
});
