/**
 * The agent with DatastoreType=local, with no etcd anywhere: resources come from YAML files
 * in a policy directory, real nftables in h1, real packets from R. A file edited live
 * changes the verdict; a broken file leaves the programmed table exactly as it was (and is
 * logged with file:line:col) until it is fixed.
 */
import assert from "node:assert/strict";
import { tempPolicyDir } from "../fixtures/policy_dir.ts";
import { Agent } from "../../netlab/agent.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";
import { canUseNetns, haveCommand } from "../../netlab/netns.ts";
import { type ProbeResult, type Verdict } from "../../netlab/probe.ts";
import { ADDR, buildTopology, tcpIntoH1Eth0 } from "../harness/topology.ts";

const IGNORED = !canUseNetns() || !haveCommand("nft") || !haveCommand("python3");

const HEP = `# h1's eth0; no metadata.node: the files are this host's
- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0
    labels:
      role: web
  spec:
    interfaceName: eth0
    expectedIPs: ["${ADDR.h1Eth0}"]
`;

function webPolicy(ports: readonly number[]): string {
  return `apiVersion: v1
kind: policy
metadata:
  name: web
spec:
  selector: role == 'web'
  order: 10
  ingress:
  - action: allow
    protocol: tcp
    destination:
      ports: [${ports.join(", ")}]
  egress:
  - action: allow
`;
}

Deno.test({
  name:
    "local datastore: files enforce, live edits change verdicts, a broken file keeps the last good state",
  ignore: IGNORED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using topo = await buildTopology({ etcd: false });
    await using policyDir = await tempPolicyDir("hostfence-policy-d-", {
      "10-hep.yaml": HEP,
      "20-web.yaml": webPolicy([80]),
    });
    const dir = policyDir.path;
    await using agent = await Agent.start({
      ns: topo.h1,
      etcdEndpoint: "",
      flags: { "datastore-type": "local", "policy-dir": dir },
    });
    const probe = (port: number): Promise<ProbeResult> =>
      topo.probe.r.tcp(ADDR.h1Eth0, port, { timeoutMs: 700 });
    const verdicts = async (): Promise<Record<number, Verdict>> => {
      const ports = [80, 443, 8080];
      const got = await Promise.all(ports.map(probe));
      return Object.fromEntries(ports.map((p, i) => [p, got[i]!.verdict]));
    };
    const table = async () =>
      (await topo.h1.exec(["nft", "-s", "list", "table", "inet", "hostfence"])).stdout;

    await t.step("the files are enforced, without etcd", async () => {
      await agent.waitForRevision(1, 30_000);
      assert.deepEqual(await verdicts(), { 80: "allow", 443: "drop", 8080: "drop" });
      assert(agent.hasLogged(/Read policy directory \S+: 2 files, 2 resources \(revision 1\)/));
      assert(!agent.hasLogged(/Connecting to etcd|Cannot connect to etcd/), agent.tail());
    });

    await t.step("explain --policy-dir agrees with the packets", async () => {
      for (const [port, want] of [[80, "ALLOW"], [8080, "DROP"]] as const) {
        const r = await topo.h1.exec([
          HOSTFENCE,
          "explain",
          "--policy-dir",
          dir,
          ...tcpIntoH1Eth0(ADDR.r, ADDR.h1Eth0, port),
        ]);
        assert.match(r.stdout, new RegExp(`^Verdict: ${want}`, "m"), `tcp/${port}`);
      }
    });

    await t.step("an edited file changes the verdict live", async () => {
      await Deno.writeTextFile(`${dir}/20-web.yaml`, webPolicy([8080]));
      await agent.waitForRevision(2, 15_000);
      assert.deepEqual(await verdicts(), { 80: "drop", 443: "drop", 8080: "allow" });
    });

    await t.step("a broken file keeps the last good state and says where", async () => {
      const before = await table();
      const from = agent.mark();
      // An editor's save: a temporary file renamed over the original.
      await Deno.writeTextFile(
        `${dir}/.20-web.yaml.tmp`,
        webPolicy([443]).replace("protocol: tcp", "protocol: tcp\n    colour: red"),
      );
      await Deno.rename(`${dir}/.20-web.yaml.tmp`, `${dir}/20-web.yaml`);
      const line = await agent.waitForLog(/not applied/, 15_000, from);
      assert.match(
        line,
        new RegExp(
          `\\[ERROR\\].* not applied, keeping the last good state \\(revision 2, 2 resources\\): ` +
            `${dir}/20-web\\.yaml:11:5: policy "web" spec\\.ingress\\[0\\]\\.colour`,
        ),
      );
      // Give a wrong apply every chance to happen before looking.
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(await table(), before, "the programmed table did not change");
      assert.deepEqual(await verdicts(), { 80: "drop", 443: "drop", 8080: "allow" });
      assert(!agent.hasLogged(/in sync at revision 3/, from), agent.tail());
    });

    await t.step("fixing the file applies it", async () => {
      await Deno.writeTextFile(`${dir}/20-web.yaml`, webPolicy([443]));
      await agent.waitForRevision(3, 15_000);
      assert(agent.hasLogged(/is valid again/));
      assert.deepEqual(await verdicts(), { 80: "drop", 443: "allow", 8080: "drop" });
    });

    await t.step("a second file with the same policy is refused, naming both", async () => {
      const from = agent.mark();
      await Deno.writeTextFile(`${dir}/30-copy.yml`, webPolicy([80]));
      const line = await agent.waitForLog(/defined twice/, 15_000, from);
      assert.match(line, /20-web\.yaml:1:1 and in \S+30-copy\.yml:1:1/);
      assert.deepEqual(await verdicts(), { 80: "drop", 443: "allow", 8080: "drop" });
    });
  },
});
