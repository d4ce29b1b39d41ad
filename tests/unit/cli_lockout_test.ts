/**
 * The lockout check without etcd: key-space changes applied like the store applies them,
 * converted like the syncer converts them, judged by the interpreter; and its flag parsing.
 */
import assert from "node:assert/strict";
import { formatFindings, lockoutCheck, sampleAddresses } from "../../src/lockout/lockout.ts";
import { applyChanges, toUpdates } from "../../src/cmd/lockout_check.ts";
import {
  type Change,
  LockoutFlagError,
  parseKeepOpen,
  parseManagementSource,
} from "../../src/cmd/lockout_guard.ts";
import { parseResources } from "../../src/model/input.ts";

function writes(yaml: string): Change[] {
  return parseResources(yaml, "<test>").map(({ resource }) => ({
    kind: "write",
    verb: "apply",
    resource,
  }));
}

const BASE = `
- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: hep0, node: h1, labels: {hep: "true"}}
  spec: {interfaceName: eth0, expectedIPs: [198.18.1.1]}
- apiVersion: v1
  kind: policy
  metadata: {name: ssh}
  spec:
    selector: has(hep)
    ingress: [{action: allow, protocol: tcp, source: {net: 198.18.0.0/24}, destination: {ports: [22]}}]
`;
const closeSsh = `
- apiVersion: v1
  kind: policy
  metadata: {name: ssh}
  spec:
    selector: has(hep)
    ingress: [{action: allow, protocol: tcp, source: {net: 198.18.5.0/24}, destination: {ports: [22]}}]
`;

Deno.test("a change that closes ssh from a management source is found, with what closes it", async () => {
  const base = applyChanges(new Map(), [
    ...writes(BASE),
    { kind: "config", name: "FailsafeInboundHostPorts", value: "none" },
  ]);
  const after = applyChanges(base, writes(closeSsh));
  const opts = { sources: ["198.18.0.7", "198.18.5.0/24"] };
  const found = await lockoutCheck(toUpdates(base), toUpdates(after), opts);
  assert.deepEqual(found.map((f) => [f.node, f.iface, f.hostEndpoint, f.source, f.port.port]), [
    ["h1", "eth0", "hep0", "198.18.0.7", 22],
  ]);
  assert.deepEqual(formatFindings(found), [
    "node h1 interface eth0 (host endpoint hep0): inbound tcp/22 from 198.18.0.7 would be " +
    "closed: DROP: no policy allowed it (end of the policies of host endpoint hep0)",
  ]);
  // Harmless: a change elsewhere; and --keep-open of another port.
  const web = applyChanges(base, writes(closeSsh.replaceAll("ssh", "web")));
  assert.deepEqual(await lockoutCheck(toUpdates(base), toUpdates(web), opts), []);
  assert.deepEqual(
    await lockoutCheck(toUpdates(base), toUpdates(after), {
      ...opts,
      keepOpen: [{ protocol: "tcp", port: 80 }],
    }),
    [],
  );
  // Deleting the policy closes it too; deleting the host endpoint opens everything.
  const delPol = applyChanges(base, [{ kind: "delete", id: { kind: "policy", name: "ssh" } }]);
  assert.equal((await lockoutCheck(toUpdates(base), toUpdates(delPol), opts)).length, 1);
  const delHep = applyChanges(base, [{
    kind: "delete",
    id: { kind: "hostEndpoint", name: "hep0", node: "h1" },
  }]);
  assert.deepEqual(await lockoutCheck(toUpdates(base), toUpdates(delHep), opts), []);
});

Deno.test("removing the failsafe ports is checked like a policy change", async () => {
  const base = applyChanges(new Map(), writes(BASE));
  const after = applyChanges(base, [
    { kind: "config", name: "FailsafeInboundHostPorts", node: "h1", value: "none" },
  ]);
  const found = await lockoutCheck(toUpdates(base), toUpdates(after), {
    sources: ["198.18.9.9"],
  });
  assert.equal(found.length, 1);
  assert.equal(found[0]!.source, "198.18.9.9");
  // From the policy's network it stays open.
  assert.deepEqual(
    await lockoutCheck(toUpdates(base), toUpdates(after), { sources: ["198.18.0.0/24"] }),
    [],
  );
});

Deno.test("a failsafe limited to a net protects only management sources inside it", async () => {
  // No policy allows ssh: only the failsafe keeps it open.
  const deny = `
- apiVersion: v1
  kind: hostEndpoint
  metadata: {name: hep0, node: h1, labels: {hep: "true"}}
  spec: {interfaceName: eth0, expectedIPs: [198.18.1.1, "2001:db8:1::1"]}
`;
  const base = applyChanges(new Map(), writes(deny));
  const after = applyChanges(base, [
    { kind: "config", name: "FailsafeInboundHostPorts", value: "tcp:198.18.0.0/24:22" },
  ]);
  const sources = ["198.18.0.0/24", "198.18.7.7", "2001:db8::9"];
  const found = await lockoutCheck(toUpdates(base), toUpdates(after), { sources });
  // The net keeps its own sources; one outside it and the other family are cut.
  assert.deepEqual(found.map((f) => [f.source, f.port]), [
    ["198.18.7.7", { protocol: "tcp", port: 22 }],
    ["2001:db8::9", { protocol: "tcp", port: 22 }],
  ]);
  assert.match(formatFindings(found)[0]!, /default drop for host endpoint hep0/);
  // Before a net is added, all sources are open; after it, the check probes port 22 once,
  // though it is listed for two nets.
  const twoNets = applyChanges(base, [{
    kind: "config",
    name: "FailsafeInboundHostPorts",
    value: "tcp:198.18.0.0/24:22,tcp:[2001:db8::/64]:22",
  }]);
  const narrower = applyChanges(twoNets, [
    { kind: "config", name: "FailsafeInboundHostPorts", value: "tcp:[2001:db8::/64]:22" },
  ]);
  assert.deepEqual(
    (await lockoutCheck(toUpdates(twoNets), toUpdates(narrower), { sources })).map((f) => f.source),
    ["198.18.0.1", "198.18.0.254"],
  );
});

Deno.test("flags and CIDR samples", () => {
  assert.deepEqual(parseKeepOpen("TCP:2222"), { protocol: "tcp", port: 2222 });
  for (const bad of ["22", "tcp:0", "sctp:1", "tcp:65536", "tcp:"]) {
    assert.throws(() => parseKeepOpen(bad), LockoutFlagError, bad);
  }
  assert.equal(parseManagementSource("198.18.0.9/24"), "198.18.0.0/24");
  assert.equal(parseManagementSource("2001:DB8::1"), "2001:db8::1");
  assert.throws(() => parseManagementSource("198.18.0.0/33"), LockoutFlagError);
  assert.deepEqual(sampleAddresses("198.18.0.0/24"), ["198.18.0.1", "198.18.0.254"]);
  assert.deepEqual(sampleAddresses("198.18.0.7"), ["198.18.0.7"]);
  assert.deepEqual(sampleAddresses("2001:db8::/64"), [
    "2001:db8::1",
    "2001:db8::ffff:ffff:ffff:ffff",
  ]);
});
