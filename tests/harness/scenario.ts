/**
 * What agent system tests share: a "site" (the topology, the datastore, node h1 created and
 * an agent running in h1, in sync) and small builders for the calicoctl v1 resources they
 * write, so a scenario reads like the oracle row it checks.
 */
import { stringify } from "yaml";
import type { Resource } from "../../src/model/resources.ts";
import { type HepOptions, hostEndpointResource } from "../fixtures/resources.ts";
import { Agent, type AgentOptions } from "../../netlab/agent.ts";
import { LabDatastore } from "../../netlab/datastore.ts";
import { haveEtcd } from "../../netlab/etcd.ts";
import { canUseNetns, haveCommand } from "../../netlab/netns.ts";
import { ADDR, buildTopology, type Topology, type TopologyOptions } from "./topology.ts";
import type { Check } from "../../netlab/probe.ts";

/** True when agent system tests cannot run here (they are then `ignore`d). */
export const AGENT_TESTS_IGNORED = !canUseNetns() || !haveCommand("nft") || !haveEtcd() ||
  !haveCommand("python3");

/**
 * A resource as calicoctl v1 YAML carries it (apiVersion added on output): a typed one from
 * tests/fixtures/resources.ts, or a plain object for what the types would not allow.
 */
export type Res = Resource | (Record<string, unknown> & { kind: string });

/** Renders resources as one calicoctl v1 YAML list. */
export function toYaml(resources: readonly Res[]): string {
  return stringify(resources.map((r) => ({ apiVersion: "v1", ...r })));
}

export function node(name: string): Res {
  return { kind: "node", metadata: { name } };
}

/** A host endpoint on h1 unless `o.node` says otherwise. */
export const hep = hostEndpointResource;

/** HEP0 of the oracle: eth0 of h1, labels host-endpoint=true, role=web. */
export function hep0(extra: Partial<HepOptions> = {}): Res {
  return hep("hep0", {
    iface: "eth0",
    labels: { "host-endpoint": "true", role: "web" },
    ...extra,
  });
}

/**
 * h1's management interface (mgmt0) as the guide's walkthrough tests add it beside the guide's
 * own examples: v1 YAML, labelled `endpoint_type: management`.
 */
export const MGMT_HEP_YAML = `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: hep-mgmt
    node: h1
    labels:
      endpoint_type: management
  spec:
    interfaceName: mgmt0
`;

/**
 * The guide's tailored failsafe policy (management CIDR, etcd's address, port 2379) beside
 * MGMT_HEP_YAML, as packets: ssh only from management, ping in, etcd and DHCP out.
 */
export function tailoredFailsafeChecks(site: Site): Check[] {
  const { probe } = site;
  const h1 = ADDR.h1Eth0;
  return [
    ["E (management) -> h1 mgmt0 tcp/22", probe.e.tcp(ADDR.h1Mgmt, 22), "allow"],
    ["R (not management) -> h1 tcp/22", probe.r.tcp(h1, 22), "drop"],
    ["R -> h1 ping (icmp allowed)", probe.r.ping(h1), "allow"],
    ["E -> h1 mgmt0 tcp/80", probe.e.tcp(ADDR.h1Mgmt, 80), "drop"],
    ["h1 -> etcd tcp/2379", probe.h1.tcp(ADDR.etcd, 2379, { send: null }), "allow"],
    ["h1 -> R udp/67 (DHCP)", probe.h1.udp(ADDR.r, 67), "allow"],
  ];
}

export function policy(name: string, spec: Record<string, unknown>): Res {
  return { kind: "policy", metadata: { name }, spec: { selector: "has(host-endpoint)", ...spec } };
}

/** Policy `p` allowing inbound tcp to `ports` on every host endpoint (the fault tests' baseline). */
export function allowPorts(...ports: number[]): Res {
  return policy("p", { ingress: [{ action: "allow", protocol: "tcp", destination: { ports } }] });
}

export function profile(
  name: string,
  spec: Record<string, unknown>,
  labels?: Readonly<Record<string, string>>,
): Res {
  return { kind: "profile", metadata: { name, ...(labels ? { labels } : {}) }, spec };
}

/** A workload endpoint on h1's `cali1` for W (198.18.3.2), allowed by profile `wl-allow`. */
export function workloadW(): Res[] {
  return [
    profile("wl-allow", { ingress: [{ action: "allow" }], egress: [{ action: "allow" }] }),
    {
      kind: "workloadEndpoint",
      metadata: { name: "eth0", workload: "w", orchestrator: "test", node: "h1" },
      spec: {
        interfaceName: "cali1",
        ipNetworks: ["198.18.3.2/32", "2001:db8:3::2/128"],
        profiles: ["wl-allow"],
      },
    },
  ];
}

export interface SiteOptions {
  readonly topology?: TopologyOptions;
  /** Agent flags (kebab-case, no `--`); restarts keep them under the flags they are given. */
  readonly flags?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Create node h1 (and h2 with the topology's h2) before starting the agent; default true. */
  readonly createNodes?: boolean;
  /** Start the agent in h1 and wait until it is in sync; default true. */
  readonly startAgent?: boolean;
}

/** A running test site. Dispose stops the agent, etcd and removes every namespace. */
export interface Site extends AsyncDisposable {
  readonly topo: Topology;
  readonly ds: LabDatastore;
  /** The agent in h1 (replaced by restartAgent). */
  readonly agent: Agent;
  readonly probe: Topology["probe"];
  /** Stops the current agent (and cleans its table) and starts one with these flags/env. */
  restartAgent(
    flags?: Readonly<Record<string, string>>,
    env?: Readonly<Record<string, string>>,
  ): Promise<Agent>;
  /** Starts an agent without waiting for sync (for config-error and wait-for-ready cases). */
  startAgentOnly(
    flags?: Readonly<Record<string, string>>,
    env?: Readonly<Record<string, string>>,
  ): Promise<Agent>;
  /** Applies resources through the CLI and waits until the agent has programmed them. */
  apply(...resources: Res[]): Promise<void>;
  /** Waits until the agent has programmed everything written so far. */
  sync(): Promise<void>;
  /** Clears policies/endpoints/profiles/config, waits for the agent. */
  reset(): Promise<void>;
}

/** Builds the topology, creates the nodes, starts the agent in h1 and waits for sync. */
export async function openSite(opts: SiteOptions = {}): Promise<Site> {
  const topo = await buildTopology(opts.topology ?? {});
  let agent: Agent | undefined;
  try {
    const ds = new LabDatastore(topo.e, topo.etcdEndpoint);
    if (opts.createNodes ?? true) {
      await ds.write("create", toYaml([node("h1"), ...(topo.h2 ? [node("h2")] : [])]));
    }
    const launch = async (
      flags: Readonly<Record<string, string>> | undefined,
      env: Readonly<Record<string, string>> | undefined,
    ) => {
      const merged = { ...opts.flags, ...flags };
      const o: AgentOptions = {
        ns: topo.h1,
        etcdEndpoint: topo.etcdEndpoint,
        ...(Object.keys(merged).length > 0 ? { flags: merged } : {}),
        ...(env ? { env } : {}),
      };
      return await Agent.start(o);
    };
    const stopAgent = async () => {
      if (agent) await agent[Symbol.asyncDispose]();
      agent = undefined;
    };
    if (opts.startAgent ?? true) {
      agent = await launch(opts.flags, opts.env);
      await agent.waitForRevision(await ds.fence(), 30_000);
    }
    const site: Site = {
      topo,
      ds,
      get agent(): Agent {
        if (!agent) throw new Error("No agent is running in this site");
        return agent;
      },
      probe: topo.probe,
      async restartAgent(flags, env) {
        await stopAgent();
        agent = await launch(flags, env);
        await agent.waitForRevision(await ds.fence(), 30_000);
        return agent;
      },
      async startAgentOnly(flags, env) {
        await stopAgent();
        agent = await launch(flags, env);
        return agent;
      },
      async apply(...resources) {
        const rev = await ds.apply(toYaml(resources));
        if (agent) await agent.waitForRevision(rev);
      },
      async sync() {
        const rev = await ds.fence();
        if (agent) await agent.waitForRevision(rev);
      },
      async reset() {
        const rev = await ds.reset();
        if (agent) await agent.waitForRevision(rev);
      },
      async [Symbol.asyncDispose]() {
        await stopAgent().catch(() => {});
        await topo[Symbol.asyncDispose]();
      },
    };
    return site;
  } catch (e) {
    if (agent) await agent[Symbol.asyncDispose]().catch(() => {});
    await topo[Symbol.asyncDispose]();
    throw e;
  }
}
