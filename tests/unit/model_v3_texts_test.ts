/**
 * Pins the exact text of v3 input and output, kind by kind, against golden files
 * (tests/golden/v3/; run with UPDATE_GOLDEN=1 to rewrite them, then review the diff like
 * code): every decode error in full (file:line:col, resource, field path, wording, the
 * accepted fields it lists), the model edge cases decode to, what each kind prints as YAML
 * and as JSON (whose key order is the v3 API structs'), and the print refusals. So a change
 * in how the v3 decoder and printer are built (from the field tables) is checked to change
 * nothing. model_v3_test.ts covers the behaviour.
 */
import assert from "node:assert/strict";
import { parseManifests, ResourceInputError } from "../../src/model/input.ts";
import { formatV3Resources, NoV3FormError } from "../../src/model/v3/output.ts";
import { formatResources } from "../../src/model/output.ts";
import type { Resource } from "../../src/model/resources.ts";

const GOLDEN = new URL("../golden/v3/", import.meta.url);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

const H = "apiVersion: projectcalico.org/v3\n";
const doc = (kind: string, meta: string, spec: string) =>
  `${H}kind: ${kind}\nmetadata:\n${meta}spec:\n${spec}`;
const hep = (spec: string, meta = "  name: h\n") => doc("HostEndpoint", meta, spec);
const gnp = (spec: string, meta = "  name: x\n") => doc("GlobalNetworkPolicy", meta, spec);
const prof = (spec: string, meta = "  name: p\n") => doc("Profile", meta, spec);
const node = (spec: string, meta = "  name: n\n") => doc("Node", meta, spec);
const gns = (spec: string, meta = "  name: s\n") => doc("GlobalNetworkSet", meta, spec);

/** Inputs whose decode error is pinned (golden errors.txt). */
const ERRORS: Readonly<Record<string, string>> = {
  "an unknown top-level field": `${H}kind: HostEndpoint\nmetadata: {name: h}\nstatus: {}\n`,
  "metadata not a map": `${H}kind: HostEndpoint\nmetadata: [h]\n`,
  "spec not a map": `${H}kind: HostEndpoint\nmetadata: {name: h}\nspec: [a]\n`,
  "HostEndpoint metadata field": hep("  node: h1\n", "  name: h\n  node: h1\n"),
  "HostEndpoint spec field": hep("  labels: {a: b}\n"),
  "HostEndpoint labels type": hep("  node: h1\n", "  name: h\n  labels: [a]\n"),
  "HostEndpoint label value type": hep("  node: h1\n", "  name: h\n  labels: {a: [b]}\n"),
  "HostEndpoint node type": hep("  node: [h1]\n"),
  "HostEndpoint interfaceName type": hep("  interfaceName: {a: 1}\n"),
  "HostEndpoint expectedIPs type": hep("  expectedIPs: 5\n"),
  "HostEndpoint expectedIPs entry": hep("  expectedIPs: [198.18.0.0/24]\n"),
  "HostEndpoint expectedIPs entry type": hep("  expectedIPs: [[a]]\n"),
  "HostEndpoint profiles type": hep("  profiles: p1\n"),
  "HostEndpoint profiles entry type": hep("  profiles: [{a: 1}]\n"),
  "HostEndpoint ports type": hep("  ports: 5\n"),
  "HostEndpoint ports entry type": hep("  ports: [5]\n"),
  "HostEndpoint port out of range": hep("  ports: [{name: a, protocol: TCP, port: 70000}]\n"),
  "HostEndpoint port type": hep("  ports: [{name: a, protocol: TCP, port: x}]\n"),
  "HostEndpoint port protocol": hep("  ports: [{name: a, protocol: GRE, port: 80}]\n"),
  "HostEndpoint port name type": hep("  ports: [{name: [a], protocol: TCP, port: 80}]\n"),
  "HostEndpoint port without fields (validation)": hep("  node: h1\n  ports: [{}]\n"),
  "HostEndpoint bad node (validation, v3 path)": hep("  node: Bad_Node!\n  interfaceName: eth0\n"),
  "HostEndpoint bad name (validation)": hep(
    "  node: h1\n  interfaceName: eth0\n",
    "  name: Bad_Name!\n",
  ),
  "HostEndpoint ports with missing fields and nulls (validation)": hep(
    "  node: h1\n  interfaceName: eth0\n  ports:\n  - {port: 80, name: a}\n  -\n  - {protocol: udp}\n",
    "  name: h\n  labels: {}\n",
  ),
  "GlobalNetworkPolicy metadata field": gnp("  selector: all()\n", "  name: x\n  labels: {a: b}\n"),
  "GlobalNetworkPolicy spec field": gnp("  selector: all()\n  annotations: {a: b}\n"),
  "GlobalNetworkPolicy annotations type": gnp(
    "  selector: all()\n",
    "  name: x\n  annotations: [a]\n",
  ),
  "GlobalNetworkPolicy order type": gnp("  order: first\n"),
  "GlobalNetworkPolicy selector type": gnp("  selector: [a]\n"),
  "GlobalNetworkPolicy types type": gnp("  types: Ingress\n"),
  "GlobalNetworkPolicy tier type": gnp("  tier: [a]\n"),
  "GlobalNetworkPolicy ingress type": gnp("  ingress: allow\n"),
  "GlobalNetworkPolicy rule type": gnp("  egress: [allow]\n"),
  "GlobalNetworkPolicy rule without action": gnp("  ingress: [{protocol: TCP}]\n"),
  "GlobalNetworkPolicy rule field": gnp("  ingress: [{action: Allow, foo: 1}]\n"),
  "GlobalNetworkPolicy rule tag": gnp("  ingress: [{action: Allow, source: {tag: a}}]\n"),
  "GlobalNetworkPolicy icmp field": gnp(
    "  ingress: [{action: Allow, protocol: ICMP, icmp: {kind: 8}}]\n",
  ),
  "GlobalNetworkPolicy doNotTrack type": gnp("  doNotTrack: yes\n"),
  "GlobalNetworkPolicy preDNAT type": gnp("  preDNAT: 1\n"),
  "GlobalNetworkPolicy applyOnForward type": gnp("  applyOnForward: 'true'\n"),
  "GlobalNetworkPolicy bad selector in a rule (validation)": gnp(
    "  ingress: [{action: Allow, source: {selector: 'a =='}}]\n",
  ),
  "Profile metadata field": prof("  ingress: [{action: Allow}]\n", "  name: p\n  labels: {a: b}\n"),
  "Profile metadata tags": prof("  ingress: [{action: Allow}]\n", "  name: p\n  tags: [a]\n"),
  "Profile spec field": prof("  labels: {a: b}\n"),
  "Profile labelsToApply type": prof("  labelsToApply: [a]\n"),
  "Profile egress type": prof("  egress: {action: Allow}\n"),
  "Node metadata field": node("  bgp: {asNumber: 1}\n", "  name: n\n  labels: {a: b}\n"),
  "Node spec field": node("  bgpx: {}\n"),
  "Node bgp type": node("  bgp: 5\n"),
  "Node asNumber": node("  bgp: {asNumber: x}\n"),
  "Node ipv4Address": node("  bgp: {ipv4Address: 198.18.0.300/24}\n"),
  "Node orchRefs type": node("  orchRefs: {a: 1}\n"),
  "Node orchRefs entry type": node("  orchRefs: [a]\n"),
  "Node orchRef field": node("  orchRefs: [{nodeName: a, foo: b}]\n"),
  "GlobalNetworkSet metadata field": gns(
    "  nets: [198.18.0.0/24]\n",
    "  name: s\n  annotations: {a: b}\n",
  ),
  "GlobalNetworkSet spec field": gns("  selector: all()\n"),
  "GlobalNetworkSet nets type": gns("  nets: 198.18.0.0/24\n"),
  "GlobalNetworkSet net": gns("  nets: [198.18.0.0/33]\n"),
  "FelixConfiguration metadata field": doc(
    "FelixConfiguration",
    "  name: default\n  labels: {a: b}\n",
    "  {}\n",
  ),
  "FelixConfiguration bool type": doc(
    "FelixConfiguration",
    "  name: default\n",
    "  ipv6Support: 1\n",
  ),
  "FelixConfiguration failsafe type": doc(
    "FelixConfiguration",
    "  name: default\n",
    "  failsafeInboundHostPorts: 22\n",
  ),
  "FelixConfiguration failsafe field": doc(
    "FelixConfiguration",
    "  name: default\n",
    "  failsafeInboundHostPorts: [{port: 22, proto: TCP}]\n",
  ),
  "HostEndpointList item":
    `${H}kind: HostEndpointList\nitems:\n- metadata: {name: a}\n  spec: {node: h1, foo: 1}\n`,
  "List metadata": `${H}kind: List\nmetadata: {name: a}\nitems: []\n`,
};

/** Inputs whose decoded model is pinned (golden models.txt, compared as values). */
const MODELS: Readonly<Record<string, string>> = {
  "GlobalNetworkPolicy flags": gnp(
    "  selector: all()\n  doNotTrack: false\n  preDNAT: false\n  applyOnForward: false\n  types: [Egress]\n  order: 0\n",
  ),
  "GlobalNetworkPolicy without applyOnForward": gnp("  order: 1.5\n"),
  "GlobalNetworkPolicy doNotTrack": gnp(
    "  doNotTrack: true\n  applyOnForward: true\n  selector: all()\n  tier: default\n",
  ),
  "HostEndpoint empty lists": hep(
    "  node: h1\n  expectedIPs: []\n  profiles: []\n  ports: []\n  interfaceName: eth0\n",
  ),
  "Profile empty": prof("  {}\n"),
  "Node orchRefs": node(
    "  orchRefs: [{orchestrator: k8s, nodeName: a}, {nodeName: b}, null]\n  bgp: {ipv6Address: 2001:db8::1}\n",
  ),
  "HostEndpoint without node": hep("  interfaceName: eth0\n"),
  "GlobalNetworkSet empty": gns("  {}\n", "  name: s\n  labels: {b: '1', a: ''}\n"),
};

const V1 = "apiVersion: v1\n";
/** Inputs (v1 or v3) whose v3 printing, YAML and JSON, is pinned (golden printed.txt). */
const PRINTS: Readonly<Record<string, string>> = {
  "GlobalNetworkPolicy, every field": gnp(
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
  "GlobalNetworkPolicy preDNAT, applyOnForward false":
    gnp("  preDNAT: true\n  applyOnForward: true\n  types: [Ingress]\n") + "---\n" +
    gnp("  applyOnForward: false\n  order: 0\n", "  name: y\n"),
  "v1 policy (net, notNet, tags none)": `${V1}kind: policy
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
  "HostEndpoint, every field": hep(
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
  "HostEndpoint, only a name and an interface": hep("  interfaceName: eth1\n", "  name: bare\n"),
  "Profile": prof(`  labelsToApply: {zone: a, b: c}
  egress: [{action: Allow}]
  ingress: [{action: Deny, protocol: UDP}]
`),
  "Profile, empty": prof("  {}\n", "  name: empty\n"),
  "Node": node(`  bgp: {asNumber: 64512, ipv4Address: 198.18.0.11/24, ipv6Address: 2001:db8::11/64}
  orchRefs: [{nodeName: a, orchestrator: k8s}, {orchestrator: os}]
`),
  "Node, dotted AS and no spec": node("  bgp: {asNumber: '1.10', ipv4Address: 198.18.0.1}\n") +
    "---\n" + `${H}kind: Node\nmetadata: {name: m}\n`,
  "GlobalNetworkSet": gns(
    "  nets: [198.18.0.0/24, 2001:db8::/64]\n",
    "  name: mgmt\n  labels: {role: mgmt}\n",
  ),
  "FelixConfiguration": doc(
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
  "a List of every kind": hep("  node: h1\n  interfaceName: eth0\n") + "---\n" +
    gnp("  selector: all()\n") + "---\n" + prof("  {}\n") + "---\n" + node("  {}\n") + "---\n" +
    gns("  nets: [198.18.0.0/24]\n"),
  "JSON escapes as Go's encoder": gnp(
    "  selector: a == '<&>'\n",
    "  name: x\n  annotations: {note: a<b>c & d}\n",
  ),
};

/** v1 inputs whose v3 printing is refused (golden refused.txt). */
const REFUSED_PRINTS: Readonly<Record<string, string>> = {
  "a profile with tags":
    `${V1}kind: profile\nmetadata: {name: t, tags: [a, b]}\nspec: {ingress: [{action: allow, source: {tag: x}}]}\n`,
  "a rule with a tag":
    `${V1}kind: policy\nmetadata: {name: p}\nspec:\n  egress: [{action: allow}, {action: deny, destination: {notTag: x}}]\n`,
  "a profile rule with a tag":
    `${V1}kind: profile\nmetadata: {name: q}\nspec:\n  ingress: [{action: allow, source: {tag: x}}]\n`,
  "a workload endpoint":
    `${V1}kind: workloadEndpoint\nmetadata: {name: w, workload: wl, orchestrator: k8s, node: h1}\nspec: {interfaceName: cali1}\n`,
};

function parse(text: string, source = "v3.yaml") {
  return parseManifests(text, source).map((l) => l.resource);
}

/** The text of each case: its message, model (JSON) or printed form. */
function errorText(text: string): string {
  try {
    parseManifests(text, "v3.yaml");
  } catch (e) {
    assert.ok(e instanceof ResourceInputError, `expected ResourceInputError, got ${e}`);
    return e.message + "\n";
  }
  throw new Error("expected parseManifests to fail");
}

function refusalText(text: string): string {
  const resources = parse(text, "in.yaml");
  try {
    formatV3Resources(resources, "yaml");
  } catch (e) {
    assert.ok(e instanceof NoV3FormError, `expected NoV3FormError, got ${e}`);
    return `${e.name}: ${e.message}\n`;
  }
  throw new Error("expected formatV3Resources to refuse");
}

/** A golden file: `# <case>` lines, each followed by that case's text. */
async function golden(file: string, texts: [string, string][]): Promise<Map<string, string>> {
  const url = new URL(file, GOLDEN);
  if (update) await Deno.writeTextFile(url, texts.map(([c, t]) => `# ${c}\n${t}`).join(""));
  const parts = (await Deno.readTextFile(url)).split(/^# (.*)\n/m).slice(1);
  const out = new Map<string, string>();
  for (let i = 0; i < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  assert.deepEqual([...out.keys()], texts.map(([c]) => c), `${file}: cases differ`);
  return out;
}

Deno.test("v3 decode errors: the exact text, kind by kind", async (t) => {
  const texts = Object.entries(ERRORS).map(([c, input]): [string, string] => [c, errorText(input)]);
  const want = await golden("errors.txt", texts);
  for (const [c, text] of texts) await t.step(c, () => assert.equal(text, want.get(c)));
});

Deno.test("v3 decoding: the model of edge cases", async (t) => {
  const models = Object.entries(MODELS).map(([c, input]): [string, unknown] => [c, parse(input)]);
  const want = await golden(
    "models.txt",
    models.map(([c, m]) => [c, JSON.stringify(m, null, 2) + "\n"]),
  );
  for (const [c, m] of models) {
    await t.step(c, () => assert.deepEqual(m, JSON.parse(want.get(c)!)));
  }
});

Deno.test("v3 printing: the exact YAML and JSON, kind by kind", async (t) => {
  const texts = Object.entries(PRINTS).flatMap(([c, input]): [string, string][] => {
    const resources = parse(input, "in.yaml");
    return (["yaml", "json"] as const).map((f) => [`${c} (${f})`, formatV3Resources(resources, f)]);
  });
  const want = await golden("printed.txt", texts);
  for (const [c, text] of texts) await t.step(c, () => assert.equal(text, want.get(c)));
});

Deno.test("JSON escapes <, >, &, U+2028 and U+2029 as Go's encoder, v1 and v3 alike", () => {
  const [p] = parse(
    gnp("  selector: a == '<&>'\n", '  name: x\n  annotations: {n: "\\u2028\\u2029"}\n'),
  );
  const escaped = (text: string) => text.split("\n").filter((l) => l.includes("\\u")).join("\n");
  const want = '"n": "\\u2028\\u2029"\n"selector": "a == \'\\u003c\\u0026\\u003e\'"';
  for (const text of [formatResources([p as Resource], "json"), formatV3Resources([p!], "json")]) {
    assert.equal(escaped(text).replaceAll(/^ +|,$/gm, ""), want);
  }
});

Deno.test("v3 printing: refusals, the exact text", async (t) => {
  const texts = Object.entries(REFUSED_PRINTS).map((
    [c, input],
  ): [string, string] => [c, refusalText(input)]);
  const want = await golden("refused.txt", texts);
  for (const [c, text] of texts) await t.step(c, () => assert.equal(text, want.get(c)));
});
