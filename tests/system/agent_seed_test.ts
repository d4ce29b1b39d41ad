/**
 * The user's guide ("Using Calico to Secure Host Interfaces", seed/000_3011af9870641fc6.txt)
 * walked end to end on a real host namespace: its YAML examples go through the CLI verbatim
 * with the placeholders filled in (management CIDR 198.18.0.0/24, etcd 198.18.0.1:2379,
 * eth0 = 198.18.1.1, node h1), and every claim the guide makes is checked with packets or
 * with the agent's log.
 */
import { assert } from "../harness/assert.ts";
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import {
  AGENT_TESTS_IGNORED,
  hep0,
  MGMT_HEP_YAML,
  openSite,
  policy,
  tailoredFailsafeChecks,
} from "../harness/scenario.ts";
import {
  seedFailsafePolicy,
  seedHostEndpointByIp,
  seedHostEndpointByName,
  seedNode,
  seedWebserverPolicy,
} from "../../netlab/guide_examples.ts";

const SEED_NODE = seedNode("h1");

const SEED_FAILSAFE_POLICY = seedFailsafePolicy({
  managementCidr: "198.18.0.0/24",
  etcdIp: "198.18.0.1",
  etcdPorts: [2379],
});

const SEED_HEP_BY_NAME = seedHostEndpointByName({
  name: "hep-eth0",
  node: "h1",
  interfaceName: "eth0",
  profiles: [],
  expectedIPs: ["198.18.1.1"],
});

const SEED_HEP_BY_IP = seedHostEndpointByIp({
  name: "hep-eth1",
  node: "h1",
  profiles: [],
  expectedIPs: ["198.18.2.1"],
});

const SEED_WEBSERVER_POLICY = seedWebserverPolicy();

const NO_FAILSAFES = {
  "failsafe-inbound-host-ports": "none",
  "failsafe-outbound-host-ports": "none",
};

Deno.test({
  name: "the seed guide works end to end on a real host",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({ createNodes: false, startAgent: false });
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;

    await t.step("without a node resource the agent logs wait-for-ready periodically", async () => {
      const agent = await site.startAgentOnly();
      const first = await agent.waitForLog(/wait-for-ready/i, 15_000);
      await agent.waitForLog(/wait-for-ready/i, 10_000, agent.lines.indexOf(first) + 1);
      assert(!agent.hasLogged(/Dataplane in sync/), "Agent synced before the datastore was ready");
      assert(
        /wait-for-ready/i.test(await agent.logFileText()),
        "wait-for-ready not in the log file",
      );
    });

    await t.step("creating the node resource (seed YAML) ends wait-for-ready", async () => {
      const from = site.agent.mark();
      const r = await ds.write("create", SEED_NODE);
      assert(/Successfully created 1 'node' resource\(s\)/.test(r.stdout), `CLI said: ${r.stdout}`);
      await site.agent.waitForLog(/Dataplane in sync at revision/, 20_000, from);
      await site.sync();
    });

    await t.step("a host endpoint with no policy drops all but the failsafe ports", async () => {
      await ds.write("create", SEED_HEP_BY_NAME);
      await site.sync();
      await expectAll([
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
        ["R -> h1 v6 tcp/80", probe.r.tcp(ADDR.h1Eth0v6, 80), "drop"],
        ["R -> h1 ping", probe.r.ping(h1), "drop"],
        ["R -> h1 tcp/22 (failsafe)", probe.r.tcp(h1, 22), "allow"],
        ["R -> h1 udp/68 (failsafe)", probe.r.udp(h1, 68), "allow"],
        ["h1 -> R tcp/2379 (failsafe out)", probe.h1.tcp(ADDR.r, 2379), "allow"],
        ["h1 -> R udp/53 (failsafe out)", probe.h1.udp(ADDR.r, 53), "allow"],
        ["h1 -> R tcp/80", probe.h1.tcp(ADDR.r, 80), "drop"],
        ["R2 -> h1 eth1 tcp/80 (no HEP: left alone)", probe.r2.tcp(ADDR.h1Eth1, 80), "allow"],
      ]);
    });

    await t.step("failsafes set to none close the failsafe ports", async () => {
      await site.restartAgent(NO_FAILSAFES);
      await expectAll([
        ["R -> h1 tcp/22", probe.r.tcp(h1, 22), "drop"],
        ["R -> h1 udp/68", probe.r.udp(h1, 68), "drop"],
        ["h1 -> R tcp/2379", probe.h1.tcp(ADDR.r, 2379), "drop"],
        ["h1 -> R udp/53", probe.h1.udp(ADDR.r, 53), "drop"],
      ]);
    });

    await t.step("the tailored failsafe policy replaces the failsafes, etcd included", async () => {
      await ds.write("create", SEED_FAILSAFE_POLICY);
      await ds.write("create", MGMT_HEP_YAML);
      await site.sync(); // the agent's own etcd traffic now crosses a policed mgmt0
      await expectAll([
        ...tailoredFailsafeChecks(site),
        ["h1 -> R tcp/2379 (not the etcd IP)", probe.h1.tcp(ADDR.r, 2379), "drop"],
      ]);
      // The agent still reads etcd through the policy: a new write is programmed.
      await site.restartAgent(NO_FAILSAFES);
      await ds.write("create", SEED_WEBSERVER_POLICY);
      await site.sync();
    });

    await t.step("the webserver policy opens tcp/80 on endpoints labelled webserver", async () => {
      await expectAll([
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
        ["R -> h1 v6 tcp/80", probe.r.tcp(ADDR.h1Eth0v6, 80), "allow"],
        ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
        ["h1 -> R tcp/80 (egress allow)", probe.h1.tcp(ADDR.r, 80), "allow"],
        ["E -> h1 mgmt0 tcp/80 (mgmt0 not a webserver)", probe.e.tcp(ADDR.h1Mgmt, 80), "drop"],
      ]);
    });

    await t.step("a host endpoint given only by expectedIPs secures eth1", async () => {
      await expectAll([["R2 -> h1 eth1 tcp/81 before", probe.r2.tcp(ADDR.h1Eth1, 81), "allow"]]);
      await ds.write("create", SEED_HEP_BY_IP);
      await site.sync();
      await expectAll([
        ["R2 -> h1 eth1 tcp/80", probe.r2.tcp(ADDR.h1Eth1, 80), "allow"],
        ["R2 -> h1 eth1 tcp/81", probe.r2.tcp(ADDR.h1Eth1, 81), "drop"],
      ]);
    });

    await t.step(
      "a bad host endpoint in etcd logs 'Validation failed' and is ignored",
      async () => {
        const key = "/calico/v1/host/h1/endpoint/bad-hep";
        const from = site.agent.mark();
        await ds.put(key, '{ "labels": {"foo": "bar"}, "profile_ids": ["prof1"]}');
        const line = await site.agent.waitForLog(/Validation failed/, 15_000, from);
        assert(line.includes("WARNING"), `Not a WARNING: ${line}`);
        assert(line.includes("bad-hep"), `The line does not name the endpoint: ${line}`);
        await site.sync();
        assert(/Validation failed/.test(await site.agent.logFileText()), "Not in the log file");
        await expectAll([
          ["R -> h1 tcp/80 still allowed", probe.r.tcp(h1, 80), "allow"],
          ["R -> h1 tcp/81 still dropped", probe.r.tcp(h1, 81), "drop"],
        ]);
        await ds.del(key);
      },
    );

    await t.step("untracked policy must be symmetric (memcached on port 999)", async () => {
      await site.reset();
      await site.restartAgent();
      const inOnly = policy("memcached", {
        selector: "role == 'web'",
        order: 10,
        doNotTrack: true,
        ingress: [
          { action: "allow", protocol: "tcp", destination: { ports: [999] } },
          { action: "allow", protocol: "udp", destination: { ports: [999] } },
        ],
      });
      await site.apply(hep0(), inOnly);
      await expectAll([
        ["R -> h1 tcp/999, ingress-only untracked", probe.r.tcp(h1, 999), "drop"],
        ["R -> h1 udp/999, ingress-only untracked", probe.r.udp(h1, 999), "drop"],
      ]);
      const symmetric = policy("memcached", {
        selector: "role == 'web'",
        order: 10,
        doNotTrack: true,
        ingress: (inOnly["spec"] as { ingress: unknown[] }).ingress,
        egress: [
          { action: "allow", protocol: "tcp", source: { ports: [999] } },
          { action: "allow", protocol: "udp", source: { ports: [999] } },
        ],
      });
      await site.apply(symmetric);
      await expectAll([
        ["R -> h1 tcp/999, symmetric untracked", probe.r.tcp(h1, 999), "allow"],
        ["R -> h1 udp/999, symmetric untracked", probe.r.udp(h1, 999), "allow"],
        ["R -> h1 v6 tcp/999, symmetric untracked", probe.r.tcp(ADDR.h1Eth0v6, 999), "allow"],
        ["R -> h1 tcp/80 (normal default drop)", probe.r.tcp(h1, 80), "drop"],
      ]);
    });
  },
});
