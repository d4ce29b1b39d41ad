/**
 * Pins the exact text of v3 input and output, kind by kind, so that a change in how the v3
 * decoder and printer are built (from the field tables) is checked to change nothing: every
 * decode error in full (file:line:col, resource, field path, wording, the accepted fields it
 * lists), the model a few edge cases decode to, and what each kind prints, as YAML and as
 * JSON (whose key order is the v3 API structs'). model_v3_test.ts covers the behaviour; this
 * file holds the texts.
 */
import assert from "node:assert/strict";
import { parseManifests, ResourceInputError } from "../../src/model/input.ts";
import { formatV3Resources, NoV3FormError } from "../../src/model/v3/output.ts";

function fails(text: string): string {
  try {
    parseManifests(text, "v3.yaml");
  } catch (e) {
    assert.ok(e instanceof ResourceInputError, `expected ResourceInputError, got ${e}`);
    return e.message;
  }
  throw new Error("expected parseManifests to fail");
}

function parse(text: string, source = "v3.yaml") {
  return parseManifests(text, source).map((l) => l.resource);
}

const H = "apiVersion: projectcalico.org/v3\n";
const doc = (kind: string, meta: string, spec: string) =>
  `${H}kind: ${kind}\nmetadata:\n${meta}spec:\n${spec}`;
const hep = (spec: string, meta = "  name: h\n") => doc("HostEndpoint", meta, spec);
const gnp = (spec: string, meta = "  name: x\n") => doc("GlobalNetworkPolicy", meta, spec);
const prof = (spec: string, meta = "  name: p\n") => doc("Profile", meta, spec);
const node = (spec: string, meta = "  name: n\n") => doc("Node", meta, spec);
const gns = (spec: string, meta = "  name: s\n") => doc("GlobalNetworkSet", meta, spec);

/** [what, input] whose decode error text is pinned. */
const ERRORS: [string, string, string][] = [
  [
    "an unknown top-level field",
    `${H}kind: HostEndpoint\nmetadata: {name: h}\nstatus: {}\n`,
    'v3.yaml:4:1: HostEndpoint "h" status: field in document is not recognized or is in the wrong location: status (expected one of: apiVersion, kind, metadata, spec)',
  ],
  [
    "metadata not a map",
    `${H}kind: HostEndpoint\nmetadata: [h]\n`,
    "v3.yaml:3:11: HostEndpoint metadata: cannot unmarshal array into Go value of type v1.ObjectMeta",
  ],
  [
    "spec not a map",
    `${H}kind: HostEndpoint\nmetadata: {name: h}\nspec: [a]\n`,
    'v3.yaml:4:7: HostEndpoint "h" spec: cannot unmarshal array into Go value of type v3.HostEndpointSpec',
  ],
  [
    "HostEndpoint metadata field",
    hep("  node: h1\n", "  name: h\n  node: h1\n"),
    'v3.yaml:5:3: HostEndpoint "h" metadata.node: field in document is not recognized or is in the wrong location: node (expected one of: name, labels, creationTimestamp, uid, generation)',
  ],
  [
    "HostEndpoint spec field",
    hep("  labels: {a: b}\n"),
    'v3.yaml:6:3: HostEndpoint "h" spec.labels: field in document is not recognized or is in the wrong location: labels (expected one of: node, interfaceName, expectedIPs, profiles, ports)',
  ],
  [
    "HostEndpoint labels type",
    hep("  node: h1\n", "  name: h\n  labels: [a]\n"),
    'v3.yaml:5:11: HostEndpoint "h" metadata.labels: cannot unmarshal array into Go value of type map[string]string',
  ],
  [
    "HostEndpoint label value type",
    hep("  node: h1\n", "  name: h\n  labels: {a: [b]}\n"),
    'v3.yaml:5:15: HostEndpoint "h" metadata.labels.a: cannot unmarshal array into Go value of type string',
  ],
  [
    "HostEndpoint node type",
    hep("  node: [h1]\n"),
    'v3.yaml:6:9: HostEndpoint "h" spec.node: cannot unmarshal array into Go value of type string',
  ],
  [
    "HostEndpoint interfaceName type",
    hep("  interfaceName: {a: 1}\n"),
    'v3.yaml:6:18: HostEndpoint "h" spec.interfaceName: cannot unmarshal object into Go value of type string',
  ],
  [
    "HostEndpoint expectedIPs type",
    hep("  expectedIPs: 5\n"),
    'v3.yaml:6:16: HostEndpoint "h" spec.expectedIPs: cannot unmarshal number 5 into Go value of type []string',
  ],
  [
    "HostEndpoint expectedIPs entry",
    hep("  expectedIPs: [198.18.0.0/24]\n"),
    'v3.yaml:6:17: HostEndpoint "h" spec.expectedIPs[0]: invalid IP address: 198.18.0.0/24',
  ],
  [
    "HostEndpoint expectedIPs entry type",
    hep("  expectedIPs: [[a]]\n"),
    'v3.yaml:6:17: HostEndpoint "h" spec.expectedIPs[0]: cannot unmarshal array into Go value of type string',
  ],
  [
    "HostEndpoint profiles type",
    hep("  profiles: p1\n"),
    'v3.yaml:6:13: HostEndpoint "h" spec.profiles: cannot unmarshal string into Go value of type []string',
  ],
  [
    "HostEndpoint profiles entry type",
    hep("  profiles: [{a: 1}]\n"),
    'v3.yaml:6:14: HostEndpoint "h" spec.profiles[0]: cannot unmarshal object into Go value of type string',
  ],
  [
    "HostEndpoint ports type",
    hep("  ports: 5\n"),
    'v3.yaml:6:10: HostEndpoint "h" spec.ports: cannot unmarshal number 5 into Go value of type []v3.EndpointPort',
  ],
  [
    "HostEndpoint ports entry type",
    hep("  ports: [5]\n"),
    'v3.yaml:6:11: HostEndpoint "h" spec.ports[0]: cannot unmarshal number 5 into Go value of type v3.EndpointPort',
  ],
  [
    "HostEndpoint port out of range",
    hep("  ports: [{name: a, protocol: TCP, port: 70000}]\n"),
    'v3.yaml:6:42: HostEndpoint "h" spec.ports[0].port: cannot unmarshal number 70000 into Go value of type uint16',
  ],
  [
    "HostEndpoint port type",
    hep("  ports: [{name: a, protocol: TCP, port: x}]\n"),
    'v3.yaml:6:42: HostEndpoint "h" spec.ports[0].port: cannot unmarshal string into Go value of type uint16',
  ],
  [
    "HostEndpoint port protocol",
    hep("  ports: [{name: a, protocol: GRE, port: 80}]\n"),
    'v3.yaml:6:31: HostEndpoint "h" spec.ports[0].protocol: invalid protocol "GRE" (expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)',
  ],
  [
    "HostEndpoint port name type",
    hep("  ports: [{name: [a], protocol: TCP, port: 80}]\n"),
    'v3.yaml:6:18: HostEndpoint "h" spec.ports[0].name: cannot unmarshal array into Go value of type string',
  ],
  [
    "HostEndpoint port without fields (validation)",
    hep("  node: h1\n  ports: [{}]\n"),
    "v3.yaml:7:11: HostEndpoint \"h\": error with the following fields:\n-  EndpointPort.Protocol = '' (EndpointPort protocol does not support ports) [spec.ports[0].protocol, line 7:11]\n-  EndpointPort.Port = '0' (port number must be between 1 and 65535) [spec.ports[0].port, line 7:11]\n-  InterfaceName = '' (no interface or expected IPs have been specified) [spec.interfaceName, line 6:3]",
  ],
  [
    "HostEndpoint bad node (validation, v3 path)",
    hep("  node: Bad_Node!\n  interfaceName: eth0\n"),
    "v3.yaml:6:9: HostEndpoint \"h\" spec.node: error with field Node = 'Bad_Node!' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-')",
  ],
  [
    "HostEndpoint bad name (validation)",
    hep("  node: h1\n  interfaceName: eth0\n", "  name: Bad_Name!\n"),
    "v3.yaml:4:9: HostEndpoint \"Bad_Name!\" metadata.name: error with field Name = 'Bad_Name!' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-', '/')",
  ],
  [
    "HostEndpoint ports with missing fields and nulls (validation)",
    hep(
      "  node: h1\n  interfaceName: eth0\n  ports:\n  - {port: 80, name: a}\n  -\n  - {protocol: udp}\n",
      "  name: h\n  labels: {}\n",
    ),
    "v3.yaml:10:5: HostEndpoint \"h\": error with the following fields:\n-  EndpointPort.Protocol = '' (EndpointPort protocol does not support ports) [spec.ports[0].protocol, line 10:5]\n-  EndpointPort.Protocol = '' (EndpointPort protocol does not support ports) [spec.ports[1].protocol, line 11:4]\n-  EndpointPort.Port = '0' (port number must be between 1 and 65535) [spec.ports[1].port, line 11:4]\n-  EndpointPort.Port = '0' (port number must be between 1 and 65535) [spec.ports[2].port, line 12:5]",
  ],
  [
    "GlobalNetworkPolicy metadata field",
    gnp("  selector: all()\n", "  name: x\n  labels: {a: b}\n"),
    'v3.yaml:5:3: GlobalNetworkPolicy "x" metadata.labels: field in document is not recognized or is in the wrong location: labels (expected one of: name, annotations, creationTimestamp, uid, generation)',
  ],
  [
    "GlobalNetworkPolicy spec field",
    gnp("  selector: all()\n  annotations: {a: b}\n"),
    'v3.yaml:7:3: GlobalNetworkPolicy "x" spec.annotations: field in document is not recognized or is in the wrong location: annotations (expected one of: tier, order, selector, types, ingress, egress, doNotTrack, preDNAT, applyOnForward)',
  ],
  [
    "GlobalNetworkPolicy annotations type",
    gnp("  selector: all()\n", "  name: x\n  annotations: [a]\n"),
    'v3.yaml:5:16: GlobalNetworkPolicy "x" metadata.annotations: cannot unmarshal array into Go value of type map[string]string',
  ],
  [
    "GlobalNetworkPolicy order type",
    gnp("  order: first\n"),
    'v3.yaml:6:10: GlobalNetworkPolicy "x" spec.order: cannot unmarshal string into Go value of type float64',
  ],
  [
    "GlobalNetworkPolicy selector type",
    gnp("  selector: [a]\n"),
    'v3.yaml:6:13: GlobalNetworkPolicy "x" spec.selector: cannot unmarshal array into Go value of type string',
  ],
  [
    "GlobalNetworkPolicy types type",
    gnp("  types: Ingress\n"),
    'v3.yaml:6:10: GlobalNetworkPolicy "x" spec.types: cannot unmarshal string into Go value of type []v3.PolicyType',
  ],
  [
    "GlobalNetworkPolicy tier type",
    gnp("  tier: [a]\n"),
    'v3.yaml:6:9: GlobalNetworkPolicy "x" spec.tier: cannot unmarshal array into Go value of type string',
  ],
  [
    "GlobalNetworkPolicy ingress type",
    gnp("  ingress: allow\n"),
    'v3.yaml:6:12: GlobalNetworkPolicy "x" spec.ingress: cannot unmarshal string into Go value of type []v3.Rule',
  ],
  [
    "GlobalNetworkPolicy rule type",
    gnp("  egress: [allow]\n"),
    'v3.yaml:6:12: GlobalNetworkPolicy "x" spec.egress[0]: cannot unmarshal string into Go value of type v3.Rule',
  ],
  [
    "GlobalNetworkPolicy rule without action",
    gnp("  ingress: [{protocol: TCP}]\n"),
    'v3.yaml:6:13: GlobalNetworkPolicy "x" spec.ingress[0].action: action is required (Allow, Deny, Pass or Log)',
  ],
  [
    "GlobalNetworkPolicy rule field",
    gnp("  ingress: [{action: Allow, foo: 1}]\n"),
    'v3.yaml:6:29: GlobalNetworkPolicy "x" spec.ingress[0].foo: field in document is not recognized or is in the wrong location: foo (expected one of: action, ipVersion, protocol, icmp, notProtocol, notICMP, source, destination)',
  ],
  [
    "GlobalNetworkPolicy rule tag",
    gnp("  ingress: [{action: Allow, source: {tag: a}}]\n"),
    'v3.yaml:6:38: GlobalNetworkPolicy "x" spec.ingress[0].source.tag: field in document is not recognized or is in the wrong location: tag (expected one of: nets, selector, ports, notNets, notSelector, notPorts)',
  ],
  [
    "GlobalNetworkPolicy icmp field",
    gnp("  ingress: [{action: Allow, protocol: ICMP, icmp: {kind: 8}}]\n"),
    'v3.yaml:6:52: GlobalNetworkPolicy "x" spec.ingress[0].icmp.kind: field in document is not recognized or is in the wrong location: kind (expected one of: type, code)',
  ],
  [
    "GlobalNetworkPolicy doNotTrack type",
    gnp("  doNotTrack: yes\n"),
    'v3.yaml:6:15: GlobalNetworkPolicy "x" spec.doNotTrack: cannot unmarshal string into Go value of type bool',
  ],
  [
    "GlobalNetworkPolicy preDNAT type",
    gnp("  preDNAT: 1\n"),
    'v3.yaml:6:12: GlobalNetworkPolicy "x" spec.preDNAT: cannot unmarshal number 1 into Go value of type bool',
  ],
  [
    "GlobalNetworkPolicy applyOnForward type",
    gnp("  applyOnForward: 'true'\n"),
    'v3.yaml:6:19: GlobalNetworkPolicy "x" spec.applyOnForward: cannot unmarshal string into Go value of type bool',
  ],
  [
    "GlobalNetworkPolicy bad selector in a rule (validation)",
    gnp("  ingress: [{action: Allow, source: {selector: 'a =='}}]\n"),
    'v3.yaml:6:48: GlobalNetworkPolicy "x" spec.ingress[0].source.selector: error with field Selector = \'a ==\' (Selector "a ==" is invalid at position 4: expected a quoted string)',
  ],
  [
    "Profile metadata field",
    prof("  ingress: [{action: Allow}]\n", "  name: p\n  labels: {a: b}\n"),
    'v3.yaml:5:3: Profile "p" metadata.labels: field in document is not recognized or is in the wrong location: labels (expected one of: name, creationTimestamp, uid, generation)',
  ],
  [
    "Profile metadata tags",
    prof("  ingress: [{action: Allow}]\n", "  name: p\n  tags: [a]\n"),
    'v3.yaml:5:3: Profile "p" metadata.tags: field in document is not recognized or is in the wrong location: tags (expected one of: name, creationTimestamp, uid, generation)',
  ],
  [
    "Profile spec field",
    prof("  labels: {a: b}\n"),
    'v3.yaml:6:3: Profile "p" spec.labels: field in document is not recognized or is in the wrong location: labels (expected one of: ingress, egress, labelsToApply)',
  ],
  [
    "Profile labelsToApply type",
    prof("  labelsToApply: [a]\n"),
    'v3.yaml:6:18: Profile "p" spec.labelsToApply: cannot unmarshal array into Go value of type map[string]string',
  ],
  [
    "Profile egress type",
    prof("  egress: {action: Allow}\n"),
    'v3.yaml:6:11: Profile "p" spec.egress: cannot unmarshal object into Go value of type []v3.Rule',
  ],
  [
    "Node metadata field",
    node("  bgp: {asNumber: 1}\n", "  name: n\n  labels: {a: b}\n"),
    'v3.yaml:5:3: Node "n" metadata.labels: field in document is not recognized or is in the wrong location: labels (expected one of: name, creationTimestamp, uid, generation)',
  ],
  [
    "Node spec field",
    node("  bgpx: {}\n"),
    'v3.yaml:6:3: Node "n" spec.bgpx: field in document is not recognized or is in the wrong location: bgpx (expected one of: bgp, orchRefs)',
  ],
  [
    "Node bgp type",
    node("  bgp: 5\n"),
    'v3.yaml:6:8: Node "n" spec.bgp: cannot unmarshal number 5 into Go value of type v3.NodeBGPSpec',
  ],
  [
    "Node asNumber",
    node("  bgp: {asNumber: x}\n"),
    "v3.yaml:6:19: Node \"n\" spec.bgp.asNumber: invalid AS number 'x' (expected 0-4294967295 or the dotted form A.B)",
  ],
  [
    "Node ipv4Address",
    node("  bgp: {ipv4Address: 198.18.0.300/24}\n"),
    'v3.yaml:6:22: Node "n" spec.bgp.ipv4Address: invalid CIDR address: 198.18.0.300/24',
  ],
  [
    "Node orchRefs type",
    node("  orchRefs: {a: 1}\n"),
    'v3.yaml:6:13: Node "n" spec.orchRefs: cannot unmarshal object into Go value of type []v3.OrchRef',
  ],
  [
    "Node orchRefs entry type",
    node("  orchRefs: [a]\n"),
    'v3.yaml:6:14: Node "n" spec.orchRefs[0]: cannot unmarshal string into Go value of type v3.OrchRef',
  ],
  [
    "Node orchRef field",
    node("  orchRefs: [{nodeName: a, foo: b}]\n"),
    'v3.yaml:6:28: Node "n" spec.orchRefs[0].foo: field in document is not recognized or is in the wrong location: foo (expected one of: nodeName, orchestrator)',
  ],
  [
    "GlobalNetworkSet metadata field",
    gns("  nets: [198.18.0.0/24]\n", "  name: s\n  annotations: {a: b}\n"),
    'v3.yaml:5:3: GlobalNetworkSet "s" metadata.annotations: field in document is not recognized or is in the wrong location: annotations (expected one of: name, labels, creationTimestamp, uid, generation)',
  ],
  [
    "GlobalNetworkSet spec field",
    gns("  selector: all()\n"),
    'v3.yaml:6:3: GlobalNetworkSet "s" spec.selector: field in document is not recognized or is in the wrong location: selector (expected one of: nets)',
  ],
  [
    "GlobalNetworkSet nets type",
    gns("  nets: 198.18.0.0/24\n"),
    'v3.yaml:6:9: GlobalNetworkSet "s" spec.nets: cannot unmarshal string into Go value of type []string',
  ],
  [
    "GlobalNetworkSet net",
    gns("  nets: [198.18.0.0/33]\n"),
    'v3.yaml:6:10: GlobalNetworkSet "s" spec.nets[0]: invalid CIDR address: 198.18.0.0/33',
  ],
  [
    "FelixConfiguration metadata field",
    doc("FelixConfiguration", "  name: default\n  labels: {a: b}\n", "  {}\n"),
    'v3.yaml:5:3: FelixConfiguration "default" metadata.labels: field in document is not recognized or is in the wrong location: labels (expected one of: name, creationTimestamp, uid, generation)',
  ],
  [
    "FelixConfiguration bool type",
    doc("FelixConfiguration", "  name: default\n", "  ipv6Support: 1\n"),
    'v3.yaml:6:16: FelixConfiguration "default" spec.ipv6Support: cannot unmarshal number 1 into Go value of type bool',
  ],
  [
    "FelixConfiguration failsafe type",
    doc("FelixConfiguration", "  name: default\n", "  failsafeInboundHostPorts: 22\n"),
    'v3.yaml:6:29: FelixConfiguration "default" spec.failsafeInboundHostPorts: cannot unmarshal number 22 into Go value of type []v3.ProtoPort',
  ],
  [
    "FelixConfiguration failsafe field",
    doc(
      "FelixConfiguration",
      "  name: default\n",
      "  failsafeInboundHostPorts: [{port: 22, proto: TCP}]\n",
    ),
    'v3.yaml:6:41: FelixConfiguration "default" spec.failsafeInboundHostPorts[0].proto: field in document is not recognized or is in the wrong location: proto (expected one of: protocol, port, net)',
  ],
  [
    "HostEndpointList item",
    `${H}kind: HostEndpointList\nitems:\n- metadata: {name: a}\n  spec: {node: h1, foo: 1}\n`,
    'v3.yaml:5:20: HostEndpoint "a" spec.foo: field in document is not recognized or is in the wrong location: foo (expected one of: node, interfaceName, expectedIPs, profiles, ports)',
  ],
  [
    "List metadata",
    `${H}kind: List\nmetadata: {name: a}\nitems: []\n`,
    "v3.yaml:3:12: metadata.name: field in document is not recognized or is in the wrong location: name (expected one of: resourceVersion)",
  ],
];

/** [what, input] whose decoded model is pinned. */
const MODELS: [string, string, unknown][] = [
  [
    "GlobalNetworkPolicy flags",
    gnp(
      "  selector: all()\n  doNotTrack: false\n  preDNAT: false\n  applyOnForward: false\n  types: [Egress]\n  order: 0\n",
    ),
    [{
      "kind": "policy",
      "metadata": { "name": "x" },
      "spec": { "selector": "all()", "order": 0, "types": ["egress"], "applyOnForward": false },
    }],
  ],
  ["GlobalNetworkPolicy without applyOnForward", gnp("  order: 1.5\n"), [{
    "kind": "policy",
    "metadata": { "name": "x" },
    "spec": { "selector": "", "order": 1.5, "applyOnForward": false },
  }]],
  [
    "GlobalNetworkPolicy doNotTrack",
    gnp("  doNotTrack: true\n  applyOnForward: true\n  selector: all()\n  tier: default\n"),
    [{
      "kind": "policy",
      "metadata": { "name": "x" },
      "spec": { "selector": "all()", "doNotTrack": true, "applyOnForward": true },
    }],
  ],
  [
    "HostEndpoint empty lists",
    hep("  node: h1\n  expectedIPs: []\n  profiles: []\n  ports: []\n  interfaceName: eth0\n"),
    [{
      "kind": "hostEndpoint",
      "metadata": { "name": "h", "node": "h1" },
      "spec": { "interfaceName": "eth0" },
    }],
  ],
  ["Profile empty", prof("  {}\n"), [{
    "kind": "profile",
    "metadata": { "name": "p" },
    "spec": {},
  }]],
  [
    "Node orchRefs",
    node(
      "  orchRefs: [{orchestrator: k8s, nodeName: a}, {nodeName: b}, null]\n  bgp: {ipv6Address: 2001:db8::1}\n",
    ),
    [{
      "kind": "node",
      "metadata": { "name": "n" },
      "spec": {
        "orchRefs": [{ "orchestrator": "k8s", "nodeName": "a" }, {
          "orchestrator": "",
          "nodeName": "b",
        }, { "orchestrator": "" }],
        "bgp": { "ipv6Address": "2001:db8::1/128" },
      },
    }],
  ],
  ["HostEndpoint without node", hep("  interfaceName: eth0\n"), [{
    "kind": "hostEndpoint",
    "metadata": { "name": "h", "node": "" },
    "spec": { "interfaceName": "eth0" },
  }]],
  ["GlobalNetworkSet empty", gns("  {}\n", "  name: s\n  labels: {b: '1', a: ''}\n"), [{
    "kind": "networkSet",
    "metadata": { "name": "s", "labels": { "b": "1", "a": "" } },
    "spec": { "nets": [] },
  }]],
];

const V1 = "apiVersion: v1\n";
/** [what, input (v1 or v3 text)] whose v3 printing (YAML and JSON) is pinned. */
const PRINTS: [string, string][] = [
  [
    "GlobalNetworkPolicy, every field",
    gnp(
      `  tier: default
  order: 10.5
  selector: role == 'x'
  types: [Ingress, Egress]
  doNotTrack: true
  applyOnForward: true
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [198.18.0.0/24], notSelector: has(bad), ports: [http, 1]}
    destination: {ports: [80, "8000:8080"], notNets: [198.18.9.0/24], notPorts: [22], selector: a == 'b'}
  - action: Deny
    protocol: ICMP
    icmp: {type: 8, code: 0}
  - {action: Log, ipVersion: 6, notProtocol: 17, notICMP: {type: 128}}
  egress:
  - {action: Pass, protocol: 132}
`,
      "  name: web\n  annotations: {z: '1', a: '2'}\n",
    ),
  ],
  [
    "GlobalNetworkPolicy preDNAT, applyOnForward false",
    gnp("  preDNAT: true\n  applyOnForward: true\n  types: [Ingress]\n") + "---\n" +
    gnp("  applyOnForward: false\n  order: 0\n", "  name: y\n"),
  ],
  [
    "v1 policy (net, notNet, tags none)",
    `${V1}kind: policy
metadata: {name: v1p}
spec:
  selector: all()
  types: [ingress]
  ingress:
  - action: allow
    protocol: tcp
    source: {net: 198.18.0.0/24, notSelector: a == 'b'}
    destination: {notNet: 198.18.2.0/24, ports: [80]}
  egress:
  - {action: deny, protocol: udp, notProtocol: tcp}
`,
  ],
  [
    "HostEndpoint, every field",
    hep(
      `  node: h1
  interfaceName: eth0
  expectedIPs: [198.18.1.1, "2001:db8:1::1"]
  profiles: [p1, p2]
  ports:
  - {name: http, protocol: TCP, port: 8080}
  - {name: dns, protocol: udp, port: 53}
  - {name: sig, protocol: 132, port: 3868}
`,
      "  name: eth0-h1\n  labels: {role: web, env: prod}\n",
    ),
  ],
  ["HostEndpoint, only a name and an interface", hep("  interfaceName: eth1\n", "  name: bare\n")],
  [
    "Profile",
    prof(`  labelsToApply: {zone: a, b: c}
  egress: [{action: Allow}]
  ingress: [{action: Deny, protocol: UDP}]
`),
  ],
  ["Profile, empty", prof("  {}\n", "  name: empty\n")],
  [
    "Node",
    node(`  bgp: {asNumber: 64512, ipv4Address: 198.18.0.11/24, ipv6Address: 2001:db8::11/64}
  orchRefs: [{nodeName: a, orchestrator: k8s}, {orchestrator: os}]
`),
  ],
  [
    "Node, dotted AS and no spec",
    node("  bgp: {asNumber: '1.10', ipv4Address: 198.18.0.1}\n") + "---\n" +
    `${H}kind: Node\nmetadata: {name: m}\n`,
  ],
  [
    "GlobalNetworkSet",
    gns("  nets: [198.18.0.0/24, 2001:db8::/64]\n", "  name: mgmt\n  labels: {role: mgmt}\n"),
  ],
  [
    "FelixConfiguration",
    doc(
      "FelixConfiguration",
      "  name: node.h1\n",
      `  failsafeInboundHostPorts:
  - {protocol: TCP, port: 22, net: 198.18.0.0/24}
  - {protocol: UDP, port: 68}
  defaultEndpointToHostAction: Return
  reportingInterval: 1m30s
  ipv6Support: false
  iptablesMarkMask: 4278190080
`,
    ),
  ],
  [
    "a List of every kind",
    hep("  node: h1\n  interfaceName: eth0\n") + "---\n" + gnp("  selector: all()\n") + "---\n" +
    prof("  {}\n") + "---\n" + node("  {}\n") + "---\n" + gns("  nets: [198.18.0.0/24]\n"),
  ],
];

/** [what, v1 input] whose v3 printing is refused, the message pinned. */
const REFUSED_PRINTS: [string, string, string][] = [
  [
    "a profile with tags",
    `${V1}kind: profile\nmetadata: {name: t, tags: [a, b]}\nspec: {ingress: [{action: allow, source: {tag: x}}]}\n`,
    'NoV3FormError: Profile "t" has tags, which projectcalico.org/v3 does not have; print it with --api v1',
  ],
  [
    "a rule with a tag",
    `${V1}kind: policy\nmetadata: {name: p}\nspec:\n  egress: [{action: allow}, {action: deny, destination: {notTag: x}}]\n`,
    'NoV3FormError: GlobalNetworkPolicy "p" egress[1].destination matches a tag, which projectcalico.org/v3 does not have; print it with --api v1',
  ],
  [
    "a profile rule with a tag",
    `${V1}kind: profile\nmetadata: {name: q}\nspec:\n  ingress: [{action: allow, source: {tag: x}}]\n`,
    'NoV3FormError: Profile "q" ingress[0].source matches a tag, which projectcalico.org/v3 does not have; print it with --api v1',
  ],
  [
    "a workload endpoint",
    `${V1}kind: workloadEndpoint\nmetadata: {name: w, workload: wl, orchestrator: k8s, node: h1}\nspec: {interfaceName: cali1}\n`,
    'NoV3FormError: workloadEndpoint "w" has no projectcalico.org/v3 form (hostfence maps host endpoints, not workload endpoints); print it with --api v1',
  ],
];

/** What each of PRINTS prints, as YAML and as JSON. */
const PRINTED: Record<string, { yaml: string; json: string }> = {
  "GlobalNetworkPolicy, every field": {
    yaml: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  annotations:
    a: "2"
    z: "1"
  name: web
spec:
  applyOnForward: true
  doNotTrack: true
  egress:
  - action: Pass
    destination: {}
    protocol: 132
    source: {}
  ingress:
  - action: Allow
    destination:
      notNets:
      - 198.18.9.0/24
      notPorts:
      - 22
      ports:
      - 80
      - 8000:8080
      selector: a == 'b'
    protocol: TCP
    source:
      nets:
      - 198.18.0.0/24
      notSelector: has(bad)
      ports:
      - http
      - 1
  - action: Deny
    destination: {}
    icmp:
      code: 0
      type: 8
    protocol: ICMP
    source: {}
  - action: Log
    destination: {}
    ipVersion: 6
    notICMP:
      type: 128
    notProtocol: 17
    source: {}
  order: 10.5
  selector: role == 'x'
  types:
  - Ingress
  - Egress
`,
    json: `{
  "kind": "GlobalNetworkPolicy",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "web",
    "annotations": {
      "a": "2",
      "z": "1"
    }
  },
  "spec": {
    "order": 10.5,
    "ingress": [
      {
        "action": "Allow",
        "protocol": "TCP",
        "source": {
          "nets": [
            "198.18.0.0/24"
          ],
          "ports": [
            "http",
            1
          ],
          "notSelector": "has(bad)"
        },
        "destination": {
          "selector": "a == 'b'",
          "ports": [
            80,
            "8000:8080"
          ],
          "notNets": [
            "198.18.9.0/24"
          ],
          "notPorts": [
            22
          ]
        }
      },
      {
        "action": "Deny",
        "protocol": "ICMP",
        "icmp": {
          "type": 8,
          "code": 0
        },
        "source": {},
        "destination": {}
      },
      {
        "action": "Log",
        "ipVersion": 6,
        "notProtocol": 17,
        "notICMP": {
          "type": 128
        },
        "source": {},
        "destination": {}
      }
    ],
    "egress": [
      {
        "action": "Pass",
        "protocol": 132,
        "source": {},
        "destination": {}
      }
    ],
    "selector": "role == 'x'",
    "types": [
      "Ingress",
      "Egress"
    ],
    "doNotTrack": true,
    "applyOnForward": true
  }
}
`,
  },
  "GlobalNetworkPolicy preDNAT, applyOnForward false": {
    yaml: `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: x
  spec:
    applyOnForward: true
    preDNAT: true
    selector: ""
    types:
    - Ingress
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: y
  spec:
    order: 0
    selector: ""
kind: GlobalNetworkPolicyList
`,
    json: `{
  "kind": "GlobalNetworkPolicyList",
  "apiVersion": "projectcalico.org/v3",
  "items": [
    {
      "kind": "GlobalNetworkPolicy",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "x"
      },
      "spec": {
        "selector": "",
        "types": [
          "Ingress"
        ],
        "preDNAT": true,
        "applyOnForward": true
      }
    },
    {
      "kind": "GlobalNetworkPolicy",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "y"
      },
      "spec": {
        "order": 0,
        "selector": ""
      }
    }
  ]
}
`,
  },
  "v1 policy (net, notNet, tags none)": {
    yaml: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: v1p
spec:
  applyOnForward: true
  egress:
  - action: Deny
    destination: {}
    notProtocol: TCP
    protocol: UDP
    source: {}
  ingress:
  - action: Allow
    destination:
      notNets:
      - 198.18.2.0/24
      ports:
      - 80
    protocol: TCP
    source:
      nets:
      - 198.18.0.0/24
      notSelector: a == 'b'
  selector: all()
  types:
  - Ingress
`,
    json: `{
  "kind": "GlobalNetworkPolicy",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "v1p"
  },
  "spec": {
    "ingress": [
      {
        "action": "Allow",
        "protocol": "TCP",
        "source": {
          "nets": [
            "198.18.0.0/24"
          ],
          "notSelector": "a == 'b'"
        },
        "destination": {
          "ports": [
            80
          ],
          "notNets": [
            "198.18.2.0/24"
          ]
        }
      }
    ],
    "egress": [
      {
        "action": "Deny",
        "protocol": "UDP",
        "notProtocol": "TCP",
        "source": {},
        "destination": {}
      }
    ],
    "selector": "all()",
    "types": [
      "Ingress"
    ],
    "applyOnForward": true
  }
}
`,
  },
  "HostEndpoint, every field": {
    yaml: `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  labels:
    env: prod
    role: web
  name: eth0-h1
spec:
  expectedIPs:
  - 198.18.1.1
  - 2001:db8:1::1
  interfaceName: eth0
  node: h1
  ports:
  - name: http
    port: 8080
    protocol: TCP
  - name: dns
    port: 53
    protocol: UDP
  - name: sig
    port: 3868
    protocol: 132
  profiles:
  - p1
  - p2
`,
    json: `{
  "kind": "HostEndpoint",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "eth0-h1",
    "labels": {
      "env": "prod",
      "role": "web"
    }
  },
  "spec": {
    "node": "h1",
    "interfaceName": "eth0",
    "expectedIPs": [
      "198.18.1.1",
      "2001:db8:1::1"
    ],
    "profiles": [
      "p1",
      "p2"
    ],
    "ports": [
      {
        "name": "http",
        "protocol": "TCP",
        "port": 8080
      },
      {
        "name": "dns",
        "protocol": "UDP",
        "port": 53
      },
      {
        "name": "sig",
        "protocol": 132,
        "port": 3868
      }
    ]
  }
}
`,
  },
  "HostEndpoint, only a name and an interface": {
    yaml: `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: bare
spec:
  interfaceName: eth1
`,
    json: `{
  "kind": "HostEndpoint",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "bare"
  },
  "spec": {
    "interfaceName": "eth1"
  }
}
`,
  },
  "Profile": {
    yaml: `apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: p
spec:
  egress:
  - action: Allow
    destination: {}
    source: {}
  ingress:
  - action: Deny
    destination: {}
    protocol: UDP
    source: {}
  labelsToApply:
    b: c
    zone: a
`,
    json: `{
  "kind": "Profile",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "p"
  },
  "spec": {
    "ingress": [
      {
        "action": "Deny",
        "protocol": "UDP",
        "source": {},
        "destination": {}
      }
    ],
    "egress": [
      {
        "action": "Allow",
        "source": {},
        "destination": {}
      }
    ],
    "labelsToApply": {
      "b": "c",
      "zone": "a"
    }
  }
}
`,
  },
  "Profile, empty": {
    yaml: `apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: empty
spec: {}
`,
    json: `{
  "kind": "Profile",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "empty"
  },
  "spec": {}
}
`,
  },
  "Node": {
    yaml: `apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: n
spec:
  bgp:
    asNumber: 64512
    ipv4Address: 198.18.0.11/24
    ipv6Address: 2001:db8::11/64
  orchRefs:
  - nodeName: a
    orchestrator: k8s
  - orchestrator: os
`,
    json: `{
  "kind": "Node",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "n"
  },
  "spec": {
    "bgp": {
      "asNumber": 64512,
      "ipv4Address": "198.18.0.11/24",
      "ipv6Address": "2001:db8::11/64"
    },
    "orchRefs": [
      {
        "nodeName": "a",
        "orchestrator": "k8s"
      },
      {
        "orchestrator": "os"
      }
    ]
  }
}
`,
  },
  "Node, dotted AS and no spec": {
    yaml: `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata:
    name: n
  spec:
    bgp:
      asNumber: 65546
      ipv4Address: 198.18.0.1/32
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata:
    name: m
  spec: {}
kind: NodeList
`,
    json: `{
  "kind": "NodeList",
  "apiVersion": "projectcalico.org/v3",
  "items": [
    {
      "kind": "Node",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "n"
      },
      "spec": {
        "bgp": {
          "asNumber": 65546,
          "ipv4Address": "198.18.0.1/32"
        }
      }
    },
    {
      "kind": "Node",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "m"
      },
      "spec": {}
    }
  ]
}
`,
  },
  "GlobalNetworkSet": {
    yaml: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  labels:
    role: mgmt
  name: mgmt
spec:
  nets:
  - 198.18.0.0/24
  - 2001:db8::/64
`,
    json: `{
  "kind": "GlobalNetworkSet",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "mgmt",
    "labels": {
      "role": "mgmt"
    }
  },
  "spec": {
    "nets": [
      "198.18.0.0/24",
      "2001:db8::/64"
    ]
  }
}
`,
  },
  "FelixConfiguration": {
    yaml: `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: node.h1
spec:
  defaultEndpointToHostAction: Return
  failsafeInboundHostPorts:
  - net: 198.18.0.0/24
    port: 22
    protocol: TCP
  - port: 68
    protocol: UDP
  iptablesMarkMask: 4278190080
  ipv6Support: false
  reportingInterval: 1m30s
`,
    json: `{
  "kind": "FelixConfiguration",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "node.h1"
  },
  "spec": {
    "iptablesMarkMask": 4278190080,
    "ipv6Support": false,
    "defaultEndpointToHostAction": "Return",
    "failsafeInboundHostPorts": [
      {
        "protocol": "TCP",
        "port": 22,
        "net": "198.18.0.0/24"
      },
      {
        "protocol": "UDP",
        "port": 68
      }
    ],
    "reportingInterval": "1m30s"
  }
}
`,
  },
  "a List of every kind": {
    yaml: `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: HostEndpoint
  metadata:
    name: h
  spec:
    interfaceName: eth0
    node: h1
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: x
  spec:
    selector: all()
- apiVersion: projectcalico.org/v3
  kind: Profile
  metadata:
    name: p
  spec: {}
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata:
    name: n
  spec: {}
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkSet
  metadata:
    name: s
  spec:
    nets:
    - 198.18.0.0/24
kind: List
`,
    json: `{
  "kind": "List",
  "apiVersion": "projectcalico.org/v3",
  "items": [
    {
      "kind": "HostEndpoint",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "h"
      },
      "spec": {
        "node": "h1",
        "interfaceName": "eth0"
      }
    },
    {
      "kind": "GlobalNetworkPolicy",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "x"
      },
      "spec": {
        "selector": "all()"
      }
    },
    {
      "kind": "Profile",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "p"
      },
      "spec": {}
    },
    {
      "kind": "Node",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "n"
      },
      "spec": {}
    },
    {
      "kind": "GlobalNetworkSet",
      "apiVersion": "projectcalico.org/v3",
      "metadata": {
        "name": "s"
      },
      "spec": {
        "nets": [
          "198.18.0.0/24"
        ]
      }
    }
  ]
}
`,
  },
};

Deno.test("v3 decode errors: the exact text, kind by kind", async (t) => {
  for (const [what, text, want] of ERRORS) {
    await t.step(what, () => assert.equal(fails(text), want));
  }
});

Deno.test("v3 decoding: the model of edge cases", async (t) => {
  for (const [what, text, want] of MODELS) {
    await t.step(what, () => assert.deepEqual(parse(text), want));
  }
});

Deno.test("v3 printing: the exact YAML and JSON, kind by kind", async (t) => {
  for (const [what, text] of PRINTS) {
    await t.step(what, () => {
      const resources = parse(text, "in.yaml");
      assert.equal(formatV3Resources(resources, "yaml"), PRINTED[what]!.yaml);
      assert.equal(formatV3Resources(resources, "json"), PRINTED[what]!.json);
    });
  }
});

Deno.test("v3 printing: refusals, the exact text", async (t) => {
  for (const [what, text, want] of REFUSED_PRINTS) {
    await t.step(what, () => {
      const resources = parse(text, "in.yaml");
      assert.throws(() => formatV3Resources(resources, "yaml"), (e: Error) => {
        assert.ok(e instanceof NoV3FormError);
        assert.equal(`${e.name}: ${e.message}`, want);
        return true;
      });
    });
  }
});
