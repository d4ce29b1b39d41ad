/**
 * A v3 FelixConfiguration as the CLI writes it: the config changes it makes (every key it
 * owns, set or unset), and that the lockout check judges them like `config set` (emptying
 * failsafeInboundHostPorts closes ssh when no policy opens it).
 */
import assert from "node:assert/strict";
import { lockoutCheck } from "../../src/lockout/lockout.ts";
import { applyChanges, toUpdates } from "../../src/cmd/lockout_check.ts";
import type { Change } from "../../src/cmd/lockout_guard.ts";
import { felixConfigurationChanges } from "../../src/cmd/felix_configuration.ts";
import { parseManifests } from "../../src/model/input.ts";
import { FELIX_PARAMS } from "../../src/model/v3/felix_config.ts";
import type { FelixConfigurationResource } from "../../src/model/v3/types.ts";

const HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: hep0, labels: {hep: "true"}}
spec: {node: h1, interfaceName: eth0, expectedIPs: [198.18.1.1]}
`;

function felix(spec: string, name = "default"): FelixConfigurationResource {
  const text = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: ${name}}
spec: ${spec}
`;
  return parseManifests(text, "f.yaml")[0]!.resource as FelixConfigurationResource;
}

Deno.test("a FelixConfiguration write sets its keys and unsets the others it owns", () => {
  const changes = felixConfigurationChanges(felix("{defaultEndpointToHostAction: Accept}"));
  assert.equal(changes.length, FELIX_PARAMS.length);
  assert.deepEqual(changes.find((c) => c.kind === "config" && c.value !== null), {
    kind: "config",
    name: "DefaultEndpointToHostAction",
    value: "ACCEPT",
  });
  const perHost = felixConfigurationChanges(felix("{}", "node.h1"));
  assert.ok(perHost.every((c) => c.kind === "config" && c.node === "h1" && c.value === null));
});

Deno.test("the lockout check sees a FelixConfiguration that empties the failsafe ports", async () => {
  const writes: Change[] = parseManifests(HEP, "h.yaml").map(({ resource }) => ({
    kind: "write",
    verb: "apply",
    resource: resource as Extract<Change, { kind: "write" }>["resource"],
  }));
  const base = applyChanges(new Map(), writes);
  const after = applyChanges(
    base,
    felixConfigurationChanges(felix("{failsafeInboundHostPorts: []}")),
  );
  const opts = { sources: ["198.18.0.7"] };
  const found = await lockoutCheck(toUpdates(base), toUpdates(after), opts);
  assert.deepEqual(found.map((f) => [f.node, f.iface, f.source, f.port.port]), [
    ["h1", "eth0", "198.18.0.7", 22],
  ]);
  const keep = applyChanges(
    base,
    felixConfigurationChanges(felix("{failsafeInboundHostPorts: [{protocol: TCP, port: 22}]}")),
  );
  assert.deepEqual(await lockoutCheck(toUpdates(base), toUpdates(keep), opts), []);
});
