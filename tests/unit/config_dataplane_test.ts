/** From FelixConfig to the dataplane contract, and mark allocation. */
import assert from "node:assert/strict";
import { configInputs } from "../fixtures/config_inputs.ts";
import { allocateMarks, DATAPLANE_PARAMS, toDataplaneConfig } from "../../src/config/dataplane.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../../src/config/defaults.ts";
import { PARAM_LIST } from "../../src/config/params.ts";
import { resolveConfig } from "../../src/config/resolve.ts";

function resolve(env: Record<string, string> = {}) {
  const r = resolveConfig(configInputs({ env }));
  assert.ok(r.config, r.fatal ?? "");
  return r.config;
}

Deno.test("default config becomes the default dataplane config", () => {
  assert.deepEqual(toDataplaneConfig(resolve()), {
    interfacePrefixes: ["cali"],
    failsafeInbound: [{ protocol: "tcp", port: 22 }, { protocol: "udp", port: 68 }],
    failsafeOutbound: [
      { protocol: "tcp", port: 2379 },
      { protocol: "tcp", port: 2380 },
      { protocol: "tcp", port: 4001 },
      { protocol: "tcp", port: 7001 },
      { protocol: "udp", port: 53 },
      { protocol: "udp", port: 67 },
    ],
    defaultEndpointToHostAction: "DROP",
    logPrefix: "calico-packet",
    disableConntrackInvalidCheck: false,
    ipv6Support: true,
    hostEndpointAllowNDP: true,
    markMask: 0xff000000,
    compileMinRun: 4,
  });
});

Deno.test("changed parameters show up in the dataplane config", () => {
  const d = toDataplaneConfig(resolve({
    FELIX_INTERFACEPREFIX: "tap,veth",
    FELIX_FAILSAFEINBOUNDHOSTPORTS: "none",
    FELIX_DEFAULTENDPOINTTOHOSTACTION: "accept",
    FELIX_IPTABLESMARKMASK: "0xf0",
    FELIX_HOSTENDPOINTALLOWNDP: "no",
    FELIX_IPV6SUPPORT: "f",
    FELIX_DISABLECONNTRACKINVALIDCHECK: "y",
    FELIX_LOGPREFIX: "hf",
    FELIX_NFTABLESCOMPILEMINRUN: "0",
  }));
  assert.deepEqual(d.interfacePrefixes, ["tap", "veth"]);
  assert.deepEqual(d.failsafeInbound, []);
  assert.equal(d.defaultEndpointToHostAction, "ACCEPT");
  assert.equal(d.markMask, 0xf0);
  assert.equal(d.hostEndpointAllowNDP, false);
  assert.equal(d.ipv6Support, false);
  assert.equal(d.disableConntrackInvalidCheck, true);
  assert.equal(d.logPrefix, "hf");
  assert.equal(d.compileMinRun, 0);
});

Deno.test("DATAPLANE_PARAMS names real parameters", () => {
  const names = new Set(PARAM_LIST.map((p) => p.name));
  for (const n of DATAPLANE_PARAMS) assert.ok(names.has(n), n);
  assert.equal(DATAPLANE_PARAMS.size, 11);
});

Deno.test("marks come from the lowest set bits: accept, pass, scratch0, scratch1", () => {
  assert.deepEqual(allocateMarks(0xff000000), {
    accept: 0x01000000,
    pass: 0x02000000,
    scratch0: 0x04000000,
    scratch1: 0x08000000,
  });
  assert.deepEqual(allocateMarks(0b1010_0001), {
    accept: 0b1,
    pass: 0b10_0000,
    scratch0: 0b1000_0000,
  });
  assert.deepEqual(allocateMarks(0x80000001), { accept: 1, pass: 0x80000000 });
  assert.throws(() => allocateMarks(0x10), /at least 2 bits/);
});

Deno.test("DEFAULT_DATAPLANE_CONFIG is what resolving no parameters at all gives", () => {
  assert.deepEqual(DEFAULT_DATAPLANE_CONFIG, toDataplaneConfig(resolve()));
  // Not a different default somewhere: a parameter set away from its default shows.
  assert.notDeepEqual(
    DEFAULT_DATAPLANE_CONFIG,
    toDataplaneConfig(resolve({ FELIX_LOGPREFIX: "x" })),
  );
});
