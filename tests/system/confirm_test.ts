/**
 * Commit-confirm end to end (issue 8 item 2): real etcd, real agents in h1 and h2, real
 * packets. A change made with `--confirm-within` that cuts the ssh-like path (R -> h1 tcp/22,
 * failsafes off) comes back by itself when nobody confirms it; a confirmed change stays; of
 * two agents exactly one restores; agents stopped for the whole window roll back when they
 * start; a resource edited after the change is left alone and logged.
 */
import { assert, assertIncludes, assertStrictEquals } from "../harness/assert.ts";
import { Agent } from "../../netlab/agent.ts";
import type { LabDatastore } from "../../netlab/datastore.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import {
  AGENT_TESTS_IGNORED,
  hep0,
  openSite,
  policy,
  type Res,
  toYaml,
} from "../harness/scenario.ts";

const NO_FAILSAFES = {
  "failsafe-inbound-host-ports": "none",
  "failsafe-outbound-host-ports": "none",
};
const RECORD_PREFIX = "/calico/hostfence/v1/confirm/record/";
const GUARD_PREFIX = "/calico/hostfence/v1/confirm/guard/";
const DROP_SSH_KEY = "/calico/v1/policy/tier/default/policy/drop-ssh";

/** Deep equality by JSON text (the harness's assertStrictEquals compares identity). */
function assertJsonEquals<T>(actual: T, expected: T, what: string): void {
  assertStrictEquals(JSON.stringify(actual), JSON.stringify(expected), what);
}

const allowAll = policy("allow-all", {
  order: 100,
  ingress: [{ action: "allow" }],
  egress: [{ action: "allow" }],
});
const dropSsh = policy("drop-ssh", {
  order: 10,
  ingress: [{ action: "deny", protocol: "tcp", destination: { ports: [22] } }],
});

/** Writes `resources` with `--confirm-within`; returns the change ID it printed. */
async function confirmable(
  ds: LabDatastore,
  verb: string,
  resources: Res[],
  within: string,
): Promise<string> {
  const r = await ds.cli([verb, "-f", "-", "--confirm-within", within], toYaml(resources));
  assertStrictEquals(r.code, 0, `${verb} --confirm-within exit code (${r.stderr})`);
  const m = /^Change ID: ([0-9a-f]+)$/m.exec(r.stdout);
  assert(m, `no change ID in: ${r.stdout}`);
  return m[1]!;
}

/** Every agent's lines saying it rolled back change `id`. */
function restorers(agents: readonly Agent[], id: string): string[] {
  return agents.flatMap((a) => a.lines.filter((l) => l.includes(`Rolled back change ${id} `)));
}

/** Waits until some agent logs that it rolled back `id`; returns that line. */
async function waitForRollback(agents: readonly Agent[], id: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const hit = restorers(agents, id);
    if (hit.length > 0) return hit[0]!;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `No agent rolled back change ${id} within ${ms} ms:\n` +
      agents.map((a) => a.tail(10)).join("\n---\n"),
  );
}

Deno.test({
  name: "commit-confirm: unconfirmed changes roll back, confirmed ones stay",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({ topology: { h2: true }, flags: NO_FAILSAFES });
    const { ds, probe } = site;
    const ssh = () => probe.r.tcp(ADDR.h1Eth0, 22);
    let h2 = await Agent.start({
      ns: site.topo.h2!,
      hostname: "h2",
      etcdEndpoint: site.topo.etcdEndpoint,
      flags: NO_FAILSAFES,
    });
    try {
      await h2.waitForRevision(await ds.fence(), 30_000);
      await site.apply(hep0(), allowAll);
      await expectAll([["R -> h1 tcp/22 before any change", ssh(), "allow"]]);

      await t.step("bad deadlines and unknown IDs are refused and write nothing", async () => {
        const before = await ds.keys("/calico/");
        for (const bad of ["60", "soon", "1s", "10ms"]) {
          const r = await ds.cli(["apply", "-f", "-", "--confirm-within", bad], toYaml([dropSsh]));
          assertStrictEquals(r.code, 1, `--confirm-within ${bad} exit code`);
          assertIncludes(r.stderr, "--confirm-within", "error names the flag");
        }
        const unknown = await ds.cli(["confirm", "deadbeef"]);
        assertStrictEquals(unknown.code, 1, "confirm of an unknown ID");
        assertIncludes(
          unknown.stderr,
          "Failed to confirm change deadbeef: no such change",
          "error",
        );
        const none = await ds.cli(["confirm"]);
        assertStrictEquals(none.code, 1, "confirm with nothing waiting");
        assertIncludes(none.stderr, "no change is waiting", "error");
        assertJsonEquals(await ds.keys("/calico/"), before, "keys after refused commands");
      });

      await t.step("an unreachable etcd is reported as the plain commands report it", async () => {
        // Port 2 on E's own loopback: refused at once, inside the test's namespace (port 1 is
        // one of the ports Deno's fetch refuses to use at all).
        const nowhere = "--etcd-endpoints=http://127.0.0.1:2";
        const r = await ds.cli(
          ["apply", "-f", "-", "--confirm-within", "60s", nowhere],
          toYaml([dropSsh]),
        );
        assertStrictEquals(r.code, 1, "apply --confirm-within without etcd");
        assertStrictEquals(
          r.stderr,
          "Failed to apply 'policy' resource: Cannot connect to etcd at http://127.0.0.1:2: " +
            "connection refused\n",
          "apply error",
        );
        const c = await ds.cli(["confirm", nowhere]);
        assertStrictEquals(c.code, 1, "confirm without etcd");
        assertStrictEquals(
          c.stderr,
          "Failed to confirm: Cannot connect to etcd at http://127.0.0.1:2: connection refused\n",
          "confirm error",
        );
      });

      await t.step("an unconfirmed change that cuts ssh is rolled back by one agent", async () => {
        const id = await confirmable(ds, "apply", [dropSsh], "5s");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 during the window", ssh(), "drop"]]);
        assert(await ds.get(RECORD_PREFIX + id) !== undefined, "record written");
        assert(await ds.get(GUARD_PREFIX + id) !== undefined, "guard written");
        const line = await waitForRollback([site.agent, h2], id);
        assertIncludes(line, "Policy(name=drop-ssh) (removed: it did not exist before)", "log");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 after the rollback", ssh(), "allow"]]);
        assertStrictEquals(await ds.get(DROP_SSH_KEY), undefined, "drop-ssh after the rollback");
        assertJsonEquals(
          await ds.keys("/calico/hostfence/"),
          [],
          "confirm keys after the rollback",
        );
      });

      await t.step("of two agents exactly one restores each change", async () => {
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          ids.push(await confirmable(ds, "apply", [policy(`p${i}`, { order: 50 + i })], "3s"));
        }
        for (const id of ids) await waitForRollback([site.agent, h2], id);
        // Give the slower agent a few polls to (wrongly) restore as well.
        await new Promise((r) => setTimeout(r, 3000));
        for (const id of ids) {
          assertStrictEquals(restorers([site.agent, h2], id).length, 1, `agents restoring ${id}`);
        }
        assertJsonEquals(await ds.keys("/calico/v1/policy/"), [
          "/calico/v1/policy/tier/default/policy/allow-all",
        ], "policies after the rollbacks");
      });

      await t.step("a confirmed change stays", async () => {
        const id = await confirmable(ds, "apply", [dropSsh], "4s");
        const r = await ds.cli(["confirm"]);
        assertStrictEquals(r.code, 0, `confirm exit code (${r.stderr})`);
        assertStrictEquals(r.stdout, `Confirmed change ${id}: it stays\n`, "confirm output");
        assertJsonEquals(await ds.keys("/calico/hostfence/"), [], "confirm keys after confirm");
        await new Promise((res) => setTimeout(res, 6000));
        assert(!restorers([site.agent, h2], id).length, "a confirmed change was rolled back");
        assert(await ds.get(DROP_SSH_KEY) !== undefined, "drop-ssh kept");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 after confirming", ssh(), "drop"]]);
        const again = await ds.cli(["confirm", id]);
        assertStrictEquals(again.code, 1, "confirming twice");
        await ds.deleteResource("policy", "drop-ssh");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 once drop-ssh is deleted", ssh(), "allow"]]);
      });

      await t.step("agents stopped for the whole window roll back when they start", async () => {
        const id = await confirmable(ds, "apply", [dropSsh], "3s");
        await site.sync();
        await site.agent.stop();
        await h2.stop();
        while (await ds.get(GUARD_PREFIX + id) !== undefined) {
          await new Promise((r) => setTimeout(r, 250));
        }
        assert(await ds.get(RECORD_PREFIX + id) !== undefined, "record kept while agents are down");
        await expectAll([["R -> h1 tcp/22 while the agents are down", ssh(), "drop"]]);
        const h1 = await site.restartAgent();
        await h2[Symbol.asyncDispose]();
        h2 = await Agent.start({ ...h2.opts });
        const line = await waitForRollback([h1, h2], id);
        assertIncludes(line, "Policy(name=drop-ssh) (removed: it did not exist before)", "log");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 after the late rollback", ssh(), "allow"]]);
        assertStrictEquals(
          await ds.get(DROP_SSH_KEY),
          undefined,
          "drop-ssh after the late rollback",
        );
      });

      await t.step("a resource edited after the change is left alone and logged", async () => {
        const mine = policy("operator-edit", {
          order: 20,
          ingress: [{ action: "deny", protocol: "tcp", destination: { ports: [2222] } }],
        });
        const id = await confirmable(ds, "apply", [dropSsh, mine], "4s");
        const edited = policy("operator-edit", {
          order: 20,
          ingress: [{ action: "deny", protocol: "tcp", destination: { ports: [8080] } }],
        });
        await ds.write("apply", toYaml([edited]));
        const line = await waitForRollback([site.agent, h2], id);
        assertIncludes(line, "Policy(name=drop-ssh) (removed", "restored");
        const warned = [site.agent, h2].flatMap((a) => a.lines).filter((l) =>
          l.includes(`Change ${id} was not confirmed, but Policy(name=operator-edit) was edited`)
        );
        assertStrictEquals(warned.length, 1, "warnings about the edited policy");
        assertIncludes(
          (await ds.get("/calico/v1/policy/tier/default/policy/operator-edit")) ?? "",
          "8080",
          "the operator's edit survives",
        );
        assertStrictEquals(await ds.get(DROP_SSH_KEY), undefined, "drop-ssh");
        await site.sync();
        await expectAll([
          ["R -> h1 tcp/22", ssh(), "allow"],
          ["R -> h1 tcp/8080 (the operator's edit)", probe.r.tcp(ADDR.h1Eth0, 8080), "drop"],
        ]);
      });

      await t.step("delete --confirm-within brings the resource back", async () => {
        const r = await ds.cli(["delete", "policy", "allow-all", "--confirm-within", "3s"]);
        assertStrictEquals(r.code, 0, `delete --confirm-within (${r.stderr})`);
        const id = /^Change ID: (\S+)$/m.exec(r.stdout)![1]!;
        await site.sync();
        await expectAll([["R -> h1 tcp/22 without allow-all", ssh(), "drop"]]);
        const line = await waitForRollback([site.agent, h2], id);
        assertIncludes(line, "Policy(name=allow-all) (re-created with its previous value)", "log");
        await site.sync();
        await expectAll([["R -> h1 tcp/22 with allow-all back", ssh(), "allow"]]);
      });
    } finally {
      await h2[Symbol.asyncDispose]();
    }
  },
});
