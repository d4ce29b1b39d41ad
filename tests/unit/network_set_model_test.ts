/**
 * The `networkSet` kind from file to etcd and back: decoding, validation with file:line:col,
 * `get` output that applies back unchanged, the kinds table, the etcd key and JSON, and the
 * agent's conversion of that key (with its validation filter), and the lockout check seeing
 * management access that comes through a network set.
 */
import assert from "node:assert/strict";
import { parseResources, ResourceInputError } from "../../src/model/input.ts";
import { formatResources } from "../../src/model/output.ts";
import { formatTable } from "../../src/model/output_table.ts";
import type { NetworkSetResource, Resource } from "../../src/model/resources.ts";
import { kindFromArgument } from "../../src/cmd/kinds.ts";
import { deleteRanges, writesFor } from "../../src/datastore/layout.ts";
import { decodeNetworkSet } from "../../src/datastore/backend_decode.ts";
import { networkSetKey, parseKey, renderResourceKey } from "../../src/datastore/keys.ts";
import { convertKeyValue } from "../../src/datastore/convert.ts";
import { applyChanges, toUpdates } from "../../src/cmd/lockout_check.ts";
import { lockoutCheck } from "../../src/lockout/lockout.ts";

const FILE = `- apiVersion: v1
  kind: networkSet
  metadata:
    name: partners
    labels:
      role: partner
  spec:
    nets:
    - 198.18.5.0/24
    - 198.18.6.7
    - 2001:DB8:5::/48
`;

function parse(text: string): Resource[] {
  return parseResources(text, "sets.yaml").map((l) => l.resource);
}

function fails(text: string): ResourceInputError {
  try {
    parseResources(text, "sets.yaml");
  } catch (e) {
    assert.ok(e instanceof ResourceInputError, `expected ResourceInputError, got ${e}`);
    return e;
  }
  throw new Error("expected parseResources to fail");
}

const PARTNERS: NetworkSetResource = {
  kind: "networkSet",
  metadata: { name: "partners", labels: { role: "partner" } },
  spec: { nets: ["198.18.5.0/24", "198.18.6.7/32", "2001:db8:5::/48"] },
};

Deno.test("a networkSet decodes with canonical CIDRs (bare addresses become /32)", () => {
  assert.deepEqual(parse(FILE), [PARTNERS]);
});

Deno.test("a networkSet without nets decodes with an empty list", () => {
  const r = parse("apiVersion: v1\nkind: networkSet\nmetadata: {name: empty}\n");
  assert.deepEqual(r, [{ kind: "networkSet", metadata: { name: "empty" }, spec: { nets: [] } }]);
});

Deno.test("bad networkSets are refused naming file, line, column, resource and field", async (t) => {
  await t.step("a net that is no CIDR", () => {
    const e = fails(FILE.replace("198.18.6.7", "198.18.6.300"));
    assert.match(
      e.message,
      /^sets\.yaml:10:7: .*networkSet "partners".*spec\.nets\[1\].*invalid CIDR/,
    );
  });
  await t.step("a prefix too long", () => {
    const e = fails(FILE.replace("198.18.5.0/24", "198.18.5.0/33"));
    assert.match(
      e.message,
      /^sets\.yaml:9:7: .*spec\.nets\[0\].*invalid CIDR address: 198\.18\.5\.0\/33/,
    );
  });
  await t.step("an unknown spec field", () => {
    const e = fails(FILE.replace("    nets:", "    selector: x\n    nets:"));
    assert.match(e.message, /^sets\.yaml:8:5: .*not recognized.*selector.*expected one of: nets/);
  });
  await t.step("a bad name", () => {
    const e = fails(FILE.replace("name: partners", "name: 'a b'"));
    assert.match(e.message, /^sets\.yaml:\d+:\d+: networkSet "a b" metadata\.name: .*Name = 'a b'/);
  });
  await t.step("a bad label value", () => {
    const e = fails(FILE.replace("role: partner", "role: partner-"));
    assert.match(
      e.message,
      /^sets\.yaml:\d+:\d+: .*metadata\.labels.*value 'partner-' of label 'role'/,
    );
  });
  await t.step("nets that are not a list", () => {
    const e = fails(
      "apiVersion: v1\nkind: networkSet\nmetadata: {name: a}\nspec: {nets: 10.0.0.0/8}\n",
    );
    assert.match(
      e.message,
      /^sets\.yaml:4:14: .*cannot unmarshal string into Go value of type \[\]net\.IPNet/,
    );
  });
});

Deno.test("get output of a networkSet applies back unchanged", () => {
  const yaml = formatResources([PARTNERS], "yaml");
  assert.deepEqual(parse(yaml), [PARTNERS]);
  assert.match(yaml, /kind: networkSet/);
  const json = formatResources([PARTNERS], "json");
  assert.deepEqual(parse(json), [PARTNERS]);
});

Deno.test("networkSet tables: ps and wide", () => {
  assert.equal(formatTable([PARTNERS], "networkSet", false), "NAME\npartners\n\n");
  assert.equal(
    formatTable([PARTNERS], "networkSet", true),
    "NAME       NETS                                          LABELS\n" +
      "partners   198.18.5.0/24,198.18.6.7/32,2001:db8:5::/48   role=partner\n\n",
  );
});

Deno.test("the kinds table names networkSet in its spellings", () => {
  for (const a of ["networkSet", "networksets", "NetSet", "netsets", "GlobalNetworkSet"]) {
    assert.equal(kindFromArgument(a), "networkSet", a);
  }
});

Deno.test("a networkSet is stored at /calico/v1/netset/<name> as libcalico-go's model JSON", () => {
  const { primary, writes } = writesFor(PARTNERS);
  assert.equal(primary, "/calico/v1/netset/partners");
  assert.deepEqual(writes, [{
    key: "/calico/v1/netset/partners",
    value:
      '{"nets":["198.18.5.0/24","198.18.6.7/32","2001:db8:5::/48"],"labels":{"role":"partner"}}',
  }]);
  assert.deepEqual(decodeNetworkSet("partners", writes[0]!.value!), PARTNERS);
  assert.deepEqual(deleteRanges({ kind: "networkSet", name: "a/b" }), [
    ["/calico/v1/netset/a%2fb", false],
  ]);
  assert.deepEqual(parseKey(networkSetKey("a/b")), { type: "networkSet", name: "a/b" });
  assert.equal(renderResourceKey({ kind: "networkSet", name: "x" }), "NetworkSet(name=x)");
});

Deno.test("the agent's conversion of a network set key validates like the CLI", async (t) => {
  await t.step("a good value", () => {
    const c = convertKeyValue("/calico/v1/netset/partners", writesFor(PARTNERS).writes[0]!.value);
    assert.deepEqual(c, { update: { type: "networkSet", name: "partners", value: PARTNERS } });
  });
  await t.step("a deletion", () => {
    const c = convertKeyValue("/calico/v1/netset/partners", null);
    assert.deepEqual(c, { update: { type: "networkSet", name: "partners", value: null } });
  });
  await t.step("a bad CIDR is treated as missing with a warning", () => {
    const c = convertKeyValue("/calico/v1/netset/p", '{"nets":["10.0.0.0/40"]}');
    assert.deepEqual(c?.update, { type: "networkSet", name: "p", value: null });
    assert.match(
      c?.warning ?? "",
      /^Failed to parse value for \/calico\/v1\/netset\/p: invalid CIDR/,
    );
  });
  await t.step("a bad label is treated as missing with a warning", () => {
    const c = convertKeyValue("/calico/v1/netset/p", '{"nets":[],"labels":{"a":"x-"}}');
    assert.deepEqual(c?.update, { type: "networkSet", name: "p", value: null });
    assert.match(
      c?.warning ?? "",
      /^Validation failed for network set \/calico\/v1\/netset\/p, treating as missing: /,
    );
  });
});

Deno.test("the lockout check sees management access that comes through a network set", async () => {
  const write = (yaml: string) =>
    parseResources(yaml, "<test>").map(({ resource }) => ({
      kind: "write" as const,
      verb: "apply" as const,
      resource,
    }));
  const base = applyChanges(new Map(), [
    ...write(`
- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: hep0, node: h1, labels: {hep: "true"}}
  spec: {interfaceName: eth0, expectedIPs: [198.18.1.1]}
- apiVersion: v1
  kind: policy
  metadata: {name: ssh}
  spec:
    selector: has(hep)
    ingress: [{action: allow, protocol: tcp, source: {selector: "role == 'mgmt'"}, destination: {ports: [22]}}]
- apiVersion: v1
  kind: networkSet
  metadata: {name: mgmt, labels: {role: mgmt}}
  spec: {nets: [198.18.0.0/24]}
`),
    { kind: "config", name: "FailsafeInboundHostPorts", value: "none" },
  ]);
  const opts = { sources: ["198.18.0.7"] };
  const shrink = applyChanges(
    base,
    write(
      `{apiVersion: v1, kind: networkSet, metadata: {name: mgmt, labels: {role: mgmt}}, spec: {nets: [198.18.0.0/30]}}`,
    ),
  );
  const shrunk = await lockoutCheck(toUpdates(base), toUpdates(shrink), opts);
  assert.deepEqual(shrunk.map((f) => [f.iface, f.source, f.port.port]), [[
    "eth0",
    "198.18.0.7",
    22,
  ]]);
  const gone = applyChanges(base, [{ kind: "delete", id: { kind: "networkSet", name: "mgmt" } }]);
  assert.equal((await lockoutCheck(toUpdates(base), toUpdates(gone), opts)).length, 1);
  const grow = applyChanges(
    base,
    write(
      `{apiVersion: v1, kind: networkSet, metadata: {name: mgmt, labels: {role: mgmt}}, spec: {nets: [198.18.0.0/16]}}`,
    ),
  );
  assert.deepEqual(await lockoutCheck(toUpdates(base), toUpdates(grow), opts), []);
});
