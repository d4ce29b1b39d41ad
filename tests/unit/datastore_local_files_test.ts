/** The local datastore's pure core: files -> the keys `apply` would write, or one clear error. */
import assert from "node:assert/strict";
import {
  isPolicyFileName,
  loadPolicySet,
  PolicyDirError,
  type PolicyFile,
  sortFileNames,
} from "../../src/datastore/local_files.ts";
import { hostEndpointKey, policyKey, READY_KEY } from "../../src/datastore/keys.ts";
import { convertKeyValue } from "../../src/datastore/convert.ts";

const enc = new TextEncoder();
const file = (path: string, text: string): PolicyFile => ({ path, bytes: enc.encode(text) });

const HEP = `apiVersion: v1
kind: hostEndpoint
metadata:
  name: eth0
  labels:
    role: web
spec:
  interfaceName: eth0
`;

const POLICY = `- apiVersion: v1
  kind: policy
  metadata:
    name: web
  spec:
    selector: role == 'web'
    ingress:
    - action: allow
      protocol: tcp
      destination:
        ports: [80]
`;

function loadError(files: PolicyFile[]): PolicyDirError {
  try {
    loadPolicySet(files, "h1");
  } catch (e) {
    assert.ok(e instanceof PolicyDirError, `a PolicyDirError, got ${e}`);
    return e;
  }
  assert.fail("the set loaded");
}

Deno.test("a valid set becomes the keys apply writes, ready, endpoints on this host", () => {
  const set = loadPolicySet([file("/p/10-hep.yaml", HEP), file("/p/20-web.yml", POLICY)], "h1");
  assert.equal(set.files, 2);
  assert.equal(set.resources, 2);
  assert.equal(set.keys.get(READY_KEY), "true");
  // No metadata.node: the endpoint belongs to the host the agent runs on.
  const hep = set.keys.get(hostEndpointKey("h1", "eth0"));
  assert.ok(hep, `keys: ${[...set.keys.keys()].join(", ")}`);
  const pol = convertKeyValue(policyKey("web"), set.keys.get(policyKey("web"))!);
  assert.equal(pol?.warning, undefined);
  assert.equal(pol?.update.type, "policy");
  if (pol?.update.type === "policy") {
    assert.equal(pol.update.value?.spec.selector, "role == 'web'");
    assert.deepEqual(pol.update.value?.spec.ingress?.[0]?.destination?.ports, [80]);
  }
  // An explicit node is kept.
  const other = loadPolicySet([
    file("a.yaml", HEP.replace("  name: eth0", "  name: e\n  node: h2")),
  ], "h1");
  assert.ok(other.keys.has(hostEndpointKey("h2", "e")));
  assert.equal(loadPolicySet([], "h1").resources, 0);
});

Deno.test("a YAML error names file:line:col", () => {
  const e = loadError([
    file("/p/a.yaml", HEP),
    file("/p/b.yaml", "kind: policy\nmetadata:\n  name: [x\n"),
  ]);
  assert.match(e.message, /^\/p\/b\.yaml:\d+:\d+: YAML syntax error/);
  assert.equal(e.position?.source, "/p/b.yaml");
});

Deno.test("a bad field and a failed validation name file:line:col, resource and field", () => {
  const bad = POLICY.replace("protocol: tcp", "protocol: tcp\n      colour: red");
  assert.match(loadError([file("/p/web.yaml", bad)]).message, /^\/p\/web\.yaml:10:7: policy "web"/);
  const invalid = POLICY.replace("ports: [80]", "ports: [99999]");
  const e = loadError([file("/p/web.yaml", invalid)]);
  assert.match(e.message, /^\/p\/web\.yaml:11:\d+: policy "web" .*ports/);
  assert.equal(e.position?.line, 11);
});

Deno.test("the same resource in two files is an error naming both", () => {
  const e = loadError([file("/p/a.yaml", POLICY), file("/p/b.yaml", "---\n" + POLICY)]);
  assert.match(
    e.message,
    /^\/p\/b\.yaml:2:3: Policy\(name=web\) is defined twice: in \/p\/a\.yaml:1:3 and in \/p\/b\.yaml:2:3/,
  );
  // Also within one file.
  assert.match(loadError([file("/p/a.yaml", POLICY + POLICY)]).message, /defined twice/);
  const profile = "- apiVersion: v1\n  kind: profile\n  metadata:\n    name: p\n";
  assert.match(
    loadError([file("/p/a.yaml", profile), file("/p/b.yaml", profile)]).message,
    /Profile\(name=p\) is defined twice: in \/p\/a\.yaml:1:3 and in \/p\/b\.yaml:1:3/,
  );
  // The same name on two hosts is two resources.
  const two = loadPolicySet([
    file("a.yaml", HEP),
    file("b.yaml", HEP.replace("  name: eth0", "  name: eth0\n  node: h2")),
  ], "h1");
  assert.equal(two.resources, 2);
});

Deno.test("bad UTF-8 and missing identifiers are errors with positions", () => {
  const bytes = new Uint8Array([...enc.encode("kind: policy\n# \n"), 0xff, 0x0a]);
  assert.match(
    loadError([{ path: "/p/x.yaml", bytes }]).message,
    /^\/p\/x\.yaml:3:1: invalid UTF-8/,
  );
  const noName = POLICY.replace("    name: web\n", "    annotations: {}\n");
  assert.match(
    loadError([file("/p/n.yaml", noName)]).message,
    /^\/p\/n\.yaml:1:3: policy "": insufficient identifiers, missing 'name'/,
  );
});

Deno.test("which names are read, and in which order", () => {
  const names = [
    "b.yml",
    "a.yaml",
    ".a.yaml.swp",
    ".#a.yaml",
    "a.yaml~",
    "#a.yaml#",
    "README",
    "..data",
    "A.yaml",
    "c.json",
    "4913",
  ];
  assert.deepEqual(sortFileNames(names.filter(isPolicyFileName)), ["A.yaml", "a.yaml", "b.yml"]);
});
