/**
 * Printing resources like calicoctl v1 `get`: YAML (sorted keys, always a list), JSON
 * (struct order, 2-space indent), round trips through parseResources, and the tables.
 */
import assert from "node:assert/strict";
import { parseResources } from "../../src/model/input.ts";
import { formatResources } from "../../src/model/output.ts";
import {
  formatTable,
  goFloat,
  tabwriter,
  validTableColumns,
} from "../../src/model/output_table.ts";
import type { Resource } from "../../src/model/resources.ts";

const parse = (text: string): Resource[] => parseResources(text, "t.yaml").map((l) => l.resource);

/** One of every kind, using every field somewhere. */
const ALL_KINDS = `- apiVersion: v1
  kind: node
  metadata: {name: host1}
  spec:
    bgp: {asNumber: 64513, ipv4Address: 10.0.0.1/24, ipv6Address: "fd00::1/64"}
    orchRefs: [{nodeName: k1, orchestrator: k8s}, {orchestrator: mesos}]
- apiVersion: v1
  kind: node
  metadata: {name: host2}
- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0-web1
    node: web1
    labels: {role: webserver, environment: production}
  spec: {interfaceName: eth0, expectedIPs: [10.0.0.1, "fd00::1"], profiles: [prof1, ns/prof2]}
- apiVersion: v1
  kind: policy
  metadata: {name: everything, annotations: {z: "1", a: "2"}}
  spec:
    order: 0.5
    selector: role == "webserver" && env in {"prod", "dev"}
    types: [ingress, egress]
    doNotTrack: true
    ingress:
    - action: deny
      ipVersion: 4
      protocol: tcp
      notProtocol: 17
      icmp: {type: 8, code: 0}
      notICMP: {}
      source:
        tag: db
        notTag: x
        net: 10.0.0.5/24
        notNet: 10.1.0.0/16
        selector: "!has(a)"
        notSelector: has(quarantine)
        ports: [22, "8000:8080", "10:20"]
        notPorts: [8008]
    - action: log
      destination: {nets: [10.0.0.0/8], notNets: [10.1.0.0/16]}
    egress:
    - action: pass
      protocol: icmpv6
- apiVersion: v1
  kind: policy
  metadata: {name: unordered}
  spec: {selector: "", preDNAT: true, ingress: [{action: allow}]}
- apiVersion: v1
  kind: profile
  metadata: {name: prof1, labels: {zone: a}, tags: [db, web]}
  spec:
    ingress: [{action: allow, protocol: 6, destination: {ports: [443]}}]
    egress: [{action: allow}]
- apiVersion: v1
  kind: profile
  metadata: {name: empty}
- apiVersion: v1
  kind: workloadEndpoint
  metadata: {name: eth0, workload: wl1, orchestrator: k8s, node: h1, activeInstanceID: abc, labels: {app: db}}
  spec:
    ipNetworks: [10.65.0.2/32, "fd00::2/128"]
    ipNATs: [{internalIP: 10.65.0.2, externalIP: 172.16.0.2}]
    ipv4Gateway: 10.65.0.1
    ipv6Gateway: "fd00::1"
    profiles: [p1]
    interfaceName: cali123
    mac: "ee:ee:ee:ee:ee:01"
`;

Deno.test("YAML output is a sorted-key list, like calicoctl get -o yaml", () => {
  const rs = parse(`- apiVersion: v1
  kind: policy
  metadata:
    name: failsafe
  spec:
    selector: "all()"
    order: 0
    ingress:
    - action: allow
      protocol: tcp
      source:
        net: "10.1.0.0/16"
      destination:
        ports: [22, "8000:8080"]
    - action: allow
      protocol: icmp
- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: eth0-web1, node: web1, labels: {role: webserver, environment: production}}
  spec: {interfaceName: eth0, profiles: [prof1, prof2], expectedIPs: ["10.0.0.1"]}
`);
  assert.equal(
    formatResources(rs, "yaml"),
    `- apiVersion: v1
  kind: policy
  metadata:
    name: failsafe
  spec:
    ingress:
    - action: allow
      destination:
        ports:
        - 22
        - 8000:8080
      protocol: tcp
      source:
        net: 10.1.0.0/16
    - action: allow
      destination: {}
      protocol: icmp
      source: {}
    order: 0
    selector: all()
- apiVersion: v1
  kind: hostEndpoint
  metadata:
    labels:
      environment: production
      role: webserver
    name: eth0-web1
    node: web1
  spec:
    expectedIPs:
    - 10.0.0.1
    interfaceName: eth0
    profiles:
    - prof1
    - prof2
`,
  );
});

Deno.test("JSON output keeps struct order with two-space indentation", () => {
  const rs = parse(`apiVersion: v1
kind: policy
metadata: {name: web}
spec:
  selector: a == "x" && b == "y"
  order: 100
  ingress: [{action: allow, protocol: tcp, destination: {ports: ["80:81", 443]}}]
`);
  assert.equal(
    formatResources(rs, "json"),
    `[
  {
    "kind": "policy",
    "apiVersion": "v1",
    "metadata": {
      "name": "web"
    },
    "spec": {
      "order": 100,
      "ingress": [
        {
          "action": "allow",
          "protocol": "tcp",
          "source": {},
          "destination": {
            "ports": [
              "80:81",
              443
            ]
          }
        }
      ],
      "selector": "a == \\"x\\" \\u0026\\u0026 b == \\"y\\""
    }
  }
]
`,
  );
});

Deno.test("an empty result prints []", () => {
  assert.equal(formatResources([], "yaml"), "[]\n");
  assert.equal(formatResources([], "json"), "[]\n");
});

Deno.test("get -o yaml and -o json output parse back to the same resources", () => {
  const rs = parse(ALL_KINDS);
  assert.equal(rs.length, 8);
  assert.deepEqual(parse(formatResources(rs, "yaml")), rs);
  assert.deepEqual(parse(formatResources(rs, "json")), rs);
  // And printing is stable.
  const again = formatResources(parse(formatResources(rs, "yaml")), "yaml");
  assert.equal(again, formatResources(rs, "yaml"));
});

Deno.test("tables: ps and wide columns per kind, tabwriter-aligned, then a blank line", async (t) => {
  const rs = parse(ALL_KINDS);
  await t.step("host endpoints", () => {
    assert.equal(formatTable(rs, "hostEndpoint", false), "NODE   NAME\nweb1   eth0-web1\n\n");
    assert.equal(
      formatTable(rs, "hostEndpoint", true),
      "NODE   NAME        INTERFACE   IPS                PROFILES\n" +
        "web1   eth0-web1   eth0        10.0.0.1,fd00::1   prof1,ns/prof2\n\n",
    );
  });
  await t.step("policies", () => {
    assert.equal(formatTable(rs, "policy", false), "NAME\neverything\nunordered\n\n");
    assert.equal(
      formatTable(rs, "policy", true),
      "NAME         ORDER   SELECTOR\n" +
        'everything   0.5     role == "webserver" && env in {"prod", "dev"}\n' +
        "unordered            \n\n",
    );
  });
  await t.step("profiles", () => {
    assert.equal(
      formatTable(rs, "profile", true),
      "NAME    TAGS\nprof1   db,web\nempty   \n\n",
    );
  });
  await t.step("nodes", () => {
    assert.equal(formatTable(rs, "node", false), "NAME\nhost1\nhost2\n\n");
    assert.equal(
      formatTable(rs, "node", true),
      "NAME    ASN     IPV4          IPV6\n" +
        "host1   64513   10.0.0.1/24   fd00::1/64\n" +
        "host2                         \n\n",
    );
  });
  await t.step("workload endpoints", () => {
    assert.equal(
      formatTable(rs, "workloadEndpoint", false),
      "NODE   ORCHESTRATOR   WORKLOAD   NAME\nh1     k8s            wl1        eth0\n\n",
    );
    assert.equal(
      formatTable(rs, "workloadEndpoint", true),
      "NODE   ORCHESTRATOR   WORKLOAD   NAME   NETWORKS                   NATS                    INTERFACE   PROFILES\n" +
        "h1     k8s            wl1        eth0   10.65.0.2/32,fd00::2/128   10.65.0.2<>172.16.0.2   cali123     p1\n\n",
    );
  });
  await t.step("an empty list prints the headings", () => {
    assert.equal(formatTable([], "policy", false), "NAME\n\n");
  });
  await t.step("custom columns, case-insensitive; unknown ones list the valid set", () => {
    assert.equal(
      formatTable(rs, "hostEndpoint", false, { columns: ["name", "INTERFACE"] }),
      "NAME        INTERFACE\neth0-web1   eth0\n\n",
    );
    assert.throws(
      () => formatTable(rs, "policy", false, { columns: ["NAME", "TIER"] }),
      /Unrecognized column 'TIER' for policy; valid columns are: NAME, ORDER, SELECTOR/,
    );
    assert.deepEqual(validTableColumns("profile"), ["NAME", "TAGS"]);
  });
  await t.step("node without an AS number shows the global default in brackets", () => {
    const [n] = parse(
      `{apiVersion: v1, kind: node, metadata: {name: a}, spec: {bgp: {ipv4Address: 10.0.0.1/32}}}`,
    );
    assert.equal(
      formatTable([n!], "node", true, { defaultAsNumber: "65000" }),
      "NAME   ASN       IPV4          IPV6\na      (65000)   10.0.0.1/32   \n\n",
    );
  });
});

Deno.test("tabwriter pads every cell but the last to the column width plus 3, at least 5", () => {
  assert.equal(tabwriter([["A", "B"], ["cc", "d"]]), "A    B\ncc   d\n");
  assert.equal(
    tabwriter([["ABCDEF", "x", "y"], ["a", "", "z"]]),
    "ABCDEF   x    y\na             z\n",
  );
  assert.equal(tabwriter([["only"]]), "only\n");
});

Deno.test("goFloat prints float64 as Go's %v does", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [100, "100"],
    [-1.5, "-1.5"],
    [0.5, "0.5"],
    [123456, "123456"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
  ];
  for (const [v, s] of cases) assert.equal(goFloat(v), s, String(v));
});
