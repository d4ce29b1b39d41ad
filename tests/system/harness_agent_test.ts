/**
 * Proves the agent runner and the datastore helpers without the real agent: a fake agent (a
 * shell loop inside h1 that reads etcd's revision over the management link and prints the
 * contract lines) must be waited for correctly, time out with its log tail, and be stopped
 * and cleaned up.
 */
import { assert, assertStrictEquals } from "../harness/assert.ts";
import { Agent, AgentWaitError } from "../../netlab/agent.ts";
import { LabDatastore } from "../../netlab/datastore.ts";
import { AGENT_TESTS_IGNORED } from "../harness/scenario.ts";
import { buildTopology } from "../harness/topology.ts";

const FAKE_AGENT = `
set -u
for a in "$@"; do [ "$a" = --cleanup ] && { echo "cleanup called" > "$LOGDIR/cleanup"; exit 0; }; done
ep=""
for a in "$@"; do case "$a" in --etcd-endpoints=*) ep="\${a#--etcd-endpoints=}";; esac; done
while true; do
  ready=$(ETCDCTL_API=3 etcdctl --endpoints="$ep" get /calico/v1/Ready --print-value-only)
  if [ "$ready" != true ]; then
    echo "2026-01-01 00:00:00.000 [INFO][1] agent: Datastore not ready (wait-for-ready)" >&2
  else
    rev=$(ETCDCTL_API=3 etcdctl --endpoints="$ep" get / --limit=1 -w json | sed -n 's/.*"revision":\\([0-9]*\\).*/\\1/p')
    echo "2026-01-01 00:00:00.000 [INFO][1] agent: Dataplane in sync at revision $rev" >&2
  fi
  sleep 0.2
done
`;

Deno.test({
  name: "the agent runner waits on log lines and revisions, and cleans up (fake agent)",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using topo = await buildTopology({ tcpPorts: [], udpPorts: [] });
    const logDir = await Deno.makeTempDir({ prefix: "hft-fake-" });
    try {
      const ds = new LabDatastore(topo.e, topo.etcdEndpoint);
      await using agent = await Agent.start({
        ns: topo.h1,
        etcdEndpoint: topo.etcdEndpoint,
        command: ["bash", "-c", FAKE_AGENT, "fake-agent"],
        env: { LOGDIR: logDir },
      });

      await t.step("waitForLog sees wait-for-ready before the Ready flag", async () => {
        await agent.waitForLog(/wait-for-ready/, 10_000);
        assert(agent.argv.includes("--felix-hostname=h1"), `argv: ${agent.argv.join(" ")}`);
      });

      await t.step("waitForRevision resolves at or after a put's revision", async () => {
        const rev = await ds.put("/calico/v1/Ready", "true");
        const seen = await agent.waitForRevision(rev, 10_000);
        assert(seen >= rev, `saw ${seen} < ${rev}`);
        const later = await ds.fence();
        assert(later > rev, "fence did not advance the revision");
        assert((await agent.waitForRevision(later, 10_000)) >= later, "no later revision");
        assertStrictEquals(await ds.get("/calico/v1/Ready"), "true", "Ready value");
        const delRev = await ds.del("/calico/v1/policy/", { prefix: true });
        assert(delRev >= later, "del revision went back");
      });

      await t.step("a wait that cannot be met times out and quotes the log", async () => {
        let err: unknown;
        try {
          await agent.waitForRevision(1_000_000, 800);
        } catch (e) {
          err = e;
        }
        assert(err instanceof AgentWaitError, `expected AgentWaitError, got ${err}`);
        assert(String(err).includes("Dataplane in sync"), `no log tail in: ${err}`);
      });

      await t.step("dispose stops the agent and runs --cleanup in the namespace", async () => {
        await agent[Symbol.asyncDispose]();
        assert(agent.exited !== undefined, "agent still running");
        assertStrictEquals(
          (await Deno.readTextFile(`${logDir}/cleanup`)).trim(),
          "cleanup called",
          "cleanup marker",
        );
      });
    } finally {
      await Deno.remove(logDir, { recursive: true }).catch(() => {});
    }
  },
});
