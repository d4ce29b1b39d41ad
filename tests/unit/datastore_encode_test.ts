/** Resources ↔ the libcalico-go v1 backend JSON, field by field. */
import assert from "node:assert/strict";
import type {
  HostEndpointResource,
  NodeResource,
  ProfileResource,
  Rule,
  WorkloadEndpointResource,
} from "../../src/model/resources.ts";
import {
  defaultPolicyTypes,
  encodeHostEndpoint,
  encodeNode,
  encodePolicy,
  encodeProfile,
  encodeRule,
  encodeWorkloadEndpoint,
} from "../../src/datastore/backend_encode.ts";
import {
  BackendParseError,
  decodeHostEndpoint,
  decodeNode,
  decodePolicy,
  decodePort,
  decodeProfile,
  decodeRule,
  decodeWorkloadEndpoint,
  parseAsNumber,
} from "../../src/datastore/backend_decode.ts";
import { policyResource } from "../fixtures/resources.ts";

const fullRule: Rule = {
  action: "pass",
  ipVersion: 4,
  protocol: "tcp",
  notProtocol: 17,
  icmp: { type: 8, code: 0 },
  notICMP: { type: 3, code: 1 },
  source: {
    tag: "st",
    notTag: "nst",
    net: "10.1.2.3/16",
    notNet: "10.9.9.9/8",
    nets: ["192.168.1.5/24", "10.0.0.1"],
    notNets: ["172.16.5.5/12"],
    selector: "a == 'b'",
    notSelector: "has(c)",
    ports: [22, { min: 8000, max: 8080 }],
    notPorts: [{ min: 9, max: 9 }],
  },
  destination: {
    tag: "dt",
    notTag: "ndt",
    net: "10.1.2.3/16",
    notNet: "10.9.9.9/8",
    nets: ["192.168.1.5/24"],
    notNets: ["172.16.5.5/12"],
    selector: "x == 'y'",
    notSelector: "has(z)",
    ports: [443],
    notPorts: [{ min: 1, max: 2 }],
  },
};

Deno.test("a rule encodes every field under its backend key", () => {
  assert.deepEqual(encodeRule(fullRule), {
    action: "next-tier",
    ip_version: 4,
    protocol: "tcp",
    "!protocol": 17,
    icmp_type: 8,
    icmp_code: 0,
    "!icmp_type": 3,
    "!icmp_code": 1,
    src_tag: "st",
    src_net: "10.1.2.3/16",
    src_nets: ["192.168.1.5/24", "10.0.0.1/32"],
    src_selector: "a == 'b'",
    src_ports: [22, "8000:8080"],
    dst_tag: "dt",
    dst_net: "10.1.0.0/16",
    dst_nets: ["192.168.1.0/24"],
    dst_selector: "x == 'y'",
    dst_ports: [443],
    "!src_tag": "nst",
    "!src_net": "10.9.9.9/8",
    "!src_nets": ["172.16.5.5/12"],
    "!src_selector": "has(c)",
    "!src_ports": [9],
    "!dst_tag": "ndt",
    "!dst_net": "10.0.0.0/8",
    "!dst_nets": ["172.16.0.0/12"],
    "!dst_selector": "has(z)",
    "!dst_ports": ["1:2"],
  });
});

Deno.test("rule actions: pass is stored as next-tier and read back as pass (C10)", () => {
  assert.equal(encodeRule({ action: "pass" }).action, "next-tier");
  assert.equal(encodeRule({ action: "allow" }).action, "allow");
  assert.equal(encodeRule({ action: "deny" }).action, "deny");
  assert.equal(encodeRule({ action: "log" }).action, "log");
  assert.equal(decodeRule({ action: "next-tier" }).action, "pass");
  assert.equal(decodeRule({ action: "" }).action, "allow");
  assert.equal(decodeRule({}).action, "allow");
  assert.equal(decodeRule({ action: "deny" }).action, "deny");
});

Deno.test("a stored rule decodes with singular nets merged into nets", () => {
  const r = decodeRule(encodeRule(fullRule));
  assert.deepEqual(r, {
    action: "pass",
    ipVersion: 4,
    protocol: "tcp",
    notProtocol: 17,
    icmp: { type: 8, code: 0 },
    notICMP: { type: 3, code: 1 },
    source: {
      tag: "st",
      nets: ["192.168.1.5/24", "10.0.0.1/32", "10.1.2.3/16"],
      selector: "a == 'b'",
      ports: [22, { min: 8000, max: 8080 }],
      notTag: "nst",
      notNets: ["172.16.5.5/12", "10.9.9.9/8"],
      notSelector: "has(c)",
      notPorts: [9],
    },
    destination: {
      tag: "dt",
      nets: ["192.168.1.0/24", "10.1.0.0/16"],
      selector: "x == 'y'",
      ports: [443],
      notTag: "ndt",
      notNets: ["172.16.0.0/12", "10.0.0.0/8"],
      notSelector: "has(z)",
      notPorts: [{ min: 1, max: 2 }],
    },
  });
});

Deno.test("ports and protocols decode from every stored form", () => {
  assert.equal(decodePort(80, "p"), 80);
  assert.equal(decodePort("80", "p"), 80);
  assert.deepEqual(decodePort("8000:8080", "p"), { min: 8000, max: 8080 });
  assert.equal(decodePort("7:7", "p"), 7);
  assert.throws(() => decodePort("9:8", "p"), BackendParseError);
  // A string without a colon is a named port (libcalico-go's PortFromString); the
  // validator checks the name. A malformed range still fails to parse.
  assert.equal(decodePort("http", "p"), "http");
  assert.throws(() => decodePort("a:b:c", "p"), /invalid port format \(a:b:c\)/);
  assert.throws(() => decodePort("", "p"), /invalid port format/);
  assert.throws(() => decodePort(70000, "p"), BackendParseError);
  assert.equal(decodeRule({ protocol: "6" }).protocol, 6);
  assert.equal(decodeRule({ protocol: 17 }).protocol, 17);
  assert.equal(decodeRule({ protocol: "udp" }).protocol, "udp");
  assert.throws(() => decodeRule({ protocol: true }), /field 'protocol' must be a string/);
  assert.throws(() => decodeRule({ src_nets: "10.0.0.0/8" }), /field 'src_nets' must be a list/);
  assert.throws(() => decodeRule({ dst_nets: ["10.0.0.300/8"] }), /invalid CIDR/);
});

Deno.test("IPv6 CIDRs are canonicalised; destination ones normalised to the network", () => {
  const r = encodeRule({
    action: "allow",
    source: { nets: ["FD00:0:0::5/64"] },
    destination: { nets: ["fd00::5/64", "2001:db8::1"] },
  });
  assert.deepEqual(r.src_nets, ["fd00::5/64"]);
  assert.deepEqual(r.dst_nets, ["fd00::/64", "2001:db8::1/128"]);
});

const hep: HostEndpointResource = {
  kind: "hostEndpoint",
  metadata: { name: "eth0-web1", node: "web1", labels: { role: "webserver" } },
  spec: {
    interfaceName: "eth0",
    expectedIPs: ["10.0.0.1", "fd00::1", "192.168.0.1"],
    profiles: ["prof1", "prof2"],
  },
};

Deno.test("a host endpoint encodes with IPs split by family", () => {
  assert.deepEqual(JSON.parse(encodeHostEndpoint(hep)), {
    name: "eth0",
    expected_ipv4_addrs: ["10.0.0.1", "192.168.0.1"],
    expected_ipv6_addrs: ["fd00::1"],
    labels: { role: "webserver" },
    profile_ids: ["prof1", "prof2"],
  });
});

Deno.test("a host endpoint omits every empty field", () => {
  const bare: HostEndpointResource = {
    kind: "hostEndpoint",
    metadata: { name: "e", node: "h" },
    spec: { interfaceName: "eth1", expectedIPs: [], profiles: [] },
  };
  assert.equal(encodeHostEndpoint(bare), '{"name":"eth1"}');
  assert.equal(
    encodeHostEndpoint({ ...bare, spec: { expectedIPs: ["fd00::2"] } }),
    '{"expected_ipv6_addrs":["fd00::2"]}',
  );
});

Deno.test("a host endpoint round-trips", () => {
  const back = decodeHostEndpoint("web1", "eth0-web1", encodeHostEndpoint(hep));
  assert.deepEqual(back, {
    ...hep,
    spec: { ...hep.spec, expectedIPs: ["10.0.0.1", "192.168.0.1", "fd00::1"] },
  });
  assert.throws(
    () => decodeHostEndpoint("h", "n", '{"expected_ipv4_addrs":["fd00::1"]}'),
    /invalid IPv4 address "fd00::1" in field 'expected_ipv4_addrs\[0\]'/,
  );
  assert.throws(() => decodeHostEndpoint("h", "n", "{bad"), /invalid JSON/);
  assert.throws(() => decodeHostEndpoint("h", "n", '{"labels":{"a":1}}'), /labels.a/);
});

Deno.test("policy types default at write time (as libcalico-go does)", () => {
  const allow: Rule = { action: "allow" };
  assert.deepEqual(defaultPolicyTypes(policyResource("p", {}).spec), ["ingress"]);
  assert.deepEqual(defaultPolicyTypes(policyResource("p", { ingress: [allow] }).spec), ["ingress"]);
  assert.deepEqual(defaultPolicyTypes(policyResource("p", { egress: [allow] }).spec), ["egress"]);
  assert.deepEqual(
    defaultPolicyTypes(policyResource("p", { ingress: [allow], egress: [allow] }).spec),
    [
      "ingress",
      "egress",
    ],
  );
  assert.deepEqual(
    defaultPolicyTypes(policyResource("p", { types: ["egress"], ingress: [allow] }).spec),
    [
      "egress",
    ],
  );
  const stored = JSON.parse(encodePolicy(policyResource("p", { egress: [allow] })));
  assert.deepEqual(stored.types, ["egress"]);
  assert.deepEqual(decodePolicy("p", JSON.stringify(stored)).spec.types, ["egress"]);
});

Deno.test("a policy encodes with selector always present and empty fields omitted", () => {
  assert.equal(encodePolicy(policyResource("p", {})), '{"selector":"","types":["ingress"]}');
  const full = policyResource("p", {
    order: 100.5,
    selector: "role == 'bastion'",
    ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [22] } }],
    egress: [{ action: "deny" }],
    doNotTrack: true,
    types: ["ingress", "egress"],
  });
  const withAnn = { ...full, metadata: { name: "p", annotations: { k: "v" } } };
  assert.deepEqual(JSON.parse(encodePolicy(withAnn)), {
    order: 100.5,
    inbound_rules: [{ action: "allow", protocol: "tcp", dst_ports: [22] }],
    outbound_rules: [{ action: "deny" }],
    selector: "role == 'bastion'",
    untracked: true,
    annotations: { k: "v" },
    types: ["ingress", "egress"],
  });
  assert.deepEqual(decodePolicy("p", encodePolicy(withAnn)), withAnn);
  const pre = JSON.parse(
    encodePolicy(policyResource("p", { preDNAT: true, ingress: [{ action: "allow" }] })),
  );
  assert.equal(pre.pre_dnat, true);
  assert.equal(pre.untracked, undefined);
  assert.equal(JSON.parse(encodePolicy(policyResource("p", { order: 0 }))).order, 0);
});

Deno.test("policies stored without types read back as calicoctl and Felix expect", () => {
  assert.deepEqual(decodePolicy("p", '{"selector":""}').spec.types, ["ingress", "egress"]);
  assert.deepEqual(decodePolicy("p", '{"selector":"","pre_dnat":true}').spec.types, ["ingress"]);
  assert.deepEqual(
    decodePolicy("p", '{"selector":"","pre_dnat":true}', { forAgent: true }).spec.types,
    ["ingress", "egress"],
  );
  assert.equal(decodePolicy("p", "{}").spec.selector, "");
  assert.throws(() => decodePolicy("p", '{"order":"1"}'), /field 'order' must be a number/);
  assert.throws(() => decodePolicy("p", "[]"), /must be an object/);
});

Deno.test("a profile is three keys: rules, tags and labels", () => {
  const prof: ProfileResource = {
    kind: "profile",
    metadata: { name: "prof1", labels: { zone: "a" }, tags: ["db", "web"] },
    spec: { ingress: [{ action: "allow" }], egress: [{ action: "pass" }] },
  };
  const enc = encodeProfile(prof);
  assert.deepEqual(JSON.parse(enc.rules), {
    inbound_rules: [{ action: "allow" }],
    outbound_rules: [{ action: "next-tier" }],
  });
  assert.equal(enc.tags, '["db","web"]');
  assert.equal(enc.labels, '{"zone":"a"}');
  assert.deepEqual(decodeProfile("prof1", enc), prof);
  const empty = encodeProfile({ kind: "profile", metadata: { name: "e" }, spec: {} });
  assert.deepEqual(empty, {
    rules: '{"inbound_rules":[],"outbound_rules":[]}',
    tags: "[]",
    labels: "{}",
  });
  assert.deepEqual(decodeProfile("e", empty), {
    kind: "profile",
    metadata: { name: "e" },
    spec: {},
  });
});

Deno.test("a workload endpoint encodes with its always-present fields", () => {
  const wep: WorkloadEndpointResource = {
    kind: "workloadEndpoint",
    metadata: {
      name: "eth0",
      workload: "w1",
      orchestrator: "k8s",
      node: "h1",
      labels: { app: "x" },
    },
    spec: {
      interfaceName: "cali123",
      ipNetworks: ["10.65.0.2/32", "fd00::2/128"],
      ipNATs: [{ internalIP: "10.65.0.2", externalIP: "192.168.9.9" }],
      profiles: ["p1"],
      mac: "ee:ee:ee:ee:ee:ee",
      ipv4Gateway: "10.65.0.1",
    },
  };
  const json = JSON.parse(encodeWorkloadEndpoint(wep));
  assert.deepEqual(json, {
    state: "active",
    name: "cali123",
    active_instance_id: "",
    mac: "ee:ee:ee:ee:ee:ee",
    profile_ids: ["p1"],
    ipv4_nets: ["10.65.0.2/32"],
    ipv6_nets: ["fd00::2/128"],
    ipv4_nat: [{ int_ip: "10.65.0.2", ext_ip: "192.168.9.9" }],
    labels: { app: "x" },
    ipv4_gateway: "10.65.0.1",
  });
  assert.deepEqual(
    decodeWorkloadEndpoint(
      { node: "h1", orchestrator: "k8s", workload: "w1", name: "eth0" },
      encodeWorkloadEndpoint(wep),
    ),
    wep,
  );
});

Deno.test("a node writes metadata, bird_ip, orchestrator refs and BGP keys", () => {
  const bare: NodeResource = { kind: "node", metadata: { name: "h1" }, spec: {} };
  assert.deepEqual(encodeNode(bare), {
    metadata: "{}",
    birdIp: null,
    orchRefs: null,
    bgp: { ip_addr_v4: "", ip_addr_v6: "", network_v4: null, network_v6: null, as_num: null },
  });
  const full: NodeResource = {
    kind: "node",
    metadata: { name: "h1" },
    spec: {
      bgp: { asNumber: 64512, ipv4Address: "10.0.0.1/24", ipv6Address: "fd00::1/64" },
      orchRefs: [{ nodeName: "k8s-node-1", orchestrator: "k8s" }],
    },
  };
  const enc = encodeNode(full);
  assert.deepEqual(enc, {
    metadata: "{}",
    birdIp: "10.0.0.1",
    orchRefs: '[{"orchestrator":"k8s","nodeName":"k8s-node-1"}]',
    bgp: {
      ip_addr_v4: "10.0.0.1",
      ip_addr_v6: "fd00::1",
      network_v4: "10.0.0.0/24",
      network_v6: "fd00::/64",
      as_num: "64512",
    },
  });
  const bgp = Object.fromEntries(Object.entries(enc.bgp).filter(([, v]) => v !== null));
  assert.deepEqual(decodeNode("h1", { orchRefs: enc.orchRefs!, bgp }), full);
  assert.deepEqual(decodeNode("h1", { bgp: { ip_addr_v4: "", ip_addr_v6: "" } }), bare);
  assert.equal(parseAsNumber("1.10"), 65546);
  assert.equal(parseAsNumber("x"), undefined);
});
