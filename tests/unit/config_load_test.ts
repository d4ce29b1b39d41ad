/** The I/O edge: environment, config file and host name. */
import assert from "node:assert/strict";
import { detectHostname, fileExists, loadLocalConfig } from "../../src/config/load.ts";
import { resolveConfig } from "../../src/config/resolve.ts";

Deno.test("loadLocalConfig reads the named file and feeds resolveConfig", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-config-" });
  try {
    const path = `${dir}/felix.cfg`;
    await Deno.writeTextFile(path, "[global]\nFailsafeInboundHostPorts = 2222\n");
    const local = await loadLocalConfig({ configFile: path, env: { FELIX_LOGPREFIX: "x" } });
    assert.equal(local.filePath, path);
    assert.equal(local.fileText, "[global]\nFailsafeInboundHostPorts = 2222\n");
    assert.deepEqual(local.warnings, []);
    assert.ok(local.detectedHostname.length > 0);
    assert.equal(local.fileExists(path), true);
    assert.equal(local.fileExists(dir), false);
    const r = resolveConfig({
      ...local,
      flags: new Map(),
      datastoreGlobal: new Map(),
      datastoreHost: new Map(),
    });
    assert.ok(r.config, r.fatal ?? "");
    assert.deepEqual(r.config.failsafeInboundHostPorts, [{ protocol: "tcp", port: 2222 }]);
    assert.equal(r.config.logPrefix, "x");
    assert.equal(r.sources.get("FailsafeInboundHostPorts"), `config file ${path} line 2`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing explicit config file warns; the default path is silent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-config-" });
  try {
    const local = await loadLocalConfig({ configFile: `${dir}/absent.cfg`, env: {} });
    assert.equal(local.fileText, undefined);
    assert.deepEqual(local.warnings, [
      `Config file ${dir}/absent.cfg does not exist; continuing without it`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreadable config file is an error naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-config-" });
  try {
    // A directory cannot be read as text.
    await assert.rejects(
      () => loadLocalConfig({ configFile: dir, env: {} }),
      new RegExp(`^Error: Cannot read config file ${dir}: `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("host name detection and file checks", () => {
  assert.equal(detectHostname({}), Deno.hostname());
  assert.equal(fileExists("/definitely/not/here"), false);
});
