/**
 * The fast input path (js-yaml, plain values) must decide exactly as the `yaml` document
 * path with positions: the same resources for every input the fast path takes, and for
 * anything else it must give up so the positions path answers. Checked on a corpus of YAML
 * features and on thousands of seeded random mutations of real resource files.
 */
import assert from "node:assert/strict";
import {
  type LocatedResource,
  parseResources,
  parseResourcesWithPositions,
} from "../../src/model/input.ts";
import { fastParseDocuments, onlyItem } from "../../src/model/fast_yaml.ts";
import { formatResources } from "../../src/model/output.ts";
import {
  seedFailsafePolicy,
  seedHostEndpointByName,
  seedNode,
} from "../../netlab/guide_examples.ts";

type Outcome = { ok: unknown[] } | { error: string };

function outcome(parse: (t: string, s: string) => LocatedResource[], text: string): Outcome {
  try {
    return { ok: parse(text, "t.yaml").map((l) => l.resource) };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** Both paths agree; returns whether the fast parser took the text. */
function agree(text: string, what: string): boolean {
  const fast = outcome(parseResources, text);
  const slow = outcome(parseResourcesWithPositions, text);
  assert.deepEqual(fast, slow, `${what}\n--- input ---\n${text}`);
  return fastParseDocuments(text) !== undefined;
}

const ALL_KINDS = `- apiVersion: v1
  kind: node
  metadata: {name: host1}
  spec:
    bgp: {asNumber: 64513, ipv4Address: 10.0.0.1/24, ipv6Address: "fd00::1/64"}
    orchRefs: [{nodeName: k1, orchestrator: k8s}, {orchestrator: mesos}]
- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0-web1
    node: web1
    labels: {role: webserver, environment: production, "10": ten, "9": nine}
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
      source:
        tag: db
        net: 10.0.0.5/24
        selector: "!has(a)"
        ports: [22, "8000:8080", "10:20"]
        notPorts: [8008]
    - action: log
      destination: {nets: [10.0.0.0/8], notNets: [10.1.0.0/16]}
    egress:
    - action: allow
- apiVersion: v1
  kind: profile
  metadata: {name: prof1, tags: [a, b], labels: {x: y}}
  spec:
    ingress: [{action: allow, source: {tag: a}}]
- apiVersion: v1
  kind: workloadEndpoint
  metadata: {name: w1, workload: wl, orchestrator: k8s, node: host1, labels: {app: db}}
  spec:
    interfaceName: cali1234
    ipNetworks: [10.2.0.1/32]
    ipNATs: [{internalIP: 10.2.0.1, externalIP: 172.16.0.1}]
    mac: "ee:ee:ee:ee:ee:ee"
    profiles: [prof1]
`;

/** Inputs the fast path must take, and take identically. */
const FAST: [string, string][] = [
  ["all kinds", ALL_KINDS],
  [
    "get -o yaml output",
    formatResources(parseResources(ALL_KINDS, "x").map((l) => l.resource), "yaml"),
  ],
  [
    "get -o json output",
    formatResources(parseResources(ALL_KINDS, "x").map((l) => l.resource), "json"),
  ],
  ["seed node", seedNode("host1")],
  [
    "seed host endpoint",
    seedHostEndpointByName({
      name: "eth0",
      node: "host1",
      interfaceName: "eth0",
      expectedIPs: ["198.18.0.1"],
      profiles: ["p1"],
    }),
  ],
  [
    "seed failsafe policy",
    seedFailsafePolicy({
      managementCidr: "10.1.0.0/16",
      etcdIp: "10.2.0.1",
      etcdPorts: [2379, 2380],
    }),
  ],
  ["numbers as names keep their text", "apiVersion: v1\nkind: node\nmetadata: {name: 1.10}\n"],
  [
    "dotted AS number",
    "apiVersion: v1\nkind: node\nmetadata: {name: n}\nspec: {bgp: {asNumber: 1.10}}\n",
  ],
  [
    "hex, octal and exponent orders",
    "- {apiVersion: v1, kind: policy, metadata: {name: a}, spec: {order: 0x1F}}\n- {apiVersion: v1, kind: policy, metadata: {name: b}, spec: {order: 0o17}}\n- {apiVersion: v1, kind: policy, metadata: {name: c}, spec: {order: 1e3}}\n",
  ],
  [
    "booleans and nulls in every spelling",
    "apiVersion: v1\nkind: policy\nmetadata: {name: p, annotations: {a: True, b: FALSE, c: ~, d: Null, e: 007}}\nspec: {doNotTrack: TRUE, selector: ~, order: null}\n",
  ],
  [
    "literal keys keep their text",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: n, labels: {1.50: a, true: b, ~: c, 0x10: d}}\nspec: {interfaceName: eth0}\n",
  ],
  [
    "documents, comments, empty documents",
    "# c\n---\napiVersion: v1 # x\nkind: node\nmetadata:\n  name: a\n---\n---\n- apiVersion: v1\n  kind: node\n  metadata: {name: b}\n...\n",
  ],
  [
    "a list kind",
    "apiVersion: v1\nkind: policyList\nitems:\n- metadata: {name: a}\n  spec: {selector: all()}\n- kind: policy\n  apiVersion: v1\n  metadata: {name: b}\n",
  ],
  [
    "block scalars and quoting",
    "apiVersion: v1\nkind: policy\nmetadata:\n  name: 'p''q'\nspec:\n  selector: >-\n    role == \"a\"\n    && has(b)\n  ingress:\n  - action: \"allow\"\n    source:\n      selector: |\n        has(x)\n",
  ],
  ["CRLF line ends", "apiVersion: v1\r\nkind: node\r\nmetadata:\r\n  name: crlf\r\n"],
  ["anchors without aliases", "apiVersion: v1\nkind: node\nmetadata: &m\n  name: anchored\n"],
  [
    "__proto__ as a label key",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: n, labels: {__proto__: x, constructor: y}}\nspec: {interfaceName: eth0}\n",
  ],
  [
    "empty values",
    "apiVersion: v1\nkind: policy\nmetadata:\n  name: p\nspec:\n  ingress:\n  egress: []\n  selector:\n",
  ],
  ["a file with no resources", "# nothing\n"],
  ["an empty file", ""],
];

/** Inputs that must go to the positions path (errors, or features the fast path leaves). */
const SLOW: [string, string][] = [
  [
    "an alias",
    "apiVersion: v1\nkind: policy\nmetadata: {name: p}\nspec:\n  ingress: [&r {action: allow}, *r]\n",
  ],
  ["a merge key", "apiVersion: v1\nkind: node\nmetadata:\n  <<: {name: x}\n"],
  ["a tag", "apiVersion: v1\nkind: node\nmetadata: {name: !!str 10}\n"],
  ["a YAML 1.1 directive", "%YAML 1.1\n---\napiVersion: v1\nkind: node\nmetadata: {name: yes}\n"],
  ["a duplicate key", "apiVersion: v1\nkind: node\nmetadata: {name: a, name: b}\n"],
  [
    "keys equal as text only",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: n, labels: {1: a, '1': b}}\nspec: {interfaceName: eth0}\n",
  ],
  [
    "a collection key",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: n, labels: {[a, b]: c}}\nspec: {interfaceName: eth0}\n",
  ],
  [
    "an explicit key",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata:\n  name: e\n  node: n\n  labels:\n    ? a\n    : b\nspec: {interfaceName: eth0}\n",
  ],
  [
    "a comment right after a JSON key",
    '{"apiVersion": "v1", "kind": "node", "metadata": {"name":#"x"\n}}\n',
  ],
  [
    "a syntax error",
    "apiVersion: v1\nkind: policy\nmetadata:\n  name: x\nspec:\n  selector: a: b\n",
  ],
  ["an unknown field", "apiVersion: v1\nkind: node\nmetadata: {name: a, nme: b}\n"],
  [
    "a validation error",
    "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: n}\nspec: {}\n",
  ],
];

Deno.test("the fast path decodes exactly as the positions path", async (t) => {
  for (const [name, text] of FAST) {
    await t.step(name, () => {
      assert.equal(agree(text, name), true, `${name}: the fast parser took it`);
    });
  }
  for (const [name, text] of SLOW) {
    await t.step(`${name} (positions path)`, () => {
      agree(text, name);
      if (!/syntax|unknown field|validation|merge/.test(name)) {
        assert.equal(fastParseDocuments(text), undefined, `${name}: the fast parser gave up`);
      }
    });
  }
  await t.step("positions of fast results are found when asked for", () => {
    const located = parseResources(ALL_KINDS, "f.yaml");
    assert.deepEqual(located.map((l) => l.position.line), [1, 7, 14, 38, 43]);
  });
});

Deno.test("random mutations of resource files: both paths agree", () => {
  let seed = Number(Deno.env.get("FUZZ_SEED")) || 20261129;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = [..." \t\n:-[]{},\"'#&*!|>%?@~.0123456789abcxyzTFN_\\"];
  const bases = FAST.map(([, text]) => text).filter((t) => t.length > 0);
  let taken = 0;
  const runs = Number(Deno.env.get("FUZZ_RUNS")) || 3000;
  for (let i = 0; i < runs; i++) {
    let text = bases[rnd(bases.length)]!;
    for (let k = 1 + rnd(3); k > 0; k--) {
      const at = rnd(text.length + 1);
      switch (rnd(3)) {
        case 0:
          text = text.slice(0, at) + text.slice(at + 1);
          break;
        case 1:
          text = text.slice(0, at) + alphabet[rnd(alphabet.length)] + text.slice(at);
          break;
        default:
          text = text.slice(0, at) + alphabet[rnd(alphabet.length)] + text.slice(at + 1);
      }
    }
    if (agree(text, `mutation ${i}`)) taken++;
  }
  // The comparison means something only if the fast parser took a good share of them.
  assert.ok(taken > runs / 4, `fast parser took ${taken} of ${runs}`);
});

Deno.test("an error in one item of a long list is located in that item alone", async (t) => {
  const item = (i: number, action = "allow") =>
    `- apiVersion: v1\n  kind: policy\n  metadata:\n    name: p${i}\n  spec:\n` +
    `    selector: has(a)\n    ingress:\n    - action: ${action}\n`;
  const parse = (text: string) => parseResources(text, "t.yaml").map((l) => l.resource);
  const list = (bad: number, action: string) =>
    Array.from({ length: 1000 }, (_, i) => item(i, i === bad ? action : "allow")).join("");
  const cases: [string, string, number][] = [
    ["a validation error", list(250, "allw"), 250],
    ["a decoding error", list(3, "[x]"), 3],
    [
      "an unknown kind",
      list(0, "allow").replace(
        "kind: policy\n  metadata:\n    name: p7\n",
        "kind: polcy\n  metadata:\n    name: p7\n",
      ),
      7,
    ],
  ];
  for (const [name, text, bad] of cases) {
    await t.step(name, () => {
      const reduced = onlyItem(text, bad);
      assert.ok(reduced !== undefined);
      assert.ok(reduced.length < text.length / 5, "much shorter");
      assert.equal(reduced.split("\n").length, text.split("\n").length, "every line kept");
      assert.equal(reduced.split("apiVersion").length, 2, "the other items are gone");
      assert.throws(() => parseResourcesWithPositions(reduced, "t.yaml"));
      agree(text, name);
    });
  }
  await t.step("a JSON list keeps every offset", () => {
    const json = formatResources(parse(list(-1, "allow")), "json");
    const broken = json.replace('"name": "p42"', '"name": "p42", "x": 1');
    assert.equal(onlyItem(broken, 42)!.split("\n").length, broken.split("\n").length);
    agree(broken, "an unknown field in item 42 of a JSON list");
    const oneLine = JSON.stringify(JSON.parse(json)).replace('"name":"p42"', '"name":"p42","x":1');
    // On one line, the kept item's column is kept: it sits at the same offset.
    assert.equal(onlyItem(oneLine, 42)!.indexOf('"p42"'), oneLine.indexOf('"p42"'));
    agree(oneLine, "an unknown field in item 42 of a JSON list on one line");
  });
  await t.step("other shapes are not cut", () => {
    assert.equal(onlyItem("apiVersion: v1\nkind: node\n", 0), undefined);
    assert.equal(onlyItem("[{a: 1}, {b: 2}]\n", 0), "[{a: 1}, ~]\n");
    assert.equal(onlyItem("[{a: 1}, {b: 2}, {c: 3}]\n", 1), "[~     , {b: 2}, ~]\n");
    assert.equal(onlyItem("- a\n---\n- b\n", 0), undefined);
  });
});
