/**
 * Calico v3 manifests (issue 9 part 1): decoding every kind into the internal model, printing
 * back as v3 (applies back unchanged, byte-stable), mixed v1/v3 files and lists, the
 * FelixConfiguration value forms, and every refusal with its file:line:col and field.
 */
import assert from "node:assert/strict";
import { parseManifests, parseResources, ResourceInputError } from "../../src/model/input.ts";
import { formatResources } from "../../src/model/output.ts";
import type { ManifestResource } from "../../src/model/v3/types.ts";
import { formatV3Resources, NoV3FormError } from "../../src/model/v3/output.ts";
import { formatGoDuration, parseGoDuration } from "../../src/model/v3/duration.ts";

function parse(text: string, source = "v3.yaml"): ManifestResource[] {
  return parseManifests(text, source).map((l) => l.resource);
}

function fails(text: string, source = "v3.yaml"): string {
  try {
    parseManifests(text, source);
  } catch (e) {
    assert.ok(e instanceof ResourceInputError, `expected ResourceInputError, got ${e}`);
    return e.message;
  }
  throw new Error("expected parseManifests to fail");
}

const H = "apiVersion: projectcalico.org/v3\n";

const GNP = `${H}kind: GlobalNetworkPolicy
metadata:
  name: web
  annotations: {owner: ops}
spec:
  tier: default
  order: 100
  selector: role == 'webserver'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets: [198.18.0.0/24]
      notSelector: has(bad)
    destination:
      ports: [80, "8000:8080"]
  - action: Deny
    protocol: ICMP
    icmp: {type: 8, code: 0}
  - action: Log
    ipVersion: 6
    notProtocol: 17
    notICMP: {type: 128}
  - action: Pass
    protocol: 6
    destination:
      notNets: [2001:db8::/64]
      notPorts: [22]
  egress:
  - action: Allow
`;

const HEP = `${H}kind: HostEndpoint
metadata:
  name: eth0-h1
  labels: {role: webserver, environment: production}
spec:
  node: h1
  interfaceName: eth0
  expectedIPs: [198.18.1.1, "2001:db8:1::1"]
  profiles: [p1]
`;

const PROFILE = `${H}kind: Profile
metadata:
  name: p1
spec:
  labelsToApply: {zone: a}
  ingress:
  - action: Allow
    protocol: UDP
  egress:
  - action: Allow
`;

const NODE = `${H}kind: Node
metadata:
  name: h1
spec:
  bgp:
    asNumber: 64512
    ipv4Address: 198.18.0.11/24
    ipv6Address: 2001:db8::11/64
`;

const FELIX = `${H}kind: FelixConfiguration
metadata:
  name: default
spec:
  failsafeInboundHostPorts:
  - {protocol: TCP, port: 22}
  - {protocol: UDP, port: 68}
  failsafeOutboundHostPorts: []
  defaultEndpointToHostAction: Return
  logSeverityScreen: Warning
  reportingInterval: 1m30s
  iptablesRefreshInterval: 500ms
  ipv6Support: false
  iptablesMarkMask: 4278190080
  interfacePrefix: cali,tap
  policyAuditMode: true
`;

Deno.test("v3 kinds decode into the internal model", async (t) => {
  await t.step("GlobalNetworkPolicy -> policy (actions, protocols, types, applyOnForward)", () => {
    assert.deepEqual(parse(GNP), [{
      kind: "policy",
      metadata: { name: "web", annotations: { owner: "ops" } },
      spec: {
        selector: "role == 'webserver'",
        order: 100,
        types: ["ingress", "egress"],
        ingress: [
          {
            action: "allow",
            protocol: "tcp",
            source: { nets: ["198.18.0.0/24"], notSelector: "has(bad)" },
            destination: { ports: [80, { min: 8000, max: 8080 }] },
          },
          { action: "deny", protocol: "icmp", icmp: { type: 8, code: 0 } },
          { action: "log", ipVersion: 6, notProtocol: 17, notICMP: { type: 128 } },
          {
            action: "pass",
            protocol: 6,
            destination: { notNets: ["2001:db8::/64"], notPorts: [22] },
          },
        ],
        egress: [{ action: "allow" }],
        applyOnForward: false,
      },
    }]);
  });

  await t.step("preDNAT and doNotTrack with applyOnForward: true", () => {
    const text = `${H}kind: GlobalNetworkPolicy
metadata: {name: pd}
spec:
  preDNAT: true
  applyOnForward: true
  ingress: [{action: Deny}]
`;
    const [p] = parse(text);
    assert.equal(p!.kind, "policy");
    assert.deepEqual((p as { spec: unknown }).spec, {
      selector: "",
      ingress: [{ action: "deny" }],
      preDNAT: true,
      applyOnForward: true,
    });
  });

  await t.step("HostEndpoint -> hostEndpoint (spec.node is metadata.node)", () => {
    assert.deepEqual(parse(HEP), [{
      kind: "hostEndpoint",
      metadata: {
        name: "eth0-h1",
        node: "h1",
        labels: { role: "webserver", environment: "production" },
      },
      spec: {
        interfaceName: "eth0",
        expectedIPs: ["198.18.1.1", "2001:db8:1::1"],
        profiles: ["p1"],
      },
    }]);
  });

  await t.step("Profile -> profile (labelsToApply is the v1 profile's labels)", () => {
    assert.deepEqual(parse(PROFILE), [{
      kind: "profile",
      metadata: { name: "p1", labels: { zone: "a" } },
      spec: { ingress: [{ action: "allow", protocol: "udp" }], egress: [{ action: "allow" }] },
    }]);
  });

  await t.step("Node -> node (bgp addresses are CIDRs)", () => {
    assert.deepEqual(parse(NODE), [{
      kind: "node",
      metadata: { name: "h1" },
      spec: {
        bgp: {
          asNumber: 64512,
          ipv4Address: "198.18.0.11/24",
          ipv6Address: "2001:db8::11/64",
        },
      },
    }]);
  });

  await t.step("GlobalNetworkSet -> networkSet", () => {
    const text = `${H}kind: GlobalNetworkSet
metadata:
  name: mgmt
  labels: {role: mgmt}
spec:
  nets: [198.18.0.0/24, 2001:db8::/64]
`;
    assert.deepEqual(parse(text), [{
      kind: "networkSet",
      metadata: { name: "mgmt", labels: { role: "mgmt" } },
      spec: { nets: ["198.18.0.0/24", "2001:db8::/64"] },
    }]);
  });

  await t.step("FelixConfiguration -> Felix config key values", () => {
    assert.deepEqual(parse(FELIX), [{
      kind: "felixConfiguration",
      metadata: { name: "default" },
      spec: {
        values: {
          FailsafeInboundHostPorts: "tcp:22,udp:68",
          FailsafeOutboundHostPorts: "none",
          DefaultEndpointToHostAction: "RETURN",
          LogSeverityScreen: "WARNING",
          ReportingIntervalSecs: "90",
          NftablesRefreshInterval: "0.5",
          Ipv6Support: "false",
          IptablesMarkMask: "4278190080",
          InterfacePrefix: "cali,tap",
          PolicyAuditMode: "true",
        },
      },
    }]);
    const node = parse(`${H}kind: FelixConfiguration\nmetadata: {name: node.h1}\nspec: {}\n`);
    assert.deepEqual(node, [{
      kind: "felixConfiguration",
      metadata: { name: "node.h1" },
      spec: { values: {} },
    }]);
  });

  await t.step("informational metadata of calicoctl output is accepted", () => {
    const text = `${H}kind: Node
metadata:
  name: h1
  creationTimestamp: "2026-11-30T00:00:00Z"
  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
spec: {}
`;
    assert.deepEqual(parse(text), [{ kind: "node", metadata: { name: "h1" }, spec: {} }]);
  });
});

Deno.test("mixed v1 and v3 documents, v3 lists", async (t) => {
  await t.step("v1 and v3 in one file, in file order", () => {
    const v1 = `apiVersion: v1
kind: policy
metadata: {name: v1pol}
spec:
  selector: all()
  ingress: [{action: allow}]
`;
    const kinds = parse(`${v1}---\n${HEP}---\n- ${NODE.replaceAll("\n", "\n  ")}`).map((r) =>
      r.kind
    );
    assert.deepEqual(kinds, ["policy", "hostEndpoint", "node"]);
  });

  await t.step("<Kind>List and List", () => {
    const list = `${H}kind: HostEndpointList
metadata: {resourceVersion: "17"}
items:
- metadata: {name: a}
  spec: {node: h1, interfaceName: eth0}
- apiVersion: projectcalico.org/v3
  kind: HostEndpoint
  metadata: {name: b}
  spec: {node: h1, interfaceName: eth1}
`;
    assert.deepEqual(parse(list).map((r) => r.metadata.name), ["a", "b"]);
    const mixed = `${H}kind: List
items:
- ${HEP.replaceAll("\n", "\n  ")}
- ${PROFILE.replaceAll("\n", "\n  ")}
`;
    assert.deepEqual(parse(mixed).map((r) => r.kind), ["hostEndpoint", "profile"]);
    const m = fails(`${H}kind: HostEndpointList
items:
- ${PROFILE.replaceAll("\n", "\n  ")}
`);
    assert.match(
      m,
      /^v3\.yaml:4:3: items\[0\]: a HostEndpointList may only hold HostEndpoint resources/,
    );
  });

  await t.step("parseResources (model only) refuses a FelixConfiguration", () => {
    assert.throws(
      () => parseResources(FELIX, "f.yaml"),
      /: f\.yaml:1:1: FelixConfiguration "default" cannot be used here \(it is not a policy resource/,
    );
  });
});

Deno.test("v3 printing applies back unchanged and is byte-stable", async (t) => {
  for (const [name, text] of Object.entries({ GNP, HEP, PROFILE, NODE, FELIX })) {
    await t.step(name, () => {
      for (const format of ["yaml", "json"] as const) {
        const once = formatV3Resources(parse(text), format);
        const back = parse(once, "printed");
        assert.deepEqual(back, parse(text));
        assert.equal(formatV3Resources(back, format), once);
      }
    });
  }

  await t.step("several resources print as a list that applies back", () => {
    const all = parse([GNP, HEP, PROFILE, NODE, FELIX].join("---\n"));
    const printed = formatV3Resources(all, "yaml");
    assert.match(printed, /^apiVersion: projectcalico.org\/v3\nitems:/);
    assert.match(printed, /\nkind: List\n$/);
    assert.deepEqual(parse(printed), all);
    const heps = formatV3Resources([], "yaml", "HostEndpoint");
    assert.equal(heps, "apiVersion: projectcalico.org/v3\nitems: []\nkind: HostEndpointList\n");
  });

  await t.step("a v1 policy prints with applyOnForward: true (what v1 does on forward)", () => {
    const [p] = parseResources(
      "apiVersion: v1\nkind: policy\nmetadata: {name: a}\nspec: {selector: all()}\n",
      "v1.yaml",
    ).map((l) => l.resource);
    const printed = formatV3Resources([p!], "yaml");
    assert.match(printed, /applyOnForward: true/);
    const [back] = parse(printed);
    assert.deepEqual(back, { ...p!, spec: { ...p!.spec, applyOnForward: true } });
  });

  await t.step("v1 forms v3 cannot say are refused, naming the way out", () => {
    const tags = parseResources(
      "apiVersion: v1\nkind: profile\nmetadata: {name: t, tags: [a]}\nspec: {}\n",
      "v1.yaml",
    ).map((l) => l.resource);
    assert.throws(() => formatV3Resources(tags, "yaml"), NoV3FormError);
    assert.throws(() => formatV3Resources(tags, "yaml"), /has tags.*--api v1/);
    const net = parseResources(
      "apiVersion: v1\nkind: policy\nmetadata: {name: n}\nspec:\n  ingress: [{action: allow, source: {net: 198.18.0.0/24}}]\n",
      "v1.yaml",
    ).map((l) => l.resource);
    assert.match(formatV3Resources(net, "yaml"), /nets:\n\s*- 198.18.0.0\/24/);
  });

  await t.step("v1 output of a v3-written policy is v1's unchanged form", () => {
    const printed = formatResources(parseResources(GNP, "x").map((l) => l.resource), "yaml");
    assert.doesNotMatch(printed, /applyOnForward/);
    assert.match(printed, /action: pass/);
  });
});

Deno.test("refusals name file:line:col, the resource and the field", async (t) => {
  const gnp = (spec: string) =>
    `${H}kind: GlobalNetworkPolicy\nmetadata:\n  name: x\nspec:\n${spec}`;
  const cases: [string, string, RegExp][] = [
    [
      "http",
      gnp("  ingress:\n  - action: Allow\n    http: {methods: [GET]}\n"),
      /^v3\.yaml:8:5: GlobalNetworkPolicy "x" spec\.ingress\[0\]\.http: hostfence cannot honour field http/,
    ],
    [
      "serviceAccounts",
      gnp("  egress:\n  - action: Allow\n    destination:\n      serviceAccounts: {names: [a]}\n"),
      /^v3\.yaml:9:7: .*spec\.egress\[0\]\.destination\.serviceAccounts: hostfence cannot honour/,
    ],
    [
      "namespaceSelector (rule)",
      gnp("  ingress:\n  - action: Allow\n    source: {namespaceSelector: all()}\n"),
      /^v3\.yaml:8:14: .*source\.namespaceSelector: hostfence cannot honour/,
    ],
    [
      "namespaceSelector (policy)",
      gnp("  namespaceSelector: all()\n"),
      /^v3\.yaml:6:3: .*spec\.namespaceSelector: hostfence cannot honour/,
    ],
    [
      "serviceAccountSelector",
      gnp("  serviceAccountSelector: all()\n"),
      /^v3\.yaml:6:3: .*spec\.serviceAccountSelector: hostfence cannot honour/,
    ],
    [
      "an unknown field",
      gnp("  selector: all()\n  frobnicate: 1\n"),
      /^v3\.yaml:7:3: .*spec\.frobnicate: field in document is not recognized/,
    ],
    [
      "another tier",
      gnp("  tier: security\n"),
      /^v3\.yaml:6:9: .*spec\.tier: hostfence has only the default tier, not "security"/,
    ],
    [
      "a named port",
      gnp("  ingress:\n  - action: Allow\n    protocol: TCP\n    destination: {ports: [http]}\n"),
      /^v3\.yaml:9:27: .*destination\.ports\[0\]: named port "http": named ports are not supported yet/,
    ],
    [
      "a lower-case action",
      gnp("  ingress:\n  - action: allow\n"),
      /^v3\.yaml:7:13: .*spec\.ingress\[0\]\.action: invalid action "allow" \(expected Allow, Deny, Pass, Log\)/,
    ],
    [
      "a bad protocol",
      gnp("  ingress:\n  - action: Allow\n    protocol: GRE\n"),
      /^v3\.yaml:8:15: .*protocol: invalid protocol "GRE"/,
    ],
    [
      "a bad type",
      gnp("  types: [ingress]\n"),
      /^v3\.yaml:6:11: .*spec\.types\[0\]: invalid policy type "ingress" \(expected Ingress, Egress\)/,
    ],
    [
      "preDNAT without applyOnForward",
      gnp("  preDNAT: true\n  ingress: [{action: Deny}]\n"),
      /^v3\.yaml:6:12: .*spec\.applyOnForward: applyOnForward must be true if either preDNAT or doNotTrack is true/,
    ],
    [
      "doNotTrack with applyOnForward: false",
      gnp("  doNotTrack: true\n  applyOnForward: false\n"),
      /^v3\.yaml:6:15: .*spec\.applyOnForward: applyOnForward must be true/,
    ],
    [
      "a bad selector (v1 validation, v3 path)",
      gnp('  selector: "a =="\n'),
      /^v3\.yaml:6:13: GlobalNetworkPolicy "x" spec\.selector: error with field Selector/,
    ],
    [
      "metadata.namespace",
      `${H}kind: HostEndpoint\nmetadata:\n  name: h\n  namespace: default\nspec: {node: h1, interfaceName: eth0}\n`,
      /^v3\.yaml:5:3: HostEndpoint "h" metadata\.namespace: hostfence cannot honour field namespace/,
    ],
    [
      "resourceVersion",
      `${H}kind: Node\nmetadata:\n  name: h\n  resourceVersion: "5"\n`,
      /^v3\.yaml:5:3: Node "h" metadata\.resourceVersion: hostfence cannot honour/,
    ],
    [
      "HostEndpoint ports (named ports)",
      `${H}kind: HostEndpoint\nmetadata: {name: h}\nspec:\n  node: h1\n  ports: [{name: web, port: 80, protocol: TCP}]\n`,
      /^v3\.yaml:6:10: HostEndpoint "h" spec\.ports: hostfence cannot honour field ports: named ports are not supported yet/,
    ],
    [
      "a bad label in labelsToApply (v1 validation, v3 path)",
      `${H}kind: Profile\nmetadata: {name: p}\nspec:\n  labelsToApply: {"bad key!": x}\n`,
      /^v3\.yaml:5:31: Profile "p" spec\.labelsToApply\.bad key!: error with field Labels/,
    ],
    [
      "Node BGP fields hostfence has no use for",
      `${H}kind: Node\nmetadata: {name: n}\nspec:\n  bgp: {ipv4IPIPTunnelAddr: 10.0.0.1}\n`,
      /^v3\.yaml:5:9: Node "n" spec\.bgp\.ipv4IPIPTunnelAddr: field in document is not recognized/,
    ],
    [
      "a FelixConfiguration field hostfence does not have",
      `${H}kind: FelixConfiguration\nmetadata: {name: default}\nspec:\n  bpfEnabled: true\n`,
      /^v3\.yaml:5:3: FelixConfiguration "default" spec\.bpfEnabled: field in document is not recognized/,
    ],
    [
      "a FelixConfiguration name hostfence does not read",
      `${H}kind: FelixConfiguration\nmetadata: {name: other}\nspec: {}\n`,
      /^v3\.yaml:1:1: FelixConfiguration "other" metadata\.name: hostfence reads FelixConfiguration 'default'/,
    ],
    [
      "a failsafe entry with a net",
      `${H}kind: FelixConfiguration\nmetadata: {name: default}\nspec:\n  failsafeInboundHostPorts:\n  - {protocol: TCP, port: 22, net: 198.18.0.0/24}\n`,
      /^v3\.yaml:6:36: .*failsafeInboundHostPorts\[0\]\.net: failsafe entries with a net are not supported yet/,
    ],
    [
      "a bad FelixConfiguration value",
      `${H}kind: FelixConfiguration\nmetadata: {name: default}\nspec:\n  defaultEndpointToHostAction: DROP\n`,
      /^v3\.yaml:5:32: .*defaultEndpointToHostAction: invalid value: must be one of Drop, Accept, Return/,
    ],
    [
      "a bad duration",
      `${H}kind: FelixConfiguration\nmetadata: {name: default}\nspec:\n  reportingInterval: 30\n`,
      /^v3\.yaml:5:22: .*reportingInterval: invalid value: must be a duration/,
    ],
    [
      "a v3 kind with apiVersion v1",
      `apiVersion: v1\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\n`,
      /^v3\.yaml:1:1: Unknown resource type \(GlobalNetworkPolicy\) and\/or version \(v1\) \(GlobalNetworkPolicy is a projectcalico.org\/v3 kind: write apiVersion: projectcalico.org\/v3\)$/,
    ],
    [
      "an unknown v3 kind",
      `${H}kind: NetworkPolicy\nmetadata: {name: x}\n`,
      /^v3\.yaml:1:1: Unknown resource type \(NetworkPolicy\) and\/or version \(projectcalico.org\/v3\) \(hostfence reads these projectcalico.org\/v3 kinds: HostEndpoint, GlobalNetworkPolicy/,
    ],
  ];
  for (const [what, text, want] of cases) {
    await t.step(what, () => assert.match(fails(text), want));
  }
});

Deno.test("Go durations", () => {
  for (const [text, secs] of [["90s", 90], ["1m30s", 90], ["1h", 3600], ["500ms", 0.5], ["0", 0]]) {
    assert.equal(parseGoDuration(text as string), secs, String(text));
  }
  for (const bad of ["", "30", "1x", "s", "-1s"]) {
    assert.equal(parseGoDuration(bad), undefined, bad);
  }
  assert.deepEqual([0, 0.5, 1.5, 90, 3600, 3661].map(formatGoDuration), [
    "0s",
    "500ms",
    "1.5s",
    "1m30s",
    "1h0m0s",
    "1h1m1s",
  ]);
});

Deno.test("the README's v3 section names every FelixConfiguration field and its parameter", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf("## Calico v3 manifests");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const { FELIX_FIELDS } = await import("../../src/model/v3/felix_config.ts");
  for (const [field, f] of Object.entries(FELIX_FIELDS)) {
    assert.ok(section.includes(`\`${field}\``), `README lacks ${field}`);
    assert.ok(section.includes(f.param), `README lacks ${f.param}`);
  }
});
