/**
 * Decoding calicoctl v1 resource files: every kind with every field, the seed document's
 * examples verbatim (placeholders filled in), the file shapes calicoctl accepted, strict
 * decoding errors with their line and column, and the decode-time port/protocol rules.
 */
import assert from "node:assert/strict";
import { parseResources, ResourceInputError } from "../../src/model/input.ts";
import type { Resource } from "../../src/model/resources.ts";
import {
  seedFailsafePolicy,
  seedHostEndpointByIp,
  seedHostEndpointByName,
  seedNode,
  seedWebserverPolicy,
} from "../../netlab/guide_examples.ts";

function parse(text: string, source = "test.yaml"): Resource[] {
  return parseResources(text, source).map((l) => l.resource);
}

/** Asserts that parsing fails and returns the error for further checks. */
function fails(text: string, source = "test.yaml"): ResourceInputError {
  try {
    parseResources(text, source);
  } catch (e) {
    assert.ok(e instanceof ResourceInputError, `expected ResourceInputError, got ${e}`);
    return e;
  }
  throw new Error("expected parseResources to fail");
}

Deno.test("seed examples decode verbatim once placeholders are filled", async (t) => {
  await t.step("node list (initialising the datastore)", () => {
    const text = seedNode("host1");
    assert.deepEqual(parse(text), [{ kind: "node", metadata: { name: "host1" }, spec: {} }]);
  });

  await t.step("failsafe policy", () => {
    const text = seedFailsafePolicy({
      managementCidr: "10.1.0.0/16",
      etcdIp: "10.0.0.5",
      etcdPorts: [2379, 2380],
    });
    assert.deepEqual(parse(text), [{
      kind: "policy",
      metadata: { name: "failsafe" },
      spec: {
        selector: "all()",
        order: 0,
        ingress: [
          {
            action: "allow",
            protocol: "tcp",
            source: { net: "10.1.0.0/16" },
            destination: { ports: [22] },
          },
          { action: "allow", protocol: "icmp" },
        ],
        egress: [
          {
            action: "allow",
            protocol: "tcp",
            destination: { net: "10.0.0.5/32", ports: [2379, 2380] },
          },
          { action: "allow", protocol: "udp", destination: { ports: [67] } },
        ],
      },
    }]);
  });

  await t.step("host endpoint by interface name and expected IP", () => {
    const text = seedHostEndpointByName({
      name: "eth0-web1",
      node: "web1",
      interfaceName: "eth0",
      profiles: ["prof1", "prof2"],
      expectedIPs: ["10.0.0.1"],
    });
    assert.deepEqual(parse(text), [{
      kind: "hostEndpoint",
      metadata: {
        name: "eth0-web1",
        node: "web1",
        labels: { role: "webserver", environment: "production" },
      },
      spec: { interfaceName: "eth0", profiles: ["prof1", "prof2"], expectedIPs: ["10.0.0.1"] },
    }]);
  });

  await t.step("host endpoint by expected IP only", () => {
    const text = seedHostEndpointByIp({
      name: "web1-ip",
      node: "web1",
      profiles: ["prof1"],
      expectedIPs: ["10.0.0.1"],
    });
    assert.deepEqual(parse(text), [{
      kind: "hostEndpoint",
      metadata: {
        name: "web1-ip",
        node: "web1",
        labels: { role: "webserver", environment: "production" },
      },
      spec: { profiles: ["prof1"], expectedIPs: ["10.0.0.1"] },
    }]);
  });

  await t.step("webserver policy with an escaped selector", () => {
    const text = seedWebserverPolicy();
    assert.deepEqual(parse(text), [{
      kind: "policy",
      metadata: { name: "webserver" },
      spec: {
        selector: 'role=="webserver"',
        order: 100,
        ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }],
        egress: [{ action: "allow" }],
      },
    }]);
  });
});

Deno.test("every field of every kind decodes", async (t) => {
  await t.step("node with BGP and orchestrator references", () => {
    const text = `apiVersion: v1
kind: node
metadata:
  name: host1
spec:
  bgp:
    asNumber: 64512
    ipv4Address: 10.0.0.1/24
    ipv6Address: FD00::0001/64
  orchRefs:
  - nodeName: k8s-node-1
    orchestrator: k8s
  - orchestrator: mesos
`;
    assert.deepEqual(parse(text), [{
      kind: "node",
      metadata: { name: "host1" },
      spec: {
        bgp: { asNumber: 64512, ipv4Address: "10.0.0.1/24", ipv6Address: "fd00::1/64" },
        orchRefs: [{ nodeName: "k8s-node-1", orchestrator: "k8s" }, { orchestrator: "mesos" }],
      },
    }]);
  });

  await t.step("node AS numbers in dotted form", () => {
    const [a] = parse(`{apiVersion: v1, kind: node, metadata: {name: n},
      spec: {bgp: {asNumber: "1.10", ipv4Address: 10.0.0.1/32}}}`);
    assert.equal(a?.kind === "node" && a.spec.bgp?.asNumber, 65546);
    const [b] = parse(`{apiVersion: v1, kind: node, metadata: {name: n},
      spec: {bgp: {asNumber: 1.10, ipv4Address: 10.0.0.1/32}}}`);
    assert.equal(b?.kind === "node" && b.spec.bgp?.asNumber, 65546);
  });

  await t.step("host endpoint with IPv6 expected IPs in canonical form", () => {
    const [r] = parse(`apiVersion: v1
kind: hostEndpoint
metadata: {name: ns/eth0, node: h1, labels: {a.b/c: ""}}
spec: {interfaceName: eth0.100, expectedIPs: [10.0.0.1, "FD00:0:0::1"], profiles: [a/b]}
`);
    assert.deepEqual(r, {
      kind: "hostEndpoint",
      metadata: { name: "ns/eth0", node: "h1", labels: { "a.b/c": "" } },
      spec: { interfaceName: "eth0.100", expectedIPs: ["10.0.0.1", "fd00::1"], profiles: ["a/b"] },
    });
  });

  await t.step("policy with every spec field and every rule field", () => {
    const text = `apiVersion: v1
kind: policy
metadata:
  name: everything
  annotations: {owner: ops, ticket: "42"}
spec:
  order: -1.5
  selector: role == 'bastion'
  types: [ingress]
  doNotTrack: true
  ingress:
  - action: deny
    ipVersion: 4
    protocol: tcp
    notProtocol: "17"
    icmp: {type: 8, code: 0}
    notICMP: {type: 3}
    source:
      tag: db
      notTag: x
      net: 10.0.0.5/24
      notNet: 10.1.0.0/16
      selector: role == 'db'
      notSelector: has(quarantine)
      ports: [22, "8000:8080", "443", "5:5"]
      notPorts: [8008]
  - action: log
    destination:
      nets: [10.0.0.0/8, 192.168.1.1]
      notNets: [10.1.0.0/16]
  - action: pass
    protocol: 132
  egress: []
`;
    assert.deepEqual(parse(text), [{
      kind: "policy",
      metadata: { name: "everything", annotations: { owner: "ops", ticket: "42" } },
      spec: {
        order: -1.5,
        selector: "role == 'bastion'",
        types: ["ingress"],
        doNotTrack: true,
        ingress: [
          {
            action: "deny",
            ipVersion: 4,
            protocol: "tcp",
            notProtocol: 17,
            icmp: { type: 8, code: 0 },
            notICMP: { type: 3 },
            source: {
              tag: "db",
              notTag: "x",
              net: "10.0.0.5/24",
              notNet: "10.1.0.0/16",
              selector: "role == 'db'",
              notSelector: "has(quarantine)",
              ports: [22, { min: 8000, max: 8080 }, 443, 5],
              notPorts: [8008],
            },
          },
          {
            action: "log",
            destination: {
              nets: ["10.0.0.0/8", "192.168.1.1/32"],
              notNets: ["10.1.0.0/16"],
            },
          },
          { action: "pass", protocol: 132 },
        ],
      },
    }]);
  });

  await t.step("pre-DNAT policy and IPv6 rule", () => {
    const [r] = parse(`apiVersion: v1
kind: policy
metadata: {name: pre}
spec:
  preDNAT: true
  doNotTrack: false
  selector: ""
  ingress:
  - action: allow
    ipVersion: 6
    protocol: icmpv6
    icmp: {type: 128}
    source: {nets: ["2001:db8::/32"]}
`);
    assert.deepEqual(r, {
      kind: "policy",
      metadata: { name: "pre" },
      spec: {
        preDNAT: true,
        selector: "",
        ingress: [{
          action: "allow",
          ipVersion: 6,
          protocol: "icmpv6",
          icmp: { type: 128 },
          source: { nets: ["2001:db8::/32"] },
        }],
      },
    });
  });

  await t.step("profile with tags, labels and rules", () => {
    const [r] = parse(`apiVersion: v1
kind: profile
metadata:
  name: prof1
  labels: {zone: a}
  tags: [db, web]
spec:
  ingress:
  - action: allow
    source: {tag: web}
  egress:
  - action: allow
`);
    assert.deepEqual(r, {
      kind: "profile",
      metadata: { name: "prof1", labels: { zone: "a" }, tags: ["db", "web"] },
      spec: {
        ingress: [{ action: "allow", source: { tag: "web" } }],
        egress: [{ action: "allow" }],
      },
    });
  });

  await t.step("workload endpoint with every field", () => {
    const [r] = parse(`apiVersion: v1
kind: workloadEndpoint
metadata:
  name: eth0
  workload: wl1
  orchestrator: k8s
  node: h1
  activeInstanceID: abc123
  labels: {app: db}
spec:
  ipNetworks: [10.65.0.2/32, "fd00::2"]
  ipNATs:
  - internalIP: 10.65.0.2
    externalIP: 172.16.0.2
  ipv4Gateway: 10.65.0.1
  ipv6Gateway: fd00::1
  profiles: [p1]
  interfaceName: cali123
  mac: EE:EE:EE:EE:EE:01
`);
    assert.deepEqual(r, {
      kind: "workloadEndpoint",
      metadata: {
        name: "eth0",
        workload: "wl1",
        orchestrator: "k8s",
        node: "h1",
        activeInstanceID: "abc123",
        labels: { app: "db" },
      },
      spec: {
        ipNetworks: ["10.65.0.2/32", "fd00::2/128"],
        ipNATs: [{ internalIP: "10.65.0.2", externalIP: "172.16.0.2" }],
        ipv4Gateway: "10.65.0.1",
        ipv6Gateway: "fd00::1",
        profiles: ["p1"],
        interfaceName: "cali123",
        mac: "ee:ee:ee:ee:ee:01",
      },
    });
  });
});

Deno.test("file shapes calicoctl accepted", async (t) => {
  const hep = (name: string) =>
    `{apiVersion: v1, kind: hostEndpoint, metadata: {name: ${name}, node: h1}, spec: {interfaceName: eth0}}`;

  await t.step("a single object", () => {
    assert.deepEqual(parse(hep("a")).map((r) => r.metadata.name), ["a"]);
  });

  await t.step("a sequence of mixed kinds keeps file order", () => {
    const text = `- ${hep("a")}
- apiVersion: v1
  kind: profile
  metadata: {name: p}
- ${hep("b")}
`;
    assert.deepEqual(parse(text).map((r) => `${r.kind}/${r.metadata.name}`), [
      "hostEndpoint/a",
      "profile/p",
      "hostEndpoint/b",
    ]);
  });

  await t.step("a ...List kind is expanded, items may omit kind and apiVersion", () => {
    const text = `apiVersion: v1
kind: hostEndpointList
metadata: {}
items:
- metadata: {name: a, node: h1}
  spec: {interfaceName: eth0}
- ${hep("b")}
`;
    assert.deepEqual(parse(text).map((r) => r.metadata.name), ["a", "b"]);
  });

  await t.step("a list item of another kind is refused", () => {
    const e = fails(`apiVersion: v1
kind: policyList
items:
- ${hep("a")}
`);
    assert.match(e.message, /^test\.yaml:4:3: .*policyList may only hold policy resources/);
  });

  await t.step("several --- documents, empty ones skipped", () => {
    const text = `---
${hep("a")}
---
# only a comment
---
- ${hep("b")}
- ${hep("c")}
...
`;
    assert.deepEqual(parse(text).map((r) => r.metadata.name), ["a", "b", "c"]);
  });

  await t.step("an empty file has no resources", () => {
    assert.deepEqual(parse(""), []);
    assert.deepEqual(parse("# nothing\n"), []);
  });

  await t.step("JSON input: one object and an array", () => {
    const one = JSON.stringify({
      apiVersion: "v1",
      kind: "policy",
      metadata: { name: "p" },
      spec: {
        selector: "",
        ingress: [{ action: "allow", protocol: 6, destination: { ports: ["1:2"] } }],
      },
    });
    assert.deepEqual(parse(one, "p.json"), [{
      kind: "policy",
      metadata: { name: "p" },
      spec: {
        selector: "",
        ingress: [{ action: "allow", protocol: 6, destination: { ports: [{ min: 1, max: 2 }] } }],
      },
    }]);
    const arr = `[\n\t{"apiVersion": "v1", "kind": "node", "metadata": {"name": "a"}},\n` +
      `\t{"apiVersion": "v1", "kind": "node", "metadata": {"name": "b"}, "spec": {}}\n]\n`;
    assert.deepEqual(parse(arr, "n.json").map((r) => r.metadata.name), ["a", "b"]);
  });

  await t.step("positions point at each resource", () => {
    const located = parseResources(`- ${hep("a")}\n- ${hep("b")}\n`, "f.yaml");
    assert.deepEqual(located.map((l) => l.position), [
      { source: "f.yaml", line: 1, column: 3 },
      { source: "f.yaml", line: 2, column: 3 },
    ]);
  });

  await t.step("missing identifiers are left for the datastore to report", () => {
    const [r] = parse(`apiVersion: v1
kind: hostEndpoint
metadata: {name: a}
spec: {interfaceName: eth0}
`);
    assert.deepEqual(r?.metadata, { name: "a", node: "" });
    const [p] = parse(`{apiVersion: v1, kind: policy, spec: {selector: ""}}`);
    assert.equal(p?.metadata.name, "");
  });

  await t.step("numbers and booleans where a string belongs are taken as written", () => {
    const [r] = parse(`apiVersion: v1
kind: hostEndpoint
metadata: {name: 0123, node: h1, labels: {version: 1.10, enabled: true}}
spec: {interfaceName: eth0}
`);
    assert.deepEqual(r?.metadata, {
      name: "0123",
      node: "h1",
      labels: { version: "1.10", enabled: "true" },
    });
  });

  await t.step("YAML anchors and aliases are followed", () => {
    const text = `- apiVersion: v1
  kind: profile
  metadata: {name: a, labels: &l {zone: a}}
- apiVersion: v1
  kind: profile
  metadata: {name: b, labels: *l}
`;
    assert.deepEqual(parse(text).map((r) => r.kind === "profile" && r.metadata.labels), [
      { zone: "a" },
      { zone: "a" },
    ]);
  });
});

Deno.test("unknown kinds and versions use calicoctl's message", async (t) => {
  await t.step("unknown kind", () => {
    const e = fails(
      `- apiVersion: v1\n  kind: node\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ipPool\n`,
    );
    assert.match(
      e.message,
      /^test\.yaml:4:3: Unknown resource type \(ipPool\) and\/or version \(v1\)/,
    );
    assert.deepEqual(e.position, { source: "test.yaml", line: 4, column: 3 });
  });
  await t.step("wrong version", () => {
    const e = fails(`apiVersion: projectcalico.org/v3\nkind: hostEndpoint\n`);
    assert.match(
      e.message,
      /^test\.yaml:1:1: Unknown resource type \(hostEndpoint\) and\/or version \(projectcalico\.org\/v3\)/,
    );
  });
  await t.step("kinds are case-sensitive, with a hint", () => {
    const e = fails(`apiVersion: v1\nkind: HostEndpoint\nmetadata: {name: a}\n`);
    assert.match(e.message, /Unknown resource type \(HostEndpoint\) and\/or version \(v1\)/);
    assert.match(e.message, /did you mean 'hostEndpoint'/);
  });
  await t.step("missing kind", () => {
    const e = fails(`metadata: {name: a}\n`);
    assert.match(e.message, /Unknown resource type \(\) and\/or version \(\)/);
  });
  await t.step("a scalar document is not a resource", () => {
    const e = fails(`just text\n`);
    assert.match(e.message, /^test\.yaml:1:1: cannot unmarshal string into a resource/);
  });
});

Deno.test("strict decoding names the unknown field and where it is", async (t) => {
  await t.step("unknown spec field", () => {
    const e = fails(
      `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: web1
    node: h1
  spec:
    interfaceName: eth0
    interface: eth1
`,
      "hep.yaml",
    );
    assert.equal(
      e.message,
      'hep.yaml:8:5: hostEndpoint "web1" spec.interface: field in document is not recognized ' +
        "or is in the wrong location: interface (expected one of: interfaceName, expectedIPs, " +
        "profiles)",
    );
    assert.deepEqual(e.position, { source: "hep.yaml", line: 8, column: 5 });
    assert.deepEqual(e.resource, { kind: "hostEndpoint", name: "web1" });
    assert.equal(e.field, "spec.interface");
  });

  await t.step("unknown field inside a rule", () => {
    const e = fails(`apiVersion: v1
kind: policy
metadata: {name: p}
spec:
  ingress:
  - action: allow
    destination:
      port: [80]
`);
    assert.match(e.message, /^test\.yaml:8:7: policy "p" spec\.ingress\[0\]\.destination\.port: /);
    assert.match(
      e.message,
      /not recognized or is in the wrong location: port \(expected one of: tag, net,/,
    );
  });

  await t.step("unknown top-level field", () => {
    const e = fails(`apiVersion: v1\nkind: node\nmetadata: {name: a}\nstatus: {}\n`);
    assert.match(
      e.message,
      /^test\.yaml:4:1: node "a" status: field in document is not recognized/,
    );
  });

  await t.step("spec fields misplaced under metadata", () => {
    const e = fails(`apiVersion: v1
kind: hostEndpoint
metadata:
  name: a
  node: h1
  interfaceName: eth0
`);
    assert.match(e.message, /^test\.yaml:6:3: hostEndpoint "a" metadata\.interfaceName: /);
  });

  await t.step("unknown field in JSON input", () => {
    const text = `{
  "apiVersion": "v1",
  "kind": "profile",
  "metadata": {"name": "p"},
  "spec": {"ingres": []}
}`;
    const e = fails(text, "p.json");
    assert.match(
      e.message,
      /^p\.json:5:12: profile "p" spec\.ingres: field in document is not recognized/,
    );
  });

  await t.step("YAML syntax errors carry a position", () => {
    const e = fails(`apiVersion: v1\nkind: node\nmetadata: {name: a\n`);
    assert.match(e.message, /^test\.yaml:\d+:\d+: YAML syntax error: /);
    const dup = fails(`apiVersion: v1\nkind: node\nkind: node\n`);
    assert.match(dup.message, /^test\.yaml:3:1: YAML syntax error: .*unique/);
  });
});

Deno.test("wrong types are errors in Go's words", async (t) => {
  const policy = (spec: string) =>
    `apiVersion: v1\nkind: policy\nmetadata: {name: p}\nspec:\n${spec}`;
  const cases: [string, string, RegExp][] = [
    [
      "order as a word",
      policy("  order: abc\n"),
      /5:10: policy "p" spec\.order: cannot unmarshal string into Go value of type float64$/,
    ],
    [
      "order as a quoted number",
      policy('  order: "100"\n'),
      /cannot unmarshal string into Go value of type float64/,
    ],
    [
      "doNotTrack as a string",
      policy('  doNotTrack: "true"\n'),
      /spec\.doNotTrack: cannot unmarshal string into Go value of type bool/,
    ],
    [
      "ingress as a map",
      policy("  ingress: {action: allow}\n"),
      /spec\.ingress: cannot unmarshal object into Go value of type \[\]v1\.Rule/,
    ],
    [
      "selector as a list",
      policy("  selector: [a]\n"),
      /spec\.selector: cannot unmarshal array into Go value of type string/,
    ],
    [
      "ipVersion as a fraction",
      policy("  ingress: [{action: allow, ipVersion: 4.5}]\n"),
      /ipVersion: cannot unmarshal number 4\.5 into Go value of type int/,
    ],
    [
      "icmp type as text",
      policy("  ingress: [{action: allow, icmp: {type: echo}}]\n"),
      /icmp\.type: cannot unmarshal string into Go value of type int/,
    ],
    [
      "spec as a string",
      policy("  x\n"),
      /spec: cannot unmarshal string into Go value of type v1\.PolicySpec/,
    ],
    [
      "labels as a list",
      `apiVersion: v1\nkind: profile\nmetadata: {name: p, labels: [a]}\n`,
      /metadata\.labels: cannot unmarshal array into Go value of type map\[string\]string/,
    ],
    [
      "expected IP as a number",
      `apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: a, node: b}\nspec: {expectedIPs: [1]}\n`,
      /spec\.expectedIPs\[0\]: cannot unmarshal number 1 into Go value of type string/,
    ],
  ];
  for (const [name, text, re] of cases) {
    await t.step(name, () => assert.match(fails(text).message, re));
  }
});

Deno.test("addresses are checked and printed canonically while decoding", async (t) => {
  const hep = (ips: string) =>
    `apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: a, node: b}\nspec: {expectedIPs: [${ips}]}\n`;
  await t.step("bad IP", () => {
    assert.match(
      fails(hep("10.0.0.256")).message,
      /4:22: hostEndpoint "a" spec\.expectedIPs\[0\]: invalid IP address: 10\.0\.0\.256$/,
    );
  });
  await t.step("a CIDR is not an IP", () => {
    assert.match(fails(hep('"10.0.0.0/8"')).message, /invalid IP address: 10\.0\.0\.0\/8/);
  });
  await t.step("bad CIDR", () => {
    const e = fails(`apiVersion: v1
kind: policy
metadata: {name: p}
spec: {ingress: [{action: allow, source: {nets: [10.0.0.0/33]}}]}
`);
    assert.match(
      e.message,
      /spec\.ingress\[0\]\.source\.nets\[0\]: invalid CIDR address: 10\.0\.0\.0\/33/,
    );
  });
  await t.step("bad MAC", () => {
    const e = fails(`apiVersion: v1
kind: workloadEndpoint
metadata: {name: a, workload: w, orchestrator: o, node: n}
spec: {interfaceName: cali1, mac: "zz:00:00:00:00:00"}
`);
    assert.match(e.message, /spec\.mac: address zz:00:00:00:00:00: invalid MAC address/);
  });
});

Deno.test("ports decode as calicoctl's numorstring.Port", async (t) => {
  const rule = (ports: string) =>
    `apiVersion: v1
kind: policy
metadata: {name: p}
spec:
  ingress:
  - action: allow
    protocol: tcp
    destination: {ports: ${ports}}
`;
  const ports = (text: string) => {
    const [r] = parse(rule(text));
    return r?.kind === "policy" ? r.spec.ingress?.[0]?.destination?.ports : undefined;
  };
  await t.step("numbers, numeric strings, ranges, collapsed ranges", () => {
    assert.deepEqual(ports(`[1, "2", "3:4", "5:5", 65535, "0080"]`), [
      1,
      2,
      { min: 3, max: 4 },
      5,
      65535,
      80,
    ]);
  });
  const bad: [string, RegExp][] = [
    [
      '["abc"]',
      /8:27: policy "p" spec\.ingress\[0\]\.destination\.ports\[0\]: invalid port format \(abc\)$/,
    ],
    ['["1:2:3"]', /invalid port format \(1:2:3\)/],
    ['["x:80"]', /invalid minimum port number in range \(x:80\)/],
    ['["1:65536"]', /invalid maximum port number in range \(1:65536\)/],
    [
      '["80:22"]',
      /minimum port number \(80\) is greater than maximum port number \(22\) in port range/,
    ],
    ["[65536]", /cannot unmarshal number 65536 into Go value of type uint16/],
    ["[-1]", /cannot unmarshal number -1 into Go value of type uint16/],
    ["[true]", /cannot unmarshal bool into Go value of type uint16/],
    ['["70000"]', /invalid port format \(70000\)/],
  ];
  for (const [text, re] of bad) {
    await t.step(`refuses ${text}`, () => assert.match(fails(rule(text)).message, re));
  }
});

Deno.test("protocols decode as calicoctl's numorstring.Protocol", async (t) => {
  const proto = (p: string) => {
    const [r] = parse(`{apiVersion: v1, kind: profile, metadata: {name: p},
      spec: {ingress: [{action: allow, protocol: ${p}}]}}`);
    return r?.kind === "profile" ? r.spec.ingress?.[0]?.protocol : undefined;
  };
  await t.step("names and numbers", () => {
    assert.equal(proto("udplite"), "udplite");
    assert.equal(proto("17"), 17);
    assert.equal(proto('"6"'), 6);
    assert.equal(proto("255"), 255);
  });
  await t.step("out-of-range numbers fail while decoding", () => {
    assert.match(
      fails(`{apiVersion: v1, kind: profile, metadata: {name: p},
      spec: {ingress: [{action: allow, protocol: 256}]}}`).message,
      /spec\.ingress\[0\]\.protocol: cannot unmarshal number 256 into Go value of type uint8/,
    );
  });
  await t.step("upper-case names fail validation", () => {
    assert.match(
      fails(`{apiVersion: v1, kind: profile, metadata: {name: p},
      spec: {ingress: [{action: allow, protocol: TCP}]}}`).message,
      /spec\.ingress\[0\]\.protocol: error with field Protocol = 'TCP' \(protocol name invalid\)/,
    );
  });
});

Deno.test("validation errors point at the offending field", async (t) => {
  await t.step("C2: host endpoint with neither interface nor IPs points at spec", () => {
    const e = fails(
      `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: web1
    node: h1
  spec:
    profiles: [p]
`,
      "hep.yaml",
    );
    assert.equal(
      e.message,
      'hep.yaml:7:5: hostEndpoint "web1" spec.interfaceName: error with field InterfaceName = ' +
        "'' (no interface or expected IPs have been specified)",
    );
    assert.deepEqual(e.position, { source: "hep.yaml", line: 7, column: 5 });
    assert.equal(e.field, "spec.interfaceName");
  });

  await t.step("C2 without any spec points at the resource", () => {
    const e = fails(`apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: web1, node: h1}\n`);
    assert.match(
      e.message,
      /^test\.yaml:1:1: hostEndpoint "web1" spec\.interfaceName: error with field InterfaceName = ''/,
    );
  });

  await t.step("C3: ports with ICMP point at the ports", () => {
    const e = fails(`apiVersion: v1
kind: policy
metadata: {name: p}
spec:
  ingress:
  - action: allow
    protocol: icmp
    destination:
      ports: [80]
`);
    assert.equal(
      e.message,
      'test.yaml:9:14: policy "p" spec.ingress[0].destination.ports: error with field ' +
        "Destination.Ports = '[80]' (protocol does not support ports)",
    );
  });

  await t.step("C4: doNotTrack with preDNAT", () => {
    const e = fails(`apiVersion: v1
kind: policy
metadata: {name: p}
spec:
  doNotTrack: true
  preDNAT: true
`);
    assert.match(
      e.message,
      /^test\.yaml:6:12: policy "p" spec\.preDNAT: error with field PolicySpec\.PreDNAT = 'true' \(PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec\)$/,
    );
  });

  await t.step("C5: ICMP code without type", () => {
    const e = fails(`apiVersion: v1
kind: profile
metadata: {name: p}
spec:
  egress:
  - action: allow
    protocol: icmp
    icmp: {code: 0}
`);
    assert.match(
      e.message,
      /^test\.yaml:8:18: profile "p" spec\.egress\[0\]\.icmp\.code: error with field Code = '0' \(ICMP code specified without an ICMP type\)$/,
    );
  });

  await t.step("several issues are listed with their own positions", () => {
    const e = fails(`apiVersion: v1
kind: hostEndpoint
metadata:
  name: "bad name"
  node: h1
spec:
  interfaceName: this-name-is-too-long
`);
    assert.equal(
      e.message,
      'test.yaml:4:9: hostEndpoint "bad name": error with the following fields:\n' +
        "-  Name = 'bad name' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-', '/') " +
        "[metadata.name, line 4:9]\n" +
        "-  InterfaceName = 'this-name-is-too-long' (must be 1-15 characters from a-z, A-Z, 0-9, " +
        "'.', '_', '-') [spec.interfaceName, line 7:18]",
    );
  });

  await t.step("every resource is decoded before any is validated", () => {
    const e = fails(`- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: a, node: h1}
- apiVersion: v1
  kind: node
  metadata: {name: b, nme: x}
`);
    assert.match(
      e.message,
      /^test\.yaml:6:23: node "b" metadata\.nme: field in document is not recognized/,
    );
  });
});

Deno.test("YAML aliases are resolved in linear time and bounded", async (t) => {
  const aliased = (n: number) =>
    "- apiVersion: v1\n  kind: policy\n  metadata:\n    name: p0\n  spec:\n    ingress:\n" +
    "    - &r {action: allow, protocol: tcp}\n" + "    - *r\n".repeat(n - 1);

  await t.step("a few aliases decode to copies of the anchored value", () => {
    const [p] = parse(aliased(3));
    assert.equal(p?.kind, "policy");
    assert.deepEqual(
      (p?.spec as { readonly ingress?: readonly unknown[] }).ingress,
      Array(3).fill({ action: "allow", protocol: "tcp" }),
    );
  });

  await t.step("20k aliases of one rule are refused at the alias over the limit", () => {
    const e = fails(aliased(20_000), "big.yaml");
    assert.match(
      e.message,
      /^big\.yaml:2008:7: YAML alias limit exceeded: aliases stand for more than 10000 nodes \(at alias \*r\)/,
    );
    assert.deepEqual(e.position, { source: "big.yaml", line: 2008, column: 7 });
  });

  await t.step("aliases of aliases (exponential expansion) are refused", () => {
    let text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (let i = 1; i < 12; i++) {
      text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]\n`;
    }
    const e = fails(text + "apiVersion: v1\nkind: node\n");
    assert.match(e.message, /^test\.yaml:\d+:\d+: YAML alias limit exceeded/);
  });

  await t.step("an alias inside the node it names is refused", () => {
    const e = fails("apiVersion: v1\nkind: node\nmetadata: &m {name: *m}\n");
    assert.match(e.message, /^test\.yaml:3:21: YAML alias limit exceeded/);
  });
});
