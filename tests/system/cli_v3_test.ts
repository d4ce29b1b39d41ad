/**
 * projectcalico.org/v3 manifests through the real CLI and a real etcd (issue 9 part 1): a
 * file mixing v1 and v3 documents, the etcd layout (a v3 resource is stored byte-for-byte as
 * its v1 twin), round trips v3 -> etcd -> v3 and v1 -> etcd -> v1 that change neither the
 * printed text nor etcd, FelixConfiguration as Felix config keys, and refusals that write
 * nothing.
 */
import assert from "node:assert/strict";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";

const ignore = !haveEtcd();

interface Result {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function run(cmd: string, args: readonly string[], env: Record<string, string>, stdin = "") {
  const child = new Deno.Command(cmd, {
    args: [...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin)).catch(() => {});
  await w.close().catch(() => {});
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

function ok(r: Result, out: string | RegExp, what = "") {
  assert.equal(r.err, "", what);
  assert.equal(r.code, 0, what);
  if (typeof out === "string") assert.equal(r.out, out, what);
  else assert.match(r.out, out, what);
}

const V1 = `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0-v1
    node: h1
    labels: {role: webserver, environment: production}
  spec:
    interfaceName: eth0
    expectedIPs: ["198.18.1.1"]
    profiles: [web]
- apiVersion: v1
  kind: policy
  metadata:
    name: web-v1
  spec:
    selector: role == "webserver"
    order: 100
    ingress:
    - action: allow
      protocol: tcp
      source:
        nets: [198.18.0.0/24]
      destination:
        ports: [80, "8000:8080"]
    egress:
    - action: allow
- apiVersion: v1
  kind: profile
  metadata:
    name: web-v1
    labels: {zone: a}
  spec:
    ingress:
    - action: deny
`;

const V3 = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: eth0-v3
  labels: {role: webserver, environment: production}
spec:
  node: h1
  interfaceName: eth0
  expectedIPs: ["198.18.1.1"]
  profiles: [web]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: web-v3
spec:
  selector: role == "webserver"
  order: 100
  applyOnForward: true
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets: [198.18.0.0/24]
    destination:
      ports: [80, "8000:8080"]
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: web-v3
spec:
  labelsToApply: {zone: a}
  ingress:
  - action: Deny
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: h1
spec:
  bgp: {ipv4Address: 198.18.0.11/24}
`;

const FELIX = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: default
spec:
  failsafeInboundHostPorts: [{protocol: TCP, port: 22}, {protocol: UDP, port: 68}]
  defaultEndpointToHostAction: Accept
  reportingInterval: 1m30s
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: node.h1
spec:
  logSeverityScreen: Debug
`;

Deno.test({
  name: "CLI v3: mixed files, etcd layout, byte-stable round trips, FelixConfiguration, refusals",
  ignore,
  async fn(t) {
    await using etcd = await startEtcd();
    const env = { ETCD_ENDPOINTS: etcd.endpoint };
    const cli = (args: readonly string[], stdin?: string) => run(HOSTFENCE, args, env, stdin);
    const dump = async (prefix = "/calico/") => {
      const r = await run("etcdctl", [`--endpoints=${etcd.endpoint}`, "get", prefix, "--prefix"], {
        ETCDCTL_API: "3",
      });
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split("\n");
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
      return out;
    };

    await t.step("one file mixing v1 and v3 applies in file order", async () => {
      ok(
        await cli(["apply", "-f", "-"], V1 + "---\n" + V3),
        "Successfully applied 7 resource(s)\n",
      );
    });

    await t.step("a v3 resource is stored exactly as its v1 twin", async () => {
      const keys = await dump();
      const same = (a: string, b: string) => assert.equal(keys[a], keys[b], `${a} vs ${b}`);
      same("/calico/v1/host/h1/endpoint/eth0-v1", "/calico/v1/host/h1/endpoint/eth0-v3");
      same("/calico/v1/policy/profile/web-v1/rules", "/calico/v1/policy/profile/web-v3/rules");
      same("/calico/v1/policy/profile/web-v1/labels", "/calico/v1/policy/profile/web-v3/labels");
      // The v3 policy differs only by its explicit apply_on_forward.
      const v1 = JSON.parse(keys["/calico/v1/policy/tier/default/policy/web-v1"]!);
      const v3 = JSON.parse(keys["/calico/v1/policy/tier/default/policy/web-v3"]!);
      assert.deepEqual(v3, { ...v1, apply_on_forward: true });
      assert.equal(v1.apply_on_forward, undefined);
      assert.equal(keys["/calico/bgp/v1/host/h1/ip_addr_v4"], "198.18.0.11");
    });

    for (const kind of ["hostendpoint", "globalnetworkpolicy", "profile", "node"]) {
      await t.step(`${kind}: v3 -> etcd -> v3 and v1 -> etcd -> v1 are byte-stable`, async () => {
        for (const api of ["v3", "v1", "v3"]) {
          // The first apply may normalise what etcd holds (a v1-written policy printed as
          // v3 gains an explicit apply_on_forward: true); the text never changes, and once
          // applied a second round trip leaves etcd byte-for-byte unchanged.
          const text = (await cli(["get", kind, "-o", "yaml", "--api", api])).out;
          ok(await cli(["apply", "-f", "-"], text), /^Successfully applied/);
          assert.equal((await cli(["get", kind, "-o", "yaml", "--api", api])).out, text, api);
          const before = await dump();
          const json = (await cli(["get", kind, "-o", "json", "--api", api])).out;
          ok(await cli(["replace", "-f", "-"], json), /^Successfully replaced/);
          assert.deepEqual(await dump(), before, `${kind} ${api}: etcd unchanged`);
          assert.equal((await cli(["get", kind, "-o", "yaml", "--api", api])).out, text, api);
        }
      });
    }

    await t.step("get --api v3 prints v3, one resource as itself", async () => {
      ok(
        await cli(["get", "hep", "eth0-v3", "--node", "h1", "-o", "yaml", "--api", "v3"]),
        `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  labels:
    environment: production
    role: webserver
  name: eth0-v3
spec:
  expectedIPs:
  - 198.18.1.1
  interfaceName: eth0
  node: h1
  profiles:
  - web
`,
      );
      // Results name v3 kinds as the file wrote them, as calicoctl v3 does.
      const one = (await cli(["get", "gnp", "web-v3", "-o", "yaml", "--api", "v3"])).out;
      ok(
        await cli(["apply", "-f", "-"], one),
        "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n",
      );
      const r = await cli(["get", "gnp", "-o", "yaml", "--api", "v2"]);
      assert.equal(r.code, 1);
      assert.match(r.err, /invalid --api 'v2' \(expected v1 or v3\)/);
    });

    await t.step("FelixConfiguration is Felix config keys, global and per host", async () => {
      ok(
        await cli(["create", "-f", "-"], FELIX),
        "Successfully created 2 'FelixConfiguration' resource(s)\n",
      );
      const keys = await dump("/calico/v1/");
      assert.equal(keys["/calico/v1/config/FailsafeInboundHostPorts"], "tcp:22,udp:68");
      assert.equal(keys["/calico/v1/config/DefaultEndpointToHostAction"], "ACCEPT");
      assert.equal(keys["/calico/v1/config/ReportingIntervalSecs"], "90");
      assert.equal(keys["/calico/v1/host/h1/config/LogSeverityScreen"], "DEBUG");
      const again = await cli(["create", "-f", "-"], FELIX);
      assert.equal(again.code, 1);
      assert.match(
        again.out + again.err,
        /resource already exists: FelixConfiguration\(name=default\)/,
      );
      const text = (await cli(["get", "felixconfiguration", "-o", "yaml"])).out;
      assert.match(text, /kind: FelixConfigurationList/);
      const before = await dump();
      ok(
        await cli(["apply", "-f", "-"], text),
        "Successfully applied 2 'FelixConfiguration' resource(s)\n",
      );
      assert.equal((await cli(["get", "felixconfig", "-o", "yaml"])).out, text);
      assert.deepEqual(await dump(), before, "etcd unchanged by the round trip");
      // A whole-resource write: fields left out are unset.
      ok(
        await cli(
          ["apply", "-f", "-"],
          FELIX.split("---\n")[0]!.replace(/ {2}reportingInterval.*\n/, ""),
        ),
        /^Successfully applied 1/,
      );
      assert.equal(
        (await dump("/calico/v1/config/"))["/calico/v1/config/ReportingIntervalSecs"],
        undefined,
      );
      ok(await cli(["delete", "felixconfiguration", "node.h1"]), /^Successfully deleted 1/);
      assert.equal(
        (await dump("/calico/v1/host/h1/config/"))["/calico/v1/host/h1/config/LogSeverityScreen"],
        undefined,
      );
      const table = await cli(["get", "felixconfiguration"]);
      assert.equal(table.code, 1);
      assert.match(table.err, /FelixConfiguration prints with -o yaml or -o json only/);
      // Other tables look the same whatever --api says.
      const heps = await cli(["get", "hep", "--api", "v3"]);
      assert.equal(heps.out, (await cli(["get", "hep"])).out);
      assert.match(heps.out, /^NODE +NAME\n/);
    });

    await t.step("refusals write nothing and name file:line:col and field", async () => {
      const before = await dump();
      const bad = V3 + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: sa
spec:
  ingress:
  - action: Allow
    source:
      serviceAccounts: {names: [api]}
`;
      const r = await cli(["apply", "-f", "-"], bad);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        'Failed to execute command: <stdin>:54:7: GlobalNetworkPolicy "sa" ' +
          "spec.ingress[0].source.serviceAccounts: hostfence cannot honour field serviceAccounts: " +
          "hostfence has no service accounts (host endpoints only)\n",
      );
      assert.deepEqual(await dump(), before);
      const tags = `- apiVersion: v1
  kind: profile
  metadata: {name: tagged, tags: [a]}
  spec: {}
`;
      ok(await cli(["apply", "-f", "-"], tags), /^Successfully applied 1/);
      const p = await cli(["get", "profile", "tagged", "-o", "yaml", "--api", "v3"]);
      assert.equal(p.code, 1);
      assert.match(p.err, /Profile "tagged" has tags.*print it with --api v1/);
    });

    await t.step("delete -f takes v1 and v3 documents alike", async () => {
      ok(
        await cli(["delete", "-f", "-"], V1 + "---\n" + V3),
        "Successfully deleted 7 resource(s)\n",
      );
      const keys = Object.keys(await dump("/calico/v1/"));
      assert.deepEqual(keys.filter((k) => /endpoint|policy\/tier|web-v/.test(k)), []);
    });
  },
});
