/**
 * The agent under failure: etcd going away and coming back, nft failing, and a second agent
 * started beside it. In all of them the rules already programmed must keep being enforced,
 * and changes must land once the failure is gone.
 */
import { Agent } from "../../netlab/agent.ts";
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, allowPorts, hep0, openSite, toYaml } from "../harness/scenario.ts";

Deno.test({
  name: "rules stay enforced while etcd is down, and later changes are applied",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    await expectAll([
      ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
      ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
    ]);
    await site.topo.etcd!.stop();
    // Give the agent time to notice; the rules must not move meanwhile.
    await new Promise((r) => setTimeout(r, 3000));
    assert(site.agent.exited === undefined, `Agent exited with etcd down:\n${site.agent.tail()}`);
    await expectAll([
      ["R -> h1 tcp/80, etcd down", probe.r.tcp(h1, 80), "allow"],
      ["R -> h1 tcp/81, etcd down", probe.r.tcp(h1, 81), "drop"],
      ["R -> h1 tcp/22, etcd down (failsafe)", probe.r.tcp(h1, 22), "allow"],
    ]);
    await site.topo.etcd!.restart();
    await ds.write("apply", toYaml([allowPorts(80, 81)]));
    await site.agent.waitForRevision(await ds.fence(), 60_000);
    await expectAll([
      ["R -> h1 tcp/81 after etcd returned", probe.r.tcp(h1, 81), "allow"],
      ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "drop"],
    ]);
  },
});

Deno.test({
  name: "an nft failure is logged, keeps the previous rules, and heals when nft works again",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hostfence-nftfail-" });
    try {
      const flag = `${dir}/fail`;
      const wrapper = `${dir}/nft`;
      const nft = new TextDecoder().decode(
        new Deno.Command("sh", { args: ["-c", "command -v nft"], stdout: "piped" }).outputSync()
          .stdout,
      ).trim();
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh
# Fails like nft does while ${flag} exists (test fault injection).
if [ -e '${flag}' ]; then
  cat >/dev/null 2>&1
  echo "Error: hostfence-injected-failure: Could not process rule: No buffer space available" >&2
  exit 1
fi
exec '${nft}' "$@"
`,
      );
      await Deno.chmod(wrapper, 0o755);
      await using site = await openSite({ env: { HOSTFENCE_NFT: wrapper } });
      const { probe, ds } = site;
      const h1 = ADDR.h1Eth0;
      await site.apply(hep0(), allowPorts(80));
      await expectAll([
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
        ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
      ]);

      await Deno.writeTextFile(flag, "");
      const from = site.agent.mark();
      await ds.write("apply", toYaml([allowPorts(80, 81)]));
      const rev = await ds.fence();
      const err = await site.agent.waitForLog(/hostfence-injected-failure/, 15_000, from);
      assert(/\[ERROR\]/.test(err), `nft's message is not logged at ERROR: ${err}`);
      await expectAll([
        ["R -> h1 tcp/80, nft failing", probe.r.tcp(h1, 80), "allow"],
        ["R -> h1 tcp/81, nft failing (change not applied)", probe.r.tcp(h1, 81), "drop"],
      ]);
      assert(
        site.agent.exited === undefined,
        `Agent exited on an nft failure:\n${site.agent.tail()}`,
      );

      await Deno.remove(flag);
      await site.agent.waitForRevision(rev, 60_000);
      await expectAll([
        ["R -> h1 tcp/81 once nft works", probe.r.tcp(h1, 81), "allow"],
        ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "drop"],
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "a second agent in the same namespace refuses to start, naming the lock and the first's pid",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    await using site = await openSite();
    const { probe } = site;
    const h1 = ADDR.h1Eth0;
    await site.apply(hep0(), allowPorts(80));
    const first = site.agent;
    const pid = await first.waitFor(
      "the first agent's start line",
      (l) => /Starting hostfence agent for host 'h1' \(pid (\d+)\)/.exec(l)?.[1],
    );

    await using second = await Agent.start({
      ns: site.topo.h1,
      etcdEndpoint: site.topo.etcdEndpoint,
    });
    const refusal = await second.waitForLog(/already running/, 30_000);
    assert(
      new RegExp(
        `\\[FATAL\\].*Another hostfence agent is already running in this network namespace ` +
          `\\(pid ${pid} host h1; lock /run/hostfence/agent\\.net-\\d+\\.lock\\)`,
      ).test(refusal),
      `refusal line: ${refusal}`,
    );
    const deadline = Date.now() + 15_000;
    while (second.exited === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(second.exited !== undefined && second.exited.code !== 0, "the second agent exits 1");
    const said = second.lines.filter((l) => /\[(WARNING|ERROR|FATAL)\]/.test(l));
    assert(said.length === 1, `one line, not:\n${said.join("\n")}`);
    assert(!second.hasLogged(/Connecting to etcd|Dataplane in sync/), second.tail());

    // The first agent was not disturbed: it keeps enforcing and applying changes.
    assert(first.exited === undefined, `first agent exited:\n${first.tail()}`);
    await site.apply(hep0(), allowPorts(80, 81));
    await expectAll([
      ["R -> h1 tcp/81 after the refusal", probe.r.tcp(h1, 81), "allow"],
      ["R -> h1 tcp/443", probe.r.tcp(h1, 443), "drop"],
    ]);

    // The kernel drops the lock with the process, even on kill -9: a new agent starts.
    await first.crash();
    const next = await site.restartAgent();
    assert(!next.hasLogged(/already running/), next.tail());
  },
});
