/**
 * The exact etcd bytes of workload endpoints and nodes, and what reads them back: pinned
 * text (key order included) so that moving their codecs onto the field tables provably
 * changes nothing, error wording included.
 */
import assert from "node:assert/strict";
import type { NodeResource, WorkloadEndpointResource } from "../../src/model/resources.ts";
import { encodeNode, encodeWorkloadEndpoint } from "../../src/datastore/backend_encode.ts";
import {
  BackendParseError,
  decodeNode,
  decodeWorkloadEndpoint,
  type NodeKeyTexts,
} from "../../src/datastore/backend_decode.ts";
import { writesFor } from "../../src/datastore/layout.ts";
import { inBackendOrder, rowAt } from "../../src/model/fields/table.ts";
import { NODE_FIELDS } from "../../src/model/fields/node.ts";
import { WORKLOAD_ENDPOINT_FIELDS } from "../../src/model/fields/workload_endpoint.ts";
import { workloadEndpointResource } from "../fixtures/resources.ts";

const WEP_IDS = { node: "h1", orchestrator: "k8s", workload: "w1", name: "eth0" };

function wep(
  spec: Partial<WorkloadEndpointResource["spec"]>,
  metadata: Partial<WorkloadEndpointResource["metadata"]> = {},
): WorkloadEndpointResource {
  const w = workloadEndpointResource("h1/k8s/w1/eth0", spec);
  return { ...w, metadata: { ...w.metadata, ...metadata } };
}

/** [what, resource, stored JSON, the resource read back from it as JSON]. */
const WEP_CASES: [string, WorkloadEndpointResource, string, string][] = [
  [
    "empty: state, name, instance id, mac, profiles and both net lists are always written",
    wep({}),
    '{"state":"active","name":"cali0","active_instance_id":"","mac":null,"profile_ids":[],' +
    '"ipv4_nets":[],"ipv6_nets":[]}',
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
    '"node":"h1"},"spec":{"interfaceName":"cali0"}}',
  ],
  [
    "full v4 and v6: nets and NATs split by family, nets canonical, NATs as written",
    wep({
      interfaceName: "cali1",
      ipNetworks: ["198.18.0.2/32", "2001:db8::2/128", "198.18.1.5/24", "2001:DB8:0::9/64"],
      ipNATs: [
        { internalIP: "198.18.0.2", externalIP: "198.19.9.9" },
        { internalIP: "2001:db8::2", externalIP: "2001:db8:ff::9" },
        { internalIP: "198.18.0.3", externalIP: "198.19.9.10" },
      ],
      ipv4Gateway: "198.18.0.1",
      ipv6Gateway: "2001:db8::1",
      profiles: ["p1", "p2"],
      mac: "ee:ee:ee:ee:ee:ee",
    }, { activeInstanceID: "i-1", labels: { b: "2", a: "1" } }),
    '{"state":"active","name":"cali1","active_instance_id":"i-1","mac":"ee:ee:ee:ee:ee:ee",' +
    '"profile_ids":["p1","p2"],"ipv4_nets":["198.18.0.2/32","198.18.1.5/24"],' +
    '"ipv6_nets":["2001:db8::2/128","2001:db8::9/64"],' +
    '"ipv4_nat":[{"int_ip":"198.18.0.2","ext_ip":"198.19.9.9"},' +
    '{"int_ip":"198.18.0.3","ext_ip":"198.19.9.10"}],' +
    '"ipv6_nat":[{"int_ip":"2001:db8::2","ext_ip":"2001:db8:ff::9"}],' +
    '"labels":{"b":"2","a":"1"},"ipv4_gateway":"198.18.0.1","ipv6_gateway":"2001:db8::1"}',
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
    '"node":"h1","activeInstanceID":"i-1","labels":{"b":"2","a":"1"}},"spec":{' +
    '"interfaceName":"cali1","ipNetworks":["198.18.0.2/32","198.18.1.5/24","2001:db8::2/128",' +
    '"2001:db8::9/64"],"ipNATs":[{"internalIP":"198.18.0.2","externalIP":"198.19.9.9"},' +
    '{"internalIP":"198.18.0.3","externalIP":"198.19.9.10"},' +
    '{"internalIP":"2001:db8::2","externalIP":"2001:db8:ff::9"}],"ipv4Gateway":"198.18.0.1",' +
    '"ipv6Gateway":"2001:db8::1","profiles":["p1","p2"],"mac":"ee:ee:ee:ee:ee:ee"}}',
  ],
  [
    "v6 only, empty labels and profiles left out, an empty mac and gateway kept",
    wep({
      interfaceName: "cali2",
      ipNetworks: ["2001:db8::5/128"],
      ipNATs: [{ internalIP: "2001:DB8::5", externalIP: "2001:db8:ff::5" }],
      mac: "",
      ipv4Gateway: "",
      profiles: [],
    }, { labels: {} }),
    '{"state":"active","name":"cali2","active_instance_id":"","mac":"","profile_ids":[],' +
    '"ipv4_nets":[],"ipv6_nets":["2001:db8::5/128"],' +
    '"ipv6_nat":[{"int_ip":"2001:DB8::5","ext_ip":"2001:db8:ff::5"}],"ipv4_gateway":""}',
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
    '"node":"h1"},"spec":{"interfaceName":"cali2","ipNetworks":["2001:db8::5/128"],' +
    '"ipNATs":[{"internalIP":"2001:DB8::5","externalIP":"2001:db8:ff::5"}],"ipv4Gateway":""}}',
  ],
  [
    "empty strings and lists",
    wep({ interfaceName: "", ipNetworks: [], ipNATs: [] }, { activeInstanceID: "" }),
    '{"state":"active","name":"","active_instance_id":"","mac":null,"profile_ids":[],' +
    '"ipv4_nets":[],"ipv6_nets":[]}',
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
    '"node":"h1"},"spec":{"interfaceName":""}}',
  ],
];

for (const [what, w, stored, read] of WEP_CASES) {
  Deno.test(`workload endpoint bytes: ${what}`, () => {
    assert.equal(encodeWorkloadEndpoint(w), stored);
    assert.equal(JSON.stringify(decodeWorkloadEndpoint(WEP_IDS, stored)), read);
    assert.deepEqual(writesFor(w), {
      primary: "/calico/v1/host/h1/workload/k8s/w1/endpoint/eth0",
      writes: [{ key: "/calico/v1/host/h1/workload/k8s/w1/endpoint/eth0", value: stored }],
    });
  });
}

Deno.test("a workload endpoint round-trips through its stored JSON", () => {
  const w = wep({
    ipNetworks: ["198.18.0.2/32", "2001:db8::2/128"],
    ipNATs: [{ internalIP: "198.18.0.2", externalIP: "198.19.9.9" }],
    profiles: ["p1"],
    mac: "ee:ee:ee:ee:ee:ee",
    ipv6Gateway: "2001:db8::1",
  }, { activeInstanceID: "i-9", labels: { app: "x" } });
  assert.deepEqual(decodeWorkloadEndpoint(WEP_IDS, encodeWorkloadEndpoint(w)), w);
});

Deno.test("stored workload endpoints read back: null and empty are unset, lists by family", () => {
  const read = (text: string) => JSON.stringify(decodeWorkloadEndpoint(WEP_IDS, text));
  assert.equal(
    read(
      '{"state":"active","name":"c","mac":null,"profile_ids":null,"ipv4_nets":null,' +
        '"ipv6_nets":[],"active_instance_id":""}',
    ),
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
      '"node":"h1"},"spec":{"interfaceName":"c"}}',
  );
  // Each list is read as written (the family is the validator's business), v4 first.
  assert.equal(
    read('{"ipv6_nets":["198.18.0.0/24"],"ipv4_nets":["2001:db8::/64"]}'),
    '{"kind":"workloadEndpoint","metadata":{"name":"eth0","workload":"w1","orchestrator":"k8s",' +
      '"node":"h1"},"spec":{"interfaceName":"","ipNetworks":["2001:db8::/64","198.18.0.0/24"]}}',
  );
});

Deno.test("bad stored workload endpoints name the field", () => {
  const cases: [string, string][] = [
    ["nope", `invalid JSON: Unexpected token 'o', "nope" is not valid JSON`],
    ["[]", "field 'value' must be an object, got []"],
    ['{"ipv4_nets":["x"]}', `invalid CIDR "x" in field 'ipv4_nets[0]'`],
    ['{"ipv6_nets":"2001:db8::/64"}', `field 'ipv6_nets' must be a list, got "2001:db8::/64"`],
    ['{"mac":5}', "field 'mac' must be a string, got 5"],
    [
      '{"ipv4_nat":[{"int_ip":"198.18.0.2"}]}',
      "field 'ipv4_nat[0].ext_ip' must be a string, got undefined",
    ],
    ['{"ipv6_nat":[5]}', "field 'ipv6_nat[0]' must be an object, got 5"],
    ['{"labels":{"a":1}}', "field 'labels.a' must be a string, got 1"],
    ['{"profile_ids":"p"}', `field 'profile_ids' must be a list, got "p"`],
    ['{"name":7}', "field 'name' must be a string, got 7"],
    ['{"active_instance_id":false}', "field 'active_instance_id' must be a string, got false"],
    ['{"ipv4_gateway":3}', "field 'ipv4_gateway' must be a string, got 3"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => decodeWorkloadEndpoint(WEP_IDS, text), {
      name: BackendParseError.name,
      message,
    }, text);
  }
});

function node(spec: NodeResource["spec"]): NodeResource {
  return { kind: "node", metadata: { name: "h1" }, spec };
}

/** The stored texts of a node's keys as the store hands them to decodeNode. */
function texts(n: NodeResource): NodeKeyTexts {
  const e = encodeNode(n);
  const bgp = Object.fromEntries(Object.entries(e.bgp).filter(([, v]) => v !== null));
  return { ...(e.orchRefs !== null ? { orchRefs: e.orchRefs } : {}), bgp };
}

const H = "/calico/v1/host/h1/";
const B = "/calico/bgp/v1/host/h1/";

/** A bare node's etcd writes, in order: metadata `{}`, empty BGP addresses, the rest deleted. */
const BARE_NODE_WRITES: [string, string | null][] = [
  [H + "metadata", "{}"],
  [H + "bird_ip", null],
  [H + "orchestrator_refs", null],
  [B + "ip_addr_v4", ""],
  [B + "ip_addr_v6", ""],
  [B + "network_v4", null],
  [B + "network_v6", null],
  [B + "as_num", null],
];

/** A node's etcd writes: the bare node's, with other values for the keys named (last part). */
function nodeWrites(values: Record<string, string | null> = {}): [string, string | null][] {
  return BARE_NODE_WRITES.map(([key, v]) => {
    const name = key.slice(key.lastIndexOf("/") + 1);
    return [key, name in values ? values[name]! : v];
  });
}

/** [what, node, its etcd writes in order (null deletes), the node read back as JSON]. */
const NODE_CASES: [string, NodeResource, [string, string | null][], string][] = [
  [
    "bare",
    node({}),
    nodeWrites(),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{}}',
  ],
  [
    "v4 only: the address in bird_ip and ip_addr_v4, the network in network_v4",
    node({ bgp: { ipv4Address: "198.18.0.1/24" } }),
    nodeWrites({
      bird_ip: "198.18.0.1",
      ip_addr_v4: "198.18.0.1",
      network_v4: "198.18.0.0/24",
    }),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{"bgp":{"ipv4Address":"198.18.0.1/24"}}}',
  ],
  [
    "v6 only: no bird_ip",
    node({ bgp: { ipv6Address: "2001:db8::1/64" } }),
    nodeWrites({ ip_addr_v6: "2001:db8::1", network_v6: "2001:db8::/64" }),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{"bgp":{"ipv6Address":"2001:db8::1/64"}}}',
  ],
  [
    "AS number only (0 included)",
    node({ bgp: { asNumber: 0 } }),
    nodeWrites({ as_num: "0" }),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{"bgp":{"asNumber":0}}}',
  ],
  [
    "orchestrator refs, orchestrator first, a nodeName only where set (an empty one kept)",
    node({
      orchRefs: [{ orchestrator: "k8s" }, { nodeName: "n1", orchestrator: "k8s" }, {
        nodeName: "",
        orchestrator: "os",
      }],
    }),
    nodeWrites({
      orchestrator_refs: '[{"orchestrator":"k8s"},{"orchestrator":"k8s","nodeName":"n1"},' +
        '{"orchestrator":"os","nodeName":""}]',
    }),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{"orchRefs":[{"orchestrator":"k8s"},' +
    '{"orchestrator":"k8s","nodeName":"n1"},{"orchestrator":"os"}]}}',
  ],
  [
    "full: a bare v4 address is a /32, v6 canonical",
    node({
      bgp: { asNumber: 65546, ipv4Address: "198.18.0.1", ipv6Address: "2001:DB8::1/64" },
      orchRefs: [{ nodeName: "n1", orchestrator: "k8s" }],
    }),
    nodeWrites({
      bird_ip: "198.18.0.1",
      orchestrator_refs: '[{"orchestrator":"k8s","nodeName":"n1"}]',
      ip_addr_v4: "198.18.0.1",
      ip_addr_v6: "2001:db8::1",
      network_v4: "198.18.0.1/32",
      network_v6: "2001:db8::/64",
      as_num: "65546",
    }),
    '{"kind":"node","metadata":{"name":"h1"},"spec":{"bgp":{"ipv4Address":"198.18.0.1/32",' +
    '"ipv6Address":"2001:db8::1/64","asNumber":65546},' +
    '"orchRefs":[{"orchestrator":"k8s","nodeName":"n1"}]}}',
  ],
];

for (const [what, n, writes, read] of NODE_CASES) {
  Deno.test(`node keys: ${what}`, () => {
    const w = writesFor(n);
    assert.equal(w.primary, H + "metadata");
    assert.equal(
      JSON.stringify(w.writes.map((x) => [x.key, x.value])),
      JSON.stringify(writes),
    );
    assert.equal(JSON.stringify(decodeNode("h1", texts(n))), read);
  });
}

Deno.test("node keys: an empty bgp and empty refs write what a bare node writes", () => {
  const bare = JSON.stringify(encodeNode(node({})));
  assert.equal(JSON.stringify(encodeNode(node({ bgp: {} }))), bare);
  assert.equal(JSON.stringify(encodeNode(node({ orchRefs: [] }))), bare);
  assert.equal(
    bare,
    '{"metadata":"{}","birdIp":null,"orchRefs":null,"bgp":{"ip_addr_v4":"","ip_addr_v6":"",' +
      '"network_v4":null,"network_v6":null,"as_num":null}}',
  );
});

Deno.test("stored node keys read back", () => {
  const head = '{"kind":"node","metadata":{"name":"h1"},';
  const read = (t: NodeKeyTexts) => {
    const text = JSON.stringify(decodeNode("h1", t));
    assert.ok(text.startsWith(head), text);
    return text.slice(head.length, -1);
  };
  const cases: [NodeKeyTexts, string][] = [
    [{ bgp: { as_num: "1.10" } }, '"spec":{"bgp":{"asNumber":65546}}'],
    [{ bgp: { as_num: "", ip_addr_v4: "", ip_addr_v6: "" } }, '"spec":{}'],
    // The prefix comes from network_v4 when of the same family, else from the address.
    [
      { bgp: { ip_addr_v4: "198.18.0.1", network_v4: "2001:db8::/64" } },
      '"spec":{"bgp":{"ipv4Address":"198.18.0.1/32"}}',
    ],
    [
      { bgp: { ip_addr_v4: "198.18.0.1/16", network_v4: "198.18.0.0/24" } },
      '"spec":{"bgp":{"ipv4Address":"198.18.0.1/24"}}',
    ],
    [{ bgp: { ip_addr_v4: "198.18.0.1/16" } }, '"spec":{"bgp":{"ipv4Address":"198.18.0.1/16"}}'],
    [
      { bgp: { ip_addr_v4: "198.18.0.1", network_v4: "garbage" } },
      '"spec":{"bgp":{"ipv4Address":"198.18.0.1/32"}}',
    ],
    [{ bgp: { network_v4: "198.18.0.0/24" } }, '"spec":{}'],
    [{ orchRefs: "" }, '"spec":{}'],
    [{ orchRefs: "[]" }, '"spec":{}'],
    [{ orchRefs: "[{}]" }, '"spec":{"orchRefs":[{"orchestrator":""}]}'],
    [
      { orchRefs: '[{"nodeName":"","orchestrator":"k","extra":1}]' },
      '"spec":{"orchRefs":[{"orchestrator":"k"}]}',
    ],
    [
      { orchRefs: '[{"orchestrator":"k"}]', bgp: { as_num: "7", ip_addr_v4: "198.18.0.1" } },
      '"spec":{"bgp":{"ipv4Address":"198.18.0.1/32","asNumber":7},' +
      '"orchRefs":[{"orchestrator":"k"}]}',
    ],
  ];
  for (const [t, spec] of cases) assert.equal(read(t), spec, JSON.stringify(t));
});

Deno.test("bad stored node keys say what is wrong", () => {
  const cases: [NodeKeyTexts, string][] = [
    [{ bgp: { ip_addr_v4: "x" } }, `invalid BGP address "x"`],
    [{ bgp: { ip_addr_v6: "2001:db8::zz" } }, `invalid BGP address "2001:db8::zz"`],
    [{ bgp: { as_num: "1.99999" } }, `invalid AS number "1.99999"`],
    [{ bgp: { as_num: "abc" } }, `invalid AS number "abc"`],
    [{ orchRefs: "{}" }, "orchestrator_refs must be a list"],
    [{ orchRefs: "null" }, "orchestrator_refs must be a list"],
    [{ orchRefs: "[5]" }, "field 'orchestrator_refs[0]' must be an object, got 5"],
    [{ orchRefs: '[{"orchestrator":5}]' }, "field 'orchestrator' must be a string, got 5"],
    [
      { orchRefs: '[{"nodeName":5,"orchestrator":"k"}]' },
      "field 'nodeName' must be a string, got 5",
    ],
    [
      { orchRefs: "{bad" },
      "invalid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
    ],
  ];
  for (const [t, message] of cases) {
    assert.throws(
      () => decodeNode("h1", t),
      { name: BackendParseError.name, message },
      JSON.stringify(t),
    );
  }
});

Deno.test("a backend order must name every stored row, and paths name real rows", () => {
  const order = ["interfaceName", "activeInstanceID", "profiles", "ipNetworks", "ipNATs"];
  assert.throws(
    () => inBackendOrder(WORKLOAD_ENDPOINT_FIELDS, [...order, "labels", "ipv4Gateway"]),
    { message: "backend order leaves out ipv6Gateway, mac" },
  );
  assert.throws(() => inBackendOrder(WORKLOAD_ENDPOINT_FIELDS, ["nope"]), {
    message: "no field nope",
  });
  assert.equal(rowAt(NODE_FIELDS, "bgp.asNumber").codec, "asNumber");
  assert.throws(() => rowAt(NODE_FIELDS, "bgp.nope"), { message: "no field bgp.nope" });
});
