/**
 * `render` and `explain` with `--policy-dir`: the same files an agent with
 * DatastoreType=local reads, through the same loader, without etcd.
 */
import assert from "node:assert/strict";
import { runRender } from "../../src/cmd/render.ts";
import { runExplain } from "../../src/cmd/explain.ts";
import { tempPolicyDir } from "../fixtures/policy_dir.ts";
import { processIo } from "../../src/cmd/io.ts";

const FILES: Record<string, string> = {
  "10-hep.yaml": `apiVersion: v1
kind: hostEndpoint
metadata:
  name: eth0
  labels: {role: web}
spec:
  interfaceName: eth0
  expectedIPs: ["198.18.1.1"]
`,
  "20-web.yml": `- apiVersion: v1
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
`,
};

async function withDir(fn: (dir: string) => Promise<void>) {
  await using dir = await tempPolicyDir("hostfence-policy-dir-", FILES);
  await fn(dir.path);
}

function capture() {
  const got = { out: "", err: "" };
  const io = { ...processIo(), out: (t: string) => got.out += t, err: (t: string) => got.err += t };
  return { got, io };
}

const PACKET = ["--node", "h1", "--in", "eth0", "--src", "198.18.1.2", "--dst", "198.18.1.1"];

Deno.test("render --policy-dir prints the table for the directory's resources", async () => {
  await withDir(async (dir) => {
    const { got, io } = capture();
    assert.equal(await runRender(["--policy-dir", dir, "--node", "h1"], io), 0, got.err);
    assert.match(got.out, /^table inet hostfence \{/m);
    assert.match(got.out, /policy web/);
    assert.match(got.out, /"eth0"/);
  });
});

Deno.test("explain --policy-dir decides by the files", async () => {
  await withDir(async (dir) => {
    const allowed = capture();
    assert.equal(await runExplain(["--policy-dir", dir, ...PACKET, "tcp", "80"], allowed.io), 0);
    assert.match(allowed.got.out, /^Verdict: ALLOW by policy web rule 1/m);
    const dropped = capture();
    assert.equal(await runExplain(["--policy-dir", dir, ...PACKET, "tcp", "8080"], dropped.io), 0);
    assert.match(dropped.got.out, /^Verdict: DROP: no policy allowed it/m);
  });
});

Deno.test("a broken or missing directory is an error with file:line:col, exit 1", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/20-web.yml`, FILES["20-web.yml"]!.replace("[80]", "[0x]"));
    const r = capture();
    assert.equal(await runRender(["--policy-dir", dir, "--node", "h1"], r.io), 1);
    assert.match(r.got.err, new RegExp(`^hostfence render: ${dir}/20-web\\.yml:11:\\d+: `));
    const e = capture();
    assert.equal(await runExplain(["--policy-dir", dir, ...PACKET, "tcp", "80"], e.io), 1);
    assert.match(e.got.err, new RegExp(`^hostfence explain: ${dir}/20-web\\.yml:11:\\d+: `));
  });
  const m = capture();
  assert.equal(await runRender(["--policy-dir", "/nonexistent/policy.d", "--node", "h1"], m.io), 1);
  assert.equal(
    m.got.err,
    "hostfence render: policy directory /nonexistent/policy.d does not exist\n",
  );
});
